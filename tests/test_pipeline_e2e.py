"""The chain users run, whole and with the real models, on SQLite and PostgreSQL.

`linernotes run` (the installed CLI in a child process: Scrapy's reactor is one-shot)
crawls the test blog (tests/mockserver.py, every trap included), extracts mentions
with spaCy and builds profiles with MiniLM (ONNX) and word2vec. Per backend, one
module-scoped chain of runs is shared by the tests below, since every run loads the
models again: a first run, a second one on the unchanged site (on SQLite it is
`linernotes schedule --once`, which starts the same `run` for real), then a third
after one post changed. The assertions read the contract tables only (documents,
mentions, evidence, descriptors, neighbors), not any stage's internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import FIXTURES
from tests.mockserver import MockSite, blog_sources, run_cli

# slow: the models load in every run; the timeout covers the three runs of a chain on a
# loaded 2-core machine (the module fixture runs inside the first test of its backend)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

CATALOG = FIXTURES / "catalog" / "blog.csv"
CHANGED_PATH = "/2024/02/changing-post.html"
RUN_TIMEOUT = 420.0

# What each contract table holds, without the columns a re-fetch legitimately
# touches (fetched_at, crawl_run_id, validators) or surrogate ids.
TABLES = {
    "documents": "SELECT canonical_url, url, title, author, published_at, language, text, "
    "status, skip_reason, content_hash, duplicate_of FROM documents",
    "mentions": 'SELECT document_id, start, "end", label, entity_id, surface FROM mentions',
    "evidence": "SELECT entity_kind, entity_id, document_id, sent_start, sent_end, text "
    "FROM evidence",
    "descriptors": "SELECT entity_kind, entity_id, term, weight, count FROM descriptors "
    "WHERE source = 'text'",
    # terms inferred from the neighbours: they follow the neighbour table
    "inferred": "SELECT entity_kind, entity_id, term, weight, count FROM descriptors "
    "WHERE source <> 'text'",
    "neighbors": "SELECT entity_kind, entity_id, rank, neighbor_id, score FROM neighbors",
}

Rows = list[tuple[Any, ...]]
Snapshot = dict[str, Rows]


def snapshot(url: str) -> Snapshot:
    """Every contract table's rows, sorted (row order is no contract)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: sorted((tuple(r) for r in conn.execute(text(sql))), key=repr)
                for name, sql in TABLES.items()
            }
    finally:
        engine.dispose()


def entity_rows(rows: Rows, entities: set[tuple[str, str]]) -> Rows:
    """The rows (entity_kind, entity_id, ...) of `entities`."""
    return [r for r in rows if (r[0], r[1]) in entities]


@dataclass
class Chain:
    """One backend's three runs and what the tables held after each."""

    url: str
    site: MockSite
    outputs: list[CompletedProcess[str]] = field(default_factory=list)
    after: list[Snapshot] = field(default_factory=list)
    changed_doc: int = 0


def _ok(result: CompletedProcess[str], what: str) -> CompletedProcess[str]:
    # the blog's traps (a 500, a timeout, private redirects...) are counted in the
    # summary, not failures of the run
    assert result.returncode == 0, f"{what} failed:\n{result.stderr[-3000:]}"
    assert "embed:" in result.stdout, f"{what} did not embed:\n{result.stdout}"
    return result


def _run_chain(url: str, tmp: Path, schedule_second: bool) -> Iterator[Chain]:
    with MockSite() as site:
        sources = tmp / "sources.toml"
        # recrawl_after = 0: the second and third runs revisit every page
        sources.write_text(blog_sources(site, recrawl_after=0), encoding="utf-8")
        imported = run_cli(url, "catalog", "import", str(CATALOG))
        assert imported.returncode == 0, imported.stderr
        chain = Chain(url, site)
        run = ("run", "--sources", str(sources))
        chain.outputs.append(_ok(run_cli(url, *run, timeout=RUN_TIMEOUT), "first run"))
        chain.after.append(snapshot(url))
        if schedule_second:
            again = ("schedule", "--sources", str(sources), "--once")
            chain.outputs.append(run_cli(url, *again, timeout=RUN_TIMEOUT))
        else:
            chain.outputs.append(_ok(run_cli(url, *run, timeout=RUN_TIMEOUT), "second run"))
        chain.after.append(snapshot(url))
        site.version = 2
        chain.outputs.append(_ok(run_cli(url, *run, timeout=RUN_TIMEOUT), "third run"))
        chain.after.append(snapshot(url))
        engine = create_engine(url)
        with engine.connect() as conn:
            chain.changed_doc = conn.execute(
                text("SELECT id FROM documents WHERE url LIKE :u"), {"u": f"%{CHANGED_PATH}"}
            ).scalar_one()
        engine.dispose()
        yield chain


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def chain(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'e2e.db'}"
    else:
        from tests.conftest import _new_pg_database

        url = _new_pg_database(request.getfixturevalue("pg_server_url"))
    yield from _run_chain(url, tmp, schedule_second=request.param == "sqlite")


def catalogue_id(url: str, table: str, column: str, value: str) -> str:
    """The id the catalogue import gave an artist or track."""
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(
            text(f"SELECT id FROM {table} WHERE {column} = :v"), {"v": value}
        ).scalar_one()
    engine.dispose()
    return str(found)


