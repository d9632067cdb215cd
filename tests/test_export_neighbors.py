"""`export neighbors`: the plain neighbour list only, best first, on both backends."""

from __future__ import annotations

from linernotes.storage import Store
from linernotes.storage.models import Neighbor
from linernotes.vectors import export_table


def _row(rank: int, neighbor: str, model: str = "cultural") -> Neighbor:
    return Neighbor(
        entity_kind="track",
        entity_id="tr:a",
        rank=rank,
        neighbor_id=neighbor,
        score=1.0 / rank,
        model=model,
    )


def test_the_second_list_never_enters_the_export(store: Store) -> None:
    with store.session() as session:
        session.add_all(
            [_row(1, "tr:b"), _row(2, "tr:c"), _row(3, "tr:z", model="cultural-other-artists")]
        )
        session.commit()
    assert export_table(store, "track", 2) == {"tr:a": ["tr:b", "tr:c"]}
    # deeper than the plain table and no vectors to search: the table, not the other list
    assert export_table(store, "track", 10) == {"tr:a": ["tr:b", "tr:c"]}
