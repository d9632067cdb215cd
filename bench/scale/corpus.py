"""Write a music blog of N pages for the corpus-scale benchmark.

The pages are assembled from real sentences under ../shared (SAS artist
biographies, WikiMusicText song paragraphs, KEXP DJ comments) with their
entities swapped for artists, tracks and albums of the shared 212k-row
catalogue, so the text reads like music writing, names real catalogue
entries in the way real writing does, and every page is distinct. The site
has what a crawled blog has: a paginated archive, an RSS feed, a sitemap
index with chunked sitemaps, exact duplicates under a second URL (print
views) and syndicated copies on a partner section, in fixed shares.

Nothing from ../shared is written into the repository: the site goes to a
scratch folder given on the command line. `--change F` rewrites a fraction F
of the posts (new paragraphs, new mtime) to measure an incremental re-run.

The sitemaps carry `<lastmod>` as a blog engine writes it: a post's date of
its last change (first its publication), a syndicated copy's date of
syndication; print views have none. `--change` moves the lastmod of the posts
it rewrites to the time of the change, as the engine would, and leaves the
feed's `pubDate`s alone, as RSS does.

Usage: python -m bench.scale.corpus OUT_DIR --pages 10000 [--change 0.05] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# Shares of the pages that are not original posts (roughly what a blog with
# print views and a partner feed shows; the crawler must store each text once).
DUPLICATE_SHARE = 0.03
SYNDICATED_SHARE = 0.04
ARCHIVE_PAGE_SIZE = 20
SITEMAP_CHUNK = 2000
FEED_ITEMS = 100
AUTHORS = ("Nadia Ferreira", "Tom Albright", "June Okafor", "Ilse Varga", "Ray Castellano")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


@dataclass
class Sentence:
    """A real sentence with the names it was written about, to be swapped."""

    text: str
    artist: str = ""
    track: str = ""
    album: str = ""


@dataclass
class Entity:
    """A catalogue artist with some of its tracks and albums."""

    artist: str
    tracks: list[str] = field(default_factory=list)
    albums: list[str] = field(default_factory=list)


def _split(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if len(s.split()) >= 5]


def _bios(root: Path) -> Iterator[Sentence]:
    names: dict[str, str] = {}
    for line in (root / "mb2uri_mirex.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            names[parts[0]] = parts[1]
    for path in sorted((root / "biographies").glob("*.txt")):
        text = MARKDOWN_LINK.sub(r"\1", path.read_text(encoding="utf-8", errors="replace"))
        bold = re.match(r"\*\*(.+?)\*\*", text)
        artist = bold.group(1) if bold else names.get(path.stem, "")
        text = text.replace("**", "")
        for sentence in _split(" ".join(text.split())):
            yield Sentence(sentence, artist=artist)


def _lines(path: Path) -> Iterator[str]:
    """JSONL lines split on newlines only (the texts hold U+2028)."""
    with open(path, encoding="utf-8", newline="\n") as handle:
        yield from (line for line in handle if line.strip())


def _songs(path: Path) -> Iterator[Sentence]:
    for line in _lines(path):
        song = json.loads(line)
        for sentence in _split(song["text"]):
            yield Sentence(sentence, artist=song["composer"], track=song["title"])


def _comments(path: Path) -> Iterator[Sentence]:
    for line in _lines(path):
        row = json.loads(line)
        meta = row.get("meta") or {}
        for sentence in _split(" ".join(row["text"].split())):
            if "http" in sentence:
                continue
            yield Sentence(
                sentence,
                artist=meta.get("db_artist_name") or "",
                track=meta.get("db_song_title") or "",
                album=meta.get("db_album_title") or "",
            )


def load_sentences(shared: Path = SHARED) -> list[Sentence]:
    """Every usable sentence of the three shared corpora."""
    sentences = list(_bios(shared / "similarity" / "sas_mirex"))
    sentences += _songs(shared / "similarity" / "wikimt_songs" / "songs.jsonl")
    sentences += _comments(shared / "corpus" / "kexp_dj_comments.jsonl")
    return sentences


def load_entities(shared: Path = SHARED, rng: random.Random | None = None) -> list[Entity]:
    """Catalogue artists that have at least two tracks, with their works."""
    by_artist: dict[str, Entity] = {}
    with open(shared / "catalog" / "catalog.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            entity = by_artist.setdefault(row["artist"], Entity(row["artist"]))
            if row.get("track"):
                entity.tracks.append(row["track"])
            if row.get("album"):
                entity.albums.append(row["album"])
    entities = [e for e in by_artist.values() if len(e.tracks) >= 2]
    (rng or random.Random(0)).shuffle(entities)
    return entities


def swap(sentence: Sentence, entity: Entity, rng: random.Random) -> str:
    """The sentence about `entity`: its own names replaced by the entity's."""
    text = sentence.text
    if sentence.artist and sentence.artist in text:
        text = text.replace(sentence.artist, entity.artist)
    if sentence.track and sentence.track in text and entity.tracks:
        text = text.replace(sentence.track, rng.choice(entity.tracks))
    if sentence.album and sentence.album in text and entity.albums:
        text = text.replace(sentence.album, rng.choice(entity.albums))
    return text


