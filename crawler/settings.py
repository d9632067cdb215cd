"""Scrapy settings: polite and safe by default.

Values that come from the sources file's `[crawler]` table (delay, timeout,
size cap, User-Agent contact) are filled in by `build_settings`; the rest are
fixed here because being a good citizen is not optional.
"""

from __future__ import annotations

from typing import Any

from linernotes.crawler.sources import CrawlerConfig

BOT_NAME = "linernotes"
SPIDER_MODULES = ["linernotes.crawler.spiders"]

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy (2.13+, asyncio reactor) starts CONCURRENT_ITEMS worker tasks for the output of
# every response (101 tasks a page at the default 100). Our pipeline only appends to a
# buffer, so a few workers are plenty: 2,000 bench-scale pages, same rounds, 29.9-32.2 s
# instead of 38.3-40.9 s (docs/scale-out.md). The bare-Scrapy ceiling gets it too.
CONCURRENT_ITEMS = 4
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RANDOMIZE_DOWNLOAD_DELAY = True
RETRY_TIMES = 1
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
DEPTH_LIMIT = 0  # depth is enforced per source by the spider (max_depth)
DNS_TIMEOUT = 10
# Checks every DNS answer against private address ranges (see crawler/resolver.py).
TWISTED_DNS_RESOLVER = "linernotes.crawler.resolver.SafeResolver"
HTTPERROR_ALLOW_ALL = False
LOG_LEVEL = "WARNING"

DOWNLOADER_MIDDLEWARES = {
    # refuse unsafe URLs before robots.txt is even asked for them
    "linernotes.crawler.middlewares.SafetyMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "linernotes.crawler.middlewares.PoliteRobotsMiddleware": 100,
}
ITEM_PIPELINES = {"linernotes.crawler.pipelines.StoragePipeline": 300}
EXTENSIONS = {"scrapy.extensions.telnet.TelnetConsole": None}


def build_settings(cfg: CrawlerConfig, debug: bool = False) -> dict[str, Any]:
    """The settings of one run as a plain dict for `CrawlerProcess`."""
    settings = {k: v for k, v in globals().items() if k.isupper()}
    settings.update(
        USER_AGENT=cfg.user_agent_string,
        DOWNLOAD_DELAY=cfg.delay,
        AUTOTHROTTLE_START_DELAY=max(cfg.delay, 0.1),
        DOWNLOAD_TIMEOUT=cfg.timeout,
        # DOWNLOAD_MAXSIZE caps the body after decompression too (HttpCompressionMiddleware
        # stops inflating past it), which is the decompression-bomb guard.
        DOWNLOAD_MAXSIZE=cfg.max_bytes,
        DOWNLOAD_WARNSIZE=max(cfg.max_bytes // 2, 1),
        LN_BATCH_SIZE=cfg.batch_size,
        LOG_LEVEL="DEBUG" if debug else LOG_LEVEL,
    )
    if cfg.redis_url:  # opt-in: the frontier is shared with other workers through Redis
        from linernotes.crawler.distributed import scrapy_settings

        settings.update(scrapy_settings(cfg.redis_url, cfg.redis_max_idle, EXTENSIONS))
    return settings
