"""DNS resolution that refuses private addresses at connection time.

`SafetyMiddleware` refuses a URL whose host resolves to a private, loopback
or link-local address, but it resolves the name itself, before the request is
queued: a name whose answer changes between that check and the connection
(DNS rebinding, or a very short TTL) would still reach 10.0.0.1 or the cloud
metadata address. Twisted connects to whatever the reactor's resolver
returns, so checking the answer here checks the very address the connection
uses: the middleware refuses early and cheaply, the resolver makes it hold.

Hosts of sources that set `allow_private_addresses` are exempt (the
`LN_PRIVATE_HOSTS` setting); the resolver is per process, so such a host is
exempt for every source of the run, while the middleware still refuses it for
sources that did not opt in when it resolves privately at check time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from linernotes.crawler.sources import fold_host
from linernotes.crawler.urls import is_public_ip


class PrivateAddressRefused(DNSLookupError):
    """A host name answered with a non-public address; `kind` groups it in run summaries."""

    kind = "private_address"


class SafeResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, plus a public-address check on every answer (cached ones too)."""

    def __init__(
        self, reactor: Any, cache_size: int, timeout: float, trusted_hosts: Iterable[str] = ()
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.trusted = frozenset(fold_host(h) for h in trusted_hosts)
        # Twisted's endpoints report any failed lookup as "no results": what was refused
        # is kept here so the run summary can say why (see refused_address).
        self.refused: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> SafeResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor,
            cache_size,
            settings.getfloat("DNS_TIMEOUT"),
            settings.getlist("LN_PRIVATE_HOSTS"),
        )

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        answer = super().getHostByName(name, timeout)
        answer.addCallback(self.check, name)
        return answer

    def check(self, address: str, name: str) -> str:
        """The address, if the connection may go there; else PrivateAddressRefused."""
        if fold_host(name) in self.trusted or is_public_ip(address):
            return address
        self.refused[fold_host(name)] = address
        raise PrivateAddressRefused(f"{name} resolved to non-public address {address}")


def refused_address(host: str) -> str | None:
    """The non-public address this process's resolver refused for `host`, if it did."""
    from twisted.internet import reactor

    resolver = getattr(reactor, "resolver", None)
    return resolver.refused.get(fold_host(host)) if isinstance(resolver, SafeResolver) else None
