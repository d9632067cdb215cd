"""Profile pages: an artist's or track's descriptors, trend, neighbours and evidence.

Two layers, so the page can be served live (`linernotes serve`) or written to
one static file (`linernotes report`): `gather_*` functions read plain data
through portable SQL, and `render_*` functions turn that data into HTML with
no database in sight (tests render fixture dicts directly). Everything shown
comes from crawled pages, so every string is escaped and only http(s) links
are emitted. The server is stdlib wsgiref: a local viewer needs no framework.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from sqlalchemy import text

from storage import Store

KINDS = ("artist", "track", "album")
PALETTE = ("#3b6ea5", "#d1495b", "#66a182", "#edae49", "#8d6a9f")
CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;
color:#222}
header{display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}
header a{color:#222;text-decoration:none;font-weight:600}
form input{font:inherit;padding:.2rem .4rem;width:16rem}
h1{margin:.6rem 0 0}.sub{color:#666;margin:0 0 1rem}
section{margin:1.4rem 0}h2{font-size:1.1rem;border-bottom:1px solid #ddd}
.bar-row{display:grid;grid-template-columns:11rem 1fr 5rem;gap:.5rem;align-items:center;
margin:.15rem 0}
.bar{background:#3b6ea5;height:.9rem;border-radius:2px}.num{color:#666;font-size:.85rem}
ol.neighbors li,ul.evidence li,ul.results li{margin:.3rem 0}
ul.evidence q{display:block}.meta{color:#666;font-size:.85rem}
.legend span{margin-right:1rem;font-size:.85rem}.empty{color:#888}
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or a double-quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: Any) -> str | None:
    """Only http(s) URLs become links: a crawled `javascript:` URL must never be clickable."""
    value = str(url or "").strip()
    return value if value.lower().startswith(("http://", "https://")) else None


def entity_path(kind: str, entity_id: str) -> str:
    return f"/{kind}/{quote(entity_id, safe='')}"


# ---------------------------------------------------------------- data


def _rows(store: Store, sql: str, **params: Any) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def resolve_entity(store: Store, kind: str, ref: str) -> str | None:
    """The catalogue id of an artist/track/album given as an id or a name (case-insensitive)."""
    if kind not in KINDS:
        raise ValueError(f"unknown entity kind {kind!r}")
    found = _rows(
        store,
        "SELECT entity_id FROM entity_names WHERE entity_kind = :k AND "
        "(entity_id = :r OR LOWER(name) = LOWER(:r)) ORDER BY entity_id = :r DESC LIMIT 1",
        k=kind,
        r=ref,
    )
    return str(found[0]["entity_id"]) if found else None


def search(store: Store, query: str, limit: int = 50) -> list[dict[str, Any]]:
    """Catalogue entities whose name contains `query`, profiled ones first."""
    pattern = "%" + query.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
    return _rows(
        store,
        "SELECT n.entity_kind, n.entity_id, n.name, n.artist_name, "
        "(SELECT COUNT(*) FROM descriptors d WHERE d.entity_kind = n.entity_kind "
        "AND d.entity_id = n.entity_id) AS terms "
        "FROM entity_names n WHERE LOWER(n.name) LIKE :p "
        f"ORDER BY terms DESC, n.name LIMIT {int(limit)}",
        p=pattern,
    )


def gather_entity(
    store: Store, kind: str, entity_id: str, top: int = 15, evidence: int = 20
) -> dict[str, Any] | None:
    """All a profile page shows, as plain data; None when the entity does not exist."""
    names = _rows(
        store,
        "SELECT name, artist_id, artist_name FROM entity_names "
        "WHERE entity_kind = :k AND entity_id = :i",
        k=kind,
        i=entity_id,
    )
    if not names:
        return None
    key = {"k": kind, "i": entity_id}
    descriptors = _rows(
        store,
        "SELECT term, weight, count FROM descriptors WHERE entity_kind = :k AND entity_id = :i "
        f"ORDER BY weight DESC, term LIMIT {int(top)}",
        **key,
    )
    months = _rows(
        store,
        "SELECT month, term, weight FROM descriptor_months "
        "WHERE entity_kind = :k AND entity_id = :i ORDER BY month",
        **key,
    )
    neighbors = _rows(
        store,
        "SELECT neighbor_id, neighbor_name, neighbor_artist_name, score FROM neighbor_names "
        "WHERE entity_kind = :k AND entity_id = :i AND model <> 'cultural-other-artists' "
        "ORDER BY rank",
        **key,
    )
    # profiles work (issue 10): a track's nearest tracks by other artists, a second list
    other_artists = _rows(
        store,
        "SELECT neighbor_id, neighbor_name, neighbor_artist_name, score FROM neighbor_names "
        "WHERE entity_kind = :k AND entity_id = :i AND model = 'cultural-other-artists' "
        "ORDER BY rank",
        **key,
    )
    sentences = _rows(
        store,
        "SELECT e.text, e.published_at, d.url, d.title FROM evidence e "
        "JOIN documents d ON d.id = e.document_id WHERE e.entity_kind = :k AND e.entity_id = :i "
        f"ORDER BY (e.published_at IS NULL), e.published_at DESC, e.id LIMIT {int(evidence)}",
        **key,
    )
    return {
        "kind": kind,
        "id": entity_id,
        **names[0],
        "descriptors": descriptors,
        "trend": trend_series(months),
        "neighbors": neighbors,
        "other_artists": other_artists,
        "evidence": sentences,
    }


def trend_series(rows: Iterable[dict[str, Any]], terms: int = 5) -> dict[str, Any]:
    """Monthly weights of the strongest terms: {"months": [...], "series": {term: [...]}}."""
    table: dict[str, dict[str, float]] = {}
    totals: dict[str, float] = {}
    for row in rows:
        table.setdefault(row["month"], {})[row["term"]] = float(row["weight"])
        totals[row["term"]] = totals.get(row["term"], 0.0) + float(row["weight"])
    months = sorted(table)
    chosen = sorted(totals, key=lambda t: (-totals[t], t))[:terms]
    return {"months": months, "series": {t: [table[m].get(t, 0.0) for m in months] for t in chosen}}


# ---------------------------------------------------------------- HTML


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)} · linernotes</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _header(live: bool, query: str = "") -> str:
    if not live:
        return "<header><span>linernotes</span></header>"
    return (
        '<header><a href="/">linernotes</a><form action="/" method="get" role="search">'
        f'<input type="search" name="q" value="{esc(query)}" placeholder="artist, track, album"'
        ' aria-label="search"> <button type="submit">Search</button></form></header>'
    )


def render_bars(descriptors: list[dict[str, Any]]) -> str:
    if not descriptors:
        return '<p class="empty">No descriptors yet.</p>'
    peak = max(float(d["weight"]) for d in descriptors) or 1.0
    rows = []
    for d in descriptors:
        width = max(1.0, 100.0 * float(d["weight"]) / peak)
        rows.append(
            f'<div class="bar-row" data-term="{esc(d["term"])}"><span class="term">'
            f'{esc(d["term"])}</span><div class="bar" style="width:{width:.1f}%"></div>'
            f'<span class="num">{float(d["weight"]):.3f} · {esc(d["count"])}&times;</span></div>'
        )
    return '<div class="bars">' + "".join(rows) + "</div>"


def render_trend(trend: dict[str, Any], width: int = 640, height: int = 180) -> str:
    """A small inline SVG line chart, one line per term, months along the x axis."""
    months, series = trend["months"], trend["series"]
    if not months or not series:
        return '<p class="empty">No dated evidence yet.</p>'
    pad, peak = 28, max(max(v) for v in series.values()) or 1.0
    step = (width - 2 * pad) / max(1, len(months) - 1)

    def point(i: int, value: float) -> str:
        x = pad + i * step if len(months) > 1 else width / 2
        return f"{x:.1f},{height - pad - (height - 2 * pad) * value / peak:.1f}"

    parts = [
        f'<svg class="trend" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="descriptor weight by month"><line x1="{pad}" y1="{height - pad}" '
        f'x2="{width - pad}" y2="{height - pad}" stroke="#bbb"/>',
        f'<text x="{pad}" y="{height - 8}" font-size="11">{esc(months[0])}</text>',
        f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">'
        f"{esc(months[-1])}</text>",
    ]
    legend = []
    for n, (term, values) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        points = " ".join(point(i, v) for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}">'
            f"<title>{esc(term)}</title></polyline>"
        )
        parts += [
            f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{color}"/>'
            for p in points.split()
        ]
        legend.append(f'<span style="color:{color}">■ {esc(term)}</span>')
    return "".join(parts) + '</svg><div class="legend">' + "".join(legend) + "</div>"


def render_neighbors(kind: str, neighbors: list[dict[str, Any]], live: bool) -> str:
    if not neighbors:
        return '<p class="empty">No neighbours yet.</p>'
    items = []
    for n in neighbors:
        label = esc(n["neighbor_name"] or n["neighbor_id"])
        if live:
            label = (
                f'<a class="neighbor" href="{esc(entity_path(kind, n["neighbor_id"]))}">{label}</a>'
            )
        artist = n["neighbor_artist_name"]
        by = f" &ndash; {esc(artist)}" if kind != "artist" and artist else ""
        items.append(f'<li>{label}{by} <span class="num">{float(n["score"]):.3f}</span></li>')
    return '<ol class="neighbors">' + "".join(items) + "</ol>"


def _other_artists_section(kind: str, neighbors: list[dict[str, Any]], live: bool) -> str:
    """Tracks only: the nearest tracks by other artists (profiles work, issue 10)."""
    if kind != "track" or not neighbors:
        return ""
    return "<h3>By other artists</h3>" + render_neighbors(kind, neighbors, live)


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value or "")[:10]


def render_evidence(evidence: list[dict[str, Any]]) -> str:
    if not evidence:
        return '<p class="empty">No evidence sentences yet.</p>'
    items = []
    for e in evidence:
        url = safe_url(e["url"])
        source = esc(e.get("title") or e["url"])
        link = f'<a href="{esc(url)}" rel="nofollow noopener">{source}</a>' if url else source
        items.append(
            f'<li><q>{esc(e["text"])}</q><span class="meta">{link} · '
            f"{esc(_date(e['published_at']))}</span></li>"
        )
    return '<ul class="evidence">' + "".join(items) + "</ul>"


def render_entity_page(data: dict[str, Any], live: bool = True) -> str:
    """The profile page of one entity (`live`: links to the server's other pages)."""
    kind = data["kind"]
    sub = esc(kind)
    if kind != "artist" and data.get("artist_name"):
        artist = esc(data["artist_name"])
        if live and data.get("artist_id"):
            artist = f'<a href="{esc(entity_path("artist", data["artist_id"]))}">{artist}</a>'
        sub += f" by {artist}"
    body = (
        _header(live)
        + f'<h1>{esc(data["name"])}</h1><p class="sub">{sub} · <code>{esc(data["id"])}</code></p>'
        + "<section><h2>Top descriptors</h2>"
        + render_bars(data["descriptors"])
        + "</section><section><h2>Over time</h2>"
        + render_trend(data["trend"])
        + "</section><section><h2>Nearest neighbours</h2>"
        + render_neighbors(kind, data["neighbors"], live)
        + _other_artists_section(kind, data.get("other_artists") or [], live)
        + "</section><section><h2>Evidence</h2>"
        + render_evidence(data["evidence"])
        + "</section>"
    )
    return _page(str(data["name"]), body)


def render_search_page(query: str, results: list[dict[str, Any]]) -> str:
    items = []
    for r in results:
        by = (
            f" &ndash; {esc(r['artist_name'])}"
            if r["entity_kind"] != "artist" and r["artist_name"]
            else ""
        )
        href = esc(entity_path(r["entity_kind"], r["entity_id"]))
        items.append(
            f'<li><a href="{href}">{esc(r["name"])}</a>{by} <span class="num">'
            f"{esc(r['entity_kind'])}, {esc(r['terms'])} terms</span></li>"
        )
    if query and not items:
        listing = f'<p class="empty">Nothing matches &ldquo;{esc(query)}&rdquo;.</p>'
    else:
        listing = '<ul class="results">' + "".join(items) + "</ul>"
    return _page("search", _header(True, query) + "<h1>Search</h1>" + listing)


# ---------------------------------------------------------------- server


Start = Callable[[str, list[tuple[str, str]]], Any]


def make_app(store: Store) -> Callable[[dict[str, Any], Start], list[bytes]]:
    """The WSGI application: `/`, `/?q=...`, `/artist/ID`, `/track/ID`, `/album/ID`."""

    def application(environ: dict[str, Any], start_response: Start) -> list[bytes]:
        path = environ.get("PATH_INFO") or "/"
        status, page = "200 OK", ""
        if path == "/":
            query = parse_qs(environ.get("QUERY_STRING", "")).get("q", [""])[0].strip()
            page = render_search_page(query, search(store, query) if query else [])
        else:
            parts = path.strip("/").split("/", 1)
            data = None
            if len(parts) == 2 and parts[0] in KINDS:
                data = gather_entity(store, parts[0], unquote(parts[1]))
            if data is None:
                status, page = (
                    "404 Not Found",
                    _page("not found", _header(True) + "<h1>Not found</h1>"),
                )
            else:
                page = render_entity_page(data)
        body = page.encode("utf-8")
        start_response(
            status,
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return application


def serve(store: Store, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the pages until interrupted (single-threaded: a local viewer, not a web site)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    with make_server(host, port, make_app(store), handler_class=QuietHandler) as httpd:
        print(f"serving on http://{host}:{httpd.server_port}/ (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()
