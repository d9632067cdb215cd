"""Score the transformer NER alone, today's rules alone, and the two merged, honestly.

The merge policy (which source wins on overlap) is chosen on the CrossNER dev TUNING half; the
CHECK half and the held-out MusicRecoNER dataset 4 fold are reported for every variant, so the
figure of the chosen one is a figure on text no choice was made on.

Run: python -m linernotes.nlp.eval_transformer_ner --shared ../shared [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from linernotes.nlp.evaluate import GoldExample, format_scores, score, split_of
from linernotes.nlp.evaluate import musicreconer_fold as mrner_fold
from linernotes.nlp.gazetteer import Gazetteer, load_csv
from linernotes.nlp.train_transformer_ner import Hyper
from linernotes.nlp.transformer_ner_data import crossner_dev, musicreconer4

Spans = list[tuple[int, int, str]]
GAP_SCORES = (0.6, 0.7, 0.8, 0.9, 0.95)


def transformer_spans(
    texts: Sequence[str], gazetteer: Gazetteer
) -> list[list[tuple[int, int, str, float]]]:
    """The component's candidates with their scores (start, end, label, score)."""
    import spacy

    import linernotes.nlp.transformer_ner as tn

    pipeline = spacy.blank("en")
    component: Any = pipeline.add_pipe(tn.COMPONENT)
    component.gazetteer = gazetteer  # catalogue hints, as in the pipeline
    out = []
    for doc in pipeline.pipe(texts):
        group = doc.spans[tn.SPAN_KEY]
        out.append(
            [
                (s.start_char, s.end_char, s.label_, float(score))
                for s, score in zip(group, group.attrs["scores"], strict=True)
            ]
        )
    return out


def rule_spans(texts: Sequence[str], gazetteer: Gazetteer) -> list[Spans]:
    from linernotes.nlp.mentions import MentionExtractor

    extractor = MentionExtractor(gazetteer)
    return [[(m.start, m.end, m.label) for m in found] for found in extractor.annotate(texts)]


def merge(first: Spans, second: Spans) -> Spans:
    """All of `first`, plus the spans of `second` that overlap none of them."""
    out = list(first)
    for s, e, lab in second:
        if all(e <= a or s >= b for a, b, _ in first):
            out.append((s, e, lab))
    return sorted(out)


def variants(
    scored: list[list[tuple[int, int, str, float]]], rules: list[Spans]
) -> dict[str, list[Spans]]:
    """Each source alone, each winning on overlap, and rules + confident transformer spans in
    the gaps the rules leave (one variant per minimum score)."""
    ours = [[(s, e, lab) for s, e, lab, _ in found] for found in scored]
    out = {
        "transformer": ours,
        "rules": rules,
        "transformer+rules": [merge(o, r) for o, r in zip(ours, rules, strict=True)],
        "rules+transformer": [merge(r, o) for o, r in zip(ours, rules, strict=True)],
    }
    for floor in GAP_SCORES:
        out[f"rules+transformer>={floor}"] = [
            merge(r, [(s, e, lab) for s, e, lab, sc in found if sc >= floor])
            for found, r in zip(scored, rules, strict=True)
        ]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--json", help="write the F1 tables here")
    args = parser.parse_args(argv)
    shared = Path(args.shared)
    dev = crossner_dev(shared)
    sets: dict[str, list[GoldExample]] = {
        "tuning": [g for g in dev if split_of(g.text) == "tune"],
        "check": [g for g in dev if split_of(g.text) == "check"],
        "musicreconer4_heldout": [
            g for g in musicreconer4(shared) if mrner_fold(g.text) == Hyper.holdout_fold
        ],
    }
    texts = [g.text for gold in sets.values() for g in gold]
    gazetteer = load_csv(shared / "data/catalog/catalog.csv")
    ours = transformer_spans(texts, gazetteer)
    rules = rule_spans(texts, gazetteer)
    results: dict[str, dict[str, dict]] = {}
    offset = 0
    for name, gold in sets.items():
        part = slice(offset, offset + len(gold))
        offset += len(gold)
        for variant, predicted in variants(ours[part], rules[part]).items():
            results.setdefault(variant, {})[name] = score(gold, predicted)
    chosen = max(results, key=lambda v: results[v]["tuning"]["micro"]["f1"])
    for variant, by_set in results.items():
        for name, scores in by_set.items():
            mark = " (chosen on tuning)" if variant == chosen else ""
            print(f"== {variant} on {name}{mark}\n{format_scores(scores)}")
    if args.json:
        table = {
            v: {n: {k: round(r["f1"], 4) for k, r in s.items()} for n, s in by_set.items()}
            for v, by_set in results.items()
        }
        Path(args.json).write_text(json.dumps({"chosen": chosen, "f1": table}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
