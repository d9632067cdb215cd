"""Query results as pandas DataFrames, for notebooks and ad-hoc analysis.

pandas is imported inside the function: `storage` is imported by every CLI
command, and pandas alone costs a noticeable part of a second at start-up.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text

from linernotes.storage.db import Store
from linernotes.storage.views import VIEW_NAMES

if TYPE_CHECKING:
    import pandas

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _relation_names(store: Store) -> set[str]:
    found = inspect(store.engine)
    return set(VIEW_NAMES) | set(found.get_table_names()) | set(found.get_view_names())


def query_frame(
    store: Store, sql_or_view_name: str, params: dict[str, Any] | None = None
) -> pandas.DataFrame:
    """Run SQL (with `:name` parameters) or read a whole view/table into a DataFrame.

    A bare name such as "track_descriptors" means `SELECT * FROM` it; it is
    checked against the database's own tables and views, so a name can never
    smuggle SQL in. Anything else is executed as given.
    """
    import pandas

    sql = sql_or_view_name.strip()
    if _IDENTIFIER.fullmatch(sql):
        if sql not in _relation_names(store):
            raise KeyError(f"no table or view named {sql!r}")
        sql = f"SELECT * FROM {sql}"
    with store.engine.connect() as conn:
        return pandas.read_sql_query(text(sql), conn, params=params or {})
