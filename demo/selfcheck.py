"""Check the bundled demo end to end: content, catalogue coverage and the demo server.

Run ``python demo/selfcheck.py``; it exits non-zero with one line per problem. Why it exists:
the demo is what a new user runs first, so a broken sitemap URL, a title missing from the
catalogue or a server that forgets to substitute ``{{BASE}}`` must be caught before release,
without needing linernotes itself (standard library only).
"""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
POSTS_DIR = DEMO_DIR / "posts"
SITE_DIR = DEMO_DIR / "site"
CATALOG = DEMO_DIR / "catalog.csv"
CATALOG_HEADER = ["artist_id", "artist", "track_id", "track", "album_id", "album", "artist_aliases"]
# Short forms writers use that are deliberately not catalogue titles.
KNOWN_SHORT_FORMS = frozenset({"butterfly"})
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
REQUIRED_POST_MARKERS = (
    "<title>",
    "<h1>",
    '<meta name="author"',
    "<time datetime=",
    'property="article:published_time"',
    'class="comments"',
    'class="sidebar"',
)


def post_body(path: Path) -> str:
    """Return the article text of a post source (everything after the header)."""
    return path.read_text(encoding="utf-8").split("\n---\n", 1)[1]


def word_count(text: str) -> int:
    """Words in prose, counting contractions and hyphenated words once."""
    return len(re.findall("[\\w$][\\w'\u2019$.+-]*", text))


def check_content() -> tuple[list[str], int, int]:
    """Check post lengths and that every quoted or italicised title is in the catalogue."""
    problems: list[str] = []
    with CATALOG.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        if next(reader) != CATALOG_HEADER:
            problems.append("catalog.csv: header differs from the CONTRACT header")
        rows = list(reader)
    tracks = {row[3].lower() for row in rows if row[3]}
    albums = {row[5].lower() for row in rows if row[5]}
    posts = sorted(POSTS_DIR.glob("*.txt"))
    total = 0
    for path in posts:
        body = post_body(path)
        words = word_count(body)
        total += words
        if not 150 <= words <= 400:
            problems.append(f"{path.name}: {words} words, expected 150-400")
        for title in re.findall(r'"([^"\n]+)"', body):
            if title.lower() not in tracks:
                problems.append(f"{path.name}: track {title!r} not in catalog.csv")
        for album in re.findall(r"(?<!\*)\*([^*\n]+)\*(?!\*)", body):
            if album.lower() not in albums | KNOWN_SHORT_FORMS:
                problems.append(f"{path.name}: album {album!r} not in catalog.csv")
    return problems, len(posts), total


def check_site_pages(post_count: int) -> list[str]:
    """Check that every generated post page carries the metadata the extractor relies on."""
    problems: list[str] = []
    pages = sorted(SITE_DIR.glob("20[0-9][0-9]/[01][0-9]/*.html"))
    if len(pages) != post_count:
        problems.append(f"site has {len(pages)} post pages for {post_count} post sources")
    for page in pages:
        text = page.read_text(encoding="utf-8")
        missing = [marker for marker in REQUIRED_POST_MARKERS if marker not in text]
        if missing:
            problems.append(f"{page.relative_to(SITE_DIR)}: missing {missing}")
        match = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)
        if not match:
            problems.append(f"{page.relative_to(SITE_DIR)}: no JSON-LD")
            continue
        data = json.loads(match.group(1))
        if not {"headline", "author", "datePublished"} <= data.keys():
            problems.append(f"{page.relative_to(SITE_DIR)}: incomplete JSON-LD")
    return problems


@contextmanager
def running_server(workdir: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """Start serve.py on a free port; yield (base URL, sources file, process); stop it."""
    port_file, sources = workdir / "port", workdir / "sources.toml"
    command = [sys.executable, str(DEMO_DIR / "serve.py"), "--port", "0"]
    command += ["--port-file", str(port_file), "--write-sources", str(sources)]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("serve.py did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().strip()}", sources, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """Return (status, content type, body) without raising on HTTP error statuses."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def check_server() -> tuple[list[str], int]:
    """Serve the site and check substitution, every sitemap URL, 404, HEAD and 304."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as (base, sources, proc):
        status, ctype, body = fetch(base + "/feed.xml")
        feed = body.decode()
        if status != 200 or "rss" not in ctype or f"{base}/20" not in feed or "{{BASE}}" in feed:
            problems.append(f"feed.xml: status {status}, type {ctype}, base not substituted")
        status, ctype, body = fetch(base + "/sitemap.xml")
        if status != 200 or "xml" not in ctype or b"{{BASE}}" in body:
            problems.append(f"sitemap.xml: status {status}, type {ctype}")
        locs = [loc.text or "" for loc in ET.fromstring(body).iter(SITEMAP_NS + "loc")]
        for url in locs:
            status, ctype, _ = fetch(url)
            if not url.startswith(base) or status != 200 or not ctype.startswith("text/html"):
                problems.append(f"{url}: status {status}, type {ctype}")
        status, _, body = fetch(base + "/robots.txt")
        if status != 200 or b"Disallow: /private/" not in body or b"Sitemap" in body:
            problems.append("robots.txt: unexpected content")
        for missing in ("/nope.html", "/2024/05/", "/../serve.py", "/%2e%2e/catalog.csv"):
            if fetch(base + missing)[0] != 404:
                problems.append(f"{missing}: expected 404")
        status, _, body = fetch(base + "/", method="HEAD")
        if status != 200 or body:
            problems.append("HEAD /: expected 200 with an empty body")
        later = {"If-Modified-Since": formatdate(time.time() + 3600, usegmt=True)}
        if fetch(base + "/feed.xml", headers=later)[0] != 304:
            problems.append("conditional GET: expected 304")
        config = tomllib.loads(sources.read_text(encoding="utf-8"))
        source = config["source"][0]
        if source["start_urls"] != [base + "/"] or source["feeds"] != [base + "/feed.xml"]:
            problems.append("written sources file does not carry the live base URL")
        stop_process = proc
    if stop_process.returncode != 0:
        problems.append(f"serve.py exited with {stop_process.returncode} on SIGTERM")
    return problems, len(locs)


def main() -> int:
    """Run every check, print a summary, and return a process exit status."""
    problems, posts, words = check_content()
    problems += check_site_pages(posts)
    server_problems, urls = check_server()
    problems += server_problems
    for problem in problems:
        print("FAIL", problem)
    print(f"{posts} posts, {words} words in post bodies, {urls} sitemap URLs checked")
    print("demo self-check " + ("failed" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
