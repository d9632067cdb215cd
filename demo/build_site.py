"""Render the bundled demo blog ``demo/site/`` from the post sources in ``demo/posts/``.

Why a generator: the demo site has to look like a real blog (navigation, sidebar, related
posts, comments, pagination, tag pages, RSS, sitemap) so that crawling and main-text extraction
are exercised on realistic boilerplate, and 37 hand-maintained HTML pages would drift apart.
The generated site is committed, so serving the demo never needs this script; rerun it only
after editing a post: ``python demo/build_site.py``.

Post source format (``posts/YYYY-MM-slug.txt``): ``key: value`` header lines (``title``,
``date``, ``author``, ``kicker``, ``tags``, ``summary``, optional ``about: Artist | Track`` and
repeatable ``comment: Name | ISO time | text``), a ``---`` line, then the body: paragraphs
separated by blank lines, ``1.``/``-`` list lines, ``*em*``, ``**strong**``, ``[text](/url)``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

DEMO_DIR = Path(__file__).resolve().parent
POSTS_DIR = DEMO_DIR / "posts"
SITE_DIR = DEMO_DIR / "site"
BASE = "{{BASE}}"  # substituted by serve.py, because the port is only known at serve time
SITE_NAME = "Static & Sunburn"
TAGLINE = "Notes on records that sound like weather"
TIMEZONE = ZoneInfo("Europe/London")
PER_PAGE = 10
FEED_ITEMS = 15  # fewer than all posts on purpose: the crawler must also use links and sitemap
# Writers whose CMS "smart quotes" setting is on, so the extractor meets both quote styles.
CURLY_QUOTE_AUTHORS = frozenset({"June Halloran", "Theo Brandt"})
AUTHORS = {
    "Mara Lindqvist": "Editor. Will argue that every great pop song is secretly sad.",
    "Dev Okafor": "Writes about electronic music, night buses and the space between the beats.",
    "June Halloran": "Pop obsessive, lyric collector, owner of too many tote bags.",
    "Theo Brandt": "Classic-album archaeologist and reluctant owner of a record player that skips.",
}
TAG_NAMES = {
    "r-and-b": "R&B",
    "uk-garage": "UK garage",
    "hip-hop": "Hip-hop",
    "track-of-the-week": "Track of the week",
    "new-wave": "New wave",
    "art-pop": "Art pop",
    "dream-pop": "Dream pop",
    "trip-hop": "Trip-hop",
    "synth-pop": "Synth-pop",
    "post-punk": "Post-punk",
    "soft-rock": "Soft rock",
    "sad-songs": "Sad songs",
    "singer-songwriter": "Singer-songwriter",
    "year-end": "Year-end",
}
POPULAR = (
    "2024-05-robyn-dancing-on-my-own",
    "2023-01-kate-bush-hounds-of-love",
    "2024-08-kendrick-lamar-not-like-us",
    "2023-07-frank-ocean-blonde",
    "2023-01-burial-untrue-night-bus",
)


@dataclass(frozen=True)
class Comment:
    """One reader comment: boilerplate the extractor should drop from the main text."""

    name: str
    when: datetime
    text: str


@dataclass
class Post:
    """A parsed post source plus the fields derived from its file name."""

    key: str
    slug: str
    title: str
    published: datetime
    author: str
    kicker: str
    tags: list[str]
    summary: str
    body: str
    about: tuple[str, str] | None = None
    comments: list[Comment] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Root-relative URL, dated so that the sources file can match ``/YYYY/MM/``."""
        return f"/{self.published:%Y}/{self.published:%m}/{self.slug}.html"

    @property
    def curly(self) -> bool:
        """Whether this post is rendered with typographic quotes."""
        return self.author in CURLY_QUOTE_AUTHORS


def parse_time(value: str) -> datetime:
    """Read a naive local time from a post header as Europe/London time."""
    return datetime.fromisoformat(value.strip()).replace(tzinfo=TIMEZONE)


