"""`linernotes serve`: the profile pages and their JSON over HTTP, on waitress.

waitress is a production WSGI server: a thread pool (one slow client cannot
block the others), per-connection timeouts, and limits on request headers
and bodies. The application itself only answers GET and HEAD, refuses
oversized or malformed input with 400 before any query runs, and sends
security headers on every response: everything shown comes from crawled
pages, so the pages load nothing from elsewhere and may not be framed.

Ids round-trip exactly: links percent-encode the whole id (UTF-8, '/' and
'%' included), waitress percent-decodes the path once into PEP 3333's latin-1
string, and the application turns that back into the UTF-8 id, decoding
nothing a second time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from linernotes.api import Linernotes
from linernotes.errors import UserFacingError
from linernotes.resolve import KINDS
from linernotes.web import (
    render_entity_page,
    render_home_page,
    render_not_found,
    render_search_page,
)

MAX_QUERY = 200  # characters of a search; names are far shorter
MAX_PATH = 2048
MAX_DAYS = 36600
SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    ("Referrer-Policy", "no-referrer"),
]
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"

Start = Callable[..., Any]
App = Callable[[dict[str, Any], Start], list[bytes]]


class BadRequest(Exception):
    """Input the server refuses (400) with a short reason."""


def request_path(environ: dict[str, Any]) -> str:
    """The decoded path as text: PEP 3333 hands it over as latin-1 of the raw bytes."""
    raw = environ.get("PATH_INFO") or "/"
    try:
        path = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise BadRequest("the path is not UTF-8") from None
    if "\x00" in path or len(path) > MAX_PATH:
        raise BadRequest("bad path")
    return path


def query_params(environ: dict[str, Any]) -> dict[str, str]:
    """The query string's parameters (first value each), refused when oversized or odd."""
    raw = environ.get("QUERY_STRING") or ""
    if len(raw) > 4 * MAX_QUERY:
        raise BadRequest("query string too long")
    try:
        parsed = parse_qs(raw, errors="strict", max_num_fields=20)
    except ValueError:
        raise BadRequest("malformed query string") from None
    params = {key: values[0] for key, values in parsed.items()}
    for value in params.values():
        if "\x00" in value or len(value) > MAX_QUERY:
            raise BadRequest("query too long or with a NUL character")
    return params


def _days(params: dict[str, str]) -> int:
    try:
        days = int(params.get("days", "7"))
    except ValueError:
        raise BadRequest("days must be a whole number") from None
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest(f"days must be between 1 and {MAX_DAYS}")
    return days


def route(api: Linernotes, path: str, params: dict[str, str]) -> tuple[str, str, str]:
    """(status, content type, body) of a GET."""
    if path in ("/", "/search.json"):
        query = params.get("q", "").strip()
        if path.endswith(".json"):
            return "200 OK", JSON, _dumps(api.search_rows(query) if query else [])
        if query:
            return "200 OK", HTML, render_search_page(query, api.search_rows(query))
        return "200 OK", HTML, render_home_page(api.trending_charts(_days(params)))
    if path in ("/trending", "/trending.json"):
        charts = api.trending_charts(_days(params))
        if path.endswith(".json"):
            return "200 OK", JSON, _dumps(charts)
        return "200 OK", HTML, render_home_page(charts)
    parts = path[1:].split("/", 1)
    if len(parts) == 2 and parts[0] in KINDS and parts[1]:
        kind, entity_id = parts
        data = api.profile(kind, entity_id)
        if data is not None:
            return "200 OK", HTML, render_entity_page(data)
        if entity_id.endswith(".json"):
            data = api.profile(kind, entity_id[: -len(".json")])
            if data is not None:
                return "200 OK", JSON, _dumps(data)
    return "404 Not Found", HTML, render_not_found()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def make_app(api: Linernotes) -> App:
    """The WSGI application over an open (read-only) API."""

    def application(environ: dict[str, Any], start_response: Start) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        extra: list[tuple[str, str]] = []
        if method not in ("GET", "HEAD"):
            status, ctype, page = "405 Method Not Allowed", "text/plain; charset=utf-8", ""
            page, extra = "only GET and HEAD\n", [("Allow", "GET, HEAD")]
        else:
            try:
                status, ctype, page = route(api, request_path(environ), query_params(environ))
            except BadRequest as exc:
                status, ctype, page = "400 Bad Request", "text/plain; charset=utf-8", f"{exc}\n"
        body = page.encode("utf-8")
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        start_response(status, headers + extra + SECURITY_HEADERS)
        return [] if method == "HEAD" else [body]

    return application


def create_server(api: Linernotes, host: str = "127.0.0.1", port: int = 8000) -> Any:
    """A waitress server bound to host:port (port 0: any free port), not yet running."""
    from waitress import create_server as waitress_server

    try:
        return waitress_server(
            make_app(api),
            host=host,
            port=port,
            threads=8,
            channel_timeout=30,
            connection_limit=200,
            max_request_header_size=64 * 1024,  # a 50,000-char query still reaches the app: 400
            max_request_body_size=16 * 1024,
            ident="linernotes",
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserFacingError(f"cannot listen on {host}:{port}: {reason}") from None
    except ValueError as exc:
        raise UserFacingError(f"cannot listen on {host}:{port}: {exc}") from None


def serve(api: Linernotes, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the pages until interrupted."""
    server = create_server(api, host, port)
    bound = f"http://{server.effective_host}:{server.effective_port}/"
    print(f"serving on {bound} (JSON: /artist/ID.json, /trending.json; Ctrl-C stops)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
