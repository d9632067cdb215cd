"""Click options shared by the commands that crawl (`crawl`, `run`).

Why one place: the two commands take the same crawl arguments and must validate
them the same way (`--max-pages 0` was refused by one and accepted by the other).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def crawl_options(command: F) -> F:
    """--sources, --source, --max-pages and --redis, validated alike wherever used."""
    options = (
        click.option(
            "--sources",
            "sources_file",
            required=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Sources file (TOML, keys in docs/sources.md).",
        ),
        click.option("--source", default=None, help="Only the source with this name."),
        click.option(
            "--max-pages",
            type=click.IntRange(min=1),
            default=None,
            help="Page cap per source this run.",
        ),
        click.option(
            "--redis",
            "redis_url",
            default=None,
            metavar="URL",
            help="Share the frontier with other workers through Redis (redis://host:6379/0); "
            "overrides [crawler] redis_url.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command
