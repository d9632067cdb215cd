"""`linernotes run`: crawl, then extract, then embed — the job a schedule runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from linernotes.commands.extract import transformer_ner_switch
from linernotes.commands.options import crawl_options
from linernotes.context import AppContext, pass_app
from linernotes.errors import UserFacingError
from linernotes.storage import Store


@click.command("run")
@crawl_options
@click.option("--processes", "-p", default=1, show_default=True, help="spaCy worker processes.")
@transformer_ner_switch
@click.option("--json", "as_json", is_flag=True, help="The stage summaries as one JSON object.")
@pass_app
def run_command(
    app: AppContext,
    sources_file: Path,
    source: str | None,
    max_pages: int | None,
    processes: int,
    transformer_ner: bool | None,
    redis_url: str | None,
    as_json: bool,
) -> None:
    """Crawl the sources, extract mentions from what changed, rebuild changed profiles.

    Without a catalogue nothing can be linked, so the crawled documents are
    kept for `extract` and the command says to import a catalogue first.
    The transformer NER is used when `--transformer-ner` (or its env variable) says so,
    else when the sources file's `[extract] transformer_ner` does.
    """
    from linernotes.crawl_progress import crawl_progress
    from linernotes.crawler.runner import crawl_sources
    from linernotes.crawler.sources import load_sources
    from linernotes.nlp.extract import extract_documents
    from linernotes.nlp.profiles import build_profiles

    if transformer_ner is None:
        transformer_ner = bool(load_sources(sources_file).extract.transformer_ner)
    store = app.store()
    progress = sys.stderr.isatty()
    with crawl_progress(store):
        crawl = crawl_sources(
            store, sources_file, source, max_pages, debug=app.debug, redis_url=redis_url
        )
    hint = crawl_hint(crawl)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    if catalogue_size(store) == 0:
        _echo(as_json, crawl=crawl)
        raise UserFacingError(NO_CATALOGUE)
    extracted = extract_documents(
        store, n_process=processes, progress=progress, transformer_ner=transformer_ner
    )
    profiled = build_profiles(store, progress=progress)
    _echo(as_json, crawl=crawl, extract=extracted, embed=profiled)
    if not crawl.ok:
        raise UserFacingError("the crawl reported errors; extract and embed ran on what was stored")


def _echo(as_json: bool, **summaries: Any) -> None:
    """The stage summaries as text, or as one JSON object keyed by stage."""
    if not as_json:
        for summary in summaries.values():
            click.echo(summary.format())
        return
    from linernotes.output import as_plain

    click.echo(json.dumps({k: as_plain(v) for k, v in summaries.items()}, default=str))


NO_CATALOGUE = (
    "the catalogue is empty, so no mention can be linked: the crawled documents wait for "
    "`linernotes extract`. Load artists and tracks with `linernotes catalog import FILE` "
    "(docs/cli.md), then run `linernotes extract` and `linernotes embed`"
)


def catalogue_size(store: Store) -> int:
    """Artists, tracks and albums in the catalogue."""
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT (SELECT COUNT(*) FROM artists) + (SELECT COUNT(*) FROM tracks) "
                    "+ (SELECT COUNT(*) FROM albums)"
                )
            ).scalar()
            or 0
        )


def crawl_hint(crawl: Any) -> str | None:
    """What to do when a crawl stored nothing: the errors point at the key to change."""
    if crawl.total("fetched") or crawl.total("stored") or crawl.total("unchanged"):
        return None
    errors = crawl.errors()
    if errors.get("private_address"):
        return (
            "every page was refused as a private, loopback or link-local address; a local "
            "test site or intranet blog needs `allow_private_addresses = true` in its "
            "[[source]] (docs/sources.md)"
        )
    if errors:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(errors.items()))
        return f"nothing was fetched ({kinds}); check start_urls and allow/deny (docs/sources.md)"
    return "nothing was fetched: check start_urls, feeds and allow/deny (docs/sources.md)"


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `run`."""
    cli.add_command(run_command)
