"""The README's "Using it" commands, copied in order, succeed on a demo-like database.

The database holds the demo's real catalogue (demo/catalog.csv) plus a few
hand-written posts, mentions and profiles, so every name the README uses
exists without running the crawl and the models.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Table

from linernotes.cli import main
from linernotes.storage import open_store
from linernotes.storage.models import Descriptor, Document, Mention, Neighbor, Source
from tests.test_views import REPO, _insert

BLUE_MONDAY = "tr:new-order/blue-monday"


def using_it_commands() -> list[str]:
    """The lines of the first ```sh block under "## Using it"."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Using it") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def _demo_like(db: Path) -> None:
    url = f"sqlite:///{db}"
    result = CliRunner().invoke(main, ["--db", url, "catalog", "import", "demo/catalog.csv"])
    assert result.exit_code == 0, result.output
    when = datetime(2024, 5, 16, tzinfo=UTC)
    text = "Robyn made Blue Monday feel new. New Order would approve."
    objects: list[Any] = [
        Source(id=1, name="demo-blog", config={}, created_at=when),
        Document(id=1, url="http://127.0.0.1/robyn", canonical_url="c1", source_id=1,
                 status="stored", title="Track of the week", published_at=when, text=text,
                 content_hash="h1", extracted_hash="h1", fetched_at=when, metadata_json={}),
        Mention(id=1, document_id=1, start=0, end=5, sent_start=0, sent_end=33,
                label="ARTIST", entity_id="ar:robyn", surface="Robyn", norm_surface="robyn",
                confidence=1.0, method="gazetteer"),
        Mention(id=2, document_id=1, start=11, end=22, sent_start=0, sent_end=33,
                label="TRACK", entity_id=BLUE_MONDAY, surface="Blue Monday",
                norm_surface="blue monday", confidence=1.0, method="gazetteer"),
    ]  # fmt: skip
    for n, term in enumerate(["synth", "bass", "driving"]):
        for kind, eid in (("track", BLUE_MONDAY), ("artist", "ar:robyn")):
            objects.append(
                Descriptor(
                    entity_kind=kind,
                    entity_id=eid,
                    term=term,
                    weight=3.0 - n,
                    count=1,
                    doc_freq=1,
                    evidence_ids=[],
                )
            )
    others = ["ar:caribou", "ar:jamie-xx", "ar:lcd-soundsystem", "ar:the-xx", "ar:new-order"]
    for rank, other in enumerate(others, start=1):
        objects.append(
            Neighbor(
                entity_kind="artist",
                entity_id="ar:robyn",
                rank=rank,
                neighbor_id=other,
                score=1.0 - rank / 10,
                model="cultural",
            )
        )
    store = open_store(url)
    tables: dict[str, Table] = {}
    with store.engine.begin() as conn:
        for obj in objects:
            _insert(conn, tables, obj)
    store.close()


def test_readme_commands_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo-out").mkdir()
    monkeypatch.chdir(REPO)
    _demo_like(tmp_path / "demo-out" / "demo.db")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    env = {"PWD": str(tmp_path)}
    outputs: dict[str, str] = {}
    commands = using_it_commands()
    assert any(c.startswith("export LINERNOTES_DB=") for c in commands)
    for line in commands:
        if line.startswith(". "):
            continue  # activating the venv: the tests already run in it
        if line.startswith("export "):
            name, value = line[len("export ") :].split("=", 1)
            expanded = re.sub(r"\$(\w+)", lambda m: env[m.group(1)], shlex.split(value)[0])
            monkeypatch.setenv(name, expanded)
            continue
        if line.startswith("python "):
            args = [sys.executable, *shlex.split(line)[1:]]
            done = subprocess.run(
                args, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
            )
            assert done.returncode == 0, f"{line}\n{done.stderr}"
            outputs[line] = done.stdout
            continue
        stdin = None
        if " | " in line:
            producer, line = line.split(" | ", 1)
            assert producer.startswith("echo ")
            stdin = shlex.split(producer)[1]
        args = shlex.split(line, comments=True)
        assert args[0] == "linernotes", line
        result = CliRunner().invoke(main, args[1:], input=stdin)
        assert result.exit_code == 0, f"{line}\n{result.output}"
        outputs[line] = result.stdout
    joined = "\n".join(outputs.values())
    assert f"track Blue Monday ({BLUE_MONDAY})" in joined
    assert "Caribou" in joined
    assert "Robyn  1 source, 1 post" in joined
    assert (tmp_path / "demo-out" / "site" / "index.html").is_file()
    python_out = next(v for k, v in outputs.items() if k.startswith("python "))
    assert "synth" in python_out
