"""Profile pages: an artist's or track's descriptors, trend, neighbours and evidence.

Rendering only: the data comes from `linernotes.api` (the same queries the
CLI prints), and `render_*` functions turn it into HTML with no database in
sight (tests render fixture dicts directly). Everything shown comes from
crawled pages, so every string is escaped and only http(s) links are emitted.
Pages are served by `linernotes.server` and written to files by
`linernotes.site`; a `Linker` decides where entity links point (the server,
a static site, or nowhere for a single report file).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote

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
.inferred .bar{background:#a9c1dc}.inferred .term{font-style:italic}
ol.neighbors li,ul.evidence li,ul.results li{margin:.3rem 0}
ul.evidence q{display:block}.meta{color:#666;font-size:.85rem}
.legend span{margin-right:1rem;font-size:.85rem}.empty{color:#888}
table.chart{border-collapse:collapse;width:100%}table.chart td,table.chart th{text-align:left;
padding:.25rem .4rem;border-bottom:1px solid #eee;vertical-align:top}
table.chart ul{margin:.2rem 0;padding-left:1.1rem;font-size:.85rem}
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or a double-quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: Any) -> str | None:
    """Only http(s) URLs become links: a crawled `javascript:` URL must never be clickable."""
    value = str(url or "").strip()
    return value if value.lower().startswith(("http://", "https://")) else None


def entity_path(kind: str, entity_id: str) -> str:
    """The server path of an entity: the id percent-encoded whole, '/' and '%' included."""
    return f"/{kind}/{quote(entity_id, safe='')}"


# Where a link to (kind, id) points (None from it: that entity has no page);
# a Linker of None: no links at all (a single static report file).
Linker = Callable[[str, str], str | None] | None


def _linker(live: bool, link: Linker) -> Linker:
    return link if link is not None else (entity_path if live else None)


# ---------------------------------------------------------------- data


def trend_series(
    rows: Iterable[dict[str, Any]], terms: int = 5, months: Iterable[str] = ()
) -> dict[str, Any]:
    """Monthly weights of the strongest terms: {"months": [...], "series": {term: [...]}}.

    `months`: every month the entity was written about; a month whose writing
    used none of the plotted terms shows them at 0 instead of vanishing.
    """
    table: dict[str, dict[str, float]] = {m: {} for m in months}
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
        inferred = d.get("source") == "neighbours"
        said = "inferred" if inferred else f"{esc(d['count'])}&times;"
        cls = "bar-row inferred" if inferred else "bar-row"
        title = ' title="not in its own text: its nearest neighbours use it"' if inferred else ""
        rows.append(
            f'<div class="{cls}"{title} data-term="{esc(d["term"])}">'
            f'<span class="term">{esc(d["term"])}</span>'
            f'<div class="bar" style="width:{width:.1f}%"></div>'
            f'<span class="num">{float(d["weight"]):.3f} · {said}</span></div>'
        )
    note = ""
    if any(d.get("source") == "neighbours" for d in descriptors):
        note = (
            '<p class="meta">Terms in italics are inferred: its nearest neighbours are '
            "described with them, its own evidence is not.</p>"
        )
    return '<div class="bars">' + "".join(rows) + "</div>" + note


def render_trend(trend: dict[str, Any], width: int = 640, height: int = 180) -> str:
    """A small inline SVG line chart, one line per term, months along the x axis.

    Dated writing with no line to draw is said apart from no dated writing: only
    terms said more than once (or descriptive vocabulary) are plotted.
    """
    months, series = trend["months"], trend["series"]
    if not months:
        return '<p class="empty">No dated evidence yet.</p>'
    if not series:
        return '<p class="empty">No term is used often enough in its dated evidence to plot.</p>'
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


def entity_label(
    kind: str,
    entity_id: str,
    name: str | None,
    artist: str | None,
    link: Linker,
    css: str = "",
) -> str:
    """An entity's name (a link where the page can link) and, for works, its artist."""
    label = esc(name or entity_id)
    href = link(kind, entity_id) if link is not None else None
    if href is not None:
        cls = f' class="{css}"' if css else ""
        label = f'<a{cls} href="{esc(href)}">{label}</a>'
    return label + (f" &ndash; {esc(artist)}" if kind != "artist" and artist else "")


