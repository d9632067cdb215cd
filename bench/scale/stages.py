"""What every bench-scale measurement is made of: timed child processes, the site server,
the sources file, and small reads of the resulting SQLite database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    """One timed child process."""

    name: str
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float = 0.0  # user + system, the process and the children it waited for
    counts: dict[str, float] = field(default_factory=dict)
    ceiling_seconds: float | None = None

    @property
    def ratio(self) -> float | None:
        """Ceiling time / our time: 1.0 means as fast as the plain library call."""
        if not self.ceiling_seconds or not self.seconds:
            return None
        return round(self.ceiling_seconds / self.seconds, 3)


def timed(name: str, cmd: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> Stage:
    """Run a child to completion; its wall time and peak RSS (kB -> MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"bench-scale: stage {name} failed with exit code {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return Stage(name, round(seconds, 1), round(usage.ru_maxrss / 1024, 1), round(cpu, 1))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(site: Path, port: int) -> subprocess.Popen[bytes]:
    """The static site on loopback, in a child process (a real socket server)."""
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"bench-scale: the site server did not start on port {port}")


def write_sources(
    path: Path, base: str, pages: int, recrawl_after: str, extract_workers: int | None = None
) -> None:
    workers = "" if extract_workers is None else f"extract_workers = {extract_workers}\n"
    path.write_text(
        f"[crawler]\ndelay = 0\nbatch_size = 100\n{workers}\n"
        f'[[source]]\nname = "scale"\nstart_urls = ["{base}/"]\n'
        f'feeds = ["{base}/feed.xml"]\nsitemaps = ["{base}/sitemap.xml"]\n'
        f'follow = ["/page/"]\nallow = ["/posts/", "/print/", "/partner/"]\n'
        f"max_pages = {pages * 2}\nallow_private_addresses = true\n"
        f'recrawl_after = "{recrawl_after}"\n',
        encoding="utf-8",
    )


def sql_scalar(db: str, query: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "linernotes", "--db", db, "sql", "--csv", query],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return out.splitlines()[-1] if out else ""


def pipeline(db: str, sources: Path, processes: int) -> list[Stage]:
    """crawl, extract, embed as the user runs them, each in its own process."""
    ln = [sys.executable, "-m", "linernotes", "--db", db]
    return [
        timed("crawl", [*ln, "crawl", "--sources", str(sources)]),
        timed("extract", [*ln, "extract", "--processes", str(processes)]),
        timed("embed", [*ln, "embed"]),
    ]


def crawl_counts(db_path: Path) -> dict[str, float]:
    """Documents, stored documents and fetched responses of the last crawl run."""
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        total, stored = conn.execute(
            "SELECT count(*), sum(status = 'stored') FROM documents"
        ).fetchone()
        (stats,) = conn.execute("SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    fetched = json.loads(stats)["sources"]["scale"]["fetched"]
    return {"pages": total, "stored": stored or 0, "fetched": fetched}


def snapshot(db_path: Path, copy: Path) -> None:
    """A consistent copy of a SQLite database (the backup API, not a file copy)."""
    import sqlite3

    copy.unlink(missing_ok=True)
    with sqlite3.connect(db_path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