def parse_post(path: Path) -> Post:
    """Parse one post source file; raise ValueError naming the file on a bad header."""
    header_text, _, body = path.read_text(encoding="utf-8").partition("\n---\n")
    fields: dict[str, str] = {}
    comments: list[Comment] = []
    for line in header_text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{path.name}: bad header line {line!r}")
        value = value.strip()
        if key == "comment":
            name, when, text = (part.strip() for part in value.split("|", 2))
            comments.append(Comment(name, parse_time(when), text))
        else:
            fields[key] = value
    about = None
    if "about" in fields:
        artist, track = (part.strip() for part in fields["about"].split("|"))
        about = (artist, track)
    return Post(
        key=path.stem,
        slug=path.stem[8:],
        title=fields["title"],
        published=parse_time(fields["date"]),
        author=fields["author"],
        kicker=fields["kicker"],
        tags=[tag.strip() for tag in fields["tags"].split(",")],
        summary=fields["summary"],
        body=body.strip(),
        about=about,
        comments=comments,
    )


def load_posts() -> list[Post]:
    """All posts, newest first (the order every listing uses)."""
    posts = [parse_post(path) for path in sorted(POSTS_DIR.glob("*.txt"))]
    return sorted(posts, key=lambda post: post.published, reverse=True)


def smart_quotes(text: str) -> str:
    """Turn straight quotes into typographic ones, the way blog engines do on display."""
    text = re.sub('(^|[\\s(\\[\u2014\u2013-])"', "\\1\u201c", text)
    text = text.replace('"', "\u201d")
    text = re.sub("(^|[\\s(\\[\u2014\u2013-])'", "\\1\u2018", text)
    return text.replace("'", "\u2019")


def inline(text: str, curly: bool) -> str:
    """Escape text and apply the tiny inline markup used in post sources."""
    if curly:
        text = smart_quotes(text)
    out = html.escape(text, quote=False)
    out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"\*(.+?)\*", r"<em>\1</em>", out)


def render_body(body: str, curly: bool) -> str:
    """Render paragraphs and list blocks of a post body to HTML."""
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", body):
        lines = block.strip().splitlines()
        if all(re.match(r"\d+\. ", line) for line in lines):
            items = "".join(f"<li>{inline(line.split('. ', 1)[1], curly)}</li>\n" for line in lines)
            blocks.append(f"<ol>\n{items}</ol>")
        elif all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{inline(line[2:], curly)}</li>\n" for line in lines)
            blocks.append(f"<ul>\n{items}</ul>")
        else:
            blocks.append(f"<p>{inline(' '.join(lines), curly)}</p>")
    return "\n".join(blocks)


def esc(text: str) -> str:
    """HTML-escape including quotes, for attribute values."""
    return html.escape(text, quote=True)


def tag_name(tag: str) -> str:
    """Human label for a tag slug."""
    return TAG_NAMES.get(tag, tag.replace("-", " ").capitalize())


def author_anchor(author: str) -> str:
    """Anchor of a writer on the about page."""
    return "/about.html#" + author.split()[0].lower()


def human_date(when: datetime) -> str:
    """Date as printed on the page, e.g. 16 May 2024."""
    return f"{when.day} {when:%B %Y}"


def json_ld(post: Post) -> str:
    """BlogPosting metadata; track posts also say which recording they are about."""
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.summary,
        "author": {"@type": "Person", "name": post.author, "url": author_anchor(post.author)},
        "datePublished": post.published.isoformat(),
        "dateModified": post.published.isoformat(),
        "publisher": {"@type": "Organization", "name": SITE_NAME},
        "mainEntityOfPage": post.url,
        "articleSection": post.kicker,
        "keywords": ", ".join(tag_name(tag) for tag in post.tags),
    }
    if post.about:
        artist, track = post.about
        data["about"] = {
            "@type": "MusicRecording",
            "name": track,
            "byArtist": {"@type": "MusicGroup", "name": artist},
        }
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text.replace("</", "<\\/")


