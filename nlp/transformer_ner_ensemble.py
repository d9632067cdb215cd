"""Combine fine-tunes of the transformer NER that differ only in their seed into one model.

Why: one fine-tune of a small encoder on ~700 gold texts is noisy. The same recipe with seed 13
and seed 14 scored 0.701 and 0.717 micro F1 on MusicRecoNER dataset 4 (5-fold), and the folds
moved by up to 0.07 between the two seeds. Averaging the members' tag probabilities removes
much of that variance at the price of one more encoder pass per window
(`TransformerTagger` runs every member listed in PROVENANCE.json's `members`).

The combined model is chosen like a single one (`train_transformer_ner.finish`): its threshold
and label floors on the CrossNER dev tuning half, from the averaged probabilities; the check
half and the members' held-out MusicRecoNER fold are scored, never used. The members must share
the encoder's tokenizer, the catalogue-hint input and the held-out fold.

Run: python -m linernotes.nlp.transformer_ner_ensemble --shared ../shared --out DIR MEMBER...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# each member's own figures and choices, kept under `members` (the top level is the ensemble's)
MEMBER_KEYS = (
    "train_seconds",
    "data_counts",
    "best_epoch",
    "threshold",
    "label_floors",
    "fp32_onnx_tuning",
    "int8_tuning",
    "int8_check",
    "int8_musicreconer4_heldout_fold",
)


def member_file(index: int) -> str:
    """File name of the index-th member's ONNX graph in the combined directory."""
    return "model.onnx" if index == 0 else f"model-{index + 1}.onnx"


def read_members(members: Sequence[Path]) -> list[dict]:
    """Each member's PROVENANCE.json, checked to be combinable (same tokenizer, hints, fold)."""
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two member model directories")
    metas = []
    for member in members:
        meta_path = member / "PROVENANCE.json"
        if not (member / "model.onnx").exists() or not meta_path.exists():
            raise FileNotFoundError(f"{member}: no model.onnx and PROVENANCE.json there")
        meta = json.loads(meta_path.read_text())
        if meta.get("members"):
            raise ValueError(f"{member}: already an ensemble; list its own members instead")
        metas.append(meta)
    tokenizers = {_sha256(m / "tokenizer.json") for m in members}
    if len(tokenizers) > 1:
        raise ValueError("members with different tokenizers cannot be averaged")
    for key in ("catalogue_hints", "holdout_fold"):
        values = {json.dumps(meta.get("hyper", {}).get(key)) for meta in metas}
        if len(values) > 1:
            raise ValueError(f"members differ in hyper.{key}: {sorted(values)}")
    return metas


def combine(members: Sequence[Path], out: Path, shared: Path) -> dict:
    """Write the ensemble of `members` to `out`, choose its threshold and floors on the tuning
    half, score the check half and the held-out fold; return the PROVENANCE written."""
    from linernotes.nlp import transformer_ner_data as data
    from linernotes.nlp.evaluate import musicreconer_fold, score
    from linernotes.nlp.train_transformer_ner import (
        best_floors,
        best_threshold,
        dev_halves,
        f1_table,
        spans_from_probs,
        words_of,
    )
    from linernotes.nlp.transformer_ner_export import tagger_probs
    from linernotes.nlp.transformer_tagger import TransformerTagger

    metas = read_members(members)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("model*.onnx"):
        old.unlink()
    listed = []
    for i, (member, member_meta) in enumerate(zip(members, metas, strict=True)):
        name = member_file(i)
        shutil.copyfile(member / "model.onnx", out / name)
        listed.append(
            {
                "file": name,
                "seed": member_meta.get("hyper", {}).get("seed"),
                "sha256": _sha256(out / name),
            }
            | {k: member_meta[k] for k in MEMBER_KEYS if k in member_meta}
        )
    shutil.copyfile(members[0] / "tokenizer.json", out / "tokenizer.json")
    base = {k: v for k, v in metas[0].items() if k not in MEMBER_KEYS}
    base.pop("sha256_model_onnx", None)
    base.pop("musicreconer4_cv", None)
    base["hyper"] = dict(base.get("hyper", {})) | {"members": len(members)}
    meta: dict[str, Any] = base | {
        "what": f"ensemble of {len(members)} music NER token classifiers (same recipe, seeds "
        f"{', '.join(str(m['seed']) for m in listed)}): the mean of their tag probabilities;"
        " each int8 dynamic-quantised ONNX",
        "members": listed,
    }
    # written now so the tagger finds its members; rewritten below with the ensemble's choices
    (out / "PROVENANCE.json").write_text(json.dumps(meta, indent=1) + "\n")
    tagger = TransformerTagger(out, ["CPUExecutionProvider"])

    nlp = data.tokenizer_nlp()
    gazetteer = (
        data.catalogue_gazetteer(shared) if meta.get("hyper", {}).get("catalogue_hints") else None
    )
    tuning, check = dev_halves(shared)
    fold = meta.get("hyper", {}).get("holdout_fold")
    held_out = [g for g in data.musicreconer4(shared) if musicreconer_fold(g.text) == fold]

    def probs(gold: list) -> list:
        return tagger_probs(tagger, words_of(nlp, [g.text for g in gold]), gazetteer)

    tuning_probs = probs(tuning)
    threshold, _ = best_threshold(nlp, tuning, tuning_probs)
    floors = best_floors(nlp, tuning, tuning_probs, threshold)
    texts = [g.text for g in tuning]
    meta.update(
        threshold=threshold,
        label_floors=floors,
        int8_tuning=f1_table(
            score(tuning, spans_from_probs(nlp, texts, tuning_probs, threshold, floors))
        ),
    )
    for name, gold in (("int8_check", check), ("int8_musicreconer4_heldout_fold", held_out)):
        if gold:
            spans = spans_from_probs(nlp, [g.text for g in gold], probs(gold), threshold, floors)
            meta[name] = f1_table(score(gold, spans))
    if held_out:
        meta["int8_musicreconer4_heldout_fold"] |= {"fold": fold, "queries": len(held_out)}
    (out / "PROVENANCE.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--out", required=True)
    parser.add_argument("members", nargs="+", help="model directories (one per seed)")
    args = parser.parse_args(argv)
    try:
        meta = combine([Path(m) for m in args.members], Path(args.out), Path(args.shared))
    except (ValueError, FileNotFoundError) as exc:
        print(f"transformer_ner_ensemble: {exc}", file=sys.stderr)
        return 2
    keys = (
        "threshold",
        "label_floors",
        "int8_tuning",
        "int8_check",
        "int8_musicreconer4_heldout_fold",
    )
    print(json.dumps({k: meta[k] for k in keys if k in meta}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
