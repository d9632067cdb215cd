"""Transformer music NER inference core: ONNX Runtime int8 + tokenizers + numpy, no torch.

Why this shape: the fine-tuned encoder (see nlp/train_transformer_ner.py) is shipped as an int8
ONNX graph plus its tokenizer, so inference needs only `tokenizers`, `onnxruntime` and numpy.
The model tags spaCy tokens (one prediction per token, read from its first word piece), so its
spans line up with everything else in the pipeline. The encoder is uncased; a small case-shape
embedding (lower / Title / UPPER / other per token) gives it back the capitalisation signal.

This module imports neither spaCy nor torch (spaCy itself imports torch through thinc when it
is installed); the spaCy component that wraps it is nlp/transformer_ner.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MODEL_DIR = Path(__file__).parent / "models" / "music-ner-int8"
LABELS = ("ARTIST", "TRACK", "ALBUM")
TAGS = ("O", *(f"{p}-{lab}" for lab in LABELS for p in ("B", "I")))
MAX_PIECES = 254  # per window, before [CLS]/[SEP]; the encoder takes 512 positions
MAX_PIECES_PER_WORD = 8  # URLs and junk tokens must not eat a window
OVERLAP_WORDS = 24
DEFAULT_THRESHOLD = 0.5


def case_id(word: str) -> int:
    """Case shape of a token: 0 lower/no letters, 1 Title, 2 UPPER (2+ letters), 3 mixed."""
    letters = [c for c in word if c.isalpha()]
    if not letters or not any(c.isupper() for c in letters):
        return 0
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return 2
    if letters[0].isupper() and not any(c.isupper() for c in letters[1:]):
        return 1
    return 3


@dataclass
class Encoded:
    """Word pieces of one word sequence: ids, case ids, catalogue hint ids and, per word, its
    piece range."""

    ids: list[int]
    cases: list[int]
    starts: list[int]  # first piece index per word, -1 when the word has no piece
    ends: list[int]
    hints: list[int] = field(default_factory=list)  # per piece, nlp/catalogue_hints.py


def encode_words(
    tokenizer: Any, words: Sequence[str], word_hints: Sequence[int] | None = None
) -> Encoded:
    """Word pieces for pre-split words (no special tokens), capped per word. Every piece of a
    word carries its case shape and its catalogue hint (`word_hints`, 0 when not given)."""
    ids: list[int] = []
    cases: list[int] = []
    hints: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    if not words:
        return Encoded(ids, cases, starts, ends, hints)
    word_hints = word_hints if word_hints is not None else [0] * len(words)
    enc = tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False)
    per_word: list[list[int]] = [[] for _ in words]
    for piece, word_index in zip(enc.ids, enc.word_ids, strict=True):
        if word_index is not None and len(per_word[word_index]) < MAX_PIECES_PER_WORD:
            per_word[word_index].append(piece)
    for word, pieces, hint in zip(words, per_word, word_hints, strict=True):
        starts.append(len(ids) if pieces else -1)
        ids.extend(pieces)
        cases.extend([case_id(word)] * len(pieces))
        hints.extend([hint] * len(pieces))
        ends.append(len(ids))
    return Encoded(ids, cases, starts, ends, hints)


def windows(enc: Encoded, max_pieces: int = MAX_PIECES) -> list[tuple[int, int]]:
    """Word ranges [a, b) of at most max_pieces pieces, overlapping by OVERLAP_WORDS words."""
    n = len(enc.starts)
    if n == 0:
        return []
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        base = _piece_start(enc, start)
        end = start
        while end < n and enc.ends[end] - base <= max_pieces:
            end += 1
        end = max(end, start + 1)
        out.append((start, end))
        if end >= n:
            return out
        start = max(start + 1, end - OVERLAP_WORDS)


def _piece_start(enc: Encoded, word: int) -> int:
    return enc.ends[word - 1] if word > 0 else 0


def owner_windows(spans: list[tuple[int, int]], n_words: int) -> list[int]:
    """For each word, the window where it sits farthest from an edge (most context)."""
    owner = [0] * n_words
    best = [-1] * n_words
    for w, (a, b) in enumerate(spans):
        for i in range(a, b):
            left = i - a if a > 0 else n_words
            right = b - 1 - i if b < n_words else n_words
            if min(left, right) > best[i]:
                best[i], owner[i] = min(left, right), w
    return owner


def batch_arrays(
    chunks: Sequence[tuple[list[int], list[int], list[int]]], cls: int, sep: int
) -> dict:
    """Padded int64 inputs for a list of (piece ids, case ids, hint ids) chunks."""
    width = max(len(ids) for ids, _, _ in chunks) + 2
    input_ids = np.zeros((len(chunks), width), dtype=np.int64)
    mask = np.zeros_like(input_ids)
    cases = np.zeros_like(input_ids)
    hints = np.zeros_like(input_ids)
    for row, (ids, case, hint) in enumerate(chunks):
        input_ids[row, : len(ids) + 2] = [cls, *ids, sep]
        mask[row, : len(ids) + 2] = 1
        cases[row, 1 : len(ids) + 1] = case
        hints[row, 1 : len(ids) + 1] = hint
    return {"input_ids": input_ids, "attention_mask": mask, "case_ids": cases, "hint_ids": hints}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


# how `decode` reads spans, recorded in a newly trained model's PROVENANCE.json
DECODER = "boundaries from summed B- vs I- mass, label by the span's summed B+I mass"


def decode(probs: np.ndarray, threshold: float) -> list[tuple[int, int, str, float]]:
    """BIO decoding over per-word tag probabilities -> (first word, end word, label, score).

    Boundaries first, label second. A word is inside an entity when 1 - P(O) >= threshold; inside
    a run of such words a new span starts where the word's B- mass (summed over labels) exceeds
    its I- mass. Each span's label is the one with the most B + I mass over its words; the score
    is the mean entity mass.

    Why not the per-word argmax tag: on names the model is unsure how to label, the argmax flips
    between labels from word to word ("first aid kit" read ARTIST, TRACK, ARTIST), and a label
    flip used to cut the name into pieces. Segmenting on B against I and labelling whole spans
    keeps the name whole (docs/mentions.md, "Decoding": chosen on the CrossNER tuning half and
    MusicRecoNER fold 0; a constrained Viterbi over the six tags scored the same there).
    """
    spans: list[tuple[int, int, str, float]] = []

    def close(words: list[int]) -> None:
        rows = probs[words]
        mass = rows[:, 1::2] + rows[:, 2::2]  # per label: B + I
        label = int(mass.sum(axis=0).argmax())
        score = float((1.0 - rows[:, 0]).mean())
        spans.append((words[0], words[-1] + 1, LABELS[label], score))

    current: list[int] = []
    for i, row in enumerate(probs):
        if 1.0 - row[0] < threshold or not np.isfinite(row).all():
            if current:
                close(current)
            current = []
            continue
        if current and row[1::2].sum() > row[2::2].sum():
            close(current)
            current = []
        current.append(i)
    if current:
        close(current)
    return spans


def member_paths(model_dir: Path, meta: dict) -> list[Path]:
    """The ONNX files of a model directory: PROVENANCE.json's `members` (an ensemble), else
    model.onnx."""
    members = meta.get("members") or [{"file": "model.onnx"}]
    return [model_dir / str(member["file"]) for member in members]


def first_members(meta: dict, count: int, model_dir: Path) -> dict:
    """The PROVENANCE of an ensemble cut to its first member (its own threshold and floors);
    `count` equal to the number of members keeps them all."""
    listed = meta.get("members") or [{"file": "model.onnx"}]
    if count == len(listed):
        return meta
    if count != 1:
        raise ValueError(
            f"{model_dir}: members={count}, but only the first member alone or all"
            f" {len(listed)} have a threshold chosen for them"
        )
    first = listed[0]
    return meta | {
        "members": [first],
        "threshold": first.get("threshold", meta.get("threshold")),
        "label_floors": first.get("label_floors", meta.get("label_floors")),
    }


def apply_floors(
    spans: list[tuple[int, int, str, float]], floors: dict[str, float]
) -> list[tuple[int, int, str, float]]:
    """Drop spans whose score is below their label's floor (chosen per label on tuning data)."""
    return [span for span in spans if span[3] >= floors.get(span[2], 0.0)]


