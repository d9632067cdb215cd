"""Profile pages: data gathering on both backends, rendering, escaping, WSGI routes, report."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from linernotes.api import Linernotes
from linernotes.cli import main
from linernotes.errors import UserFacingError
from linernotes.server import make_app
from linernotes.storage import Store
from linernotes.web import render_entity_page
from tests.test_views import seed


def _get(store: Store, path: str, query: str = "") -> tuple[str, str]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {"PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO()}
    body = b"".join(make_app(Linernotes(store))(environ, start)).decode("utf-8")
    return seen["status"], body


def test_gather_entity_on_both_backends(store: Store) -> None:
    seed(store)
    api = Linernotes(store)
    assert api.resolve("track", "ALISON").id == "tr:alison"
    assert api.resolve("track", "tr:heaven").id == "tr:heaven"
    with pytest.raises(UserFacingError, match="unknown artist: 'nobody'"):
        api.resolve("artist", "nobody")
    data = api.profile("track", "tr:alison")
    assert data is not None
    assert (data["name"], data["artist_name"], data["artist_id"]) == (
        "Alison",
        "Slowdive",
        "ar:slowdive",
    )
    assert [d["term"] for d in data["descriptors"]] == ["hazy", "dreamy"]
    assert data["trend"] == {
        "months": ["2024-01", "2024-02"],
        "series": {"hazy": [0.3, 0.8], "dreamy": [0.0, 0.4]},
    }
    assert [n["neighbor_name"] for n in data["neighbors"]] == ["Heaven or Las Vegas", "Soon"]
    assert data["evidence"][0]["text"] == "Alison is a hazy song by Slowdive."
    assert data["evidence"][0]["url"] == "https://blog.example/2024/02/alison"
    assert api.profile("track", "tr:none") is None


def test_page_shows_bars_trend_neighbours_and_evidence(sqlite_store: Store) -> None:
    seed(sqlite_store)
    status, page = _get(sqlite_store, "/track/tr:alison")  # PATH_INFO arrives decoded
    assert status == "200 OK"
    assert "<h1>Alison</h1>" in page
    assert re.search(r'data-term="hazy".*?width:100\.0%', page)
    assert re.search(r'data-term="dreamy".*?width:50\.0%', page)
    assert page.count("<polyline") == 2 and "2024-01" in page and "2024-02" in page
    assert 'href="/track/tr%3Aheaven">Heaven or Las Vegas</a>' in page
    assert 'href="/artist/ar%3Aslowdive">Slowdive</a>' in page
    assert 'href="https://blog.example/2024/02/alison"' in page
    assert "<q>Alison is a hazy song by Slowdive.</q>" in page
    assert "2024-02-10" in page


def test_search_and_not_found(sqlite_store: Store) -> None:
    seed(sqlite_store)
    status, page = _get(sqlite_store, "/", "q=ali")
    assert status == "200 OK"
    assert 'href="/track/tr%3Aalison">Alison</a>' in page
    status, page = _get(sqlite_store, "/", "q=zzz")
    assert "Nothing matches" in page
    assert _get(sqlite_store, "/track/tr%3Anope")[0] == "404 Not Found"
    assert _get(sqlite_store, "/elsewhere")[0] == "404 Not Found"


def test_everything_from_the_crawl_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    data = {
        "kind": "track",
        "id": 'x"><img src=x>',
        "name": evil,
        "artist_id": "a",
        "artist_name": evil,
        "descriptors": [{"term": evil, "weight": 1.0, "count": 1}],
        "trend": {"months": ["2024-01"], "series": {evil: [1.0]}},
        "neighbors": [
            {
                "neighbor_id": '"><b>',
                "neighbor_name": evil,
                "neighbor_artist_name": evil,
                "score": 0.5,
            }
        ],
        "evidence": [
            {"text": evil, "url": "javascript:alert(1)", "title": evil, "published_at": None}
        ],
    }
    page = render_entity_page(data)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "javascript:" not in page  # not a link, and the title is shown instead
    assert "&lt;script&gt;" in page


def test_report_writes_one_static_file(sqlite_store: Store, tmp_path: Path) -> None:
    seed(sqlite_store)
    out = tmp_path / "alison.html"
    args = ["--db", sqlite_store.url, "report", "--track", "Alison", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert 'data-term="hazy"' in page and "<svg" in page
    assert "Heaven or Las Vegas" in page
    assert 'href="/' not in page  # no links into a server that is not there
    assert 'href="https://blog.example/2024/02/alison"' in page

    missing = CliRunner().invoke(main, [*args[:4], "Nope", "--out", str(out)])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "error: no track with id or name 'Nope'"


def test_a_track_page_lists_neighbours_by_other_artists_apart(sqlite_store: Store) -> None:
    from linernotes.storage.models import Neighbor

    seed(sqlite_store)
    with sqlite_store.session() as session:
        session.add(
            Neighbor(
                entity_kind="track",
                entity_id="tr:alison",
                rank=3,
                neighbor_id="tr:heaven",
                score=0.4,
                model="cultural-other-artists",
            )
        )
    data = Linernotes(sqlite_store).profile("track", "tr:alison")
    assert data is not None
    assert [n["neighbor_id"] for n in data["neighbors"]] == ["tr:heaven", "tr:soon"]
    assert [n["neighbor_id"] for n in data["other_artists"]] == ["tr:heaven"]
    page = render_entity_page(data)
    assert page.index("By other artists") > page.index("Nearest neighbours")


def test_trend_chart_keeps_months_whose_writing_used_none_of_its_terms() -> None:
    from linernotes.web import trend_series

    rows = [{"month": "2024-05", "term": "shimmering", "weight": 1.5}]
    trend = trend_series(rows, months=["2024-03", "2024-05"])
    assert trend == {"months": ["2024-03", "2024-05"], "series": {"shimmering": [0.0, 1.5]}}


def test_a_trend_with_dated_evidence_but_no_plotted_term_says_so() -> None:
    from linernotes.web import render_trend, trend_series

    assert "No dated evidence yet" in render_trend(trend_series([]))
    said_once = render_trend(trend_series([], months=["2024-03"]))
    assert "No dated evidence" not in said_once and "often enough" in said_once


def test_bars_mark_terms_inferred_from_neighbours() -> None:
    from linernotes.web import render_bars

    html = render_bars(
        [
            {"term": "dreamy", "weight": 2.0, "count": 3, "source": "text"},
            {"term": "shoegaze", "weight": 1.0, "count": 0, "source": "neighbours"},
        ]
    )
    assert re.search(r'class="bar-row" data-term="dreamy".*?3&times;', html)
    assert re.search(
        r'class="bar-row inferred" title="[^"]+" data-term="shoegaze".*?inferred', html
    )
    assert "Terms in italics are inferred" in html
    assert "inferred" not in render_bars([{"term": "dreamy", "weight": 2.0, "count": 3}])