def render_neighbors(
    kind: str, neighbors: list[dict[str, Any]], live: bool, link: Linker = None
) -> str:
    if not neighbors:
        return '<p class="empty">No neighbours yet.</p>'
    to = _linker(live, link)
    items = []
    for n in neighbors:
        label = entity_label(
            kind, n["neighbor_id"], n["neighbor_name"], n["neighbor_artist_name"], to, "neighbor"
        )
        items.append(f'<li>{label} <span class="num">{float(n["score"]):.3f}</span></li>')
    return '<ol class="neighbors">' + "".join(items) + "</ol>"


def _other_artists_section(
    kind: str, neighbors: list[dict[str, Any]], live: bool, link: Linker = None
) -> str:
    """Tracks only: the nearest tracks by other artists (what a listener exploring a scene
    wants; the first list is mostly the track's own artist)."""
    if kind != "track" or not neighbors:
        return ""
    return "<h3>By other artists</h3>" + render_neighbors(kind, neighbors, live, link)


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


def render_entity_page(data: dict[str, Any], live: bool = True, link: Linker = None) -> str:
    """The profile page of one entity (`live`: links to the server's other pages)."""
    kind = data["kind"]
    to = _linker(live, link)
    sub = esc(kind)
    if kind != "artist" and data.get("artist_name"):
        artist = esc(data["artist_name"])
        href = to("artist", data["artist_id"]) if to is not None and data.get("artist_id") else None
        if href is not None:
            artist = f'<a href="{esc(href)}">{artist}</a>'
        sub += f" by {artist}"
    body = (
        _header(live)
        + f'<h1>{esc(data["name"])}</h1><p class="sub">{sub} · <code>{esc(data["id"])}</code></p>'
        + "<section><h2>Top descriptors</h2>"
        + render_bars(data["descriptors"])
        + "</section><section><h2>Over time</h2>"
        + render_trend(data["trend"])
        + "</section><section><h2>Nearest neighbours</h2>"
        + render_neighbors(kind, data["neighbors"], live, link)
        + _other_artists_section(kind, data.get("other_artists") or [], live, link)
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


def render_chart(
    title: str, entries: list[dict[str, Any]], kind: str, link: Linker, rising: bool = False
) -> str:
    """One buzz chart: rank, name, sources and posts (and the rise), with the posts behind it."""
    if not entries:
        return f'<h3>{esc(title)}</h3><p class="empty">No posts in this window.</p>'
    rows = []
    for e in entries:
        name = entity_label(kind, e["id"], e["name"], e.get("artist_name"), link)
        posts = "".join(
            f"<li>{_post_link(p)} <span class='meta'>{esc(p['source'])} · "
            f"{esc(p['posted_at'])}</span></li>"
            for p in e["posts_behind"]
        )
        rise = f"+{e['rise_sources']} / +{e['rise_posts']}" if rising else ""
        rows.append(
            f"<tr><td>{esc(e['rank'])}</td><td>{name}<ul>{posts}</ul></td>"
            f"<td>{esc(e['sources'])}</td><td>{esc(e['posts'])}</td>"
            + (f"<td>{esc(rise)}</td>" if rising else "")
            + "</tr>"
        )
    head = "<th>#</th><th>name</th><th>sources</th><th>posts</th>" + (
        "<th>rise (sources / posts)</th>" if rising else ""
    )
    return (
        f'<h3>{esc(title)}</h3><table class="chart" data-kind="{esc(kind)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _post_link(post: dict[str, Any]) -> str:
    label = esc(post.get("title") or post["url"])
    url = safe_url(post["url"])
    return f'<a href="{esc(url)}" rel="nofollow noopener">{label}</a>' if url else label


def render_trending(charts: dict[str, Any], link: Linker) -> str:
    """The buzz section: per kind, the most-written-about and the fastest-rising entities."""
    parts = [
        f'<section class="trending"><h2>Trending: {esc(charts["days"])} days to '
        f"{esc(charts['until'])}</h2>"
        '<p class="meta">Ranked by distinct sources, then posts: one prolific blog '
        "cannot carry a chart.</p>"
    ]
    for kind in ("artist", "track"):
        parts.append(render_chart(f"Most written-about {kind}s", charts[kind]["top"], kind, link))
        parts.append(
            render_chart(f"Rising {kind}s", charts[kind]["rising"], kind, link, rising=True)
        )
    return "".join(parts) + "</section>"


def render_home_page(charts: dict[str, Any] | None, live: bool = True, link: Linker = None) -> str:
    """The front page: search box and the trending charts."""
    section = render_trending(charts, _linker(live, link)) if charts else ""
    return _page("linernotes", _header(live) + "<h1>linernotes</h1>" + section)


def render_not_found(message: str = "Not found") -> str:
    return _page("not found", _header(True) + f"<h1>{esc(message)}</h1>")
