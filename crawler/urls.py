"""URL hygiene: canonical form, crawl-trap guards and the private-address check.

The canonical URL is the document key, so two spellings of one page (a
tracking parameter, a fragment, upper-case host, default port, reordered
query) must collapse to one string. Trap guards stop link-following on
URL shapes that generate endless pages (calendars, repeated path segments,
query-string explosions) before a request is ever made.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "_hsenc",
        "_hsmi",
        "ref",
        "ref_src",
        "spm",
        "share",
        "cmpid",
        "ocid",
        "output",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Calendars and event listings page forever through dates; dated blog permalinks
# (/2024/01/some-post.html) are fine, so only calendar-ish paths and date queries count.
_CALENDAR = re.compile(
    r"/(?:calendar|events?|agenda|kalender|calendrier)/(?:.*/)?(?:19|20)\d{2}\b"
    r"|[?&](?:date|month|year|day|week|cal|calendar|ical|outlook-ical|tribe-bar-date"
    r"|eventdisplay)=",
    re.IGNORECASE,
)
MAX_QUERY_PARAMS = 4
MAX_URL_LENGTH = 500
MAX_SEGMENT_REPEATS = 2


def canonicalize(url: str) -> str:
    """The one spelling of a URL: scheme/host lower-case, no fragment, default port,
    tracking parameters or empty query; path percent-encoding normalised; query sorted.

    Path and query are w3lib's `canonicalize_url` (Scrapy's own): it decodes
    only what needs no escaping, so `/100%25-pure/` and `/a%2Fb` keep their
    meaning, and it keeps undecodable query bytes as they are. On top of it, our
    rules: the host as written (lower-cased, not punycoded: stored keys keep
    their form), no user info or default port, `//` runs collapsed, tracking
    parameters dropped.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    try:
        normal = urlsplit(canonicalize_url(url.strip(), keep_blank_values=True))
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"cannot canonicalize {url!r}: {exc}") from None
    path = re.sub(r"/{2,}", "/", normal.path) or "/"
    query = "&".join(p for p in normal.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(pair: str) -> bool:
    key = unquote_plus(pair.split("=", 1)[0]).lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def trap_reason(url: str) -> str | None:
    """Why a discovered link looks like a crawl trap, or None when it looks like a page."""
    parts = urlsplit(url)
    if len(url) > MAX_URL_LENGTH:
        return "trap:long_url"
    segments = [s for s in parts.path.split("/") if s]
    counts: dict[str, int] = {}
    for seg in segments:
        counts[seg] = counts.get(seg, 0) + 1
        if counts[seg] > MAX_SEGMENT_REPEATS:
            return "trap:repeated_segment"
    if len(parse_qsl(parts.query, keep_blank_values=True)) > MAX_QUERY_PARAMS:
        return "trap:query_explosion"
    if _CALENDAR.search(parts.path + ("?" + parts.query if parts.query else "")):
        return "trap:calendar"
    return None


def scheme_allowed(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


def is_public_ip(address: str) -> bool:
    """True for a globally routable address; private, loopback, link-local,
    site-local, multicast, reserved and unspecified addresses are not.

    IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo's client,
    NAT64's well-known prefix) reach that IPv4 host, so it is the embedded
    address that is judged: `2002:7f00:1::1` is loopback, `2002:a9fe:a9fe::1`
    the cloud metadata service.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:  # fec0::/10, deprecated but still routed inside some networks
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _public(embedded)
    return _public(ip)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client behind the relay
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return bool(
        ip.is_global
        and not (ip.is_private or ip.is_loopback or ip.is_link_local)
        and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
    )


@lru_cache(maxsize=4096)
def resolve(host: str) -> tuple[str, ...]:
    """Every address a host name resolves to (an IP literal resolves to itself)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return (host.strip("[]"),)
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return tuple(sorted({str(info[4][0]) for info in infos}))


def private_address_reason(url: str) -> str | None:
    """Why `url` must not be fetched from a public-only source, or None when it may.

    The host is resolved first, so a public name that points at 10.0.0.1 or
    169.254.169.254 is refused as surely as the literal address; a name that
    does not resolve is left to the downloader (it fails with a DNS error).
    """
    host = urlsplit(url).hostname or ""
    if not host:
        return "private_address"
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "private_address"
    try:
        addresses = resolve(host)
    except (OSError, UnicodeError):
        return None
    for address in addresses:
        if not is_public_ip(address):
            return "private_address"
    return None
