"""`linernotes crawl` and `linernotes reextract`: the crawl stage's commands.

Scrapy and trafilatura are imported inside the commands, never at start-up.
"""

from __future__ import annotations

from pathlib import Path

import click

from linernotes.context import app


@click.command("crawl")
@click.option(
    "--sources",
    "sources_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sources file (TOML, see CONTRACT.md).",
)
@click.option("--source", "source", default=None, help="Crawl only the source with this name.")
@click.option(
    "--max-pages", type=click.IntRange(min=1), default=None, help="Page cap per source this run."
)
def crawl_command(sources_file: Path, source: str | None, max_pages: int | None) -> None:
    """Crawl the sources and store documents; prints a run summary."""
    from crawler.runner import crawl_sources

    ctx = app(click.get_current_context())
    summary = crawl_sources(ctx.store(), sources_file, source, max_pages, debug=ctx.debug)
    click.echo(summary.format())
    if not summary.ok:
        raise SystemExit(1)


@click.command("reextract")
@click.option("--run", "run_id", type=int, default=None, help="Only this run's archive.")
def reextract_command(run_id: int | None) -> None:
    """Rebuild documents from the WARC archives, without the network."""
    from crawler.reextract import reextract

    ctx = app(click.get_current_context())
    result = reextract(ctx.store(), run_id)
    click.echo(result.format())


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `crawl` and `reextract`."""
    cli.add_command(crawl_command)
    cli.add_command(reextract_command)
