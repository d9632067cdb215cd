"""The profiles stage's commands: `embed`, `similar`, `descriptors`, `export neighbors`,
`eval similarity` (documented in docs/cli.md).

They are thin: the queries live in `linernotes.api`, which the pages and
notebooks share; a command resolves the name, says which entity it picked
when the name was ambiguous, and prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from linernotes.context import app
from linernotes.errors import UserFacingError
from linernotes.output import echo_summary, json_option
from linernotes.resolve import Resolution

# Re-exported: older callers (bench/bench_similarity.py) import them from here.
from linernotes.vectors import export_table, neighbors_of, vector_search

__all__ = ["export_table", "neighbors_of", "register", "vector_search"]


def _pick_kind(artist: str | None, track: str | None) -> tuple[str, str]:
    if bool(artist) == bool(track):
        raise click.UsageError("give exactly one of --artist or --track")
    return ("artist", artist) if artist else ("track", track)  # type: ignore[return-value]


def announce(res: Resolution) -> None:
    """Say on stderr which entity an ambiguous name was taken to mean."""
    note = res.note()
    if note:
        click.echo(f"note: {note}", err=True)


def _candidates_json(res: Resolution) -> list[dict[str, Any]]:
    return [{"id": c.id, "name": c.name, "artist_name": c.artist_name} for c in res.others]


@click.command("embed")
@click.option(
    "--full",
    is_flag=True,
    help="Recompute every entity from its evidence (term-bag cache ignored), "
    "not only changed ones.",
)
@json_option
def embed_command(full: bool, as_json: bool) -> None:
    """Build descriptors and vectors for every artist/track whose evidence changed."""
    from linernotes.nlp.profiles import build_profiles

    store = app(click.get_current_context()).store()
    echo_summary(build_profiles(store, progress=sys.stderr.isatty(), full=full), as_json)


@click.command("similar")
@click.option("--artist", default=None, help="Catalogue id or name.")
@click.option("--track", default=None, help="Catalogue id or title.")
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option(
    "--other-artists", is_flag=True, help="With --track: the nearest tracks by other artists."
)
def similar_command(
    artist: str | None, track: str | None, k: int, as_json: bool, other_artists: bool
) -> None:
    """Nearest artists or tracks by cultural vector."""
    kind, ref = _pick_kind(artist, track)
    if other_artists and kind != "track":
        raise click.UsageError("--other-artists goes with --track")
    api = app(click.get_current_context()).api()
    res = api.resolve(kind, ref)
    announce(res)
    items = api.neighbor_rows(kind, res.id, k, other_artists=other_artists)
    if not items:
        raise UserFacingError(f"{kind} {res.name!r} has no vector yet (run `linernotes embed`)")
    if as_json:
        payload = {"kind": kind, "id": res.id, "name": res.name, "similar": items}
        click.echo(json.dumps({**payload, "other_candidates": _candidates_json(res)}))
        return
    click.echo(f"{kind} {res.name} ({res.id})")
    for item in items:
        click.echo(f"{item['rank']:>3}  {item['score']:.4f}  {item['name']}  ({item['id']})")


@click.command("descriptors")
@click.option("--artist", default=None, help="Catalogue id or name.")
@click.option("--track", default=None, help="Catalogue id or title.")
@click.option("-n", "n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--month", default=None, help="Terms of one month (YYYY-MM) instead of all time.")
@click.option("--evidence", "evidence", is_flag=True, help="List each term's evidence sentences.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def descriptors_command(
    artist: str | None, track: str | None, n: int, month: str | None, evidence: bool, as_json: bool
) -> None:
    """The top descriptor terms with weights and evidence counts."""
    kind, ref = _pick_kind(artist, track)
    api = app(click.get_current_context()).api()
    res = api.resolve(kind, ref)
    announce(res)
    items = api.descriptor_rows(kind, res.id, n, month, evidence=5 if evidence else 0)
    for item in items:
        item["weight"] = round(float(item["weight"]), 4)
    if not items:
        raise UserFacingError(
            f"{kind} {res.name!r} has no descriptors yet (run `linernotes embed`)"
        )
    if as_json:
        payload = {"kind": kind, "id": res.id, "name": res.name, "terms": items}
        click.echo(json.dumps({**payload, "other_candidates": _candidates_json(res)}, default=str))
        return
    click.echo(f"{kind} {res.name} ({res.id})" + (f" {month}" if month else ""))
    for item in items:
        extra = f"  df={item['doc_freq']}" if "doc_freq" in item else ""
        said, whose = f"count {item['count']}", ""
        if item.get("source") == "neighbours":  # not in its own text: say so
            said, whose = "inferred from neighbours", "a neighbour's: "
        click.echo(f"{item['weight']:>9.4f}  {item['term']}  ({said}{extra})")
        for sent in item.get("evidence", []):
            click.echo(f"             - {whose}[{sent['document_id']}] {sent['text']}")


@click.command("neighbors")
@click.option("--kind", type=click.Choice(["artist", "track"]), required=True)
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object {id: [neighbour ids]}.")
def export_neighbors_command(kind: str, k: int, as_json: bool) -> None:
    """TSV to stdout: entity_id<TAB>neighbour ids separated by spaces, best first."""
    table = app(click.get_current_context()).api().neighbors_table(kind, k)
    if as_json:
        click.echo(json.dumps(dict(sorted(table.items()))))
        return
    for eid, nbrs in sorted(table.items()):
        click.echo(f"{eid}\t{' '.join(nbrs)}")


@click.command("similarity")
@click.option("--gold", "gold_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["artist", "track"]), required=True)
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_similarity_command(gold_file: Path, kind: str, k: int, as_json: bool) -> None:
    """P@k and nDCG@k of `export neighbors` against a gold TSV."""
    from linernotes.nlp.neighbour_metrics import evaluate, read_neighbor_tsv

    if not gold_file.is_file():
        raise UserFacingError(f"gold file not found: {gold_file}")
    try:
        gold = read_neighbor_tsv(gold_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserFacingError(f"{gold_file}: {exc}") from None
    if not gold:
        raise UserFacingError(f"no `id<TAB>ids` lines in {gold_file}")
    table = app(click.get_current_context()).api().neighbors_table(kind, k)
    result = evaluate(table, gold, k)
    click.echo(json.dumps(_plain(result)) if as_json else result.format())


def _plain(result: Any) -> dict[str, Any]:
    """A result dataclass as a JSON-ready dict."""
    from dataclasses import asdict

    return asdict(result)


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `embed`, `similar`, `descriptors`, `export neighbors`, `eval similarity`."""
    cli.add_command(embed_command)
    cli.add_command(similar_command)
    cli.add_command(descriptors_command)
    groups["export"].add_command(export_neighbors_command)
    groups["eval"].add_command(eval_similarity_command)
