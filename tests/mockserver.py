"""An in-process HTTP server on 127.0.0.1 serving a small music blog for crawler tests.

The blog (posts in tests/fixtures/crawl_site/) comes with everything a real
site throws at a crawler: an RSS and an Atom feed, a sitemap index with a
gzipped sitemap, robots.txt, pagination, a calendar trap, redirects (one to a
private address), a gzip bomb, a huge page, a slow page, a 500, a PDF, an
exact duplicate, a syndicated copy, a soft 404, a French post, an empty page
and a post whose text changes between runs (with ETag / Last-Modified).
`MockSite(static_root=...)` serves a directory instead (the shared sites).
Every request is counted in `hits`, so tests can check what was NOT fetched.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SITE = Path(__file__).resolve().parent / "fixtures" / "crawl_site"
LAST_MODIFIED = "Mon, 05 Feb 2024 10:00:00 GMT"


def _words(text: str) -> list[str]:
    return text.split()


_VOCAB = _words(
    "guitar drums bass synth melody chorus verse bridge album record single tour band "
    "singer producer studio tape vinyl groove rhythm harmony lyric ballad anthem riff "
    "solo beat sample loop echo reverb organ piano horn string choir crowd stage "
    "festival night city summer winter river road heart dream memory radio club dance "
    "floor voice whisper shout warm bright heavy gentle restless slow quiet loud "
    "strange tender bitter sweet golden "
)
_GLUE = _words("the a and of to in with on for that it was as but ")


def prose(seed: int, words: int = 160) -> str:
    """Deterministic English-ish text, distinct per seed (no two pages near-duplicate)."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < words:
        sentence = [rng.choice(_GLUE), rng.choice(_VOCAB), rng.choice(_VOCAB)]
        for _ in range(rng.randint(4, 9)):
            sentence += [rng.choice(_GLUE), rng.choice(_VOCAB)]
        out.append(" ".join(sentence).capitalize() + ".")
        words -= len(sentence) - 1
    return " ".join(out)


def _posts() -> list[dict[str, Any]]:
    return list(json.loads((SITE / "posts.json").read_text(encoding="utf-8")))


def page(
    title: str,
    paragraphs: list[str],
    *,
    lang: str = "en",
    links: list[str] = (),  # type: ignore[assignment]
    ld: dict[str, Any] | None = None,
    chrome: bool = True,
) -> str:
    """A blog page: nav, article, comments and footer (the boilerplate trafilatura drops)."""
    nav = (
        '<nav><a href="/">Home</a> <a href="/page/2/">Older posts</a> '
        '<a href="/tag/rock/">Rock</a> <a href="/calendar/2024/01/">Calendar</a></nav>'
        if chrome
        else ""
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    more = "".join(f'<li><a href="{u}">{html.escape(u)}</a></li>' for u in links)
    script = f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld else ""
    comments = (
        '<section id="comments" class="comments"><h3>Comments</h3>'
        '<div class="comment">First! Loved this one, thanks for writing it.</div></section>'
        if chrome
        else ""
    )
    footer = "<footer>Copyright 2024 Quiet Static music blog. All rights reserved.</footer>"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>{script}</head><body>{nav}"
        f"<main><article><h1>{html.escape(title)}</h1>{body}</article>"
        f"<ul class='links'>{more}</ul></main>{comments if chrome else ''}{footer}</body></html>"
    )


