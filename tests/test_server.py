"""`linernotes serve` on waitress: ids round-trip, bad input is 400, methods, headers, threads.

Each test talks HTTP to a real server on a free port, so what is checked is
what a browser gets (waitress's decoding and limits included), on both
backends where the database sees the input.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from linernotes.api import Linernotes
from linernotes.server import create_server
from linernotes.storage import Store
from tests.test_views import seed

# `ar:pct%41` must never be read as `ar:pctA` (the %41 decoded a second time).
ODD_ARTISTS = [
    ("ar:pct%41", "Percent Literal", "percent literal"),
    ("ar:pctA", "Decoded Twice", "decoded twice"),
    ("ar:кино", "Кино", "кино"),
    ("ar:sigur-rós/x y", "Sigur Rós", "sigur ros"),
]


@pytest.fixture
def server(store: Store) -> Iterator[tuple[str, int]]:
    seed(store)
    with store.engine.begin() as conn:
        for entity_id, name, norm in ODD_ARTISTS:
            conn.execute(
                text(
                    "INSERT INTO artists (id, name, norm_name, aliases) VALUES (:i, :n, :m, '[]')"
                ),
                {"i": entity_id, "n": name, "m": norm},
            )
    httpd = create_server(Linernotes(store), "127.0.0.1", 0)
    stopping = threading.Event()

    def run() -> None:
        try:
            httpd.run()
        except OSError:  # the loop's select() sees the socket closed under it
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(httpd.effective_port)
    finally:
        stopping.set()
        httpd.close()
        thread.join(timeout=5)


def fetch(
    server: tuple[str, int], path: str, method: str = "GET", body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_percent_in_an_id_is_decoded_once(server: tuple[str, int]) -> None:
    status, _, body = fetch(server, "/artist/ar%3Apct%2541")
    assert status == 200
    page = body.decode("utf-8")
    assert "<h1>Percent Literal</h1>" in page and "Decoded Twice" not in page
    status, _, body = fetch(server, "/artist/ar%3ApctA")
    assert status == 200 and "<h1>Decoded Twice</h1>" in body.decode("utf-8")


@pytest.mark.parametrize(
    "query, name", [("%D0%BA%D0%B8%D0%BD%D0%BE", "Кино"), ("sigur", "Sigur Rós")]
)
def test_non_ascii_ids_round_trip_from_search_links(
    server: tuple[str, int], query: str, name: str
) -> None:
    status, _, body = fetch(server, f"/?q={query}")
    assert status == 200
    hrefs = re.findall(r'href="(/artist/[^"]+)"', body.decode("utf-8"))
    assert hrefs, body
    status, _, body = fetch(server, hrefs[0])
    assert status == 200
    assert f"<h1>{name}</h1>" in body.decode("utf-8")


def test_profiles_answer_json(server: tuple[str, int]) -> None:
    status, headers, body = fetch(server, "/track/tr%3Aalison.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    data = json.loads(body)
    assert (data["id"], data["name"], data["artist_name"]) == ("tr:alison", "Alison", "Slowdive")
    assert [d["term"] for d in data["descriptors"]] == ["hazy", "dreamy"]
    status, _, body = fetch(server, "/artist/ar%3A%D0%BA%D0%B8%D0%BD%D0%BE.json")
    assert status == 200 and json.loads(body)["name"] == "Кино"
    assert fetch(server, "/track/tr%3Anope.json")[0] == 404
    status, _, body = fetch(server, "/trending.json?days=3650")
    assert status == 200 and set(json.loads(body)) >= {"artist", "track", "days"}


@pytest.mark.parametrize(
    "path",
    ["/?q=" + "x" * 50_000, "/?q=a%00b", "/artist/ar%00x", "/artist/%FF%FE", "/?days=x"],
    ids=["50k-query", "nul-query", "nul-path", "not-utf8", "bad-days"],
)
def test_bad_input_is_400_not_500(server: tuple[str, int], path: str) -> None:
    if path == "/?days=x":
        path = "/trending?days=x"
    status, _, _ = fetch(server, path)
    assert status == 400


def test_head_has_headers_but_no_body(server: tuple[str, int]) -> None:
    _, get_headers, get_body = fetch(server, "/track/tr%3Aalison")
    status, headers, body = fetch(server, "/track/tr%3Aalison", method="HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Length"] == get_headers["Content-Length"] == str(len(get_body))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405_with_allow(server: tuple[str, int], method: str) -> None:
    status, headers, _ = fetch(server, "/", method=method, body=b"")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


def test_security_headers_and_no_python_in_server(server: tuple[str, int]) -> None:
    for path in ("/", "/track/tr%3Aalison", "/nowhere"):
        _, headers, _ = fetch(server, path)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "python" not in headers.get("Server", "").lower()
        assert headers.get("Server") == "linernotes"


def test_a_half_sent_request_does_not_block_others(server: tuple[str, int]) -> None:
    idle = socket.create_connection(server, timeout=10)
    try:
        idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        status, _, body = fetch(server, "/track/tr%3Aalison")
        assert status == 200 and b"Alison" in body
    finally:
        idle.close()


def test_request_bodies_are_limited(server: tuple[str, int]) -> None:
    status, _, _ = fetch(server, "/", method="GET", body=b"x" * 100_000)
    assert status == 413


def test_busy_port_is_named(store: Store) -> None:
    from linernotes.errors import UserFacingError

    first = create_server(Linernotes(store), "127.0.0.1", 0)
    try:
        port = int(first.effective_port)
        with pytest.raises(UserFacingError, match=f"cannot listen on 127.0.0.1:{port}"):
            create_server(Linernotes(store), "127.0.0.1", port)
    finally:
        first.close()
