"""One name resolution for the CLI, the pages and the Python API.

A user names an artist, track or album by catalogue id or by name. Names are
not unique ("Heaven" is a track of several artists), so resolution returns
the pick *and* the other candidates: callers show which one was taken and
that others exist, instead of silently choosing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from linernotes.errors import UserFacingError
from linernotes.storage.models import Album, Artist, Evidence, Track
from linernotes.storage.names import normalize_name

KINDS = ("artist", "track", "album")


@dataclass(frozen=True)
class Candidate:
    """One entity a reference may mean."""

    id: str
    name: str
    artist_name: str | None
    evidence: int = 0

    def label(self) -> str:
        by = f" by {self.artist_name}" if self.artist_name and self.artist_name != self.name else ""
        return f"{self.name}{by} ({self.id})"


@dataclass(frozen=True)
class Resolution:
    """The entity a reference was resolved to, and every candidate it could have meant."""

    kind: str
    ref: str
    pick: Candidate
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.pick.id

    @property
    def name(self) -> str:
        return self.pick.name

    @property
    def others(self) -> list[Candidate]:
        return [c for c in self.candidates if c.id != self.pick.id]

    def note(self) -> str | None:
        """The line a CLI prints when the name was ambiguous (None when it was not)."""
        if not self.others:
            return None
        rest = "; ".join(c.label() for c in self.others[:5])
        more = f" and {len(self.others) - 5} more" if len(self.others) > 5 else ""
        return (
            f"{self.ref!r} matches {len(self.candidates)} {self.kind}s: picked "
            f"{self.pick.label()}, the most written about; others: {rest}{more} "
            "(give the id to choose)"
        )


def _model(kind: str) -> tuple[Any, Any, Any]:
    """(model, display-name column, normalised-name column) of a kind."""
    if kind == "artist":
        return Artist, Artist.name, Artist.norm_name
    if kind == "track":
        return Track, Track.title, Track.norm_title
    if kind == "album":
        return Album, Album.title, Album.norm_title
    raise UserFacingError(f"unknown entity kind {kind!r} (one of {', '.join(KINDS)})")


def _candidates(session: Session, kind: str, ref: str) -> list[tuple[str, str, str | None]]:
    model, label, norm = _model(kind)
    artist_name: Any = Artist.name if kind != "artist" else label
    query = select(model.id, label, artist_name)
    if kind != "artist":
        query = query.outerjoin(Artist, Artist.id == model.artist_id)
    exact = session.execute(query.where(model.id == ref)).all()
    if exact:
        return [(str(i), str(n), a) for i, n, a in exact]
    key = normalize_name(ref)
    matches = or_(func.lower(label) == ref.lower(), norm == key) if key else None
    if matches is None:
        return []
    return [(str(i), str(n), a) for i, n, a in session.execute(query.where(matches)).all()]


def resolve(session: Session, kind: str, ref: str) -> Resolution:
    """The entity `ref` (an id or a name) names; the most-evidenced candidate first.

    Raises UserFacingError naming the reference when nothing matches.
    """
    found = _candidates(session, kind, ref)
    if not found:
        raise UserFacingError(f"unknown {kind}: {ref!r} (give a catalogue id or a name)")
    counts: dict[str, int] = {}
    if len(found) > 1:
        counts = {
            str(e): int(n)
            for e, n in session.execute(
                select(Evidence.entity_id, func.count())
                .where(Evidence.entity_kind == kind, Evidence.entity_id.in_([f[0] for f in found]))
                .group_by(Evidence.entity_id)
            ).all()
        }
    ranked = sorted(
        (Candidate(i, n, a, counts.get(i, 0)) for i, n, a in found),
        key=lambda c: (-c.evidence, c.id),
    )
    return Resolution(kind, ref, ranked[0], ranked)
