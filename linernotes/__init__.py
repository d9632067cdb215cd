"""linernotes: what people write about music, turned into per-track profiles.

`linernotes.open(db)` is the Python API (`linernotes.api`): queries that
return pandas DataFrames, the same ones the CLI and the pages use. It is
imported on first use, so `import linernotes` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "open"]

if TYPE_CHECKING:
    from linernotes.api import open


def __getattr__(name: str) -> Any:
    if name == "open":
        from linernotes.api import open as open_db

        return open_db
    raise AttributeError(f"module 'linernotes' has no attribute {name!r}")
