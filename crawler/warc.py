"""The raw archive: every fetched response of a run in one gzipped WARC file.

Documents can then be rebuilt from the archive (`linernotes reextract`)
after an extractor improves, without touching the network. Records are
flushed one by one so a killed run leaves a readable file up to its last
response (warcio reads gzip members independently).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

SKIP_HEADERS = {b"content-encoding", b"transfer-encoding", b"content-length"}


@dataclass(frozen=True)
class ArchivedResponse:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    source: str | None


class WarcArchive:
    """Appends response records (the body as the crawler saw it, decompressed)."""

    def __init__(self, path: Path) -> None:
        from warcio.warcwriter import WARCWriter

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh: BinaryIO = path.open("ab")
        self._writer: Any = WARCWriter(self._fh, gzip=True)

    def write(
        self,
        url: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        source: str | None = None,
    ) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        pairs = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in headers
            if k.lower() not in SKIP_HEADERS
        ]
        pairs.append(("Content-Length", str(len(body))))
        http = StatusAndHeaders(f"{status} {_reason(status)}", pairs, protocol="HTTP/1.1")
        warc_headers = {"WARC-Source-Name": source} if source else None
        record = self._writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )
        self._writer.write_record(record)
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def read_archive(path: Path) -> Iterator[ArchivedResponse]:
    """Every response record of a WARC file, in order; a truncated tail is ignored."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    with path.open("rb") as fh:
        try:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                http = record.http_headers
                stamp = record.rec_headers.get_header("WARC-Date") or ""
                try:
                    fetched = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                except ValueError:
                    fetched = datetime.now(UTC)
                yield ArchivedResponse(
                    url=record.rec_headers.get_header("WARC-Target-URI"),
                    status=int(http.get_statuscode() or 0),
                    headers={k.lower(): v for k, v in http.headers},
                    body=record.content_stream().read(),
                    fetched_at=fetched,
                    source=record.rec_headers.get_header("WARC-Source-Name"),
                )
        except (ArchiveLoadFailed, EOFError, OSError):
            return
