"""Embedding throughput: our int8 ONNX encoder vs plain `SentenceTransformer.encode`.

Same sentences, same machine, same run; the baseline is the library call a
user would write (CPU, default batch size, torch on the cores given). Reports
sentences/s of both (ratio = ours / baseline), the mean and minimum cosine of
our vectors to the baseline's, the effect of the sentence-hash cache on a
corpus with syndicated repeats, and CUDA throughput when a GPU is present.
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


def run(quick: bool = False) -> list[dict[str, Any]]:
    import numpy as np
    import torch

    from nlp.embeddings import OnnxEncoder, TorchEncoder, encode_cached, load_sentence_transformer

    threads = min(2, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    sentences, source = _sentences(200 if quick else 1000)
    model = load_sentence_transformer("cpu")
    model.encode(sentences[:8])  # warm-up, not timed
    ours = OnnxEncoder(threads=threads)
    ours.encode(sentences[:8])
    # Alternate the two and keep each one's best round: the cores are shared, and a
    # neighbour's burst must not land on one side only.
    base_rate = our_rate = 0.0
    for _ in range(1 if quick else 2):
        start = time.perf_counter()
        reference = np.asarray(model.encode(sentences, normalize_embeddings=True), dtype=np.float32)
        base_rate = max(base_rate, len(sentences) / (time.perf_counter() - start))
        start = time.perf_counter()
        vecs = ours.encode(sentences)
        our_rate = max(our_rate, len(sentences) / (time.perf_counter() - start))
    cos = (vecs * reference).sum(axis=1)
    note = f"{len(sentences)} {source}, {threads} threads, CPU, cold cache"
    rows = [
        _row("cpu sentences/s", our_rate, "sentences/s", base_rate, f"{ours.version}; {note}"),
        _row("cosine to encode() mean", float(cos.mean()), "cosine", None, note),
        _row("cosine to encode() min", float(cos.min()), "cosine", None, note),
    ]

    # Syndicated text: a third of the sentences repeat; the cache embeds each once.
    repeated = sentences + sentences[: len(sentences) // 2]
    start = time.perf_counter()
    encode_cached(repeated, ours, {})
    cached_rate = len(repeated) / (time.perf_counter() - start)
    rows.append(
        _row(
            "cpu sentences/s with hash cache",
            cached_rate,
            "sentences/s",
            base_rate,
            f"{len(repeated)} sentences, one third repeats (syndication); baseline = encode() rate",
        )
    )
    if torch.cuda.is_available():
        gpu = TorchEncoder("cuda", batch_size=256)
        gpu.encode(sentences[:64])
        torch.cuda.synchronize()
        start = time.perf_counter()
        gvecs = gpu.encode(sentences)
        torch.cuda.synchronize()
        gpu_rate = len(sentences) / (time.perf_counter() - start)
        rows.append(
            _row(
                "gpu sentences/s",
                gpu_rate,
                "sentences/s",
                base_rate,
                f"{torch.cuda.get_device_name(0)}; cosine to CPU encode() "
                f"{float((gvecs * reference).sum(axis=1).mean()):.4f}",
            )
        )
    return rows


if __name__ == "__main__":
    import json
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
