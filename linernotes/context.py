"""Shared state of one CLI invocation: the database URL and the lazily opened store."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from storage import Store, open_store


@dataclass
class AppContext:
    """Holds `--db` and opens the store on first use, so `--help` never touches a database."""

    db_url: str | None
    debug: bool = False
    log_format: str = "text"
    _store: Store | None = field(default=None, repr=False)

    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.db_url)
        return self._store

    def close(self) -> None:
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
