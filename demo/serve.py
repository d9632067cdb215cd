"""Serve the bundled demo blog on 127.0.0.1 so the whole pipeline can be tried offline.

Usage::

    python demo/serve.py --port 0 --port-file /tmp/port --write-sources /tmp/demo-sources.toml

Feeds, sitemaps and sources files need absolute URLs, but the port is only known once the
socket is bound (``--port 0`` picks a free one so parallel runs never collide). The site
therefore stores the literal placeholder ``{{BASE}}`` and this server substitutes its own
``http://HOST:PORT`` into ``.xml`` and ``.toml`` responses. HTML pages use root-relative links
and are served byte for byte. Standard library only, so the demo runs before anything else is
installed. Runs until interrupted or sent SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import unquote, urlsplit

DEMO_DIR = Path(__file__).resolve().parent
SITE_DIR = DEMO_DIR / "site"
SOURCES_TEMPLATE = DEMO_DIR / "sources.toml"
PLACEHOLDER = "{{BASE}}"
SUBSTITUTED_SUFFIXES = frozenset({".xml", ".toml"})
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".toml": "application/toml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
}
# Feeds get their specific type so that crawlers sniffing Content-Type recognise them.
NAMED_CONTENT_TYPES = {"feed.xml": "application/rss+xml; charset=utf-8"}
NOT_FOUND_BODY = b"<!DOCTYPE html><title>404 Not Found</title><h1>404 Not Found</h1>\n"


class DemoServer(ThreadingHTTPServer):
    """Threaded HTTP server that knows its site root and its own base URL."""

    daemon_threads = True  # a stuck client must never keep the process alive after shutdown

    def __init__(self, host: str, port: int, root: Path) -> None:
        """Bind to ``host:port`` (port 0 = any free port) and serve files under ``root``."""
        super().__init__((host, port), DemoHandler)
        self.root = root.resolve()
        self.host = host

    @property
    def port(self) -> int:
        """The port actually bound, which differs from the requested one when it was 0."""
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        """Absolute base substituted for ``{{BASE}}``, e.g. ``http://127.0.0.1:8123``."""
        return f"http://{self.host}:{self.port}"


def resolve_path(root: Path, target: str) -> Path | None:
    """Map a request target onto a file under ``root``; None when missing or outside it.

    Directories resolve to their ``index.html``. Resolving symlinks and ``..`` before the
    containment check stops path traversal out of the site folder.
    """
    path = unquote(urlsplit(target).path)
    candidate = (root / path.lstrip("/")).resolve()
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def content_type(path: Path) -> str:
    """Content-Type header value for a served file."""
    named = NAMED_CONTENT_TYPES.get(path.name)
    return named or CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def render(path: Path, base_url: str) -> bytes:
    """File body as served: placeholder substituted in XML and TOML, other files untouched."""
    data = path.read_bytes()
    if path.suffix.lower() in SUBSTITUTED_SUFFIXES:
        data = data.replace(PLACEHOLDER.encode(), base_url.encode())
    return data


def not_modified(if_modified_since: str | None, mtime: int) -> bool:
    """Whether a conditional request can be answered 304 (lets crawlers test revisits)."""
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and mtime <= since.timestamp()


class DemoHandler(BaseHTTPRequestHandler):
    """GET/HEAD handler for the demo site; every other method gets 501 from the base class."""

    protocol_version = "HTTP/1.1"
    server_version = "LinernotesDemo/1.0"
    verbose = False

    def do_GET(self) -> None:
        """Serve a file with its body."""
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        """Serve a file's headers only."""
        self._respond(send_body=False)

    def _demo(self) -> DemoServer:
        """Return the owning server, typed (the base class only promises a BaseServer)."""
        if not isinstance(self.server, DemoServer):
            raise TypeError("DemoHandler must be used with DemoServer")
        return self.server

    def _respond(self, send_body: bool) -> None:
        """Answer 200, 304 or 404 with correct Content-Type, Content-Length, Last-Modified."""
        server = self._demo()
        path = resolve_path(server.root, self.path)
        if path is None:
            self._send(HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", NOT_FOUND_BODY, None)
            if send_body:
                self.wfile.write(NOT_FOUND_BODY)
            return
        mtime = int(path.stat().st_mtime)
        if not_modified(self.headers.get("If-Modified-Since"), mtime):
            self._send(HTTPStatus.NOT_MODIFIED, None, b"", mtime)
            return
        body = render(path, server.base_url)
        self._send(HTTPStatus.OK, content_type(path), body, mtime)
        if send_body:
            self.wfile.write(body)

    def _send(self, status: HTTPStatus, ctype: str | None, body: bytes, mtime: int | None) -> None:
        """Write the status line and headers shared by every response."""
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        if mtime is not None:
            self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet unless --verbose: crawls make hundreds of requests."""
        if self.verbose:
            super().log_message(format, *args)


def write_atomically(path: Path, text: str) -> None:
    """Write a file so readers (a Makefile polling for it) never see it half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_sources(template: Path, out: Path, base_url: str) -> None:
    """Write the demo sources file with the live base URL, ready for ``linernotes crawl``."""
    write_atomically(out, template.read_text(encoding="utf-8").replace(PLACEHOLDER, base_url))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Serve the linernotes demo blog locally.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--root", type=Path, default=SITE_DIR, help="folder to serve")
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file")
    parser.add_argument(
        "--write-sources", type=Path, metavar="OUT", help="write sources.toml for this server"
    )
    parser.add_argument(
        "--sources-template", type=Path, default=SOURCES_TEMPLATE, help=argparse.SUPPRESS
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def _stop(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into a normal exit so the socket is closed cleanly."""
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Start the server, publish port and sources, and serve until stopped."""
    args = parse_args(argv)
    if not args.root.is_dir():
        print(f"serve.py: site folder not found: {args.root}", file=sys.stderr)
        return 2
    DemoHandler.verbose = args.verbose
    server = DemoServer(args.host, args.port, args.root)
    signal.signal(signal.SIGTERM, _stop)
    try:
        # Sources first, port file last: a caller waiting for the port file can rely on both.
        if args.write_sources:
            write_sources(args.sources_template, args.write_sources, server.base_url)
        if args.port_file:
            write_atomically(args.port_file, f"{server.port}\n")
        print(f"serving {server.root} at {server.base_url}/", file=sys.stderr, flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
