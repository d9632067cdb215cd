"""The `linernotes` command: a thin click group over the stages.

Every command takes `--db` (or $LINERNOTES_DB). Errors the user can act on
become one line on stderr and exit code 1; `--debug` shows the traceback.
Command groups live in `linernotes/commands/`, one module per stage, so the
CLI mirrors the Python API module by module.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from linernotes import __version__
from linernotes.commands import register
from linernotes.context import AppContext
from linernotes.errors import EXIT_FAILED, EXIT_INTERRUPTED, UserFacingError


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is shown as is (imported lazily where heavy)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from linernotes.crawler.errors import CrawlerError
    from linernotes.nlp.evaluate import GoldFormatError
    from linernotes.storage import StorageError

    return (
        UserFacingError,
        StorageError,
        CrawlerError,
        GoldFormatError,
        OperationalError,
        ProgrammingError,
        OSError,
    )


def hoist_global_options(args: list[str]) -> list[str]:
    """Move `--db URL` / `--db=URL` written after the subcommand to the front.

    So `linernotes sql --db demo.db "SELECT 1"` works as well as
    `linernotes --db demo.db sql "SELECT 1"`; nothing after `--` is touched.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg == "--db" and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 2
            continue
        if arg.startswith("--db="):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


class LinernotesGroup(click.Group):
    """Turns user errors into one stderr line and a non-zero exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # the reader went away (`linernotes export neighbors | head`): not an error
            _silence_stdout()
            sys.exit(0)
        except Exception as exc:
            obj = ctx.find_object(AppContext)
            if (obj is not None and obj.debug) or not isinstance(exc, _user_errors()):
                if obj is not None and obj.debug:
                    raise
                click.echo(f"error: {type(exc).__name__}: {_one_line(exc)}", err=True)
                click.echo("(run with --debug for the traceback)", err=True)
                sys.exit(EXIT_FAILED)
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(EXIT_FAILED)
        finally:
            obj = ctx.find_object(AppContext)
            if obj is not None:
                obj.close()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first if len(first) < 500 else first[:497] + "..."


@click.group(cls=LinernotesGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    envvar="LINERNOTES_DB",
    default=None,
    help="Database URL or SQLite file (default sqlite:///linernotes.db; env LINERNOTES_DB); "
    "before or after the command.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Log line format on stderr.",
)
@click.version_option(__version__, prog_name="linernotes")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, debug: bool, log_format: str) -> None:
    """linernotes: crawl music writing, find mentions, build per-track profiles.

    Every command and option: docs/cli.md; the sources file: docs/sources.md;
    the Python API: docs/api.md.
    """
    from linernotes.logs import configure_logging

    configure_logging(log_format, debug)
    ctx.obj = AppContext(db_url=db_url, debug=debug, log_format=log_format)


register(main)
