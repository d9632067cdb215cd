"""Training material for the transformer music NER, read from ../shared at training time.

Gold: CrossNER music train, MusicRecoNER dataset 4 (its WoA spans may be TRACK or ALBUM: the
loss accepts either). Silver: KEXP DJ comments labelled from their play metadata (artist, song,
album) and WikiMusicText song paragraphs labelled with their title, writers and the people named
as music makers (`performer_spans`). Augmented copies swap entity names for catalogue names (so
the model learns contexts, not a list of names) and lower-case and strip punctuation (so
conversational text is not foreign). CrossNER dev is never
read here: it is for tuning and checking.

Everything works on spaCy tokens ("words"), the unit the component tags at run time.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from linernotes.nlp.evaluate import WOA, GoldExample, load_gold, load_musicreconer
from linernotes.nlp.gazetteer import Gazetteer, load_csv
from linernotes.nlp.transformer_tagger import LABELS, TAGS

SPAN_LABELS = (*LABELS, WOA)


@dataclass
class WordExample:
    """Words, entity spans over word indices [a, b), and words whose tag is unknown (no loss)."""

    words: list[str]
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    ignore: frozenset[int] = frozenset()
    source: str = ""


def allowed_tags(example: WordExample) -> list[list[int] | None]:
    """Per word, the tag ids the loss accepts (None: any). WoA accepts TRACK or ALBUM."""
    out: list[list[int] | None] = [
        None if i in example.ignore else [0] for i in range(len(example.words))
    ]
    for a, b, label in example.spans:
        labels = ("TRACK", "ALBUM") if label == WOA else (label,)
        for i in range(a, b):
            prefix = "B" if i == a else "I"
            out[i] = [TAGS.index(f"{prefix}-{lab}") for lab in labels]
    return out


def tokenizer_nlp() -> Any:
    """The blank English tokenizer: the same token boundaries as the run-time pipeline."""
    import spacy

    return spacy.blank("en")


def from_char_spans(
    nlp: Any,
    text: str,
    spans: Iterable[tuple[int, int, str]],
    source: str,
    ignore_chars: Iterable[tuple[int, int]] = (),
) -> WordExample:
    """Character spans -> word spans (expanded to whole tokens); overlapping spans dropped."""
    doc = nlp.make_doc(text)
    taken: set[int] = set()
    word_spans: list[tuple[int, int, str]] = []
    for s, e, label in sorted(spans):
        span = doc.char_span(s, e, alignment_mode="expand")
        while span is not None and len(span) > 1 and span[-1].text in ("'s", "'", "\u2019s"):
            span = span[:-1]
        if span is None or any(i in taken for i in range(span.start, span.end)):
            continue
        taken.update(range(span.start, span.end))
        word_spans.append((span.start, span.end, label))
    ignore: set[int] = set()
    for s, e in ignore_chars:
        span = doc.char_span(s, e, alignment_mode="expand")
        if span is not None:
            ignore.update(i for i in range(span.start, span.end) if i not in taken)
    return WordExample([t.text for t in doc], word_spans, frozenset(ignore), source)


def from_gold(nlp: Any, gold: Sequence[GoldExample], source: str) -> list[WordExample]:
    return [from_char_spans(nlp, ex.text, ex.spans, source) for ex in gold]


def crossner_train(shared: Path) -> list[GoldExample]:
    return load_gold(shared / "data/gold/crossner_music/train.jsonl")


def crossner_dev(shared: Path) -> list[GoldExample]:
    return load_gold(shared / "data/gold/crossner_music/dev.jsonl")


def musicreconer4(shared: Path) -> list[GoldExample]:
    return load_musicreconer(shared / "data/gold/musicreconer/dataset4")


# silver ------------------------------------------------------------------------------
_FEAT = re.compile(r"\s+(feat\.?|ft\.?|featuring|with|&|and|x)\s+.*$", re.IGNORECASE)


def _find(text: str, name: str) -> list[tuple[int, int]]:
    """Occurrences of a name on word boundaries: exact case, or any case for 2+ word names."""
    name = name.strip()
    if len(name) < 2:
        return []
    flags = re.IGNORECASE if len(name.split()) > 1 else 0
    pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", flags)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _stock_ents(stock: Any, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in stock.pipe(texts, batch_size=64)
    ]


def kexp_silver(shared: Path, nlp: Any, stock: Any) -> list[WordExample]:
    """DJ comments with their play's artist/song/album found in the text.

    Other PERSON/ORG/WORK_OF_ART entities of the stock spaCy NER are left out of the loss: they
    may be band members or other records, which the metadata does not name.
    """
    rows = []
    with open(shared / "data/corpus/kexp_dj_comments.jsonl", encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            meta = obj.get("meta") or {}
            text = obj.get("text") or ""
            names = [
                (_FEAT.sub("", meta.get("db_artist_name") or ""), "ARTIST"),
                (meta.get("db_song_title") or "", "TRACK"),
                (meta.get("db_album_title") or "", "ALBUM"),
            ]
            spans = [(s, e, lab) for name, lab in names if name for s, e in _find(text, name)]
            if spans:
                rows.append((text, spans))
    ents = _stock_ents(stock, [t for t, _ in rows])
    keep = ("PERSON", "ORG", "WORK_OF_ART", "PRODUCT", "NORP", "FAC")
    return [
        from_char_spans(nlp, text, spans, "kexp", [(s, e) for s, e, lab in found if lab in keep])
        for (text, spans), found in zip(rows, ents, strict=True)
    ]


# A PERSON in a song paragraph is labelled ARTIST only where the paragraph says it makes music:
# a music role right before the name ("hit for X", "recorded by X", "singer X") or a performance
# right after it ("X's recording", "X sang"). Writers come from the metadata, and names that are
# catalogue artists count too. Every other PERSON (a subject, a TV host, a politician) is left out
# of the loss: neither ARTIST nor O, since the paragraph does not say which it is.
_ROLE_BEFORE = re.compile(
    r"\b(?:"
    r"(?:written|composed|sung|sang|recorded|performed|produced|released|covered|popularized|"
    r"popularised|introduced|arranged|co-written|penned)\s+(?:\w+\s+)?by"
    r"|(?:lyrics|music|words|vocals)\s+by|(?:hit|single|song|number one)\s+for"
    r"|featuring|feat\.|duet\s+with"
    r"|singers?|performer|vocalist|songwriters?|producer|rapper|musician|guitarist|pianist"
    r"|bandleader|composer|lyricist|crooner|artist|saxophonist|trumpeter|drummer|bassist|DJ"
    r"),?\s+(?:and\s+)?$",
    re.IGNORECASE,
)
_ROLE_AFTER = re.compile(
    r"^(?:'s|\u2019s)\s+(?:\w+\s+)?(?:recording|version|rendition|cover|performance|single|"
    r"album|band|orchestra|hit|vocals?)\b|^\s+(?:(?:first|originally|also|later)\s+)?(?:recorded|sang|sings|performed|covered|released|"
    r"wrote|composed|co-wrote|produced)\b",
    re.IGNORECASE,
)


def catalogue_artists(shared: Path) -> frozenset[str]:
    """Every catalogue artist name, case-folded (for telling performers from other people)."""
    with open(shared / "data/catalog/catalog.csv", newline="", encoding="utf-8") as handle:
        return frozenset(
            (row.get("artist") or "").strip().casefold() for row in csv.DictReader(handle)
        ) - {""}


def performer_person(text: str, start: int, end: int, artists: frozenset[str]) -> bool:
    """Whether the PERSON text[start:end] is named as a music maker (see _ROLE_BEFORE)."""
    if text[start:end].casefold() in artists:
        return True
    return bool(_ROLE_BEFORE.search(text[max(0, start - 40) : start])) or bool(
        _ROLE_AFTER.search(text[end : end + 40])
    )


_LIST_GAP = re.compile(r"^\s*(?:,|&|and|, and)\s*$")


def performer_spans(
    text: str, persons: list[tuple[int, int]], artists: frozenset[str]
) -> list[tuple[int, int, str]]:
    """The PERSON spans named as music makers, as ARTIST spans; a name listed right after one
    ("written by A, B and C") shares its role."""
    kept: list[tuple[int, int, str]] = []
    previous: tuple[int, int] | None = None
    for start, end in sorted(persons):
        listed = previous is not None and bool(_LIST_GAP.match(text[previous[1] : start]))
        if listed or performer_person(text, start, end, artists):
            kept.append((start, end, "ARTIST"))
            previous = (start, end)
        else:
            previous = None
    return kept


def wikimt_silver(shared: Path, nlp: Any, stock: Any) -> list[WordExample]:
    """Song paragraphs: the title is a TRACK, the writers (metadata) and the PERSONs named as
    music makers are ARTISTs; other PERSONs, ORGs and WORK_OF_ARTs are out of the loss."""
    rows = []
    with open(shared / "data/similarity/wikimt_songs/songs.jsonl", encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            text, title = obj.get("text") or "", (obj.get("title") or "").strip("'\" ")
            spans = [(s, e, "TRACK") for s, e in _find(text, title)]
            for writer in re.split(r",| and ", obj.get("composer") or ""):
                spans.extend((s, e, "ARTIST") for s, e in _find(text, writer.strip()))
            rows.append((text, spans))
    ents = _stock_ents(stock, [t for t, _ in rows])
    artists = catalogue_artists(shared)
    out = []
    for (text, spans), found in zip(rows, ents, strict=True):
        persons = [(s, e) for s, e, lab in found if lab == "PERSON"]
        people = performer_spans(text, persons, artists)
        others = [(s, e) for s, e, lab in found if lab in ("PERSON", "ORG", "WORK_OF_ART")]
        out.append(from_char_spans(nlp, text, spans + people, "wikimt", others))
    return out


# augmentation ------------------------------------------------------------------------------
def catalogue_gazetteer(shared: Path) -> Gazetteer:
    """The shared catalogue as the pipeline's name index: the source of catalogue hints in
    training, as the database's catalogue is at run time."""
    return load_csv(shared / "data/catalog/catalog.csv")


