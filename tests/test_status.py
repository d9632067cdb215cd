"""`linernotes status` on both backends, over the fixture corpus."""

from __future__ import annotations

import json

from click.testing import CliRunner

from linernotes.api_rows import search_rows
from linernotes.cli import main
from linernotes.storage import Store
from linernotes.storage.models import Descriptor
from tests.test_views import seed


def test_status_counts_and_pending_work(store: Store) -> None:
    seed(store)
    result = CliRunner().invoke(main, ["--db", store.url, "status", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["sources"][0]["name"] == "dream-blog"
    assert info["sources"][0]["documents"] == 4
    run = info["crawl_runs"][0]
    assert run["status"] == "finished"
    assert run["stats"]["errors"] == {"timeout": 1}
    assert info["documents"] == {
        "by_status": {"stored": 3, "skipped": 1},
        "stored": 2,
        "skipped": 1,
        "duplicates": 1,
    }
    assert info["mentions"] == 7
    assert info["unlinked_mentions"] == 2
    assert info["profiles"] == {"album": 1, "artist": 2, "track": 2}
    assert info["vectors"] == {"track": 2}
    assert info["stale_profiles"] == 1  # tr:heaven's evidence changed since profiling
    assert info["unextracted_documents"] == 1  # document 2 never extracted


def test_status_and_search_do_not_count_inferred_only_entities_as_profiled(
    sqlite_store: Store,
) -> None:
    """An artist with only terms inferred from neighbours has no profile of its own yet."""
    seed(sqlite_store)
    with sqlite_store.session() as session:
        session.add(
            Descriptor(
                entity_kind="artist",
                entity_id="ar:inferred-only",
                term="dream pop",
                weight=0.4,
                count=0,
                doc_freq=0,
                evidence_ids=[],
                source="neighbours",
            )
        )
        session.commit()
    result = CliRunner().invoke(main, ["--db", sqlite_store.url, "status", "--json"])
    assert json.loads(result.stdout)["profiles"]["artist"] == 2
    terms = {
        (r["entity_kind"], r["entity_id"]): r["terms"]
        for r in search_rows(sqlite_store, "", limit=100)
    }
    assert terms.get(("artist", "ar:inferred-only"), 0) == 0


def test_status_text_report(sqlite_store: Store) -> None:
    seed(sqlite_store)
    result = CliRunner().invoke(main, ["--db", sqlite_store.url, "status"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "dream-blog: 4 documents" in out
    assert "#1 finished" in out and "errors: timeout=1" in out
    assert "corpus: 2 documents stored, 1 skipped, 1 duplicates" in out
    assert "entities with profiles: 1 albums, 2 artists, 2 tracks" in out
    assert "stale profiles (run `linernotes embed`): 1" in out
    assert "unextracted documents (run `linernotes extract`): 1" in out