def sidebar(tag_counts: Counter[str], by_key: dict[str, Post]) -> str:
    """Sidebar shared by every page: search, tag cloud, popular posts, newsletter."""
    tags = "\n".join(
        f'<li><a href="/tag/{tag}.html" rel="tag">{esc(tag_name(tag))}</a> ({count})</li>'
        for tag, count in sorted(tag_counts.items())
    )
    popular = "\n".join(
        f'<li><a href="{by_key[key].url}">{esc(by_key[key].title)}</a></li>' for key in POPULAR
    )
    return f"""<aside class="sidebar" aria-label="Sidebar">
<section class="widget search"><h2>Search</h2>
<form action="/search" method="get">
<input type="search" name="q" placeholder="Artist, song, mood…">
<button>Go</button></form>
</section>
<section class="widget tags"><h2>Tags</h2>
<ul class="tag-cloud">
{tags}
</ul>
</section>
<section class="widget popular"><h2>Popular right now</h2>
<ol>
{popular}
</ol>
</section>
<section class="widget newsletter"><h2>Static Mail</h2>
<p>Our fortnightly letter of sunburnt pop, static-soaked guitars and moody late-night
electronica. No spam, just songs.</p>
<form action="/subscribe" method="post">
<input type="email" name="email" placeholder="you@example.org">
<button>Subscribe</button></form>
</section>
</aside>"""


def page(title: str, head: str, main: str, aside: str) -> str:
    """Wrap main content in the site chrome (header, navigation, sidebar, footer)."""
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="alternate" type="application/rss+xml" title="{esc(SITE_NAME)} feed" href="/feed.xml">
<link rel="stylesheet" href="/style.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip" href="#content">Skip to content</a>
<header class="site-header">
<p class="site-title"><a href="/">{esc(SITE_NAME)}</a></p>
<p class="tagline">{esc(TAGLINE)}</p>
<nav class="main-nav" aria-label="Main">
<ul>
<li><a href="/">Home</a></li>
<li><a href="/tag/reviews.html">Reviews</a></li>
<li><a href="/tag/track-of-the-week.html">Track of the week</a></li>
<li><a href="/tag/news.html">News</a></li>
<li><a href="/tag/lists.html">Lists</a></li>
<li><a href="/about.html">About</a></li>
</ul>
</nav>
</header>
<div class="layout">
<main id="content">
{main}
</main>
{aside}
</div>
<footer class="site-footer">
<p>&copy; 2023&ndash;2024 {esc(SITE_NAME)}.
Written in a small flat with thin walls and a loud stereo.</p>
<p><a href="/about.html">About</a> · <a href="/feed.xml">RSS</a> ·
<a href="/sitemap.xml">Sitemap</a> · <a href="/tag/classics.html">Classics</a></p>
<p class="small">All opinions our own. Album artwork and song titles belong to their owners.</p>
</footer>
</body>
</html>
"""


def card(post: Post) -> str:
    """Render a post teaser as used on the home, pagination and tag pages."""
    return f"""<article class="card">
<p class="kicker">{esc(post.kicker)}</p>
<h2><a href="{post.url}">{inline(post.title, post.curly)}</a></h2>
<p class="meta">By {esc(post.author)} ·
<time datetime="{post.published.isoformat()}">{human_date(post.published)}</time> ·
{len(post.comments)} comments</p>
<p>{inline(post.summary, post.curly)}</p>
<p><a class="more" href="{post.url}">Read more →</a></p>
</article>"""


def related(post: Post, posts: list[Post]) -> list[Post]:
    """Up to three other posts sharing the most tags, newest first among equals."""
    scored = [
        (len(set(post.tags) & set(other.tags)), other.published, other)
        for other in posts
        if other is not post
    ]
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [other for score, _, other in scored[:3] if score > 0]


def render_comments(post: Post) -> str:
    """Comment thread and form: user text the extractor must not mistake for the article."""
    items = "\n".join(
        f"""<li class="comment"><p class="comment-meta"><strong>{esc(c.name)}</strong> ·
