"""Buzz charts: the `trending` view, `linernotes trending` and the page section.

A prolific blog posting four times about one artist must not outrank an
artist written about by three different blogs: charts count distinct
sources first, then distinct posts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Table, text

from linernotes.api import Linernotes
from linernotes.cli import main
from linernotes.storage import Store
from linernotes.storage.models import Artist, Document, Mention, Source
from linernotes.web import render_home_page
from tests.test_views import _insert

UNTIL = datetime(2024, 6, 10, tzinfo=UTC)  # a Monday; the window is the 7 days before


def _doc(i: int, source: int, days_before: float) -> Document:
    when = UNTIL - timedelta(days=days_before)
    return Document(
        id=i, url=f"https://s{source}.example/p{i}", canonical_url=f"c{i}", source_id=source,
        status="stored", title=f"Post {i}", published_at=when, text="x" * 40,
        content_hash=f"h{i}", fetched_at=UNTIL, metadata_json={},
    )  # fmt: skip


def _mention(i: int, doc: int, entity: str) -> Mention:
    return Mention(
        id=i, document_id=doc, start=i, end=i + 3, sent_start=0, sent_end=30, label="ARTIST",
        entity_id=entity, surface="x", norm_surface="x", confidence=1.0, method="gazetteer",
    )  # fmt: skip


def seed_buzz(store: Store) -> None:
    now = UNTIL
    objects: list[Any] = [
        Artist(id="ar:prolific", name="Prolific Pick", norm_name="prolific pick", aliases=[]),
        Artist(id="ar:wide", name="Widely Covered", norm_name="widely covered", aliases=[]),
        Artist(id="ar:fading", name="Fading", norm_name="fading", aliases=[]),
        *[Source(id=s, name=f"blog-{s}", config={}, created_at=now) for s in (1, 2, 3, 4)],
        # this week: blog-1 posts four times about ar:prolific; three blogs cover ar:wide
        *[_doc(i, 1, i) for i in (1, 2, 3, 4)],
        _doc(5, 2, 1), _doc(6, 3, 2), _doc(7, 4, 3),
        _doc(8, 2, 4),  # ar:fading, this week: one source
        _doc(9, 3, 9), _doc(10, 4, 10),  # ar:fading, the week before: two sources
        _doc(11, 2, 30),  # outside both windows
    ]  # fmt: skip
    mentions = [(1, 1, "ar:prolific"), (2, 2, "ar:prolific"), (3, 3, "ar:prolific")]
    mentions += [(4, 4, "ar:prolific"), (5, 4, "ar:prolific"), (6, 5, "ar:wide")]
    mentions += [(7, 6, "ar:wide"), (8, 7, "ar:wide"), (9, 8, "ar:fading")]
    mentions += [(10, 9, "ar:fading"), (11, 10, "ar:fading"), (12, 11, "ar:wide")]
    objects += [_mention(i, d, e) for i, d, e in mentions]
    tables: dict[str, Table] = {}
    with store.engine.begin() as conn:
        for obj in objects:
            _insert(conn, tables, obj)


def test_view_rows_carry_source_and_monday_week(store: Store) -> None:
    seed_buzz(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity_id, source, week, mentions FROM trending WHERE document_id = 4")
        ).all()
    # 2024-06-06 is a Thursday: its ISO week starts on Monday 2024-06-03
    assert [tuple(r) for r in rows] == [("ar:prolific", "blog-1", "2024-06-03", 2)]


def test_distinct_sources_beat_one_prolific_blog(store: Store) -> None:
    seed_buzz(store)
    chart = Linernotes(store).trending_rows("artist", 7, until=UNTIL)
    assert [(e["id"], e["sources"], e["posts"]) for e in chart] == [
        ("ar:wide", 3, 3),
        ("ar:prolific", 1, 4),
        ("ar:fading", 1, 1),
    ]
    wide = chart[0]
    assert [p["source"] for p in wide["posts_behind"]] == ["blog-2", "blog-3", "blog-4"]
    assert wide["posts_behind"][0]["url"] == "https://s2.example/p5"


def test_rising_compares_with_the_window_before(store: Store) -> None:
    seed_buzz(store)
    chart = Linernotes(store).trending_rows("artist", 7, until=UNTIL, order="rising")
    assert [(e["id"], e["rise_sources"]) for e in chart] == [
        ("ar:wide", 3),
        ("ar:prolific", 1),
        ("ar:fading", -1),
    ]


def test_cli_lists_sources_and_posts(sqlite_store: Store) -> None:
    seed_buzz(sqlite_store)
    args = ["--db", sqlite_store.url, "trending", "--kind", "artist", "--days", "7"]
    result = CliRunner().invoke(main, [*args, "--until", "2024-06-10"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("  1  Widely Covered  3 sources, 3 posts")
    assert "https://s2.example/p5" in result.stdout
    as_json = CliRunner().invoke(main, [*args, "--until", "2024-06-10", "--json"])
    chart = json.loads(as_json.stdout)["chart"]
    assert [e["id"] for e in chart] == ["ar:wide", "ar:prolific", "ar:fading"]
    empty = CliRunner().invoke(main, [*args, "--until", "2030-01-01"])
    assert empty.exit_code == 1
    assert "newest post mentioning one is from 2024-06-09" in empty.stderr


def test_page_section_shows_both_charts(sqlite_store: Store) -> None:
    seed_buzz(sqlite_store)
    charts = Linernotes(sqlite_store).trending_charts(7)  # window ends at the newest post
    page = render_home_page(charts)
    assert "Most written-about artists" in page and "Rising artists" in page
    assert page.index("Widely Covered") < page.index("Prolific Pick")
    assert 'href="/artist/ar%3Awide"' in page and 'href="https://s2.example/p5"' in page
