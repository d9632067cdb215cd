"""The embed stage's knobs, its default combination of parts, and its run summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from nlp.descriptors import ERA_DECADES, SalienceConfig
from nlp.embeddings import DIM as MINILM_DIM
from nlp.similarity import COMENTION_DIM, TFIDF_DIM, Combination
from nlp.vocabulary import GENRE_FAMILIES, prototype_terms
from nlp.word2vec import Word2VecConfig

CULTURAL = "cultural"
STATE_KEY = "profiles"
# Count profiles compared by plain cosine: centring would make "no years in the text"
# look like "unlike the average era" (measured: era centred 0.178 vs plain 0.181 P@10).
UNCENTRED = frozenset({"era", "genre-family"})
DEFAULT_COMBINATION = Combination(
    (
        ("tfidf-hash", 1.0),
        ("minilm-vocab", 1.0),
        ("era", 0.3),
        ("genre-family", 0.3),
        ("minilm-mean", 0.3),
        ("comention-hash", 0.1),
        ("w2v-entity", 0.0),
        ("w2v-terms", 0.0),
    )
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
    track_backoff_k: float = 5.0
    comention_self: float = 1.0
    comention_in_terms: float = 0.0  # co-mentioned entities as TF-IDF features (measured: no gain)
    vocab_temperature: float = 0.1
    use_minilm: bool = True
    use_word2vec: bool = True

    def dims(self, w2v_dim: int) -> dict[str, int]:
        return {
            "tfidf-hash": TFIDF_DIM,
            "comention-hash": COMENTION_DIM,
            "minilm-mean": MINILM_DIM,
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
                self.track_backoff_k,
                self.comention_self,
                self.comention_in_terms,
                self.vocab_temperature,
                self.use_minilm,
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
