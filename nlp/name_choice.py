"""Which catalogue entry a bare name means, and which others it could mean (for the CLI and API).

`descriptors --track Heaven` must not pick one of two tracks called "Heaven" silently. The stored
mentions say which one the crawled text speaks of: each mention was linked from its context and,
when its name was ambiguous, stored with every candidate and its score (`mentions.candidates`).
`choose_by_name` ranks the catalogue entries named so by those linked mentions (then by how much
of the catalogue their artist owns) and returns the pick with the others, so the caller can say
"picked X (N mentions); also: Y, Z".

A name matches titles with and without their version parts: "Running Up That Hill" finds
"Running Up That Hill (A Deal with God)".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linernotes.nlp.gazetteer import title_base
from linernotes.storage.models import Album, Artist, Mention, Track
from linernotes.storage.names import normalize_name


@dataclass(frozen=True)
class NameCandidate:
    """One catalogue entry a name can mean, and the evidence for it."""

    entity_id: str
    name: str
    artist_id: str | None
    artist_name: str | None
    mentions: int  # stored mentions linked to it
    confidence: float  # share of the evidence, in (0, 1]


@dataclass(frozen=True)
class NameChoice:
    """The picked entry and the others the name could mean (best first)."""

    picked: NameCandidate
    others: tuple[NameCandidate, ...]

    @property
    def ambiguous(self) -> bool:
        return bool(self.others)

    def describe(self) -> str:
        """One line for the CLI: what was picked and that (which) others exist."""
        who = f" by {self.picked.artist_name}" if self.picked.artist_name else ""
        line = f"{self.picked.name}{who} ({self.picked.entity_id})"
        if not self.others:
            return line
        rest = ", ".join(
            f"{o.name}" + (f" by {o.artist_name}" if o.artist_name else "") + f" ({o.entity_id})"
            for o in self.others
        )
        return f"picked {line}, {self.picked.mentions} mentions; also named so: {rest}"


def choose_by_name(session: Session, kind: str, name: str) -> NameChoice | None:
    """The catalogue entry of `kind` ("artist", "track", "album") named `name`, with the others."""
    rows = _entries(session, kind, name)
    if not rows:
        return None
    counts = _mention_counts(session, [r[0] for r in rows])
    rows_owned = _artist_rows(session, {r[2] for r in rows if r[2]})
    total = sum(counts.get(r[0], 0) + 1 for r in rows)
    ranked = sorted(
        rows,
        key=lambda r: (-counts.get(r[0], 0), -rows_owned.get(r[2] or r[0], 0), r[0]),
    )
    found = tuple(
        NameCandidate(
            r[0], r[1], r[2], r[3], counts.get(r[0], 0), round((counts.get(r[0], 0) + 1) / total, 3)
        )
        for r in ranked
    )
    return NameChoice(found[0], found[1:])


def _entries(
    session: Session, kind: str, name: str
) -> list[tuple[str, str, str | None, str | None]]:
    """(id, name, artist id, artist name) of entries whose name, or title without version parts,
    normalises like `name`."""
    key = normalize_name(name)
    if not key:
        return []
    if kind == "artist":
        stmt = select(Artist.id, Artist.name).where(Artist.norm_name == key)
        return [(i, n, None, None) for i, n in session.execute(stmt)]
    if kind not in ("track", "album"):
        raise ValueError(f"unknown kind {kind!r} (use artist, track or album)")
    plain = normalize_name(title_base(name)) or key
    model: type[Track] | type[Album] = Track if kind == "track" else Album
    works = (
        select(model.id, model.title, model.artist_id, Artist.name)
        .outerjoin(Artist, Artist.id == model.artist_id)
        .where(
            (model.norm_title == key)
            | (model.norm_title == plain)
            | model.norm_title.startswith(plain + " ")
        )
    )
    out: list[tuple[str, str, str | None, str | None]] = []
    for wid, title, artist_id, artist in session.execute(works):
        norms = {normalize_name(title), normalize_name(title_base(title))}
        if key in norms or plain in norms:
            out.append((wid, title, artist_id, artist))
    return out


def _mention_counts(session: Session, ids: list[str]) -> dict[str, int]:
    stmt = (
        select(Mention.entity_id, func.count())
        .where(Mention.entity_id.in_(ids))
        .group_by(Mention.entity_id)
    )
    return {str(i): int(n) for i, n in session.execute(stmt)}


def _artist_rows(session: Session, artist_ids: set[str]) -> dict[str, int]:
    """Tracks + albums per artist: the catalogue's popularity prior (as Gazetteer.prior)."""
    out: dict[str, int] = {}
    for model in (Track, Album):
        stmt = (
            select(model.artist_id, func.count())
            .where(model.artist_id.in_(artist_ids))
            .group_by(model.artist_id)
        )
        for artist_id, n in session.execute(stmt):
            out[str(artist_id)] = out.get(str(artist_id), 0) + int(n)
    return out
