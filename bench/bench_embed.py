"""Embedding throughput: our int8 ONNX encoder vs plain `SentenceTransformer.encode`.

Same sentences, same machine, same run; the baseline is the library call a
user would write (CPU, default batch size, torch on the cores given). Reports
sentences/s of both (ratio = ours / baseline), the mean and minimum cosine of
our vectors to the baseline's, the effect of the sentence-hash cache on a
corpus with syndicated repeats, and CUDA throughput when ONNX Runtime has a
CUDA provider (the `[gpu]` extra). Without sentence-transformers (an install
without the `[train]` extra) only our own rates are reported.
Sentences come from the sas_mirex biographies where ../shared exists, else
from a generated corpus (same length spread).
"""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BIOS = SHARED / "data" / "similarity" / "sas_mirex" / "biographies"


def _sentences(n: int) -> tuple[list[str], str]:
    if BIOS.is_dir():
        out: list[str] = []
        for path in sorted(BIOS.glob("*.txt")):
            text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", path.read_text(errors="replace"))
            out.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 15)
            if len(out) >= n:
                break
        return out[:n], "sas_mirex biography sentences"
    rng = random.Random(7)
    words = [
        "the",
        "band",
        "released",
        "a",
        "dreamy",
        "shoegaze",
        "record",
        "with",
        "lush",
        "reverb",
        "guitars",
        "and",
        "warm",
        "analog",
        "synths",
        "while",
        "critics",
        "praised",
        "its",
        "hypnotic",
        "grooves",
        "brooding",
        "lyrics",
        "and",
        "crushing",
        "riffs",
    ]
    return [
        " ".join(rng.choice(words) for _ in range(rng.randint(5, 45))).capitalize() + "."
        for _ in range(n)
    ], "generated sentences"


def _row(
    metric: str, value: float, unit: str, baseline: float | None, notes: str
) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {
        "bench": "embed",
        "metric": metric,
        "value": round(value, 4),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": None if ratio is None else round(ratio, 3),
        "notes": notes,
    }


def _reference_model() -> Any:
    """Plain `SentenceTransformer` on the CPU, or None without the `[train]` extra."""
    try:
        import torch

        from linernotes.nlp.minilm_export import load_sentence_transformer
    except ImportError:
        return None
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    return load_sentence_transformer("cpu")


def _timed(encode: Any, sentences: list[str]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = encode(sentences)
    return out, len(sentences) / (time.perf_counter() - start)


def run(quick: bool = False) -> list[dict[str, Any]]:
    import numpy as np

    from linernotes.nlp.embeddings import OnnxEncoder, cuda_available, encode_cached

    threads = min(2, os.cpu_count() or 1)
    sentences, source = _sentences(200 if quick else 1000)
    model = _reference_model()
    ours = OnnxEncoder(threads=threads)
    ours.encode(sentences[:8])  # warm-up, not timed
    if model is not None:
        model.encode(sentences[:8])
    # Alternate the two and keep each one's best round: the cores are shared, and a
    # neighbour's burst must not land on one side only.
    base_rate = our_rate = 0.0
    reference = None
    for _ in range(1 if quick else 2):
        if model is not None:
            ref, rate = _timed(lambda s: model.encode(s, normalize_embeddings=True), sentences)
            reference, base_rate = np.asarray(ref, dtype=np.float32), max(base_rate, rate)
        vecs, rate = _timed(ours.encode, sentences)
        our_rate = max(our_rate, rate)
    note = f"{len(sentences)} {source}, {threads} threads, CPU, cold cache"
    if reference is None:
        note += "; no baseline (sentence-transformers not installed: the [train] extra)"
    rows = [
        _row(
            "cpu sentences/s",
            our_rate,
            "sentences/s",
            base_rate or None,
            f"{ours.version}; {note}",
        )
    ]
    if reference is not None:
        cos = (vecs * reference).sum(axis=1)
        rows += [
            _row("cosine to encode() mean", float(cos.mean()), "cosine", None, note),
            _row("cosine to encode() min", float(cos.min()), "cosine", None, note),
        ]

    # Syndicated text: a third of the sentences repeat; the cache embeds each once.
    repeated = sentences + sentences[: len(sentences) // 2]
    _, cached_rate = _timed(lambda s: encode_cached(s, ours, {}), repeated)
    rows.append(
        _row(
            "cpu sentences/s with hash cache",
            cached_rate,
            "sentences/s",
            base_rate or None,
            f"{len(repeated)} sentences, one third repeats (syndication); baseline = encode() rate",
        )
    )
    if cuda_available():
        gpu = OnnxEncoder(device="cuda", batch_size=256)
        gpu.encode(sentences[:64])
        gvecs, gpu_rate = _timed(gpu.encode, sentences)
        agree = ""
        if reference is not None:
            agree = f"; cosine to CPU encode() {float((gvecs * reference).sum(axis=1).mean()):.4f}"
        rows.append(
            _row(
                "gpu sentences/s",
                gpu_rate,
                "sentences/s",
                base_rate or None,
                f"{gpu.version} on ONNX Runtime CUDA{agree}",
            )
        )
    return rows


if __name__ == "__main__":
    import json
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