def catalogue_names(shared: Path, limit: int = 20000, seed: int = 0) -> dict[str, list[str]]:
    """A seeded sample of catalogue artist, track and album names (albums are lower-case in the
    source, as are some artists: all-lower-case names are title-cased here)."""
    sets: dict[str, set[str]] = {lab: set() for lab in LABELS}
    with open(shared / "data/catalog/catalog.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for lab, key in (("ARTIST", "artist"), ("TRACK", "track"), ("ALBUM", "album")):
                value = (row.get(key) or "").strip()
                if value and len(value) <= 60:
                    sets[lab].add(value.title() if value == value.lower() else value)
    rng = random.Random(seed)
    return {lab: rng.sample(sorted(names), min(limit, len(names))) for lab, names in sets.items()}


def swap_names(
    example: WordExample, names: dict[str, list[str]], nlp: Any, rng: random.Random
) -> WordExample:
    """The same sentence with every entity replaced by a random catalogue name of its label."""
    words: list[str] = []
    spans: list[tuple[int, int, str]] = []
    ignore: set[int] = set()
    starts = {a: (b, lab) for a, b, lab in example.spans}
    i = 0
    while i < len(example.words):
        if i in starts:
            end, label = starts[i]
            pool = names["TRACK" if label == WOA else label]
            new = [t.text for t in nlp.make_doc(rng.choice(pool)) if not t.is_space]
            spans.append((len(words), len(words) + len(new), label))
            words.extend(new)
            i = end
            continue
        if i in example.ignore:
            ignore.add(len(words))
        words.append(example.words[i])
        i += 1
    return WordExample(words, spans, frozenset(ignore), example.source + "+swap")


_PUNCT = re.compile(r"^[^\w]+$")


def lower_unpunct(example: WordExample) -> WordExample:
    """Lower-cased copy without punctuation-only words outside entities (chat-style text)."""
    inside = {i for a, b, _ in example.spans for i in range(a, b)}
    keep = [
        i
        for i, w in enumerate(example.words)
        if i in inside or not (_PUNCT.match(w) or w.isspace())
    ]
    index = {old: new for new, old in enumerate(keep)}
    spans = [(index[a], index[b - 1] + 1, lab) for a, b, lab in example.spans]
    return WordExample(
        [example.words[i].lower() for i in keep],
        spans,
        frozenset(index[i] for i in example.ignore if i in index),
        example.source + "+lower",
    )


def augment(
    examples: Sequence[WordExample],
    names: dict[str, list[str]],
    nlp: Any,
    seed: int,
    copies: int = 2,
) -> list[WordExample]:
    """Originals + copies: with copies=2 one catalogue swap (when there are entities) and one
    lower-cased copy (of the original or the swap, at random); with copies=1 one of the two."""
    rng = random.Random(seed)
    out = list(examples)
    for ex in examples:
        swap = rng.random() < 0.5
        if ex.spans and (copies == 2 or swap):
            out.append(swap_names(ex, names, nlp, rng))
        if copies == 2 or not swap or not ex.spans:
            out.append(lower_unpunct(out[-1] if ex.spans and swap else ex))
    return out


def stock_pipeline() -> Any:
    """en_core_web_sm NER only, for the silver ignore masks."""
    import spacy

    from linernotes.nlp.mentions import BASE_MODEL

    return spacy.load(
        BASE_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]
    )


def repeat(examples: Sequence[WordExample], times: int) -> list[WordExample]:
    return [replace(ex) for _ in range(times) for ex in examples]
