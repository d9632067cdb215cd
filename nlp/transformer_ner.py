"""Transformer music NER as a spaCy component (`music_transformer_ner`).

Why this shape: the fine-tuned encoder (see nlp/train_transformer_ner.py) is shipped as an int8
ONNX graph plus its tokenizer; nlp/transformer_tagger.py runs it without torch. The model tags
spaCy tokens (one prediction per token, read from its first word piece), so its spans line up
with everything else in the pipeline.

The component is one candidate source among others: it appends its spans (label + score) to
`doc.spans["ner_candidates"]` (scores in `.attrs["scores"]`, the component name in
`.attrs["sources"]`) and, with `set_ents`, also sets `doc.ents` for use on its own.

A model trained with catalogue hints (nlp/catalogue_hints.py) reads the component's
`gazetteer`, set by whoever builds the pipeline (`build_pipeline` passes the one it links to).
Without one, no word is a known name: the model then reads text as it reads names the catalogue
lacks (about half of its training names), so it still works, with less to go on.

The model directory may hold a seed ensemble (nlp/transformer_ner_ensemble.py): every member
runs and their probabilities are averaged. Config `members = 1` runs the first member alone,
with the threshold and floors chosen for it (half the time, a little less accuracy).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from linernotes.nlp.catalogue_hints import doc_hints
from linernotes.nlp.gazetteer import Gazetteer
from linernotes.nlp.transformer_tagger import (
    LABELS,
    MAX_PIECES,
    MODEL_DIR,
    TAGS,
    TransformerTagger,
    apply_floors,
    case_id,
    decode,
    encode_words,
    owner_windows,
    windows,
)

__all__ = [
    "COMPONENT",
    "LABELS",
    "MAX_PIECES",
    "MODEL_DIR",
    "SPAN_KEY",
    "TAGS",
    "TransformerNERComponent",
    "TransformerTagger",
    "case_id",
    "decode",
    "encode_words",
    "owner_windows",
    "windows",
]

COMPONENT = "music_transformer_ner"
SPAN_KEY = "ner_candidates"


class TransformerNERComponent:
    """spaCy component: transformer spans into doc.spans[span_key] (+ doc.ents if set_ents)."""

    def __init__(
        self,
        name: str = COMPONENT,
        model_dir: str | Path = MODEL_DIR,
        threshold: float | None = None,
        span_key: str = SPAN_KEY,
        set_ents: bool = False,
        batch_size: int = 32,
        members: int | None = None,
    ) -> None:
        self.name = name
        self.tagger = TransformerTagger(model_dir, members=members)
        self.threshold = self.tagger.threshold if threshold is None else float(threshold)
        self.span_key = span_key
        self.set_ents = set_ents
        self.batch_size = batch_size
        self.gazetteer: Gazetteer | None = None

    def __call__(self, doc: Any) -> Any:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Any], batch_size: int | None = None) -> Iterator[Any]:
        size = batch_size or self.batch_size
        batch: list[Any] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= size:
                yield from self._annotate(batch)
                batch = []
        if batch:
            yield from self._annotate(batch)

    def _annotate(self, docs: list[Any]) -> list[Any]:
        words = [[t.text for t in doc] for doc in docs]
        hints = None
        if self.tagger.uses_hints and self.gazetteer is not None:
            hints = [doc_hints(self.gazetteer, doc) for doc in docs]
        all_probs = self.tagger.tag(words, self.batch_size, hints)
        for doc, probs in zip(docs, all_probs, strict=True):
            self._write(doc, apply_floors(decode(probs, self.threshold), self.tagger.floors))
        return docs

    def _write(self, doc: Any, found: list[tuple[int, int, str, float]]) -> None:
        from spacy.tokens import Span, SpanGroup
        from spacy.util import filter_spans

        spans = [Span(doc, a, b, label=lab) for a, b, lab, _ in found]
        group = doc.spans[self.span_key] if self.span_key in doc.spans else SpanGroup(doc)
        scores = list(group.attrs.get("scores", [None] * len(group)))
        sources = list(group.attrs.get("sources", [None] * len(group)))
        group.extend(spans)
        group.attrs["scores"] = scores + [s for *_, s in found]
        group.attrs["sources"] = sources + [self.name] * len(found)
        doc.spans[self.span_key] = group
        if self.set_ents:
            doc.ents = filter_spans(spans)


def _register() -> None:
    from spacy.language import Language

    if Language.has_factory(COMPONENT):
        return

    @Language.factory(
        COMPONENT,
        default_config={
            "model_dir": str(MODEL_DIR),
            "threshold": None,
            "span_key": SPAN_KEY,
            "set_ents": False,
            "batch_size": 32,
            "members": None,
        },
    )
    def make_component(
        nlp: Any,
        name: str,
        model_dir: str,
        threshold: float | None,
        span_key: str,
        set_ents: bool,
        batch_size: int,
        members: int | None,
    ) -> TransformerNERComponent:
        return TransformerNERComponent(
            name, model_dir, threshold, span_key, set_ents, batch_size, members
        )


_register()