@dataclass
class Post:
    """One original post: where it lives, what it says, when."""

    slug: str
    title: str
    author: str
    published: datetime
    paragraphs: list[str]


def make_post(n: int, entity: Entity, pool: list[Sentence], rng: random.Random) -> Post:
    """A post about one entity: ~800 words in paragraphs of real swapped sentences."""
    track = rng.choice(entity.tracks)
    title = rng.choice(
        (f"{entity.artist}: “{track}”", f"{entity.artist} shares “{track}”", entity.artist)
    )
    target = rng.randint(300, 1300)
    paragraphs, words = [], 0
    while words < target:
        lead = f"“{rng.choice(entity.tracks)}” is the one to start with."
        sentences = [swap(rng.choice(pool), entity, rng) for _ in range(rng.randint(3, 7))]
        paragraph = " ".join([lead, *sentences] if rng.random() < 0.3 else sentences)
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    published = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 2 * 8760))
    return Post(f"{n:06d}", title, rng.choice(AUTHORS), published, paragraphs)


def render(post: Post, section: str = "posts", note: str = "") -> str:
    """The HTML of a post, with the metadata a real blog template carries."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in post.paragraphs)
    date = post.published.isoformat()
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(post.title)}</title>"
        f'<meta property="article:published_time" content="{date}">'
        f'<meta name="author" content="{html.escape(post.author)}"></head><body>'
        f'<nav><a href="/">Home</a> <a href="/page/1/">Archive</a></nav>'
        f"<article><h1>{html.escape(post.title)}</h1>"
        f'<p class="byline">By {html.escape(post.author)}, <time datetime="{date}">'
        f"{post.published:%B %d, %Y}</time></p>{note}\n{body}</article>"
        f"<footer>Written for the {section} section. Comments are closed.</footer>"
        f"</body></html>"
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _links(paths: list[str]) -> str:
    return "".join(f'<li><a href="{p}">{p}</a></li>' for p in paths)


def write_site(out: Path, posts: list[Post], base: str, rng: random.Random) -> dict[str, int]:
    """Posts, print copies, syndicated copies, archive, feed and sitemaps."""
    urls: list[str] = []
    lastmods: list[datetime | None] = []
    for post in posts:
        _write(out / "posts" / post.slug / "index.html", render(post))
        urls.append(f"/posts/{post.slug}/")
        lastmods.append(post.published)
    duplicates = rng.sample(posts, int(len(posts) * DUPLICATE_SHARE))
    for post in duplicates:
        _write(out / "print" / post.slug / "index.html", render(post))
        urls.append(f"/print/{post.slug}/")
        lastmods.append(None)  # print views: generated, undated
    syndicated = rng.sample(posts, int(len(posts) * SYNDICATED_SHARE))
    for post in syndicated:
        later = Post(post.slug, post.title, post.author, post.published + timedelta(days=2), [])
        later.paragraphs = post.paragraphs
        note = f'<p>First published on <a href="/posts/{post.slug}/">our main blog</a>.</p>'
        _write(out / "partner" / post.slug / "index.html", render(later, "partner", note))
        urls.append(f"/partner/{post.slug}/")
        lastmods.append(later.published)
    _write_archive(out, urls)
    _write_feed(out, posts, base)
    _write_sitemaps(out, list(zip(urls, lastmods, strict=True)), base)
    _write(out / "robots.txt", f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n")
    return {"posts": len(posts), "duplicates": len(duplicates), "syndicated": len(syndicated)}


def _write_archive(out: Path, urls: list[str]) -> None:
    pages = [urls[i : i + ARCHIVE_PAGE_SIZE] for i in range(0, len(urls), ARCHIVE_PAGE_SIZE)]
    for number, chunk in enumerate(pages, 1):
        following = f'<a href="/page/{number + 1}/">Older</a>' if number < len(pages) else ""
        page = f"<!doctype html><html><body><ul>{_links(chunk)}</ul>{following}</body></html>"
        _write(out / "page" / str(number) / "index.html", page)
    _write(out / "index.html", (out / "page" / "1" / "index.html").read_text(encoding="utf-8"))


def _write_feed(out: Path, posts: list[Post], base: str) -> None:
    latest = sorted(posts, key=lambda p: p.published, reverse=True)[:FEED_ITEMS]
    items = "".join(
        f"<item><title>{html.escape(p.title)}</title><link>{base}/posts/{p.slug}/</link>"
        f"<pubDate>{p.published:%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>"
        for p in latest
    )
    channel = f"<channel><title>Blog</title>{items}</channel>"
    feed = f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'
    _write(out / "feed.xml", feed)


def _lastmod(stamp: datetime | None) -> str:
    return f"<lastmod>{stamp.isoformat(timespec='seconds')}</lastmod>" if stamp else ""


def _write_sitemaps(out: Path, urls: list[tuple[str, datetime | None]], base: str) -> None:
    chunks = [urls[i : i + SITEMAP_CHUNK] for i in range(0, len(urls), SITEMAP_CHUNK)]
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    for number, chunk in enumerate(chunks):
        locs = "".join(f"<url><loc>{base}{u}</loc>{_lastmod(d)}</url>" for u, d in chunk)
        _write(out / f"sitemap-{number}.xml", f'<?xml version="1.0"?><urlset {ns}>{locs}</urlset>')
    maps = "".join(
        f"<sitemap><loc>{base}/sitemap-{n}.xml</loc></sitemap>" for n in range(len(chunks))
    )
    _write(out / "sitemap.xml", f'<?xml version="1.0"?><sitemapindex {ns}>{maps}</sitemapindex>')


def write_catalog(out: Path, entities: list[Entity]) -> int:
    """The catalogue the pages name: one row per track and per album."""
    rows = 0
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["artist_id", "artist", "track_id", "track", "album_id", "album"])
        for entity in entities:
            for track in dict.fromkeys(entity.tracks):
                writer.writerow(["", entity.artist, "", track, "", ""])
                rows += 1
            for album in dict.fromkeys(entity.albums):
                writer.writerow(["", entity.artist, "", "", "", album])
                rows += 1
    return rows


def build(out: Path, pages: int, base: str, seed: int = 7) -> dict[str, int]:
    """Write the site and its catalogue for `pages` original posts."""
    rng = random.Random(seed)
    pool = load_sentences()
    entities = load_entities(rng=rng)[: max(50, pages // 4)]
    posts = [make_post(n, rng.choice(entities), pool, rng) for n in range(pages)]
    counts = write_site(out / "site", posts, base, rng)
    counts["catalog_rows"] = write_catalog(out / "catalog.csv", entities)
    counts["words"] = sum(len(p.split()) for post in posts for p in post.paragraphs)
    return counts


def change(out: Path, fraction: float, seed: int = 8) -> int:
    """Rewrite a fraction of the posts: one paragraph added to each (new mtime, new lastmod)."""
    rng = random.Random(seed)
    posts = sorted((out / "site" / "posts").glob("*/index.html"))
    pool = load_sentences()
    chosen = rng.sample(posts, int(len(posts) * fraction))
    for path in chosen:
        extra = " ".join(rng.choice(pool).text for _ in range(5))
        page = path.read_text(encoding="utf-8")
        path.write_text(page.replace("</article>", f"<p>{html.escape(extra)}</p></article>"))
    _move_lastmod(out / "site", {path.parent.name for path in chosen}, datetime.now(UTC))
    return len(chosen)


def _move_lastmod(site: Path, slugs: set[str], now: datetime) -> None:
    """The sitemap entries of the rewritten posts get the time of the change as lastmod."""
    entry = re.compile(r"(<loc>[^<]*/posts/(\d+)/</loc>)(<lastmod>[^<]*</lastmod>)?")

    def moved(m: re.Match[str]) -> str:
        return m.group(1) + _lastmod(now) if m.group(2) in slugs else m.group(0)

    for path in site.glob("sitemap-*.xml"):
        path.write_text(entry.sub(moved, path.read_text(encoding="utf-8")), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--base", default="http://127.0.0.1:8765")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--change", type=float, default=0.0, help="rewrite this share of posts")
    args = parser.parse_args()
    if args.change:
        print(json.dumps({"changed": change(args.out, args.change)}))
    else:
        print(json.dumps(build(args.out, args.pages, args.base, args.seed)))


if __name__ == "__main__":
    main()