<time datetime="{c.when.isoformat()}">{human_date(c.when)}, {c.when:%H:%M}</time></p>
<p>{inline(c.text, post.curly)}</p></li>"""
        for c in post.comments
    )
    return f"""<section class="comments" id="comments">
<h2>{len(post.comments)} comments</h2>
<ol class="comment-list">
{items}
</ol>
<form class="comment-form" action="#comments" method="post">
<h3>Leave a comment</h3>
<label>Name <input name="name"></label>
<label>Comment <textarea name="comment" rows="4"></textarea></label>
<button>Post comment</button>
</form>
</section>"""


def render_post(
    post: Post, newer: Post | None, older: Post | None, posts: list[Post], aside: str
) -> str:
    """Full HTML of one post page: metadata, article, navigation, related posts, comments."""
    stamp = post.published.isoformat()
    tag_meta = "\n".join(f'<meta property="article:tag" content="{esc(t)}">' for t in post.tags)
    head = f"""<meta name="author" content="{esc(post.author)}">
<meta name="description" content="{esc(post.summary)}">
<link rel="canonical" href="{post.url}">
<meta property="og:site_name" content="{esc(SITE_NAME)}">
<meta property="og:type" content="article">
<meta property="og:title" content="{esc(post.title)}">
<meta property="og:description" content="{esc(post.summary)}">
<meta property="og:url" content="{post.url}">
<meta property="article:published_time" content="{stamp}">
<meta property="article:author" content="{esc(post.author)}">
<meta property="article:section" content="{esc(post.kicker)}">
{tag_meta}
<meta name="twitter:card" content="summary">
<script type="application/ld+json">
{json_ld(post)}
</script>"""
    tags = ", ".join(f'<a href="/tag/{t}.html" rel="tag">{esc(tag_name(t))}</a>' for t in post.tags)
    nav = []
    if older:
        nav.append(f'<a class="prev" href="{older.url}">← {inline(older.title, older.curly)}</a>')
    if newer:
        nav.append(f'<a class="next" href="{newer.url}">{inline(newer.title, newer.curly)} →</a>')
    more = "\n".join(
        f'<li><a href="{other.url}">{inline(other.title, other.curly)}</a></li>'
        for other in related(post, posts)
    )
    main = f"""<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/">Home</a> &rsaquo;
<a href="/tag/{post.tags[0]}.html">{esc(tag_name(post.tags[0]))}</a></nav>
<article class="post">
<header class="post-header">
<p class="kicker">{esc(post.kicker)}</p>
<h1>{inline(post.title, post.curly)}</h1>
<p class="byline">By <a rel="author" href="{author_anchor(post.author)}">{esc(post.author)}</a> ·
<time datetime="{stamp}" class="published">{human_date(post.published)}</time></p>
</header>
<div class="entry-content">
{render_body(post.body, post.curly)}
</div>
<footer class="post-footer">
<p class="post-tags">Filed under: {tags}</p>
<p class="share">Share: <a href="mailto:?subject={quote(post.title)}">Email</a> ·
<a href="#comments">Comment</a></p>
</footer>
</article>
<nav class="post-nav" aria-label="More posts">
{" ".join(nav)}
</nav>
<section class="related">
<h2>You might also like</h2>
<ul>
{more}
</ul>
</section>
{render_comments(post)}"""
    return page(f"{post.title} | {SITE_NAME}", head, main, aside)


def render_listing(heading: str, intro: str, posts: list[Post], pager: str) -> str:
    """Render the main content of the home, pagination and tag pages."""
    cards = "\n".join(card(post) for post in posts)
    return f"""<h1>{esc(heading)}</h1>
