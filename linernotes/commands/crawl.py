"""`linernotes crawl` and `linernotes reextract`: the crawl stage's commands.

Scrapy and trafilatura are imported inside the commands, never at start-up.
"""

from __future__ import annotations

from pathlib import Path

import click

from linernotes.commands.options import crawl_options
from linernotes.context import app
from linernotes.errors import UserFacingError
from linernotes.output import echo_summary, json_option


@click.command("crawl")
@crawl_options
@json_option
def crawl_command(
    sources_file: Path,
    source: str | None,
    max_pages: int | None,
    redis_url: str | None,
    as_json: bool,
) -> None:
    """Crawl the sources and store documents; prints a run summary.

    With --redis, start the same command on as many machines as you like: they share
    each source's queue and never fetch a URL twice.
    """
    from linernotes.commands.pipeline import crawl_hint
    from linernotes.crawl_progress import crawl_progress
    from linernotes.crawler.runner import crawl_sources

    ctx = app(click.get_current_context())
    with crawl_progress(ctx.store()):
        summary = crawl_sources(
            ctx.store(), sources_file, source, max_pages, debug=ctx.debug, redis_url=redis_url
        )
    echo_summary(summary, as_json)
    hint = crawl_hint(summary)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    if not summary.ok:
        raise UserFacingError("the crawl reported errors (see the summary above)")


@click.command("reextract")
@click.option("--run", "run_id", type=int, default=None, help="Only this run's archive.")
@json_option
def reextract_command(run_id: int | None, as_json: bool) -> None:
    """Rebuild documents from the WARC archives, without the network."""
    from linernotes.crawler.reextract import reextract

    ctx = app(click.get_current_context())
    result = reextract(ctx.store(), run_id)
    echo_summary(result, as_json)


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `crawl` and `reextract`."""
    cli.add_command(crawl_command)
    cli.add_command(reextract_command)
