"""`linernotes crawl` and `linernotes reextract`: the crawl stage's commands.

Scrapy and trafilatura are imported inside the commands, never at start-up.
"""

from __future__ import annotations

from pathlib import Path

import click

from linernotes.commands.options import crawl_options
from linernotes.context import app
from linernotes.errors import UserFacingError


@click.command("crawl")
@crawl_options
def crawl_command(
    sources_file: Path, source: str | None, max_pages: int | None, redis_url: str | None
) -> None:
    """Crawl the sources and store documents; prints a run summary.

    With --redis, start the same command on as many machines as you like: they share
    each source's queue and never fetch a URL twice.
    """
    from crawler.runner import crawl_sources

    ctx = app(click.get_current_context())
    summary = crawl_sources(
        ctx.store(), sources_file, source, max_pages, debug=ctx.debug, redis_url=redis_url
    )
    click.echo(summary.format())
    if not summary.ok:
        raise UserFacingError("the crawl reported errors (see the summary above)")


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
