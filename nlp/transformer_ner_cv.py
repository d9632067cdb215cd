"""Cross-validate the transformer NER recipe on MusicRecoNER dataset 4 (issue 11).

Dataset 4 is both training data and a held-out check: the shipped model is trained without fold 0
and scored on it. The 5-fold figure repeats the *whole* recipe of `make train-transformer-ner` once
per fold (`train_recipe` with that fold held out: same data, seeds and hyperparameters; epochs,
thresholds and per-label floors chosen on the CrossNER dev tuning half, int8 export), so each fold
is scored by a model that never saw it and whose choices saw none of it. Fold 0 is retrained too,
so the five folds measure today's recipe (the shipped model is fold 0's). Each fold is then scored
three ways on its held-out queries (transformer alone, rules alone, rules + transformer as
`--transformer-ner` merges them) and the counts are summed over folds for the micro F1. Where
dataset 4's train.bio is there (the ground truth of datasets 1-3, which no fold trains on), each
fold model alone is scored on it too: the recipe on unseen conversational text.

A fold is `Hyper.members` fine-tunes (seeds 13, 14) and their ensemble, each fine-tune about a
quarter of an hour of one core (`Hyper.threads` = 1); folds (and members) already trained
in `--work` are skipped, so a killed run resumes and two processes can train disjoint folds at
once. Run: python -m linernotes.nlp.transformer_ner_cv --shared ../shared --work DIR
            [--folds 1,2,3,4] [--train-only] [--catalog CSV] [--provenance PROVENANCE.json]
            [--seed N] [--members-from DIR,DIR]
`--members-from` scores seed ensembles (nlp/transformer_ner_ensemble.py): each fold's model in
--work is the combination of that fold's models in the listed work directories.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from linernotes.nlp.transformer_ner_model import Hyper

FOLDS = (0, 1, 2, 3, 4)


def fold_model_dir(work: Path, fold: int) -> Path:
    """Where the int8 model trained without fold `fold` lives."""
    return work / f"fold{fold}" / "model"


def train_fold(shared: Path, work: Path, fold: int, seed: int | None = None) -> Path:
    """Run the shipped recipe with `fold` held out (and another seed, to measure the recipe's
    spread over seeds); skip a fold whose model is already there."""
    out = fold_model_dir(work, fold)
    if (out / "PROVENANCE.json").exists() and (out / "model.onnx").exists():
        print(f"fold {fold}: model already in {out}", flush=True)
        return out
    from linernotes.nlp.train_transformer_ner import train_recipe

    fold_work = work / f"fold{fold}"
    fold_work.mkdir(parents=True, exist_ok=True)
    hyper = replace(Hyper(), holdout_fold=fold)
    if seed is not None:
        hyper = replace(hyper, seed=seed, members=1)
    train_recipe(shared, hyper, out, fold_work)
    return out


def combine_fold(shared: Path, work: Path, fold: int, sources: Sequence[Path]) -> Path:
    """The ensemble of the `sources`' fold models (one per seed, trained already) as this
    work directory's fold model; skip it when it is already there."""
    out = fold_model_dir(work, fold)
    if (out / "PROVENANCE.json").exists():
        print(f"fold {fold}: ensemble already in {out}", flush=True)
        return out
    from linernotes.nlp.transformer_ner_ensemble import combine

    combine([fold_model_dir(source, fold) for source in sources], out, shared)
    return out


# scoring ------------------------------------------------------------------------------------
Spans = list[tuple[int, int, str]]


def transformer_alone(texts: Sequence[str], model_dir: Path, gazetteer: Any) -> list[Spans]:
    """The transformer component's spans (its model's threshold and label floors; catalogue
    hints from `gazetteer` when the model reads them)."""
    import spacy

    import linernotes.nlp.transformer_ner as tn

    pipeline = spacy.blank("en")
    component: Any = pipeline.add_pipe(tn.COMPONENT, config={"model_dir": str(model_dir)})
    component.gazetteer = gazetteer
    return [
        [(s.start_char, s.end_char, s.label_) for s in doc.spans[tn.SPAN_KEY]]
        for doc in pipeline.pipe(texts)
    ]


def extractor_spans(extractor: Any, texts: Sequence[str]) -> list[Spans]:
    return [[(m.start, m.end, m.label) for m in found] for found in extractor.annotate(texts)]


def predict_folds(shared: Path, work: Path, catalog: Path, folds: Sequence[int]) -> dict:
    """Predictions of the three systems for every query of `folds`, each by its fold's model.

    Returns {"gold": [...], system: [spans per query]} in the order of the gold queries.
    """
    from linernotes.nlp.evaluate import musicreconer_fold
    from linernotes.nlp.extract import TRANSFORMER_NER, load_gazetteer
    from linernotes.nlp.mentions import MentionExtractor
    from linernotes.nlp.transformer_ner_data import musicreconer4

    queries = musicreconer4(shared)
    gazetteer = load_gazetteer(None, catalog)
    rules = MentionExtractor(gazetteer)
    out: dict[str, list] = {"gold": [], "transformer": [], "rules": [], "rules+transformer": []}
    for fold in folds:
        model_dir = fold_model_dir(work, fold)
        if not (model_dir / "model.onnx").exists():
            raise FileNotFoundError(f"fold {fold}: no trained model in {model_dir}")
        gold = [q for q in queries if musicreconer_fold(q.text) == fold]
        texts = [g.text for g in gold]
        merged = MentionExtractor(
            gazetteer,
            extra_ner=TRANSFORMER_NER,
            extra_ner_config={"model_dir": str(model_dir)},
        )
        out["gold"].extend(gold)
        out["transformer"].extend(transformer_alone(texts, model_dir, gazetteer))
        out["rules"].extend(extractor_spans(rules, texts))
        out["rules+transformer"].extend(extractor_spans(merged, texts))
        print(f"fold {fold}: {len(gold)} queries scored with {model_dir}", flush=True)
    return out