<p class="intro">{esc(intro)}</p>
{cards}
{pager}"""


def pager_html(number: int, pages: int) -> str:
    """Numbered pagination links for listing page ``number`` of ``pages``."""

    def href(n: int) -> str:
        return "/" if n == 1 else f"/page/{n}.html"

    parts = []
    if number > 1:
        parts.append(f'<a rel="prev" href="{href(number - 1)}">← Newer posts</a>')
    for n in range(1, pages + 1):
        parts.append(
            f'<span class="current">{n}</span>' if n == number else f'<a href="{href(n)}">{n}</a>'
        )
    if number < pages:
        parts.append(f'<a rel="next" href="{href(number + 1)}">Older posts →</a>')
    return '<nav class="pagination" aria-label="Pages">' + " ".join(parts) + "</nav>"


def render_about() -> str:
    """About page: who writes the blog, plus the staff link that robots.txt disallows."""
    writers = "\n".join(
        f'<dt id="{name.split()[0].lower()}">{esc(name)}</dt><dd>{esc(bio)}</dd>'
        for name, bio in AUTHORS.items()
    )
    return f"""<h1>About {esc(SITE_NAME)}</h1>
<p>{esc(SITE_NAME)} is a small, independent music blog run by four friends who cannot stop
talking about records. We write reviews, news, lists and a weekly track pick, old and new,
with a soft spot for songs that sound like a particular kind of weather.</p>
<h2>Who we are</h2>
<dl class="writers">
{writers}
</dl>
<p>Get in touch: hello@static-and-sunburn.example. We read everything, and we reply to most.</p>
<p class="small"><a href="/private/drafts.html">Staff area</a></p>"""


def render_drafts() -> str:
    """Render a staff-only page that crawlers must skip: robots.txt disallows /private/."""
    return """<h1>Drafts (staff only)</h1>
<p>Unpublished ideas, not for readers or robots. If you can read this as a crawler,
robots.txt was ignored.</p>
<ul><li>Pitch: a deep dive on Massive Attack's Protection?</li>
<li>Pitch: ranking every Beach House album.</li></ul>"""


def xml(text: str) -> str:
    """Escape text for XML element content and attributes."""
    return html.escape(text, quote=True)


def render_feed(posts: list[Post]) -> str:
    """RSS 2.0 feed of the newest posts, with absolute URLs on the placeholder base."""
    items = []
    for post in posts[:FEED_ITEMS]:
        categories = "".join(f"<category>{xml(tag_name(t))}</category>" for t in post.tags)
        items.append(
            f"""<item>
<title>{xml(post.title)}</title>
<link>{BASE}{post.url}</link>
<guid isPermaLink="true">{BASE}{post.url}</guid>
<pubDate>{format_datetime(post.published)}</pubDate>
<dc:creator>{xml(post.author)}</dc:creator>
{categories}
<description>{xml(post.summary)}</description>
</item>"""
        )
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>{xml(SITE_NAME)}</title>
<link>{BASE}/</link>
<atom:link href="{BASE}/feed.xml" rel="self" type="application/rss+xml"/>
<description>{xml(TAGLINE)}</description>
<language>en-gb</language>
<lastBuildDate>{format_datetime(posts[0].published)}</lastBuildDate>
{body}
</channel>
</rss>
"""


