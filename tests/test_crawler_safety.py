"""The address checks: embedded IPv4 forms judged by what they reach, and the
`allow_private_addresses` exemption limited to the source's own host and port."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from scrapy import Request

from linernotes.crawler.middlewares import RefusedRequest, SafetyMiddleware
from linernotes.crawler.sources import Source
from linernotes.crawler.urls import is_public_ip, private_address_reason


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
        "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
        "fec0::1",  # site-local
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "::ffff:10.0.0.1",
        "::1",
        "fe80::1%eth0",
    ],
)
def test_addresses_embedding_private_ones_are_not_public(address: str) -> None:
    assert not is_public_ip(address)


def test_addresses_embedding_public_ones_stay_public() -> None:
    assert is_public_ip("93.184.216.34")
    assert is_public_ip("2002:5db8:d822::1")  # 6to4 of 93.184.216.34
    assert is_public_ip("64:ff9b::5db8:d822")  # NAT64 of 93.184.216.34
    assert is_public_ip("2606:4700::1111")
    assert private_address_reason("http://[2002:7f00:1::1]/") == "private_address"
    assert private_address_reason("http://[fec0::1]:8080/") == "private_address"


def _middleware(source: Source) -> SafetyMiddleware:
    return SafetyMiddleware(SimpleNamespace(spider=SimpleNamespace(source=source)))


def test_private_exemption_covers_the_source_host_and_port_only() -> None:
    source = Source(
        name="local",
        start_urls=("http://127.0.0.1:8000/",),
        feeds=("https://www.blog.localhost/feed.xml",),
        allow_private_addresses=True,
    )
    safety = _middleware(source)
    for url in (
        "http://127.0.0.1:8000/post/1",
        "https://127.0.0.1:8000/other",
        "https://blog.localhost/feed.xml",
        "https://www.blog.localhost:443/post",
    ):
        assert safety.process_request(Request(url)) is None, url
    for url in (
        "http://127.0.0.1:8001/admin",  # another service on the trusted host
        "http://127.0.0.1/",  # port 80
        "http://blog.localhost/",  # port 80, the feed's host is trusted on 443 only
        "http://10.0.0.1:8000/",
    ):
        with pytest.raises(RefusedRequest) as refused:
            safety.process_request(Request(url))
        assert refused.value.kind == "private_address", url
    public_only = _middleware(Source(name="p", start_urls=("http://127.0.0.1:8000/",)))
    with pytest.raises(RefusedRequest):
        public_only.process_request(Request("http://127.0.0.1:8000/"))
