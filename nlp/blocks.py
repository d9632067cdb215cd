"""Blocks: the unit of text the statistical pipeline and the candidate rules run on.

Why blocks: a changed page is mostly the old page (a paragraph added, a line
fixed). The expensive part of extraction (the NERs, the sentence splitter and the
candidate rules) only looks at one stretch of text at a time, so it runs per
block (a line of the stored text) and its result is kept by content hash in the
database; re-extracting the page runs the pipeline on the new lines only. Linking
then runs over the whole document (it wants every artist the page names), which
is cheap. Lines are where a page's paragraphs, headings and captions end, so no
sentence crosses a block, and a heading never fuses with the paragraph under it.

The hash covers the block's text and a signature of everything else that decides
the result: the models' weights and config, the rule list, the catalogue (its
fingerprint) and the source of the modules that compute candidates. Any change
there misses the cache instead of serving stale candidates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from linernotes.nlp.candidates import Candidate
from linernotes.nlp.rules_catalogue import Title
from linernotes.storage import names

BLOCKS_FORMAT = 1
# The code that decides a block's candidates: every module of the nlp package's top level (the
# rules, patterns, vocabulary, linking, the components) and the name normaliser. Hashing them
# all is cruder than listing the rule modules, and it cannot miss one a rule comes to import.
SIGNED_SOURCES = (
    *sorted(Path(__file__).parent.glob("*.py")),
    Path(names.__file__),
)


@dataclass
class BlockResult:
    """What the pipeline found in one block: overlap-free candidates, sentence spans, and the
    catalogue titles a document-wide rule may still take (rules_catalogue.document_works).

    Offsets are relative to the block's own text.
    """

    candidates: list[Candidate]
    sentences: list[tuple[int, int]]
    titles: list[Title] = field(default_factory=list)

    def to_json(self) -> list[Any]:
        cands = [
            [c.start, c.end, c.label, c.confidence, c.method, c.evidence] for c in self.candidates
        ]
        titles = [[s, e, [list(p) for p in pairs]] for s, e, pairs in self.titles]
        return [cands, [list(s) for s in self.sentences], titles]

    @classmethod
    def from_json(cls, raw: Any) -> BlockResult | None:
        """The result of a stored row; None when the row is not one (it is then recomputed)."""
        try:
            cands, sents, titles = raw
            return cls(
                [
                    Candidate(int(s), int(e), str(lab), float(c), str(m), bool(ev))
                    for s, e, lab, c, m, ev in cands
                ],
                [(int(a), int(b)) for a, b in sents],
                [(int(s), int(e), [(str(k), str(a)) for k, a in pairs]) for s, e, pairs in titles],
            )
        except (TypeError, ValueError):
            return None

    def shifted(self, offset: int) -> BlockResult:
        """The result in the document's offsets (new objects: the document pass edits them)."""
        return BlockResult(
            [Candidate(c.start + offset, c.end + offset, *astuple(c)[2:]) for c in self.candidates],
            [(a + offset, b + offset) for a, b in self.sentences],
            [(s + offset, e + offset, pairs) for s, e, pairs in self.titles],
        )


@dataclass
class BlockMemo:
    """Block results known before a run (`found`, by hash) and those it computed (`new`)."""

    found: dict[str, BlockResult] = field(default_factory=dict)
    new: dict[str, BlockResult] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: dict[str, Any]) -> BlockMemo:
        memo = cls()
        for key, raw in rows.items():
            result = BlockResult.from_json(raw)
            if result is not None:
                memo.found[key] = result
        return memo

    def get(self, key: str) -> BlockResult | None:
        return self.found.get(key) or self.new.get(key)

    def new_rows(self) -> dict[str, list[Any]]:
        return {key: result.to_json() for key, result in self.new.items()}


def split_blocks(text: str, max_chars: int) -> Iterator[tuple[int, str]]:
    """(offset, block) for each non-blank line of `text`; a line over max_chars is cut."""
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            for cut in range(0, len(line), max_chars):
                yield offset + cut, line[cut : cut + max_chars]
        offset += len(line) + 1


def block_key(signature: str, block: str) -> str:
    """The cache key of a block under a pipeline signature."""
    return hashlib.sha1(f"{signature}\x1e{block}".encode("utf-8", "surrogatepass")).hexdigest()


def pipeline_signature(nlp: Any, fingerprint: str | None) -> str | None:
    """A hash of what decides a block's result besides its text; None without a catalogue
    fingerprint (a gazetteer built in memory from ad-hoc entries is not cached)."""
    if fingerprint is None:
        return None
    digest = hashlib.sha1(f"format={BLOCKS_FORMAT}\n{fingerprint}\n".encode())
    digest.update(nlp.config.to_str().encode())
    digest.update(json.dumps(nlp.meta.get("version")).encode())
    for name, pipe in nlp.pipeline:
        digest.update(name.encode())
        digest.update(_pipe_bytes(pipe))
    for source in SIGNED_SOURCES:
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _pipe_bytes(pipe: Any) -> bytes:
    """What identifies a component's weights: its serialised model, or its model's provenance."""
    tagger = getattr(pipe, "tagger", None)
    if tagger is not None and hasattr(tagger, "provenance"):
        return json.dumps(tagger.provenance, sort_keys=True, default=str).encode()
    if hasattr(pipe, "model") and hasattr(pipe, "to_bytes"):
        return hashlib.sha1(pipe.to_bytes(exclude=["vocab"])).digest()
    return b""
