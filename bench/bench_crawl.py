"""Crawl throughput against a bare Scrapy spider, and extraction time per page.

The fixture site is the test blog's "big" archive (one index, N distinct
pages) served on 127.0.0.1. Both crawlers run in child processes (Scrapy's
reactor is one-shot) with the same concurrency, throttle settings and no
delay (Scrapy without AutoThrottle is 3x slower on loopback); both are timed
as whole processes (start-up included, measured the same way for both,
since how each measures itself internally is not comparable). The ratio is
ours / bare (pages per second): what robots.txt, safety checks, extraction,
dedup, the WARC archive and batched storage cost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

BARE = r"""
import sys, time, scrapy
from scrapy.crawler import CrawlerProcess
start_url, out = sys.argv[1], sys.argv[2]
class Bare(scrapy.Spider):
    name = "bare"
    count = 0
    async def start(self):
        yield scrapy.Request(start_url)
    def parse(self, response):
        self.count += 1
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, self.parse)
t = {}
p = CrawlerProcess({"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
                    "DOWNLOAD_DELAY": 0, "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
                    "AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 0.1,
                    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0})
c = p.create_crawler(Bare)
p.crawl(c)
t0 = time.perf_counter(); p.start(); t1 = time.perf_counter()
open(out, "w").write(str(c.spider.count) + " " + str(t1 - t0))
"""


def _bare(url: str, tmp: Path) -> tuple[int, float]:
    out, script = tmp / "bare.txt", tmp / "bare_spider.py"
    script.write_text(BARE)  # a file, not -c: Scrapy inspects callback source
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script), url, str(out)], check=True, cwd=REPO, timeout=600)
    seconds = time.perf_counter() - started
    pages = out.read_text().split()[0]
    return int(pages), seconds


def _ours(site: Any, tmp: Path) -> tuple[int, float]:
    from sqlalchemy import select

    from linernotes.storage import open_store
    from linernotes.storage.models import CrawlRun

    sources = tmp / "bench.toml"
    sources.write_text(
        '[crawler]\ndelay = 0\nbatch_size = 50\n\n[[source]]\nname = "bench"\n'
        f'start_urls = ["{site.url}/big/"]\nallow_private_addresses = true\n'
    )
    db = f"sqlite:///{tmp / 'bench.db'}"
    cmd = [sys.executable, "-m", "linernotes", "--db", db, "crawl", "--sources", str(sources)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=600)
    seconds = time.perf_counter() - started
    store = open_store(db)
    with store.session() as s:
        run = s.scalars(select(CrawlRun)).one()
        pages = int(run.stats["sources"]["bench"]["fetched"])
    store.close()
    return pages, seconds


def _extraction(pages: list[bytes]) -> tuple[float, float]:
    import trafilatura

    from linernotes.crawler.extraction import extract

    extract(pages[0], "http://x/", "text/html")  # warm imports
    t0 = time.perf_counter()
    for body in pages:
        extract(body, "http://x/", "text/html")
    ours = (time.perf_counter() - t0) * 1000 / len(pages)
    t0 = time.perf_counter()
    for body in pages:
        trafilatura.extract(body.decode("utf-8"), url="http://x/", with_metadata=True)
    plain = (time.perf_counter() - t0) * 1000 / len(pages)
    return ours, plain


def run(quick: bool = False) -> list[dict[str, Any]]:
    sys.path.insert(0, str(REPO))
    from tests.mockserver import MockSite, page, prose

    n = 60 if quick else 300
    results = []
    with tempfile.TemporaryDirectory() as tmpdir, MockSite(big_pages=n) as site:
        tmp = Path(tmpdir)
        bare_pages, bare_s = _bare(f"{site.url}/big/", tmp)
        our_pages, our_s = _ours(site, tmp)
        ours_pps, bare_pps = our_pages / our_s, bare_pages / bare_s
        results.append(
            {
                "bench": "crawl",
                "metric": "pages_per_second",
                "value": round(ours_pps, 1),
                "unit": "pages/s",
                "baseline": round(bare_pps, 1),
                "ratio": round(ours_pps / bare_pps, 3),
                "notes": f"{n}-page local site; bare Scrapy spider fetched {bare_pages} responses, "
                f"linernotes {our_pages} (robots.txt included)",
            }
        )
    bodies = [
        page(f"Post {i}", [prose(i), prose(i + 5000)]).encode() for i in range(40 if quick else 150)
    ]
    ours_ms, plain_ms = _extraction(bodies)
    results.append(
        {
            "bench": "crawl",
            "metric": "extraction_ms_per_page",
            "value": round(ours_ms, 2),
            "unit": "ms/page",
            "baseline": round(plain_ms, 2),
            "ratio": round(ours_ms / plain_ms, 3),
            "notes": "extract() (trafilatura + JSON-LD + htmldate + language) vs plain "
            "trafilatura.extract with metadata; lower is better",
        }
    )
    return results


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
