"""The transformer NER switch of the commands that store mentions (`extract`, `run`): flag,
environment variable and the sources file's `[extract] transformer_ner`, in that order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from linernotes.cli import main
from linernotes.crawler.sources import SourceConfigError, load_sources
from linernotes.crawler.summary import CrawlSummary
from linernotes.storage import open_store
from linernotes.storage.models import Document, Mention

CATALOG = (
    "artist_id,artist,track_id,track,album_id,album,artist_aliases\n"
    ",Robyn,,Dancing On My Own,,,\n"
    ",Kate Bush,,Running Up That Hill,,,\n"
)
# A conversational query: lower case, no quotes, no punctuation. The CNN NER and the rules
# find nothing in it; the transformer was trained on such text.
QUERY = "looking for songs like dancing on my own by robyn"
SOURCES = '[[source]]\nname = "forum"\nstart_urls = ["http://127.0.0.1/"]\n'


def _database(tmp_path: Path) -> str:
    """A SQLite database with the catalogue imported and one conversational document."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{tmp_path / 'q.db'}"
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG)
    imported = CliRunner().invoke(main, ["--db", db, "catalog", "import", str(catalog)])
    assert imported.exit_code == 0, imported.output
    store = open_store(db)
    with store.session() as session:
        session.add(
            Document(
                url="http://forum.test/1",
                canonical_url="http://forum.test/1",
                text=QUERY,
                content_hash="h1",
                fetched_at=datetime.now(UTC),
            )
        )
    store.close()
    return db


def _stored(db: str) -> list[tuple[str, str]]:
    store = open_store(db)
    with store.session() as session:
        found = [(m.surface, m.label) for m in session.scalars(select(Mention))]
    store.close()
    return sorted(found)


@pytest.mark.slow
def test_extract_with_the_transformer_finds_mentions_in_a_query(tmp_path: Path) -> None:
    plain_db = _database(tmp_path / "plain")
    plain = CliRunner().invoke(main, ["--db", plain_db, "extract"])
    assert plain.exit_code == 0, plain.output
    assert "transformer" not in plain.stdout
    assert _stored(plain_db) == []

    db = _database(tmp_path / "switched")
    result = CliRunner().invoke(main, ["--db", db, "extract", "--transformer-ner"])
    assert result.exit_code == 0, result.output
    assert "(with the transformer NER)" in result.stdout
    assert _stored(db) == [("dancing on my own", "TRACK"), ("robyn", "ARTIST")]


@pytest.mark.slow
def test_the_environment_variable_switches_extract_on(tmp_path: Path) -> None:
    db = _database(tmp_path)
    env = {"LINERNOTES_TRANSFORMER_NER": "1"}
    result = CliRunner().invoke(main, ["--db", db, "extract"], env=env)
    assert result.exit_code == 0, result.output
    assert ("robyn", "ARTIST") in _stored(db)


def _run_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: str, *args: str, **env: str
) -> bool:
    """The transformer_ner value `run` hands the extract stage (crawl and extract stubbed)."""
    import linernotes.crawler.runner as runner
    import linernotes.nlp.extract as extract
    import linernotes.nlp.profiles as profiles

    seen: dict[str, Any] = {}
    summary = CrawlSummary(run_id=1, status="finished", sources={"forum": {"stored": 1}})
    monkeypatch.setattr(runner, "crawl_sources", lambda *a, **k: summary)

    def record(store: Any, **kwargs: Any) -> extract.ExtractSummary:
        seen.update(kwargs)
        return extract.ExtractSummary()

    monkeypatch.setattr(extract, "extract_documents", record)
    monkeypatch.setattr(profiles, "build_profiles", lambda *a, **k: extract.ExtractSummary())
    db = _database(tmp_path)
    path = tmp_path / "sources.toml"
    path.write_text(sources)
    result = CliRunner().invoke(main, ["--db", db, "run", "--sources", str(path), *args], env=env)
    assert "extract_documents" not in result.output
    return bool(seen["transformer_ner"])


def test_run_takes_the_switch_from_flag_then_env_then_sources_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on = SOURCES + "\n[extract]\ntransformer_ner = true\n"
    assert _run_switch(tmp_path / "a", monkeypatch, SOURCES) is False
    assert _run_switch(tmp_path / "b", monkeypatch, on) is True
    assert _run_switch(tmp_path / "c", monkeypatch, on, "--no-transformer-ner") is False
    off_env = {"LINERNOTES_TRANSFORMER_NER": "0"}
    assert _run_switch(tmp_path / "d", monkeypatch, on, **off_env) is False
    assert _run_switch(tmp_path / "e", monkeypatch, SOURCES, "--transformer-ner") is True


def test_a_bad_extract_table_is_named(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES + "\n[extract]\ntransformer_ner = 1\n")
    with pytest.raises(SourceConfigError, match=r"\[extract\]: key 'transformer_ner'"):
        load_sources(path)
    path.write_text(SOURCES + "\n[extract]\ntransformer = true\n")
    with pytest.raises(SourceConfigError, match="unknown key"):
        load_sources(path)
    path.write_text(SOURCES)
    assert load_sources(path).extract.transformer_ner is None


def test_the_environment_variable_reads_the_usual_booleans_and_names_itself_when_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on = SOURCES + "\n[extract]\ntransformer_ner = true\n"
    for n, value in enumerate(("0", "false", "no", "off", "FALSE", "No")):
        env = {"LINERNOTES_TRANSFORMER_NER": value}
        assert _run_switch(tmp_path / f"off{n}", monkeypatch, on, **env) is False, value
    for n, value in enumerate(("1", "true", "yes", "on")):
        env = {"LINERNOTES_TRANSFORMER_NER": value}
        assert _run_switch(tmp_path / f"on{n}", monkeypatch, SOURCES, **env) is True, value
    # empty: as if unset, the sources file decides
    assert _run_switch(tmp_path / "empty", monkeypatch, on, LINERNOTES_TRANSFORMER_NER="")
    env = {"LINERNOTES_TRANSFORMER_NER": "maybe"}
    bad = CliRunner().invoke(main, ["--db", "sqlite://", "extract"], env=env)
    assert bad.exit_code == 2
    assert "LINERNOTES_TRANSFORMER_NER='maybe': expected 1/0" in bad.output
