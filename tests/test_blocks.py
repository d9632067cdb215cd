"""The extract stage's block cache: blocks, keys, stored results, and a changed page re-run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from linernotes.nlp.blocks import BlockMemo, BlockResult, block_key, split_blocks
from linernotes.nlp.candidates import Candidate
from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer
from linernotes.storage import Store
from linernotes.storage.blocks import load_blocks, prune_blocks, save_blocks
from linernotes.storage.models import Document, ExtractBlock, Mention
from tests.test_extract import _doc

CATALOG = [
    CatalogEntry("artist", "ar:robyn", "Robyn"),
    CatalogEntry("track", "tr:robyn/dancing-on-my-own", "Dancing On My Own", "ar:robyn", "Robyn"),
    CatalogEntry("artist", "ar:new-order", "New Order"),
    CatalogEntry("track", "tr:new-order/blue-monday", "Blue Monday", "ar:new-order", "New Order"),
]
PAGE = (
    "Robyn released Dancing On My Own in 2010.\n"
    "\n"
    "New Order's Blue Monday is still the best-selling 12-inch single.\n"
)
ADDED = "Robyn covered nobody, but the crowd sang Dancing On My Own back to her.\n"


def test_blocks_are_the_non_blank_lines_at_their_offsets() -> None:
    text = "first line\n\n  \nsecond line\nthird"
    blocks = list(split_blocks(text, max_chars=100))
    assert [b for _, b in blocks] == ["first line", "second line", "third"]
    assert all(text[o : o + len(b)] == b for o, b in blocks)
    cut = list(split_blocks("abcdefghij", max_chars=4))  # an over-long line is cut
    assert cut == [(0, "abcd"), (4, "efgh"), (8, "ij")]
    assert list(split_blocks("", max_chars=4)) == []


def test_keys_depend_on_text_and_signature() -> None:
    assert block_key("s1", "Robyn") == block_key("s1", "Robyn")
    assert block_key("s1", "Robyn") != block_key("s2", "Robyn")
    assert block_key("s1", "Robyn") != block_key("s1", "Robyn.")


def test_results_round_trip_and_bad_rows_are_recomputed_not_trusted() -> None:
    result = BlockResult(
        [Candidate(0, 5, "ARTIST", 0.8, "ner", True)], [(0, 20)], [(9, 14, [("track", "ar:x")])]
    )
    back = BlockResult.from_json(result.to_json())
    assert back == result
    moved = result.shifted(100)
    assert (moved.candidates[0].start, moved.candidates[0].end) == (100, 105)
    assert (moved.sentences, moved.titles) == ([(100, 120)], [(109, 114, [("track", "ar:x")])])
    assert result.candidates[0].start == 0  # shifting copies
    memo = BlockMemo.from_rows({"good": result.to_json(), "bad": {"not": "a result"}, "x": [1]})
    assert set(memo.found) == {"good"}


def test_stored_results_are_kept_per_signature_and_pruned(store: Store) -> None:
    result = BlockResult([Candidate(0, 5, "ARTIST", 0.8, "ner", True)], [(0, 20)]).to_json()
    with store.session() as s:
        assert save_blocks(s, {"k1": result, "k2": result}, "sig-a") == 2
        save_blocks(s, {"k1": [[], []]}, "sig-a")  # a stored hash is left as it is
        save_blocks(s, {"k3": result}, "sig-b")
    with store.session() as s:
        assert load_blocks(s, ["k1", "k3", "missing"], "sig-a") == {"k1": result}
        assert prune_blocks(s, "sig-a") == 1
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(ExtractBlock)) == 2


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from linernotes.nlp.mentions import MentionExtractor

    cache = tmp_path_factory.mktemp("gazetteer")
    return MentionExtractor(Gazetteer.from_entries_cached(CATALOG, cache_dir=cache))


def _spans(found) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    return [(m.surface, m.label, m.entity_id) for m in found.mentions]


@pytest.mark.slow
def test_a_changed_page_runs_the_pipeline_on_its_new_lines_only(extractor) -> None:  # type: ignore[no-untyped-def]
    assert extractor.signature is not None
    memo = BlockMemo()
    first = next(extractor.extract([(PAGE, None)], memo))
    assert len(memo.new) == 2  # two non-blank lines
    changed = PAGE + ADDED
    again = BlockMemo(found=dict(memo.new))
    found = next(extractor.extract([(changed, None)], again))
    assert len(again.new) == 1  # only the added line went through the pipeline
    plain = next(extractor.extract([(changed, None)]))
    assert _spans(found) == _spans(plain)
    assert _spans(found)[: len(first.mentions)] == _spans(first)
    assert ("Blue Monday", "TRACK", "tr:new-order/blue-monday") in _spans(found)


@pytest.mark.slow
def test_a_cached_line_still_links_from_the_whole_page(extractor) -> None:  # type: ignore[no-untyped-def]
    """Linking runs over the document, not the block: a title on its own line is linked
    through the artist a cached line of the same page names."""
    memo = BlockMemo()
    page = "Robyn is back.\nDancing On My Own opened the set.\n"
    next(extractor.extract([("Robyn is back.\n", None)], memo))
    found = next(extractor.extract([(page, None)], BlockMemo(found=dict(memo.new))))
    assert ("Robyn", "ARTIST", "ar:robyn") in _spans(found)
    track = [m for m in found.mentions if m.surface == "Dancing On My Own"]
    assert track and track[0].entity_id == "tr:robyn/dancing-on-my-own"
    assert track[0].sent_start == page.index("Dancing")


@pytest.mark.slow
def test_the_stage_reuses_unchanged_lines_and_stores_the_same_mentions(
    sqlite_store: Store, extractor, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from linernotes.nlp.extract import extract_documents

    with sqlite_store.session() as s:
        _doc(s, 1, PAGE)
    first = extract_documents(sqlite_store, extractor=extractor)
    assert (first.blocks, first.cached_blocks) == (2, 0)
    with sqlite_store.session() as s:
        doc = s.scalars(select(Document)).one()
        doc.text, doc.content_hash = PAGE + ADDED, "v2"
    second = extract_documents(sqlite_store, extractor=extractor)
    assert (second.blocks, second.cached_blocks) == (3, 2)
    assert "2 of 3 text blocks unchanged" in second.format()
    with sqlite_store.session() as s:
        stored = sorted((m.start, m.end, m.label, m.entity_id) for m in s.scalars(select(Mention)))
        assert s.scalar(select(func.count()).select_from(ExtractBlock)) == 3
    plain = next(extractor.extract([(PAGE + ADDED, None)]))
    assert stored == sorted((m.start, m.end, m.label, m.entity_id) for m in plain.mentions)
