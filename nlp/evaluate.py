"""Mention-finding evaluation: exact span + label precision/recall/F1 against gold JSONL.

Also converts MusicRecoNER (BIO over lower-cased queries) back onto the original-case queries, since
casing is the main signal a real extractor sees. Its `WoA` spans get label "WOA": a predicted TRACK
or ALBUM on the same span counts as a hit.

CrossNER dev is split into a tuning half and a check half by a hash of each text (`split_of`):
rules and thresholds are chosen on "tune", figures are reported on "check".

Run: python -m linernotes.nlp.evaluate --catalog CSV [--gold FILE [--split tune|check]]
     [--musicreconer DIR] [--without RULE ...] [--contributions]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS = ("ARTIST", "TRACK", "ALBUM")
WOA = "WOA"
SPLITS = ("tune", "check")


@dataclass
class GoldExample:
    """One gold text and its (start, end, label) spans (end exclusive)."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)


class GoldFormatError(ValueError):
    """A gold file line that is not valid CONTRACT gold JSONL; the message names file and line."""


def _parse_span(raw: object, text: str, where: str) -> tuple[int, int, str]:
    if not isinstance(raw, dict):
        raise GoldFormatError(f"{where}: span is not an object")
    start, end, label = raw.get("start"), raw.get("end"), raw.get("label")
    if not isinstance(start, int) or not isinstance(end, int) or not isinstance(label, str):
        raise GoldFormatError(f"{where}: span needs integer start/end and string label")
    if not 0 <= start < end <= len(text):
        raise GoldFormatError(f"{where}: span {start}-{end} outside text of length {len(text)}")
    return start, end, label


def load_gold(path: str | Path) -> list[GoldExample]:
    """Read CONTRACT gold JSONL; malformed lines raise GoldFormatError naming the line."""
    examples: list[GoldExample] = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GoldFormatError(f"{where}: invalid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise GoldFormatError(f"{where}: expected an object with a string 'text'")
            spans = obj.get("spans", [])
            if not isinstance(spans, list):
                raise GoldFormatError(f"{where}: 'spans' must be a list")
            text = obj["text"]
            examples.append(GoldExample(text, [_parse_span(s, text, where) for s in spans]))
    return examples


def split_of(text: str) -> str:
    """The fixed half a gold text belongs to: "tune" or "check".

    Why a hash of the text: the split must never depend on file order, line numbers or a random
    seed, so anyone re-running on the same file gets the same halves, and a sentence added to the
    file later lands in a half without moving the others. Rule: the first byte of the SHA-1 of the
    UTF-8 text; even is the tuning half (choose rules, thresholds and checkpoints on it), odd is
    the check half (report it; never look at its errors while choosing).
    """
    return "tune" if hashlib.sha1(text.encode("utf-8")).digest()[0] % 2 == 0 else "check"


def select_split(examples: list[GoldExample], split: str | None) -> list[GoldExample]:
    """Only the examples of one half (`split_of`), or all of them when `split` is None."""
    if split is None:
        return examples
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (use {' or '.join(SPLITS)})")
    return [ex for ex in examples if split_of(ex.text) == split]


def musicreconer_fold(text: str, folds: int = 5) -> int:
    """The fixed cross-validation fold of a MusicRecoNER query (0..folds-1).

    A hash of the original query text, like `split_of`, so the folds never depend on file order
    or a seed. The transformer NER is trained without fold `Hyper.holdout_fold` (0), so only that
    fold is fair for scoring it.
    """
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) // 2 % folds


def select_fold(examples: list[GoldExample], fold: int | None) -> list[GoldExample]:
    """Only the MusicRecoNER queries of one fold (`musicreconer_fold`), or all when None."""
    if fold is None:
        return examples
    return [ex for ex in examples if musicreconer_fold(ex.text) == fold]


def _match_label(gold_label: str, pred_label: str) -> bool:
    if gold_label == WOA:
        return pred_label in ("TRACK", "ALBUM", WOA)
    return gold_label == pred_label


