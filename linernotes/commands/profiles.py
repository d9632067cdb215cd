"""The profiles stage's commands: `embed`, `similar`, `descriptors`, `export neighbors`,
`eval similarity` (see CONTRACT.md for their outside surface).

The heavy parts (numpy, the models) are imported inside the commands, so
`linernotes --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linernotes.context import app
from linernotes.errors import UserFacingError
from storage import Store
from storage.models import Artist, Descriptor, DescriptorMonth, Evidence, Neighbor, Track


def resolve_entity(session: Session, kind: str, ref: str) -> tuple[str, str]:
    """(id, display name) of an artist or track given its catalogue id or its name."""
    model: Any = Artist if kind == "artist" else Track
    label = model.name if kind == "artist" else model.title
    row = session.execute(select(model.id, label).where(model.id == ref)).first()
    if row is None:
        norm = model.norm_name if kind == "artist" else model.norm_title
        candidates = list(
            session.execute(
                select(model.id, label).where(
                    (func.lower(label) == ref.lower()) | (norm == " ".join(ref.lower().split()))
                )
            ).all()
        )
        if not candidates:
            raise UserFacingError(f"unknown {kind}: {ref!r} (give a catalogue id or a name)")
        if len(candidates) > 1:
            # Prefer the one the corpus speaks of most: the one a user most likely means.
            counts = dict(
                session.execute(
                    select(Evidence.entity_id, func.count())
                    .where(
                        Evidence.entity_kind == kind,
                        Evidence.entity_id.in_([c[0] for c in candidates]),
                    )
                    .group_by(Evidence.entity_id)
                ).all()
            )
            candidates.sort(key=lambda c: (-counts.get(c[0], 0), c[0]))
        row = candidates[0]
    return str(row[0]), str(row[1])


def _names(session: Session, kind: str, ids: list[str]) -> dict[str, str]:
    model: Any = Artist if kind == "artist" else Track
    label = model.name if kind == "artist" else model.title
    out: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.update(
            {
                str(i): str(n)
                for i, n in session.execute(select(model.id, label).where(model.id.in_(chunk)))
            }
        )
    return out


def _pick_kind(artist: str | None, track: str | None) -> tuple[str, str]:
    if bool(artist) == bool(track):
        raise click.UsageError("give exactly one of --artist or --track")
    return ("artist", artist) if artist else ("track", track)  # type: ignore[return-value]


def neighbors_of(
    store: Store, kind: str, entity_id: str, k: int, other_artists: bool = False
) -> list[tuple[str, float]]:
    """Nearest entities: the precomputed table when it holds k, else a vector search.

    The vector search runs in PostgreSQL through the HNSW index (pgvector),
    in numpy on SQLite. `other_artists`: a track's nearest tracks by other
    artists (the table's second list, model "cultural-other-artists").
    """
    from nlp.profiles import OTHER_ARTISTS

    other = Neighbor.model == OTHER_ARTISTS
    with store.session() as session:
        rows = session.execute(
            select(Neighbor.neighbor_id, Neighbor.score)
            .where(
                Neighbor.entity_kind == kind,
                Neighbor.entity_id == entity_id,
                other if other_artists else ~other,
            )
            .order_by(Neighbor.rank)
        ).all()
    if other_artists:  # no vector-search fallback that could tell artists apart
        return [(str(n), float(s)) for n, s in rows[:k]]
    if len(rows) >= k:
        return [(str(n), float(s)) for n, s in rows[:k]]
    return vector_search(store, kind, entity_id, k)


def vector_search(store: Store, kind: str, entity_id: str, k: int) -> list[tuple[str, float]]:
    import numpy as np
    from sqlalchemy import text

    from nlp.profiles import CULTURAL, load_matrix
    from storage.models import Vector

    with store.session() as session:
        found = session.execute(
            select(Vector.vector, Vector.dim).where(
                Vector.entity_kind == kind,
                Vector.entity_id == entity_id,
                Vector.model == CULTURAL,
            )
        ).first()
        if found is None:
            return []
        query = np.asarray(found[0], dtype=np.float32)
        dim = int(found[1])
        if store.dialect == "postgresql":
            literal = "[" + ",".join(f"{x:.6g}" for x in query) + "]"
            expr = f"vector::halfvec({dim})"
            sql = text(
                f"SELECT entity_id, 1 - ({expr} <=> CAST(:q AS halfvec({dim}))) AS score "
                f"FROM vectors WHERE model = '{CULTURAL}' AND dim = {dim} AND entity_kind = :kind "
                f"AND entity_id <> :id ORDER BY {expr} <=> CAST(:q AS halfvec({dim})) LIMIT :k"
            )
            rows = session.execute(sql, {"q": literal, "kind": kind, "id": entity_id, "k": k}).all()
            return [(str(r[0]), float(r[1])) for r in rows]
    ids, matrix = load_matrix(store, kind, CULTURAL)
    norms = np.maximum(np.linalg.norm(matrix, axis=1), 1e-12)
    sims = (matrix @ query) / norms / max(float(np.linalg.norm(query)), 1e-12)
    order = [i for i in np.argsort(-sims) if ids[i] != entity_id][:k]
    return [(ids[i], float(sims[i])) for i in order]


@click.command("embed")
@click.option("--full", is_flag=True, help="Recompute every entity, not only changed ones.")
def embed_command(full: bool) -> None:
    """Build descriptors and vectors for every artist/track whose evidence changed."""
    from nlp.profiles import build_profiles

    store = app(click.get_current_context()).store()
    click.echo(build_profiles(store, progress=True, full=full).format())


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
        raise UserFacingError("--other-artists goes with --track")
    store = app(click.get_current_context()).store()
    with store.session() as session:
        entity_id, name = resolve_entity(session, kind, ref)
    found = neighbors_of(store, kind, entity_id, k, other_artists=other_artists)
    if not found:
        raise UserFacingError(f"{kind} {name!r} has no vector yet (run `linernotes embed`)")
    with store.session() as session:
        names = _names(session, kind, [n for n, _ in found])
    items = [
        {"rank": i, "id": n, "name": names.get(n, ""), "score": round(s, 4)}
        for i, (n, s) in enumerate(found, start=1)
    ]
    if as_json:
        click.echo(json.dumps({"kind": kind, "id": entity_id, "name": name, "similar": items}))
        return
    click.echo(f"{kind} {name} ({entity_id})")
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
    store = app(click.get_current_context()).store()
    with store.session() as session:
        entity_id, name = resolve_entity(session, kind, ref)
        items = (
            _month_terms(session, kind, entity_id, month, n)
            if month
            else _terms(session, kind, entity_id, n, evidence)
        )
    if not items:
        raise UserFacingError(f"{kind} {name!r} has no descriptors yet (run `linernotes embed`)")
    if as_json:
        click.echo(json.dumps({"kind": kind, "id": entity_id, "name": name, "terms": items}))
        return
    click.echo(f"{kind} {name} ({entity_id})" + (f" {month}" if month else ""))
    for item in items:
        extra = f"  df={item['doc_freq']}" if "doc_freq" in item else ""
        click.echo(f"{item['weight']:>9.4f}  {item['term']}  (count {item['count']}{extra})")
        for sent in item.get("evidence", []):
            click.echo(f"             - [{sent['document_id']}] {sent['text']}")


def _terms(
    session: Session, kind: str, entity_id: str, n: int, with_evidence: bool
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Descriptor)
        .where(Descriptor.entity_kind == kind, Descriptor.entity_id == entity_id)
        .order_by(Descriptor.weight.desc(), Descriptor.term)
        .limit(n)
    ).scalars()
    items = []
    for row in rows:
        item: dict[str, Any] = {
            "term": row.term,
            "weight": round(row.weight, 4),
            "count": row.count,
            "doc_freq": row.doc_freq,
            "evidence_count": len(row.evidence_ids or []),
        }
        if with_evidence:
            ids = list(row.evidence_ids or [])[:5]
            sents = session.execute(
                select(Evidence.id, Evidence.document_id, Evidence.text).where(Evidence.id.in_(ids))
            ).all()
            item["evidence"] = [
                {"id": i, "document_id": d, "text": " ".join(t.split())} for i, d, t in sents
            ]
        items.append(item)
    return items


def _month_terms(
    session: Session, kind: str, entity_id: str, month: str, n: int
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DescriptorMonth.term, DescriptorMonth.weight, DescriptorMonth.count)
        .where(
            DescriptorMonth.entity_kind == kind,
            DescriptorMonth.entity_id == entity_id,
            DescriptorMonth.month == month,
        )
        .order_by(DescriptorMonth.weight.desc(), DescriptorMonth.term)
        .limit(n)
    ).all()
    return [{"term": t, "weight": round(w, 4), "count": c} for t, w, c in rows]


def export_table(store: Store, kind: str, k: int) -> dict[str, list[str]]:
    """entity id -> neighbour ids, best first (the precomputed table, or vectors past its depth)."""
    with store.session() as session:
        rows = session.execute(
            select(Neighbor.entity_id, Neighbor.neighbor_id)
            .where(
                Neighbor.entity_kind == kind,
                Neighbor.rank <= k,
                Neighbor.model != "cultural-other-artists",
            )
            .order_by(Neighbor.entity_id, Neighbor.rank)
        ).all()
        depth = session.execute(
            select(func.max(Neighbor.rank)).where(
                Neighbor.entity_kind == kind, Neighbor.model != "cultural-other-artists"
            )
        ).scalar()
    out: dict[str, list[str]] = {}
    for eid, nid in rows:
        out.setdefault(str(eid), []).append(str(nid))
    if depth is not None and depth < k:
        from nlp.profiles import CULTURAL, load_matrix
        from nlp.similarity import knn

        ids, matrix = load_matrix(store, kind, CULTURAL)
        out = {e: [n for n, _ in v] for e, v in knn(ids, matrix, k).items()}
    return out


@click.command("neighbors")
@click.option("--kind", type=click.Choice(["artist", "track"]), required=True)
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
def export_neighbors_command(kind: str, k: int) -> None:
    """TSV to stdout: entity_id<TAB>neighbour ids separated by spaces, best first."""
    store = app(click.get_current_context()).store()
    for eid, nbrs in sorted(export_table(store, kind, k).items()):
        click.echo(f"{eid}\t{' '.join(nbrs)}")


@click.command("similarity")
@click.option("--gold", "gold_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["artist", "track"]), required=True)
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
def eval_similarity_command(gold_file: Path, kind: str, k: int) -> None:
    """P@k and nDCG@k of `export neighbors` against a gold TSV."""
    from nlp.similarity import evaluate, read_neighbor_tsv

    if not gold_file.is_file():
        raise UserFacingError(f"gold file not found: {gold_file}")
    try:
        gold = read_neighbor_tsv(gold_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserFacingError(f"{gold_file}: {exc}") from None
    if not gold:
        raise UserFacingError(f"no `id<TAB>ids` lines in {gold_file}")
    store = app(click.get_current_context()).store()
    click.echo(evaluate(export_table(store, kind, k), gold, k).format())


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `embed`, `similar`, `descriptors`, `export neighbors`, `eval similarity`."""
    cli.add_command(embed_command)
    cli.add_command(similar_command)
    cli.add_command(descriptors_command)
    groups["export"].add_command(export_neighbors_command)
    groups["eval"].add_command(eval_similarity_command)
