"""Candidate rules read off the text around names: patterns, dates, possessives, "by", bylines.

* `patterns`: nlp.patterns ("Title" by Artist, Artist's "Title", the album X, 1983's X, lists);
* `year_title`: X (1997) and (X, 1997) are albums;
* `possessive`: the capitalised run after a sure artist's possessive is their work;
* `title_by`: the capitalised run before "by Artist" is their work;
* `byline`: credits ("Words by", "Photo:", a line opening "By") name writers, not artists;
* `genre_word`: "Gospel music", "Chicago blues", "Heavy metal": a genre's name, not an artist;
* `and_the_band`: "Adam and the Ants", "Robert Randolph and the Family Band" are one artist;
* `year_trim`: "1985's Little Creatures": the year is no part of the title.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from linernotes.nlp.candidates import Candidate, RuleContext, place_title, rule, trim_end
from linernotes.nlp.patterns import CAP_RUN, find_patterns
from linernotes.nlp.rules_ner import PLACE_LABELS, work_kind, work_label

# " (1997)" right after a name: a dated release
_YEAR_AFTER = re.compile(r" \((?:19|20)\d\d\)")
_TITLE_YEAR = re.compile(rf"\((?P<t>{CAP_RUN}), (?:19|20)\d\d\)")
_YEAR_POSSESSIVE = re.compile(r"\d{4} ?['\u2019]s ")
_RUN_BEFORE = re.compile(rf"(?<![\w'])(?:{CAP_RUN})$")
# "Artist's Title", also as tokenised text writes it ("Artist 's Title", "The Beatles ' Title")
_POSSESSIVE = re.compile(rf" ?['\u2019]s? (?P<t>{CAP_RUN})")
# what the stock NER calls the run after a possessive when it is no work: a person ("Joe's
# brother Sam") or a place or venue ("South Africa's Cape Town Opera")
_NOT_POSSESSED_WORK = PLACE_LABELS | {"PERSON"}
NUMBER = re.compile(r"\d+s?")  # a year or decade, not a title
# capitalised words that start a sentence or name a kind, not a title ("Since X (1967)")
_NOT_TITLE_START = frozenset({"Since", "After", "Before", "In", "On", "With", "EPs", "LPs", "EP"})
# a credit line: "Words by", "Photo:", "Photography by", or "By" opening a line or sentence
_CREDIT = (
    r"(?:words|text|photos?|photographs?|photography|pictures?|images?|illustrations?|"
    r"interview|reporting|review|story|edited|posted|credits?)"
)
_BYLINE = re.compile(
    rf"(?:^|[\n|\u2022\u00b7\u2014]|[.!?]\s)\s*(?:{_CREDIT}\s*(?:by\b|:)|by\b)\s*$",
    re.I | re.M,
)
# a critic or journalist quoted about the music: "music critic Richie Unterberger"
_CRITIC = re.compile(r"\b(?:critics?|journalists?|reviewers?|columnists?)\s*$", re.I)
_CO_CREDIT = re.compile(r"\s*(?:,|&|and)\s*$")


@rule("patterns")
def patterns_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Surface patterns (nlp.patterns); their cues are evidence on their own."""
    return [
        Candidate(hit.start, hit.end, hit.label, hit.confidence, "pattern", True)
        for hit in find_patterns(ctx.text)
    ]


@rule("year_title")
def year_title_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """A capitalised name right before "(1997)" is a release, nearly always an album.

    Wikipedia-style text dates works in parentheses: "Miles Smiles (1966)". On CrossNER
    dev such names are albums nine times in ten; the music NER often calls them artists.
    An existing candidate ending there is relabelled (unless the catalogue knows it as an
    artist); otherwise the capitalised run before the year is added.
    """
    text, cands = ctx.text, ctx.cands
    out: list[Candidate] = []
    for match in _TITLE_YEAR.finditer(text):  # "Sir Lord Baltimore (Kingdom Come, 1970)"
        start, end = match.span("t")
        inside = [c for c in cands if c.start < end and start < c.end]
        for cand in inside:
            if (cand.start, cand.end) == (start, end):
                cand.label, cand.evidence, cand.method = "ALBUM", True, "year"
        if not inside:
            out.append(Candidate(start, end, "ALBUM", 0.7, "year", True))
    for match in _YEAR_AFTER.finditer(text):
        end = match.start()
        ending = [c for c in cands if c.end == end]
        for cand in ending:
            if cand.label == "ARTIST" and not ctx.known(text[cand.start : end], "ARTIST"):
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
        out.append(Candidate(start, end, "ALBUM", 0.7, "year", True))
    return out


@rule("possessive")
def possessive_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """The capitalised run after a sure artist's possessive is one of their works.

    "Overkill's Horrorscope", "Joe Walsh 's Rocky Mountain Way": the music NER misses most
    such titles or calls them artists. The kind comes from the sentence: an album word and
    no song word means ALBUM, otherwise TRACK (on CrossNER dev, two in three are songs).
    """
    text, cands = ctx.text, ctx.cands
    out: list[Candidate] = []
    for artist in [c for c in cands if c.label == "ARTIST" and c.evidence]:
        match = _POSSESSIVE.match(text, artist.end)
        if match is None:
            continue
        start, end = match.span("t")
        cut = text.find(" and ", start, end)
        end = trim_end(text, start, cut if cut > 0 else end)
        surface = text[start:end]
        if (
            NUMBER.fullmatch(surface)
            or ctx.stock.get((start, end)) in _NOT_POSSESSED_WORK
            or ctx.known(surface, "ARTIST")
        ):
            continue
        label = work_label(ctx, surface, work_kind(text, start), start)
        out.extend(place_title(cands, start, end, label, "possessive"))
    return out


