"""Errors of the crawl stage whose message is complete for a user (file, source, key)."""

from __future__ import annotations


class CrawlerError(Exception):
    """A crawl problem a user can act on; the CLI prints it as one line."""
