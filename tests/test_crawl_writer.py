"""Writes off the reactor (crawler/writer.py) and links from the extraction worker."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest
from scrapy.http import HtmlResponse

from linernotes.crawler.records import build_page, page_links
from linernotes.crawler.writer import SWITCH_INTERVAL, Writer, reactor_first


def test_writes_run_in_order_in_one_thread_and_a_failure_does_not_stop_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = Writer(size=2)  # smaller than the number of writes: submit waits when it is full
    done: list[tuple[int, str]] = []

    def write(n: int) -> None:
        if n == 3:
            raise OSError("disk full")
        time.sleep(0.001)
        done.append((n, threading.current_thread().name))

    futures = [writer.submit(f"page {n}", write, n) for n in range(8)]
    writer.drain()
    assert [n for n, _ in done] == [0, 1, 2, 4, 5, 6, 7]
    assert {name for _, name in done} == {"linernotes-writer"}
    assert isinstance(futures[3].exception(), OSError)
    assert "could not write page 3: disk full" in caplog.text
    writer.close()


def test_close_writes_what_is_queued_and_later_writes_run_in_the_caller() -> None:
    writer = Writer()
    gate = threading.Event()
    done: list[str] = []
    writer.submit("slow", lambda: (gate.wait(5), done.append("slow")))
    writer.submit("next", done.append, "next")
    assert done == []
    gate.set()
    writer.close()
    assert done == ["slow", "next"]
    writer.submit("late", lambda: done.append(threading.current_thread().name))
    assert done[-1] == threading.current_thread().name


def test_the_crawl_hands_the_gil_round_sooner_and_restores_the_interval_after() -> None:
    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL  # Python's default, 5 ms
    with pytest.raises(RuntimeError), reactor_first():
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        raise RuntimeError("the crawl failed")
    assert sys.getswitchinterval() == before


PAGE = (
    '<html><head><base href="/posts/"><title>Caf\xe9</title></head><body>'
    '<a href="a-review">x</a> <a href="/about#team">y</a> <a href="a-review">again</a>'
    '<a href="caf\xe9-tour">tour</a></body></html>'
).encode("latin-1")


def test_a_stored_pages_links_from_the_worker_are_the_crawls_links() -> None:
    """The response is rebuilt in the worker from its class and raw headers: same decoding
    (charset only in the header here), same base URL, same links."""
    url = "http://blog.example/2024/01/post"
    raw = {b"Content-Type": [b"text/html; charset=iso-8859-1"]}
    response = HtmlResponse(url=url, status=200, headers=raw, body=PAGE)
    expected = page_links(response)
    assert "http://blog.example/posts/caf%C3%A9-tour" in expected and len(expected) == 3
    headers = {"content-type": "text/html; charset=iso-8859-1"}
    record, links = build_page(url, 200, headers, PAGE, 1, (), (HtmlResponse, dict(raw)))
    assert links == expected
    assert record.title == "Café"  # the same record as build_record makes
    record2, none = build_page(url, 200, headers, PAGE, 1, (), None)
    assert none == [] and record2.content_hash == record.content_hash


@pytest.fixture(autouse=True)
def _log_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="linernotes.crawl")