@rule("title_by")
def title_by_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """The capitalised run in "Title by Artist" (unquoted) is the artist's work.

    Quoted titles are the patterns' business; Wikipedia-style text drops the quotes
    ("Folsom Prison Blues by Johnny Cash"). The kind comes from the sentence, as for
    possessives.
    """
    text, cands = ctx.text, ctx.cands
    out: list[Candidate] = []
    for artist in [c for c in cands if c.label == "ARTIST" and c.evidence]:
        by_start = artist.start - 4
        if by_start <= 0 or text[by_start : artist.start] != " by ":
            continue
        run = _RUN_BEFORE.search(text, max(0, by_start - 100), by_start)
        if run is None or NUMBER.fullmatch(run.group(0)) or ctx.known(run.group(0), "ARTIST"):
            continue
        start, end = run.span()
        label = work_label(ctx, run.group(0), work_kind(text, start), start)
        out.extend(place_title(cands, start, end, label, "title_by"))
    return out


@rule("byline")
def byline_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Drop "artists" that a credit line names: "Words by Mara Lind", "Photo: X", "By X".

    Music pages credit their writers and photographers in the same capitalised-name shape as
    artists, and the NER (and a catalogue that happens to hold the name) tag them. A credit cue
    right before the name, at the start of a line or sentence, says it is a person credited,
    not an artist discussed; names joined to it ("By A and B") go with it.
    """
    text = ctx.text
    dropped: list[Candidate] = []
    for cand in sorted(ctx.cands, key=lambda c: c.start):
        if cand.label != "ARTIST":
            continue
        if (
            _BYLINE.search(text, max(0, cand.start - 40), cand.start)
            or _CRITIC.search(text, max(0, cand.start - 20), cand.start)
        ) or any(_CO_CREDIT.fullmatch(text, d.end, cand.start) for d in dropped):
            dropped.append(cand)
    if dropped:
        gone = {id(c) for c in dropped}
        ctx.cands = [c for c in ctx.cands if id(c) not in gone]
    return []


@lru_cache(maxsize=1)
def genre_names() -> frozenset[str]:
    """The descriptor vocabulary's genres (nlp.vocabulary), normalised."""
    from linernotes.nlp.vocabulary import GENRES, _parse, normalize_term

    return frozenset(normalize_term(term) for term in _parse(GENRES))


_NEXT_WORD = re.compile(r"\s+([\w&-]+)")


@rule("genre_word")
def genre_word_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Drop "artists" that name a genre: a genre term, or a word a genre term follows.

    "Gospel music", "Texas country music", "Chicago blues", "Heavy metal", "Euro disco":
    a capitalised word right before a lower-case genre word (or "music") modifies the genre,
    even where a band of that name exists (Gospel, Texas, Chicago, The Heavy). A candidate
    that is itself a genre term ("Punk", "Soul", "Gospel music") is one too. Artists are
    named before "music" or a genre word hardly ever in running prose ("Beatles music").
    """
    from linernotes.nlp.vocabulary import normalize_term

    genres, text = genre_names(), ctx.text
    kept = []
    for cand in ctx.cands:
        if cand.label == "ARTIST":
            after = _NEXT_WORD.match(text, cand.end)
            word = after.group(1) if after else ""
            name = normalize_term(text[cand.start : cand.end]).removesuffix(" music")
            if name in genres or (word.islower() and (word in genres or word == "music")):
                continue
        kept.append(cand)
    ctx.cands = kept
    return []


# "... and the Ants", "... and the Family Band": a backing band's name after a leader's
_AND_THE_BAND = re.compile(r" (?:and|&) the ((?:[A-Z][\w'-]* )*[A-Z][\w'-]*)")
_BAND_NOUNS = frozenset(
    {"Band", "Orchestra", "Crew", "Gang", "Posse", "Experience", "Group", "Ensemble", "Revue"}
)


@rule("and_the_band")
def and_the_band_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """An artist followed by "and the Ys" (a plural or a band noun) is one artist with it.

    "Adam and the Ants", "Echo and the Bunnymen", "Robert Randolph and the Family Band":
    the NER cuts such names at "and". Where "the Ys" is a catalogue artist of its own
    ("Bob Dylan and the Beatles") they stay two, unless the whole name is catalogued; a
    place ("Peru and the United States") is no band.
    """
    text = ctx.text
    merged: list[Candidate] = []
    for cand in ctx.cands:
        match = _AND_THE_BAND.match(text, cand.end) if cand.label == "ARTIST" else None
        if match is None:
            continue
        band = match.group(1)
        last = band.rsplit(" ", 1)[-1]
        if not (last.endswith("s") or last in _BAND_NOUNS):
            continue
        the_band = (match.start(1) - 4, match.end())
        if {ctx.stock.get(the_band), ctx.stock.get(match.span(1))} & PLACE_LABELS:
            continue  # "Peru and the United States"
        whole = text[cand.start : match.end()]
        if not ctx.known(whole, "ARTIST") and (
            ctx.known(band, "ARTIST") or ctx.known("the " + band, "ARTIST")
        ):
            continue
        merged.append(
            Candidate(cand.start, match.end(), "ARTIST", cand.confidence + 0.1, "and_the", True)
        )
    if merged:
        spans = [(m.start, m.end) for m in merged]
        # in place: run_rules extends the list object it held before calling the rule
        ctx.cands[:] = [
            c for c in ctx.cands if not any(s <= c.start and c.end <= e for s, e in spans)
        ]
    return merged


@rule("year_trim")
def year_trim_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """ "1985's Little Creatures": a title candidate starting with a year's possessive loses it."""
    for cand in ctx.cands:
        lead = _YEAR_POSSESSIVE.match(ctx.text, cand.start, cand.end)
        if lead and cand.label != "ARTIST":
            cand.start = lead.end()
    return []
