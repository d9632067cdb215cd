"""`linernotes run`: crawl, then extract, then embed — the job a schedule runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from linernotes.commands.options import crawl_options
from linernotes.context import AppContext, pass_app
from linernotes.errors import UserFacingError


@click.command("run")
@crawl_options
@click.option("--processes", "-p", default=1, show_default=True, help="spaCy worker processes.")
@pass_app
def run_command(
    app: AppContext,
    sources_file: Path,
    source: str | None,
    max_pages: int | None,
    processes: int,
    redis_url: str | None,
) -> None:
    """Crawl the sources, extract mentions from what changed, rebuild changed profiles."""
    from crawler.runner import crawl_sources
    from nlp.extract import extract_documents
    from nlp.profiles import build_profiles

    store = app.store()
    progress = sys.stderr.isatty()
    crawl = crawl_sources(
        store, sources_file, source, max_pages, debug=app.debug, redis_url=redis_url
    )
    click.echo(crawl.format())
    click.echo(extract_documents(store, n_process=processes, progress=progress).format())
    click.echo(build_profiles(store, progress=progress).format())
    if not crawl.ok:
        raise UserFacingError("the crawl reported errors; extract and embed ran on what was stored")


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `run`."""
    cli.add_command(run_command)