class MockSite:
    """The test blog on 127.0.0.1:<free port>, in a daemon thread."""

    def __init__(
        self,
        static_root: Path | None = None,
        big_pages: int = 40,
        big_delay: float = 0.0,
        big_chain: bool = False,
    ) -> None:
        self.static_root = static_root
        self.big_pages = big_pages
        self.big_delay = big_delay
        # chained: the index links only to p-0, and p-i to p-(2i+1) and p-(2i+2) (a
        # binary tree), so links are found on every page, by whichever worker fetched it
        self.big_chain = big_chain
        self.version = 1
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._bomb = gzip.compress(b"<html><body>" + b"\0" * (20 * 1024 * 1024), 9)
        self.posts = _posts()

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> MockSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def post_url(self, slug: str) -> str:
        return f"{self.url}/{slug}.html"

    # --- routing -------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        path = urlsplit(req.path).path
        with self._lock:
            self.hits[path] += 1
        if self.static_root is not None:
            return self._static(req, path)
        route = self._route(path)
        if route is None:
            return self._send(req, 404, b"<html><body>404 Not Found</body></html>")
        route(req)

    def _route(self, path: str) -> Any:
        fixed: dict[str, Any] = {
            "/robots.txt": lambda r: self._send(
                r, 200, b"User-agent: *\nDisallow: /private/\n", "text/plain"
            ),
            "/": self._home,
            "/page/2/": self._page2,
            "/feed.xml": self._rss,
            "/atom.xml": self._atom,
            "/sitemap.xml": self._sitemap_index,
            "/sitemaps/posts.xml.gz": self._sitemap_posts,
            "/sitemaps/pages.xml": self._sitemap_pages,
            "/go/moved": lambda r: self._redirect(r, 301, "/2024/03/moved-here.html"),
            "/go/private": lambda r: self._redirect(r, 302, "http://10.0.0.1/admin"),
            "/go/metadata": lambda r: self._redirect(
                r, 302, "http://169.254.169.254/latest/meta-data/"
            ),
            "/bomb": self._bomb_page,
            "/huge": self._huge,
            "/slow": self._slow,
            "/error": lambda r: self._send(r, 500, b"<html><body>oops</body></html>"),
            "/downloads/press-kit": lambda r: self._send(
                r, 200, b"%PDF-1.4\n% press kit\n" + b"x" * 2000, "application/pdf"
            ),
            "/private/notes.html": lambda r: self._html(r, page("Private", [prose(99)])),
            "/2024/01/missing.html": lambda r: self._html(
                r, page("Page not found", ["Sorry, the page you are looking for does not exist."])
            ),
            "/2024/01/empty.html": lambda r: self._html(r, page("Untitled", [])),
            "/2024/01/chronique.html": lambda r: self._html(
                r, page("Chronique", [(SITE / "french.txt").read_text("utf-8")], lang="fr")
            ),
            "/2024/02/changing-post.html": self._changing,
            "/2024/03/moved-here.html": lambda r: self._html(r, page("Moved", [prose(301)])),
            "/2024/03/only-in-rss.html": lambda r: self._html(r, page("From RSS", [prose(302)])),
            "/2024/03/only-in-atom.html": lambda r: self._html(r, page("From Atom", [prose(303)])),
            "/2024/03/only-in-sitemap.html": lambda r: self._html(
                r, page("From sitemap", [prose(304)])
            ),
            "/big/": self._big_index,
        }
        if path in fixed:
            return fixed[path]
        for post in self.posts:
            slug = post["slug"]
            if path == f"/{slug}.html":
                return lambda r, p=post: self._html(r, self._post(p))
            name = slug.rsplit("/", 1)[1]
            if path == f"/print/{name}.html":
                return lambda r, p=post: self._html(r, self._post(p, chrome=False))
            if path == f"/syndicated/{name}.html":
                return lambda r, p=post: self._html(r, self._post(p, syndicated=True))
        if path.startswith("/big/p-") and path.endswith(".html"):
            return self._big_page
        return None

    # --- pages ---------------------------------------------------------------------------

    def _post(self, post: dict[str, Any], chrome: bool = True, syndicated: bool = False) -> str:
        body = list(post["body"])
        if syndicated:
            body.append("This review first appeared on Quiet Static.")
        ld = {
            "@context": "https://schema.org",
            "@type": "BlogPosting",
            "headline": post["title"],
            "author": {"@type": "Person", "name": post["author"]},
            "datePublished": post["date"] + "T09:00:00Z",
        }
        return page(post["title"], body, ld=ld, chrome=chrome)

    def _home(self, req: BaseHTTPRequestHandler) -> None:
        links = [f"/{p['slug']}.html" for p in self.posts[:4]] + [
            "/page/2/",
            "/calendar/2024/01/",
            "/archive/x/x/x/",
            "/search?a=1&b=2&c=3&d=4&e=5",
            "/go/moved",
            "/go/private",
            "/go/metadata",
            "/bomb",
            "/huge",
            "/slow",
            "/error",
            "/downloads/press-kit",
            "/private/notes.html",
            "/2024/01/missing.html",
            "/2024/01/empty.html",
            "/2024/01/chronique.html",
            "/print/joni-blue-at-fifty.html",
            f"/{self.posts[0]['slug']}.html?utm_source=home#comments",
            "mailto:editor@example.org",
            "https://elsewhere.example.com/review.html",
            "/tag/rock/",
        ]
        self._html(
            req, page("Quiet Static: a music blog", ["Latest reviews and essays."], links=links)
        )

    def _page2(self, req: BaseHTTPRequestHandler) -> None:
        links = [f"/{p['slug']}.html" for p in self.posts[4:]]
        links.append(f"/syndicated/{self.posts[0]['slug'].rsplit('/', 1)[1]}.html")
        self._html(req, page("Older posts", ["Page two of the archive."], links=links))

    def _changing(self, req: BaseHTTPRequestHandler) -> None:
        text = (SITE / f"changing_v{self.version}.txt").read_text("utf-8")
        self._html(req, page("Pet Sounds, Again", [text]))

    def _big_index(self, req: BaseHTTPRequestHandler) -> None:
        links = [f"/big/p-{i}.html" for i in range(1 if self.big_chain else self.big_pages)]
        self._html(
            req, page("Big archive", ["Everything we ever wrote."], links=links, chrome=False)
        )

    def _big_page(self, req: BaseHTTPRequestHandler) -> None:
        number = int(urlsplit(req.path).path[len("/big/p-") : -len(".html")])
        if self.big_delay:
            time.sleep(self.big_delay)
        links = [f"/big/p-{n}.html" for n in (2 * number + 1, 2 * number + 2) if n < self.big_pages]
        body = [prose(1000 + number)]
        self._html(
            req,
            page(f"Big post {number}", body, links=links if self.big_chain else [], chrome=False),
        )

    def _rss(self, req: BaseHTTPRequestHandler) -> None:
        items = [f"/{p['slug']}.html" for p in self.posts[:2]] + ["/2024/03/only-in-rss.html"]
        body = "".join(f"<item><title>t</title><link>{self.url}{u}</link></item>" for u in items)
        xml = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>QS</title>'
            f"{body}</channel></rss>"
        )
        self._send(req, 200, xml.encode(), "application/rss+xml")

    def _atom(self, req: BaseHTTPRequestHandler) -> None:
        xml = (
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>QS</title>'
            '<entry><title>a</title><link rel="alternate" '
            f'href="{self.url}/2024/03/only-in-atom.html"/>'
            "</entry></feed>"
        )
        self._send(req, 200, xml.encode(), "application/atom+xml")

    def _sitemap_index(self, req: BaseHTTPRequestHandler) -> None:
        xml = (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{self.url}/sitemaps/posts.xml.gz</loc></sitemap>"
            f"<sitemap><loc>{self.url}/sitemaps/pages.xml</loc></sitemap></sitemapindex>"
        )
        self._send(req, 200, xml.encode(), "application/xml")

    def _urlset(self, paths: list[str]) -> bytes:
        urls = "".join(f"<url><loc>{self.url}{p}</loc></url>" for p in paths)
        return (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>"
        ).encode()

    def _sitemap_posts(self, req: BaseHTTPRequestHandler) -> None:
        paths = [f"/{p['slug']}.html" for p in self.posts] + [
            "/2024/03/only-in-sitemap.html",
            "/2024/02/changing-post.html",
        ]
        self._send(req, 200, gzip.compress(self._urlset(paths)), "application/x-gzip")

    def _sitemap_pages(self, req: BaseHTTPRequestHandler) -> None:
        self._send(req, 200, self._urlset(["/page/2/"]), "application/xml")

    def _bomb_page(self, req: BaseHTTPRequestHandler) -> None:
        self._send(req, 200, self._bomb, "text/html", {"Content-Encoding": "gzip"})

    def _huge(self, req: BaseHTTPRequestHandler) -> None:
        para = "<p>" + "lots of words about music " * 100 + "</p>"
        self._html(req, "<html><body>" + para * 1200 + "</body></html>")

    def _slow(self, req: BaseHTTPRequestHandler) -> None:
        time.sleep(4)
        self._html(req, page("Slow", [prose(7)]))

    # --- responses -----------------------------------------------------------------------

    def _static(self, req: BaseHTTPRequestHandler, path: str) -> None:
        assert self.static_root is not None
        target = (self.static_root / path.lstrip("/")).resolve()
        if path == "/":
            target = self.static_root / "index.html"
        if not target.is_file() or self.static_root.resolve() not in target.parents:
            return self._send(req, 404, b"not found", "text/plain")
        kind = "text/html; charset=utf-8" if target.suffix == ".html" else "text/plain"
        self._send(req, 200, target.read_bytes(), kind, conditional=req)

    def _html(self, req: BaseHTTPRequestHandler, text: str) -> None:
        self._send(req, 200, text.encode("utf-8"), "text/html; charset=utf-8", conditional=req)

    def _redirect(self, req: BaseHTTPRequestHandler, status: int, location: str) -> None:
        self._send(req, status, b"", "text/html", {"Location": location})

    def _send(
        self,
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        ctype: str = "text/html",
        headers: dict[str, str] | None = None,
        conditional: BaseHTTPRequestHandler | None = None,
    ) -> None:
        extra = dict(headers or {})
        if conditional is not None and status == 200:
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            extra["ETag"] = etag
            extra["Last-Modified"] = LAST_MODIFIED
            if req.headers.get("If-None-Match") == etag:
                with self._lock:
                    self.hits["304 " + urlsplit(req.path).path] += 1
                req.send_response(304)
                req.send_header("ETag", etag)
                req.end_headers()
                return
        try:
            req.send_response(status)
            req.send_header("Content-Type", ctype)
            req.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                req.send_header(key, value)
            req.end_headers()
            req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def blog_sources(site: MockSite, **extra: Any) -> str:
    """The sources file text for the test blog (every case enabled)."""
    lines = [
        "[crawler]",
        "delay = 0",
        "timeout = 1.5",
        "max_bytes = 1048576",
        'contact = "https://example.org/linernotes-tests"',
        f"batch_size = {extra.pop('batch_size', 5)}",
        *(
            [f"extract_workers = {extra.pop('extract_workers')}"]
            if "extract_workers" in extra
            else []
        ),
        "",
        "[[source]]",
        'name = "blog"',
        f'start_urls = ["{site.url}/"]',
        f'feeds = ["{site.url}/feed.xml", "{site.url}/atom.xml"]',
        f'sitemaps = ["{site.url}/sitemap.xml"]',
        'deny = ["/tag/"]',
        r'follow = ["/page/\\d+/$", ":\\d+/$"]',
        'languages = ["en"]',
        "allow_private_addresses = true",
    ]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def run_cli(db_url: str, *args: str, timeout: float = 90) -> Any:
    """`python -m linernotes --db URL ARGS...` in a child process (Scrapy's reactor is one-shot)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "linernotes", "--db", db_url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
