"""`linernotes catalog import`: load artists, tracks and albums (storage.catalog)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from linernotes.context import AppContext, pass_app
from linernotes.output import echo_summary, json_option


@click.group("catalog")
def catalog_group() -> None:
    """Manage the catalogue that mentions are linked to."""


@catalog_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "musicbrainz"]),
    default=None,
    help="File format (default: musicbrainz for .json/.jsonl, else csv).",
)
@click.option("--skip-bad", is_flag=True, help="List and skip bad rows instead of failing.")
@json_option
@pass_app
def import_command(
    app: AppContext, file: Path, fmt: str | None, skip_bad: bool, as_json: bool
) -> None:
    """Import a catalogue CSV or MusicBrainz JSON dump (idempotent, all-or-nothing)."""
    from linernotes.storage.catalog import import_catalog

    started = time.perf_counter()
    summary = import_catalog(app.store(), file, fmt, skip_bad=skip_bad)
    echo_summary(summary, as_json)
    click.echo(f"took {time.perf_counter() - started:.1f} s", err=True)


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `catalog`."""
    cli.add_command(catalog_group)
