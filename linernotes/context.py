"""Shared state of one CLI invocation: the database URL and the lazily opened store.

Commands that write (import, crawl, extract, embed) take `store()`, which
creates or upgrades the schema; commands that only read take `api()`, a
read-only `linernotes.api.Linernotes`. A reading command never creates a
database, but it upgrades an existing one whose schema is behind, as every
command of the CONTRACT does; only the Python API's `open(readonly=True)`
refuses instead, so a notebook never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from linernotes.storage import Store

if TYPE_CHECKING:
    from linernotes.api import Linernotes


@dataclass
class AppContext:
    """Holds `--db` and opens the store on first use, so `--help` never touches a database."""

    db_url: str | None
    debug: bool = False
    log_format: str = "text"
    _store: Store | None = field(default=None, repr=False)
    _api: Linernotes | None = field(default=None, repr=False)

    def store(self) -> Store:
        """The database, created or upgraded to the current schema (for commands that write)."""
        if self._store is None:
            from linernotes.api import open as open_api

            self._store = open_api(self.db_url, readonly=False).store
        return self._store

    def api(self) -> Linernotes:
        """The read-only API over the database (for commands that only read)."""
        if self._api is None:
            from linernotes.api import Linernotes
            from linernotes.api import open as open_api

            if self._store is None:
                _upgrade_existing(self.db_url)
            self._api = (
                Linernotes(self._store, readonly=False)
                if self._store is not None
                else open_api(self.db_url, readonly=True)
            )
        return self._api

    def close(self) -> None:
        if self._api is not None and self._api.store is not self._store:
            self._api.close()
        self._api = None
        if self._store is not None:
            self._store.close()
            self._store = None


def app(ctx: click.Context) -> AppContext:
    """The AppContext of the running command."""
    obj = ctx.find_object(AppContext)
    if obj is None:  # pragma: no cover - only when a command is invoked outside `main`
        raise click.UsageError("linernotes commands must run under the main group")
    return obj


pass_app = click.make_pass_decorator(AppContext)


def _upgrade_existing(db_url: str | None) -> None:
    """Bring an existing database to the current schema (a missing file stays missing)."""
    from linernotes.api import as_url
    from linernotes.opening import check_sqlite_path
    from linernotes.storage import open_store, resolve_url

    url = resolve_url(as_url(db_url))
    check_sqlite_path(url, readonly=True)  # refuses a missing file, names a bad one
    open_store(url).close()
