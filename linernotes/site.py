"""`linernotes report --all --out DIR`: every profile page as a static site.

The pages are the server's, linked to each other by relative paths, so the
folder can be opened from disk or put on any static host. File names come
from the id made filesystem-safe plus a short hash of the exact id, so two
ids that differ only in characters a file name cannot hold never collide.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from linernotes.api import Linernotes
from linernotes.errors import UserFacingError
from linernotes.web import esc, render_entity_page, render_home_page

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def page_name(entity_id: str) -> str:
    """The file name of an entity's page: readable, safe, and unique per exact id."""
    digest = hashlib.sha1(entity_id.encode("utf-8")).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', entity_id).strip('._')[:80]}-{digest}.html"


def _from_root(kind: str, entity_id: str) -> str:
    return f"{kind}/{page_name(entity_id)}"


def _from_page(kind: str, entity_id: str) -> str:
    return f"../{kind}/{page_name(entity_id)}"


def write_site(api: Linernotes, out: Path, days: int = 7) -> int:
    """Write index.html and one page per profiled entity under `out`; returns the page count."""
    if out.exists() and not out.is_dir():
        raise UserFacingError(f"--out {out} exists and is not a folder")
    pages = set(api.profiled_entities())

    def page_link(kind: str, entity_id: str) -> str | None:
        return _from_page(kind, entity_id) if (kind, entity_id) in pages else None

    def chart_link(kind: str, entity_id: str) -> str | None:
        return _from_root(kind, entity_id) if (kind, entity_id) in pages else None

    listing: dict[str, list[str]] = {}
    written = 0
    for kind, entity_id in sorted(pages):
        data = api.profile(kind, entity_id)
        if data is None:
            continue
        target = out / kind / page_name(entity_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_entity_page(data, live=False, link=page_link), encoding="utf-8")
        listing.setdefault(kind, []).append(
            f'<li><a href="{esc(_from_root(kind, entity_id))}">{esc(data["name"])}</a></li>'
        )
        written += 1
    out.mkdir(parents=True, exist_ok=True)
    home = render_home_page(api.trending_charts(days), live=False, link=chart_link)
    index = "".join(
        f"<section><h2>{esc(kind.title())}s</h2><ul class='results'>{''.join(items)}</ul></section>"
        for kind, items in sorted(listing.items())
    )
    (out / "index.html").write_text(home.replace("</body>", index + "</body>"), encoding="utf-8")
    return written
