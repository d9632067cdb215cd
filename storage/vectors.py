"""One vector column type above both backends.

PostgreSQL stores pgvector `vector` values, so k-NN runs in the database with
an HNSW index; SQLite stores compact little-endian float32 blobs (4 bytes a
dimension) that numpy reads without parsing. Python code sees `list[float]`
or numpy arrays on the way in and numpy float32 arrays on the way out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.engine import Dialect
from sqlalchemy.types import LargeBinary, TypeDecorator, TypeEngine


def to_blob(vector: Any) -> bytes:
    """Encode a vector as little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    """Decode float32 bytes written by `to_blob`."""
    return np.frombuffer(blob, dtype="<f4").copy()


class VectorBlob(TypeDecorator[Any]):
    """Dimension-free vector: pgvector `vector` on PostgreSQL, float32 blob elsewhere."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from pgvector.sqlalchemy import Vector

            return dialect.type_descriptor(Vector())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return np.asarray(value, dtype=np.float32)
        return to_blob(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return np.asarray(value, dtype=np.float32)
        return from_blob(value)
