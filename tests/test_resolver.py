"""The connection-time private-address check (crawler/resolver.py), unit and end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from linernotes.crawler.resolver import PrivateAddressRefused, SafeResolver
from linernotes.storage import open_store
from linernotes.storage.models import CrawlRun, Document
from tests.mockserver import MockSite


def _resolver(trusted: tuple[str, ...] = ()) -> SafeResolver:
    from twisted.internet.testing import MemoryReactorClock

    return SafeResolver(MemoryReactorClock(), 0, 5.0, trusted)


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "169.254.169.254", "192.168.1.9"])
def test_non_public_answers_are_refused(address: str) -> None:
    with pytest.raises(PrivateAddressRefused) as err:
        _resolver().check(address, "blog.example")
    assert err.value.kind == "private_address" and address in str(err.value)


def test_public_answers_and_trusted_hosts_pass() -> None:
    assert _resolver().check("93.184.216.34", "blog.example") == "93.184.216.34"
    trusted = _resolver(("intranet.example",))
    assert trusted.check("10.1.2.3", "intranet.example") == "10.1.2.3"
    assert trusted.check("10.1.2.3", "WWW.Intranet.Example.") == "10.1.2.3"  # folded like sources
    with pytest.raises(PrivateAddressRefused):
        trusted.check("10.1.2.3", "other.example")


# A crawl in which the name answers "public" to the early check and "127.0.0.1" to the
# connection: what a DNS-rebinding host does. Only the resolver can stop that fetch.
REBIND = textwrap.dedent(
    """
    import socket, sys
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def getaddrinfo(host, *args, **kwargs):
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        return "127.0.0.1" if host == "rebind.test" else real_gethostbyname(host)

    socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname
    from linernotes.cli import main
    main(sys.argv[1:])
    """
)


def test_rebinding_host_is_refused_at_connection_time(tmp_path: Path) -> None:
    script = tmp_path / "rebind.py"
    script.write_text(REBIND)
    with MockSite() as site:
        slug = site.posts[0]["slug"]
        port = site.url.rsplit(":", 1)[1]
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[crawler]\ndelay = 0\n\n[[source]]\nname = "rebind"\n'
            f'start_urls = ["http://rebind.test:{port}/{slug}.html"]\nmax_pages = 1\n'
        )
        db = f"sqlite:///{tmp_path / 'r.db'}"
        result = subprocess.run(
            [sys.executable, str(script), "--db", db, "crawl", "--sources", str(sources)],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        assert result.returncode == 0, result.stderr
        assert site.hits[f"/{slug}.html"] == 0
    store = open_store(db)
    try:
        with store.session() as s:
            assert s.scalars(select(Document)).first() is None
            run = s.scalars(select(CrawlRun)).one()
            errors = run.stats["sources"]["rebind"]["errors"]
    finally:
        store.close()
    assert errors.get("private_address", 0) >= 1, errors
