"""`load_matrix`: every vector of a kind and model, in id order, equal on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from linernotes.nlp.profiles import load_matrix
from linernotes.storage import Store
from linernotes.storage.models import Vector


def _vector(entity_id: str, values: list[float], model: str = "cultural") -> Vector:
    return Vector(
        entity_kind="track",
        entity_id=entity_id,
        model=model,
        model_version="test",
        dim=len(values),
        vector=values,
        support=1,
        backoff=0.0,
        updated_at=datetime.now(UTC),
    )


def test_rows_in_id_order_and_values_exact(store: Store) -> None:
    with store.session() as session:
        session.add_all(
            [
                _vector("tr:b", [0.5, -1.25, 3.0]),
                _vector("tr:a", [1.0, 2.0, 0.125]),
                _vector("tr:c", [9.0, 9.0, 9.0], model="minilm-mean"),  # another model
            ]
        )
        session.commit()
    ids, matrix = load_matrix(store, "track", "cultural")
    assert ids == ["tr:a", "tr:b"]
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[1.0, 2.0, 0.125], [0.5, -1.25, 3.0]])
    assert load_matrix(store, "artist", "cultural")[0] == []


def test_mixed_dimensions_are_still_read(sqlite_store: Store) -> None:
    """A model whose dimension changed between runs must not be reshaped into garbage."""
    with sqlite_store.session() as session:
        session.add_all([_vector("tr:a", [1.0, 2.0]), _vector("tr:b", [3.0, 4.0, 5.0])])
        session.commit()
    with pytest.raises(ValueError):  # refused, never reshaped into a wrong matrix
        load_matrix(sqlite_store, "track", "cultural")