def stored_texts(url: str) -> dict[int, str]:
    """Document id -> text, for the stored documents."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, text FROM documents WHERE status = 'stored'")).all()
    engine.dispose()
    return {int(r[0]): str(r[1]) for r in rows}


# Named in the blog's posts (tests/fixtures/crawl_site/posts.json) and in the
# catalogue fixture; each is named in a sentence with something to say about it.
NAMED = [
    ("artist", "artists", "name", "Massive Attack"),
    ("artist", "artists", "name", "Joni Mitchell"),
    ("artist", "artists", "name", "Kendrick Lamar"),
    ("artist", "artists", "name", "Fela Kuti"),
    ("track", "tracks", "title", "Dancing On My Own"),
    ("track", "tracks", "title", "Unfinished Sympathy"),
    ("track", "tracks", "title", "Feeling Good"),
    ("track", "tracks", "title", "Zombie"),
]


@pytest.mark.parametrize(("kind", "table", "column", "name"), NAMED, ids=[n[3] for n in NAMED])
def test_named_entities_get_descriptors_evidence_and_neighbours(
    chain: Chain, kind: str, table: str, column: str, name: str
) -> None:
    first = chain.after[0]
    entity = {(kind, catalogue_id(chain.url, table, column, name))}
    descriptors = entity_rows(first["descriptors"], entity)
    assert descriptors, f"{name}: no descriptors"
    assert all(weight > 0 and count >= 1 for *_, weight, count in descriptors)
    inferred = entity_rows(first["inferred"], entity)
    assert all(weight > 0 and count == 0 for *_, weight, count in inferred)
    assert not {r[2] for r in inferred} & {r[2] for r in descriptors}
    evidence = entity_rows(first["evidence"], entity)
    assert any(name.lower() in sentence.lower() for *_, sentence in evidence), evidence
    assert entity_rows(first["neighbors"], entity), f"{name}: no neighbours"


def test_every_profile_is_explained_and_placed(chain: Chain) -> None:
    """Whoever has descriptors has evidence in stored text and ranked neighbours of its kind.

    Checked on the tables as the last run left them, against the texts stored now.
    """
    first = chain.after[-1]
    profiled = {(r[0], r[1]) for r in first["descriptors"]}
    assert len({e for e in profiled if e[0] == "artist"}) >= 4
    assert len({e for e in profiled if e[0] == "track"}) >= 4
    texts = stored_texts(chain.url)
    for _, _, doc_id, start, end, sentence in first["evidence"]:
        assert texts[doc_id][start:end].strip() == sentence.strip()
    with_evidence = {(r[0], r[1]) for r in first["evidence"]}
    assert profiled <= with_evidence, "descriptors without evidence"
    for kind, entity_id in profiled:
        neighbours = entity_rows(first["neighbors"], {(kind, entity_id)})
        assert neighbours, f"{entity_id}: no neighbours"
        others = {e for k, e in with_evidence if k == kind} - {entity_id}
        assert {r[3] for r in neighbours} <= others, f"{entity_id}: odd neighbours"
        ranks = [r[2] for r in neighbours]
        assert len(ranks) == len(set(ranks)), f"{entity_id}: a rank given twice"


def test_a_second_run_changes_nothing(chain: Chain) -> None:
    """Every page revisited (conditional GETs), nothing new: not one row moves."""
    first, second = chain.after[0], chain.after[1]
    for table in TABLES:
        assert second[table] == first[table], f"{table} changed on an unchanged site"


def test_a_changed_page_changes_only_its_entities(chain: Chain) -> None:
    """One post is rewritten: its document, mentions and entities move, nothing else.

    Neighbour lists of other entities may move with them (a changed vector is
    everyone's neighbour), and so may the terms inferred from them: neither is compared.
    """
    before, after, doc = chain.after[1], chain.after[2], chain.changed_doc
    assert chain.site.hits[CHANGED_PATH] >= 3
    # the page's document and its mentions moved; no other document or mention did
    assert [r for r in before["documents"] if CHANGED_PATH not in r[0]] == [
        r for r in after["documents"] if CHANGED_PATH not in r[0]
    ]
    assert [r for r in before["documents"] if CHANGED_PATH in r[0]] != [
        r for r in after["documents"] if CHANGED_PATH in r[0]
    ]
    assert [m for m in before["mentions"] if m[0] != doc] == [
        m for m in after["mentions"] if m[0] != doc
    ]
    # its entities: whatever it spoke of, before or after the change
    touched = {(r[0], r[1]) for s in (before, after) for r in s["evidence"] if r[2] == doc}
    assert ("artist", catalogue_id(chain.url, "artists", "name", "The Beach Boys")) in touched
    added = ("track", catalogue_id(chain.url, "tracks", "title", "Caroline, No"))
    assert added in touched
    assert not entity_rows(before["descriptors"], {added})
    assert entity_rows(after["descriptors"], {added}), "the new mention has no descriptors"
    everyone = {(r[0], r[1]) for s in (before, after) for r in s["descriptors"]}
    others = everyone - touched
    assert others, "every entity was on the changed page: the check would prove nothing"
    for table in ("evidence", "descriptors"):
        assert entity_rows(before[table], others) == entity_rows(after[table], others), (
            f"{table} of entities not on the changed page changed"
        )


@pytest.mark.parametrize("chain", ["sqlite"], indirect=True)  # its second run was scheduled
def test_schedule_once_runs_the_pipeline(chain: Chain) -> None:
    """`schedule --once` started a real `linernotes run` of the source, which succeeded."""
    scheduled = chain.outputs[1]
    assert scheduled.returncode == 0, scheduled.stderr[-3000:]
    assert "blog: '" in scheduled.stdout and "next run" in scheduled.stdout
    # the child `linernotes run` crawled, extracted and embedded, printing into our output
    assert "crawl run 2: finished" in scheduled.stdout
    assert "extract: no new or changed documents" in scheduled.stdout
    assert "embed:" in scheduled.stdout