def render_sitemap(posts: list[Post], tags: list[str], pages: int) -> str:
    """Sitemap of every public page (never /private/), with placeholder-based URLs."""
    latest = posts[0].published.date().isoformat()
    entries = [("/", latest), ("/about.html", "2023-01-05")]
    entries += [(f"/page/{n}.html", latest) for n in range(2, pages + 1)]
    entries += [(f"/tag/{tag}.html", latest) for tag in tags]
    entries += [(post.url, post.published.date().isoformat()) for post in posts]
    urls = "\n".join(
        f"<url><loc>{BASE}{loc}</loc><lastmod>{mod}</lastmod></url>" for loc, mod in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{urls}
</urlset>
"""


ROBOTS = """User-agent: *
Disallow: /private/
Allow: /
"""

STYLE = """body{margin:0;font:17px/1.6 Georgia,serif;color:#222;background:#fffaf3}
a{color:#b0412e}.skip{position:absolute;left:-999px}
.site-header,.site-footer{background:#2b2238;color:#f7e8d0;padding:1rem 2rem}
.site-header a,.site-footer a{color:#ffcf8a}.site-title{font-size:1.8rem;margin:0}
.tagline{margin:0;font-style:italic}.main-nav ul{list-style:none;padding:0;display:flex;gap:1rem}
.layout{display:flex;gap:2rem;max-width:70rem;margin:auto;padding:1rem 2rem}
main{flex:3}.sidebar{flex:1;font-size:.9rem}.kicker{text-transform:uppercase;color:#888;margin:0}
.card{border-bottom:1px solid #e5d9c6;padding-bottom:1rem}.meta,.byline,.small{color:#777}
.comments{border-top:2px solid #2b2238;margin-top:2rem}
.pagination a,.pagination span{margin-right:.5rem}
"""

FAVICON = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
<circle cx="8" cy="8" r="7" fill="#ffcf8a"/></svg>
"""


def write(path: Path, text: str, when: datetime) -> None:
    """Write a generated file and date it, so the server's Last-Modified is meaningful."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


def build(site: Path = SITE_DIR) -> int:
    """Regenerate the whole site from the post sources; return the number of posts."""
    posts = load_posts()
    by_key = {post.key: post for post in posts}
    tag_counts: Counter[str] = Counter(tag for post in posts for tag in post.tags)
    aside = sidebar(tag_counts, by_key)
    latest = posts[0].published
    if site.exists():
        shutil.rmtree(site)
    for i, post in enumerate(posts):
        newer = posts[i - 1] if i > 0 else None
        older = posts[i + 1] if i + 1 < len(posts) else None
        text = render_post(post, newer, older, posts, aside)
        write(site / post.url.lstrip("/"), text, post.published)
    pages = (len(posts) + PER_PAGE - 1) // PER_PAGE
    for n in range(1, pages + 1):
        chunk = posts[(n - 1) * PER_PAGE : n * PER_PAGE]
        heading = "Latest posts" if n == 1 else f"Latest posts, page {n}"
        main = render_listing(heading, TAGLINE + ".", chunk, pager_html(n, pages))
        head = '<meta name="description" content="Reviews, news and a weekly track pick.">'
        path = site / ("index.html" if n == 1 else f"page/{n}.html")
        write(path, page(f"{heading} | {SITE_NAME}", head, main, aside), latest)
    for tag in sorted(tag_counts):
        tagged = [post for post in posts if tag in post.tags]
        intro = f"{len(tagged)} posts filed under {tag_name(tag)}."
        main = render_listing(f"Tag: {tag_name(tag)}", intro, tagged, "")
        head = '<meta name="robots" content="noindex, follow">'
        write(
            site / "tag" / f"{tag}.html",
            page(f"{tag_name(tag)} | {SITE_NAME}", head, main, aside),
            tagged[0].published,
        )
    about_head = '<meta name="description" content="Who writes Static &amp; Sunburn.">'
    write(
        site / "about.html", page(f"About | {SITE_NAME}", about_head, render_about(), aside), latest
    )
    drafts_head = '<meta name="robots" content="noindex, nofollow">'
    write(
        site / "private" / "drafts.html",
        page(f"Drafts | {SITE_NAME}", drafts_head, render_drafts(), ""),
        latest,
    )
    write(site / "feed.xml", render_feed(posts), latest)
    write(site / "sitemap.xml", render_sitemap(posts, sorted(tag_counts), pages), latest)
    write(site / "robots.txt", ROBOTS, latest)
    write(site / "style.css", STYLE, latest)
    write(site / "favicon.svg", FAVICON, latest)
    return len(posts)


if __name__ == "__main__":
    print(f"built {build()} posts into {SITE_DIR}")
