"""The crawl ceiling of bench-scale: a bare Scrapy spider over the same site, the same way.

Run as a script (a file, not -c: Scrapy inspects callback source) by
bench/scale/crawl.py. It discovers URLs as `linernotes crawl` does with the
bench's sources file: robots.txt obeyed, the sitemap index and its sitemaps,
the RSS feed, the start URL and the links of each page that match the
source's `allow`/`follow` patterns; with the throttle and concurrency
settings of linernotes.crawler.settings (passed in as JSON, so this process
imports nothing of linernotes). It stores nothing and extracts nothing: what
is left is Scrapy's own cost of fetching the same URLs.

Usage: bare_spider.py SETTINGS_JSON BASE_URL OUT_FILE
"""

import json
import re
import sys
import time

import scrapy
from lxml import etree
from scrapy.crawler import CrawlerProcess
from scrapy.utils.sitemap import Sitemap

settings, base, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
PATTERNS = [re.compile(p) for p in settings.pop("LN_PATTERNS")]


class Bare(scrapy.Spider):
    name = "bare"
    pages = 0

    async def start(self):
        yield scrapy.Request(f"{base}/sitemap.xml", self.parse_sitemap)
        yield scrapy.Request(f"{base}/feed.xml", self.parse_feed)
        yield scrapy.Request(f"{base}/", self.parse)

    def parse_sitemap(self, response):
        sitemap = Sitemap(response.body)
        callback = self.parse_sitemap if sitemap.type == "sitemapindex" else self.parse
        for entry in sitemap:
            yield response.follow(entry["loc"], callback)

    def parse_feed(self, response):
        root = etree.fromstring(response.body)
        for link in root.iter("link"):
            yield response.follow(link.text.strip(), self.parse)

    def parse(self, response):
        self.pages += 1
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if url.startswith(base) and any(p.search(url) for p in PATTERNS):
                yield scrapy.Request(url, self.parse)


process = CrawlerProcess(settings)
crawler = process.create_crawler(Bare)
process.crawl(crawler)
started = time.perf_counter()
process.start()
seconds = time.perf_counter() - started
with open(out, "w") as handle:
    json.dump({"pages": crawler.spider.pages, "reactor_seconds": seconds}, handle)
