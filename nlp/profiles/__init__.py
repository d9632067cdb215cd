"""The embed stage, one module per step (see nlp/profiles/stage.py and docs/similarity.md).

config          knobs, the default combination, the run summary
corpus          evidence, names and targets read from the database
sentence_cache  MiniLM embeddings through the one `sentence_embeddings` cache
features        every part of a profile from arrays (no database)
writers         descriptors, vectors, entity states
neighbours      the neighbour table and the pgvector index
stage           `build_profiles`, the order of the steps
"""

from linernotes.nlp.profiles.config import (
    CULTURAL,
    DEFAULT_COMBINATION,
    OTHER_ARTISTS,
    UNCENTRED,
    ProfileConfig,
    ProfileSummary,
)
from linernotes.nlp.profiles.neighbours import load_matrix, sparse_terms, write_neighbors
from linernotes.nlp.profiles.sentence_cache import embed_pending_sentences
from linernotes.nlp.profiles.stage import build_profiles

__all__ = [
    "CULTURAL",
    "DEFAULT_COMBINATION",
    "OTHER_ARTISTS",
    "UNCENTRED",
    "ProfileConfig",
    "ProfileSummary",
    "build_profiles",
    "embed_pending_sentences",
    "load_matrix",
    "sparse_terms",
    "write_neighbors",
]