def score(gold: list[GoldExample], predicted: list[list[tuple[int, int, str]]]) -> dict:
    """Per-label and micro P/R/F1 with exact span+label match.

    Gold label WOA matches a predicted TRACK or ALBUM; such predictions are then scored under WOA.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold examples but {len(predicted)} predictions")
    tp: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    n_gold: dict[str, int] = {}
    woa_mode = any(lab == WOA for ex in gold for *_, lab in ex.spans)
    for example, preds in zip(gold, predicted, strict=True):
        gold_set = set(example.spans)
        by_span = {(s, e): lab for s, e, lab in example.spans}
        for *_, lab in gold_set:
            n_gold[lab] = n_gold.get(lab, 0) + 1
        for s, e, lab in set(preds):
            scored = WOA if woa_mode and lab in ("TRACK", "ALBUM") else lab
            n_pred[scored] = n_pred.get(scored, 0) + 1
            gold_label = by_span.get((s, e))
            if gold_label is not None and _match_label(gold_label, lab):
                tp[gold_label] = tp.get(gold_label, 0) + 1
    labels = sorted(set(n_gold) | set(n_pred), key=lambda x: (x not in LABELS, x))
    result: dict = {
        lab: _prf(tp.get(lab, 0), n_pred.get(lab, 0), n_gold.get(lab, 0)) for lab in labels
    }
    result["micro"] = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    return result


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "support": float(n_gold),
        "predicted": float(n_pred),
    }


def format_scores(scores: dict) -> str:
    """A fixed-width table: label, P, R, F1, gold support, predicted count."""
    lines = [f"{'label':<8} {'P':>6} {'R':>6} {'F1':>6} {'gold':>6} {'pred':>6}"]
    for label, row in scores.items():
        lines.append(
            f"{label:<8} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f}"
            f" {int(row['support']):6d} {int(row['predicted']):6d}"
        )
    return "\n".join(lines)


# MusicRecoNER ------------------------------------------------------------------------------------
_WORD = re.compile(r"\S+")


def _read_bio(path: Path) -> list[list[tuple[str, str]]]:
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            parts = line.split("\t") if "\t" in line else line.rsplit(" ", 1)
            if len(parts) != 2:
                raise GoldFormatError(f"{path}:{lineno}: expected 'token<TAB>tag'")
            tag = parts[1].strip()
            if tag != "O" and tag[:2] not in ("B-", "I-"):
                raise GoldFormatError(
                    f"{path}:{lineno}: tag {tag!r} is not O, B-<label> or I-<label>"
                )
            current.append((parts[0], tag))
    if current:
        sentences.append(current)
    if not sentences:
        raise GoldFormatError(f"{path}: no BIO queries in it")
    return sentences


def _align(tokens: Sequence[str], original: str) -> list[tuple[int, int]] | None:
    """Character spans of the lower-cased BIO tokens inside the original text, left to right."""
    lowered = original.lower()
    spans: list[tuple[int, int]] = []
    pos = 0
    for tok in tokens:
        found = lowered.find(tok.lower(), pos)
        if found < 0:
            return None
        spans.append((found, found + len(tok)))
        pos = found + len(tok)
    return spans


def load_musicreconer(directory: str | Path) -> list[GoldExample]:
    """MusicRecoNER gold (ground-truth.bio) mapped onto the original-case queries.csv text.

    Artist -> ARTIST, WoA -> WOA. A query whose tokens cannot be aligned with its original text
    falls back to the lower-cased tokens joined by spaces. `directory` may also be a BIO file
    alone (dataset 4's train.bio holds the ground truth of datasets 1-3, which come with no
    original text): its queries are the lower-cased tokens joined by spaces.
    """
    directory = Path(directory)
    if directory.is_file():
        return [_example(sent) for sent in _read_bio(directory)]
    sentences = _read_bio(directory / "ground-truth.bio")
    with open(directory / "queries.csv", newline="", encoding="utf-8") as handle:
        originals = [row["original"] for row in csv.DictReader(handle)]
    if len(originals) != len(sentences):
        raise GoldFormatError(
            f"{directory}: {len(sentences)} BIO queries but {len(originals)} rows in queries.csv"
        )
    return [_example(sent, original) for sent, original in zip(sentences, originals, strict=True)]


def _example(sent: list[tuple[str, str]], original: str | None = None) -> GoldExample:
    """One query's gold on its original text, or on its tokens joined by spaces when there is
    no original (a BIO file alone) or the tokens cannot be aligned with it."""
    tokens = [tok for tok, _ in sent]
    text = original if original is not None else " ".join(tokens)
    offsets = _align(tokens, text)
    if offsets is None:
        text = " ".join(tokens)
        offsets = _align(tokens, text)
        assert offsets is not None
    return GoldExample(text, _bio_spans([t for _, t in sent], offsets))


def _bio_spans(
    tags: Sequence[str], offsets: Sequence[tuple[int, int]]
) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    label: str | None = None
    start = end = 0
    for tag, (s, e) in zip(tags, offsets, strict=True):
        kind = tag[2:] if tag[:2] in ("B-", "I-") else None
        if label is not None and (tag.startswith("B-") or kind != label):
            spans.append((start, end, label))
            label = None
        if kind is not None and label is None:
            label, start = kind, s
        end = e
    if label is not None:
        spans.append((start, end, label))
    mapping = {"Artist": "ARTIST", "WoA": WOA}
    return [(s, e, mapping.get(lab, lab.upper())) for s, e, lab in spans]


# command line -------------------------------------------------------------------------------------
def evaluate_extractor(extractor: object, gold: list[GoldExample]) -> dict:
    """Run `extractor.annotate` over the gold texts and score it."""
    texts = [ex.text for ex in gold]
    predicted = [
        [(m.start, m.end, m.label) for m in mentions]
        for mentions in extractor.annotate(texts)  # type: ignore[attr-defined]
    ]
    return score(gold, predicted)


def rule_contributions(extractor: Any, gold: list[GoldExample]) -> list[tuple[str, dict]]:
    """Scores with all rules ("all") and with each rule of the component left out in turn.

    The component's rule list is swapped in place (no pipeline rebuild), then restored.
    """
    from linernotes.nlp.candidates import rules_named
    from linernotes.nlp.mention_component import COMPONENT

    component = extractor.nlp.get_pipe(COMPONENT)
    names = component.rule_names
    out = [("all", evaluate_extractor(extractor, gold))]
    try:
        for name in names:
            component.rules = rules_named([n for n in names if n != name])
            out.append((name, evaluate_extractor(extractor, gold)))
    finally:
        component.rules = rules_named(names)
    return out


def format_contributions(rows: list[tuple[str, dict]]) -> str:
    """F1 per label with all rules, then what leaving each rule out costs (negative: it helps)."""
    labels = [lab for lab in (*LABELS, WOA, "micro") if lab in rows[0][1]]
    lines = [f"{'without':<20}" + "".join(f" {lab:>8}" for lab in labels)]
    full = rows[0][1]
    for name, scores in rows:
        cells = []
        for lab in labels:
            f1 = scores.get(lab, {}).get("f1", 0.0)
            cells.append(f" {f1:8.3f}" if name == "all" else f" {f1 - full[lab]['f1']:+8.3f}")
        lines.append(f"{'(none: all rules)' if name == 'all' else name:<20}" + "".join(cells))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", help="CONTRACT gold JSONL")
    parser.add_argument("--musicreconer", help="MusicRecoNER dataset directory")
    parser.add_argument("--catalog", required=True, help="catalogue file (CSV or MusicBrainz)")
    parser.add_argument("--split", choices=SPLITS, help="only this half of --gold (split_of)")
    parser.add_argument("--without", action="append", default=[], help="leave out a rule")
    parser.add_argument("--contributions", action="store_true", help="per-rule F1 deltas")
    parser.add_argument(
        "--stock-ner",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="vet unlinked NER artists with the stock NER (default: on)",
    )
    parser.add_argument("--errors", type=int, default=0, help="print N examples with errors")
    args = parser.parse_args(argv)
    from linernotes.nlp.gazetteer import load_csv
    from linernotes.nlp.mentions import MentionExtractor

    t0 = time.perf_counter()
    extractor = MentionExtractor(
        load_csv(args.catalog), stock_ner=args.stock_ner, without=args.without
    )
    print(f"catalogue loaded in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    for name, gold in _gold_sets(args):
        t0 = time.perf_counter()
        if args.contributions:
            table = format_contributions(rule_contributions(extractor, gold))
        else:
            table = format_scores(evaluate_extractor(extractor, gold))
        print(f"== {name} ({len(gold)} texts, {time.perf_counter() - t0:.1f}s)")
        print(table)
        if args.errors:
            _print_errors(extractor, gold, args.errors)
    return 0


def _gold_sets(args: argparse.Namespace) -> list[tuple[str, list[GoldExample]]]:
    sets = []
    if args.gold:
        name = f"{args.gold} [{args.split}]" if args.split else args.gold
        sets.append((name, select_split(load_gold(args.gold), args.split)))
    if args.musicreconer:
        sets.append((args.musicreconer, load_musicreconer(args.musicreconer)))
    return sets


def _print_errors(extractor: object, gold: list[GoldExample], limit: int) -> None:
    shown = 0
    annotated = extractor.annotate([g.text for g in gold])  # type: ignore[attr-defined]
    for ex, mentions in zip(gold, annotated, strict=True):
        pred = {(m.start, m.end, m.label) for m in mentions}
        gold_set = set(ex.spans)
        if pred == gold_set:
            continue
        missed = [f"{ex.text[s:e]}/{lab}" for s, e, lab in sorted(gold_set - pred)]
        extra = [f"{ex.text[s:e]}/{lab}" for s, e, lab in sorted(pred - gold_set)]
        print(f"- {ex.text[:300]}\n   missed: {missed}\n   extra:  {extra}")
        shown += 1
        if shown >= limit:
            break


if __name__ == "__main__":
    raise SystemExit(main())