def cv_report(predicted: dict, folds: Sequence[int]) -> dict:
    """Micro F1 over all held-out queries (counts summed over folds) for each system."""
    from linernotes.nlp.evaluate import musicreconer_fold, score

    gold = predicted["gold"]
    report: dict[str, Any] = {"folds": list(folds), "queries": len(gold)}
    for system in ("transformer", "rules", "rules+transformer"):
        spans = predicted[system]
        report[system] = {"all": _rounded(score(gold, spans))}
        for fold in folds:
            keep = [i for i, g in enumerate(gold) if musicreconer_fold(g.text) == fold]
            report[system][f"fold{fold}"] = _rounded(
                score([gold[i] for i in keep], [spans[i] for i in keep])
            )
    return report


def unseen_report(bio: Path, work: Path, folds: Sequence[int], catalog: Path) -> dict:
    """Each fold model alone on MusicRecoNER datasets 1-3 (dataset 4's train.bio).

    No fold model trained on those 1,800 queries and no choice of the recipe looked at them, so
    the spread over the five models is the recipe's own on unseen conversational text.
    """
    from linernotes.nlp.evaluate import load_musicreconer, score
    from linernotes.nlp.extract import load_gazetteer

    gazetteer = load_gazetteer(None, catalog)
    gold = load_musicreconer(bio)
    texts = [g.text for g in gold]
    report: dict[str, Any] = {"queries": len(gold)}
    for fold in folds:
        spans = transformer_alone(texts, fold_model_dir(work, fold), gazetteer)
        report[f"fold{fold} model"] = _rounded(score(gold, spans))
    return report


def record_summary(provenance: Path, report: dict) -> None:
    """Write the cross-validated micro F1 of each system (all folds, per fold) and the fold models'
    figures on datasets 1-3 into a model's PROVENANCE.json, replacing an older summary."""
    meta = json.loads(provenance.read_text())
    summary: dict[str, Any] = {"folds": report["folds"], "queries": report["queries"]}
    for system in ("transformer", "rules", "rules+transformer"):
        summary[system] = {
            part: {lab: s["f1"] for lab, s in scores.items()}
            for part, scores in report[system].items()
        }
    unseen = report.get("datasets 1-3, transformer alone")
    if unseen:
        summary["datasets 1-3, transformer alone, micro"] = {
            k: v["micro"]["f1"] for k, v in unseen.items() if k != "queries"
        }
    meta["musicreconer4_cv"] = summary
    provenance.write_text(json.dumps(meta, indent=1) + "\n")


def _rounded(scores: dict) -> dict:
    return {
        lab: {
            k: round(v, 4) if k in ("precision", "recall", "f1") else int(v) for k, v in s.items()
        }
        for lab, s in scores.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--work", default="/tmp/linernotes-transformer-ner-cv")
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--catalog", default=None, help="default: SHARED/data/catalog/catalog.csv")
    parser.add_argument("--train-only", action="store_true", help="train the folds, score none")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="train one model with this seed instead of Hyper's recipe",
    )
    parser.add_argument("--json", default=None, help="write the report here too")
    parser.add_argument(
        "--provenance",
        default=None,
        help="a model's PROVENANCE.json to record the micro F1 summary in (musicreconer4_cv)",
    )
    parser.add_argument(
        "--members-from",
        default=None,
        help="comma-separated work directories whose fold models (one seed each) are combined",
    )
    args = parser.parse_args(argv)
    shared, work = Path(args.shared), Path(args.work)
    gold_dir = shared / "data/gold/musicreconer/dataset4"
    if not gold_dir.is_dir():
        print(
            f"{gold_dir}: no MusicRecoNER dataset 4 there; nothing to cross-validate",
            file=sys.stderr,
        )
        return 2
    folds = [int(f) for f in args.folds.split(",") if f.strip()]
    if any(f not in FOLDS for f in folds):
        print(f"--folds {args.folds}: folds are 0-4", file=sys.stderr)
        return 2
    sources = [Path(d) for d in args.members_from.split(",")] if args.members_from else []
    for fold in folds:
        if sources:
            combine_fold(shared, work, fold, sources)
        else:
            train_fold(shared, work, fold, args.seed)
    if args.train_only:
        return 0
    catalog = Path(args.catalog) if args.catalog else shared / "data/catalog/catalog.csv"
    report = cv_report(predict_folds(shared, work, catalog, folds), folds)
    unseen = gold_dir / "train.bio"
    if unseen.exists():
        report["datasets 1-3, transformer alone"] = unseen_report(unseen, work, folds, catalog)
    text = json.dumps(report, indent=1)
    if args.provenance:
        record_summary(Path(args.provenance), report)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
