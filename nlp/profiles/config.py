"""The embed stage's knobs, its default combination of parts, and its run summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from linernotes.nlp.count_profiles import ERA_DECADES
from linernotes.nlp.descriptors import SalienceConfig
from linernotes.nlp.embeddings import MODEL_NAME, encoder_spec
from linernotes.nlp.similarity import COMENTION_DIM, TFIDF_DIM, Combination
from linernotes.nlp.vocabulary import GENRE_FAMILIES, prototype_terms
from linernotes.nlp.word2vec import Word2VecConfig

CULTURAL = "cultural"
OTHER_ARTISTS = "cultural-other-artists"  # neighbour rows: a track's nearest by other artists
STATE_KEY = "profiles"
DRIFT_KEY = "profiles-drift"  # documents rebuilt since the last full pass, and the corpus size
SALIENCE = "tfidf-hash"  # descriptor salience weights (exact sparse in the neighbour table)
TEXT = "text-hash"  # the evidence's own words, 1-2 grams TF-IDF (exact sparse)
CONTEXT = "context-hash"  # the names around the entity (exact sparse; also the walk's graph)
SPARSE_PARTS = (SALIENCE, TEXT, CONTEXT)
# Count profiles compared by plain cosine: centring would make "no years in the text"
# look like "unlike the average era" (measured: era centred 0.178 vs plain 0.181 P@10).
UNCENTRED = frozenset({"era", "genre-family"})
# Every part that beats random on both development sets, at equal weight, each part's
# similarities z-scored per query and smoothed by a walk over the names around the
# entities. Chosen on sas_mirex and wikimt_songs together (docs/similarity.md); weights
# are not fitted: the grid over subsets and weights gave nothing that held on both sets.
DEFAULT_COMBINATION = Combination(
    (
        (SALIENCE, 1.0),
        (TEXT, 1.0),
        (CONTEXT, 1.0),
        ("minilm-mean", 1.0),
        ("minilm-vocab", 1.0),
        ("era", 1.0),
        ("genre-family", 1.0),
        ("w2v-terms", 0.0),
        ("w2v-entity", 0.0),
    ),
    standardise=True,
    walk=1.0,
)


@dataclass
class ProfileConfig:
    """Knobs of the stage; `signature()` decides when everything must be recomputed."""

    salience: SalienceConfig = field(default_factory=SalienceConfig)
    word2vec: Word2VecConfig = field(default_factory=Word2VecConfig)
    combination: Combination = DEFAULT_COMBINATION
    top_n: int = 100
    month_top_n: int = 20
    neighbors_k: int = 20
    # Tracks shrink towards their artist with k / (support + k). 0 since every song page
    # gives its track evidence: on wikimt_songs k=5 cost 0.02 P@10 (minilm-mean alone
    # 0.272 -> 0.252) and filled "Blue Monday"'s list with New Order.
    track_backoff_k: float = 0.0
    context_self: float = 1.0  # the entity's own artist among its names, x the others' norm
    vocab_temperature: float = 0.1
    use_minilm: bool = True
    # The sentence encoder of the `minilm-mean` and `minilm-vocab` parts (the part names
    # stay; `vectors.model_version` names the encoder). A name in nlp.embeddings.ENCODERS;
    # changing it recomputes every entity and reads no cached vector of another encoder.
    encoder: str = MODEL_NAME
    use_word2vec: bool = True
    # Descriptive vocabulary terms the neighbours' texts use and the entity's does not,
    # stored as descriptors with source 'neighbours' (nlp/profiles/borrowed.py).
    infer_from_neighbours: bool = True
    # An incremental run rewrites only entities whose evidence changed; once the documents
    # rebuilt since the last full pass exceed this share of the corpus, every entity is
    # rewritten with the current document frequencies (docs/scale-out.md, "Incremental embed").
    refresh_share: float = 0.2

    def dims(self, w2v_dim: int) -> dict[str, int]:
        return {
            SALIENCE: TFIDF_DIM,
            TEXT: TFIDF_DIM,
            CONTEXT: COMENTION_DIM,
            "minilm-mean": encoder_spec(self.encoder).dim,
            "minilm-vocab": len(prototype_terms()),
            "era": len(ERA_DECADES),
            "genre-family": len(GENRE_FAMILIES),
            "w2v-entity": w2v_dim,
            "w2v-terms": w2v_dim,
        }

    def signature(self, w2v_version: str) -> str:
        return json.dumps(
            [
                self.salience.version,
                self.salience.scheme,
                self.salience.vocab_boost,
                list(self.combination.weights),
                self.combination.standardise,
                self.combination.walk,
                self.track_backoff_k,
                self.context_self,
                "parts-v3",
                self.vocab_temperature,
                self.use_minilm,
                self.encoder,
                self.infer_from_neighbours,
                w2v_version,
            ]
        )


@dataclass
class ProfileSummary:
    """What one run did, for the run log and the CLI."""

    documents_seen: int = 0
    documents_rebuilt: int = 0
    evidence_rows: int = 0
    entities_recomputed: int = 0
    entities_removed: int = 0
    sentences_embedded: int = 0
    sentences_cached: int = 0
    word2vec: str = "none"
    word2vec_retrained: bool = False
    neighbors_written: int = 0
    seconds: float = 0.0

    def format(self) -> str:
        return (
            f"embed: {self.documents_rebuilt}/{self.documents_seen} documents with new evidence "
            f"({self.evidence_rows} sentences), {self.entities_recomputed} entities profiled, "
            f"{self.entities_removed} removed; sentences embedded {self.sentences_embedded}, "
            f"from cache {self.sentences_cached}; word2vec {self.word2vec}"
            f"{' (retrained)' if self.word2vec_retrained else ''}; "
            f"{self.neighbors_written} neighbour rows; {self.seconds:.1f}s"
        )