class TransformerTagger:
    """The ONNX session(s) + tokenizer: words in, per-word tag probabilities out.

    A model directory may hold an ensemble: PROVENANCE.json's `members` names its ONNX files
    (fine-tunes of the same encoder and tokenizer with different seeds), and the tag
    probabilities are their mean. Without `members` the directory's model.onnx is the model.
    """

    def __init__(
        self,
        model_dir: str | Path = MODEL_DIR,
        providers: list[str] | None = None,
        onnx_path: Path | None = None,
        members: int | None = None,
    ):
        """`members`: run only the first member of an ensemble (1, with that member's own
        threshold and floors: half the time of two), or all of them (None)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        meta_path = model_dir / "PROVENANCE.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if members is not None:
            meta = first_members(meta, members, model_dir)
        paths = [onnx_path] if onnx_path else member_paths(model_dir, meta)
        for path in paths:
            if not path.exists():
                raise FileNotFoundError(f"{path}: no transformer NER model shipped there")
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise ValueError(f"{model_dir / 'tokenizer.json'}: no [CLS]/[SEP] tokens")
        self.cls: int = cls
        self.sep: int = sep
        self.provenance: dict = meta  # what the model is (hashes of its files): cache signatures
        self.threshold = float(meta.get("threshold", DEFAULT_THRESHOLD))
        self.floors: dict[str, float] = {
            str(k): float(v) for k, v in (meta.get("label_floors") or {}).items()
        }
        available = ort.get_available_providers()
        if providers is None:
            providers = [p for p in ("CUDAExecutionProvider",) if p in available]
            providers.append("CPUExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.sessions = [
            ort.InferenceSession(str(path), options, providers=providers) for path in paths
        ]
        self.inputs = [{i.name for i in s.get_inputs()} for s in self.sessions]

    @property
    def uses_hints(self) -> bool:
        """Whether the model was trained with catalogue hints (an input named hint_ids)."""
        return any("hint_ids" in names for names in self.inputs)

    def run(self, arrays: dict) -> np.ndarray:
        """Tag probabilities of one padded batch: each member's softmax, averaged."""
        total: np.ndarray | None = None
        for session, names in zip(self.sessions, self.inputs, strict=True):
            probs = softmax(session.run(None, {k: v for k, v in arrays.items() if k in names})[0])
            total = probs if total is None else total + probs
        assert total is not None
        return total / len(self.sessions)

    def tag(
        self,
        docs_words: Sequence[Sequence[str]],
        batch_size: int = 32,
        hints: Sequence[Sequence[int]] | None = None,
    ) -> list[np.ndarray]:
        """Per-word tag probabilities (n_words x len(TAGS)) for each word list; NaN rows for
        words without pieces (whitespace tokens). `hints`: per word list, its catalogue hint
        ids (nlp/catalogue_hints.py); read only by a model trained with them."""
        encs = [
            encode_words(self.tokenizer, words, None if hints is None else hints[d])
            for d, words in enumerate(docs_words)
        ]
        chunks: list[tuple[int, int, int, int]] = []  # doc, window index, first word, end word
        spans_per_doc = [windows(enc) for enc in encs]
        for d, spans in enumerate(spans_per_doc):
            chunks.extend((d, w, a, b) for w, (a, b) in enumerate(spans))
        chunks.sort(key=lambda c: _piece_start(encs[c[0]], c[3]) - _piece_start(encs[c[0]], c[2]))
        results: dict[tuple[int, int], np.ndarray] = {}
        for i in range(0, len(chunks), batch_size):
            batch = chunks[i : i + batch_size]
            pieces = []
            for d, _, a, b in batch:
                lo, hi = _piece_start(encs[d], a), _piece_start(encs[d], b)
                pieces.append((encs[d].ids[lo:hi], encs[d].cases[lo:hi], encs[d].hints[lo:hi]))
            if all(not ids for ids, _, _ in pieces):
                for d, w, _, _ in batch:
                    results[(d, w)] = np.zeros((0, len(TAGS)), dtype=np.float32)
                continue
            probs = self.run(batch_arrays(pieces, self.cls, self.sep))
            for row, (d, w, _, _) in enumerate(batch):
                results[(d, w)] = probs[row, 1:]  # drop [CLS]; index = piece - window start
        return [
            self._collect(enc, spans, d, results)
            for d, (enc, spans) in enumerate(zip(encs, spans_per_doc, strict=True))
        ]

    @staticmethod
    def _collect(enc: Encoded, spans: list[tuple[int, int]], d: int, results: dict) -> np.ndarray:
        n = len(enc.starts)
        out = np.full((n, len(TAGS)), np.nan, dtype=np.float32)
        if not spans:
            return out
        owner = owner_windows(spans, n)
        for i in range(n):
            if enc.starts[i] < 0:
                continue
            a = spans[owner[i]][0]
            out[i] = results[(d, owner[i])][enc.starts[i] - _piece_start(enc, a)]
        return out
