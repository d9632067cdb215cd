"""`--json` for the commands that print a stage summary.

Every stage returns a dataclass with a `format()` for people; `--json`
prints the same dataclass as one JSON object for scripts, so a summary never
has to be parsed from text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

json_option: Callable[[F], F] = click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as one JSON object."
)


def as_plain(summary: Any) -> Any:
    """A summary dataclass (or anything JSON takes) as plain data."""
    if is_dataclass(summary) and not isinstance(summary, type):
        return asdict(summary)
    return summary


def echo_summary(summary: Any, as_json: bool) -> None:
    """Print a stage summary: its `format()` text, or JSON with `--json`."""
    if as_json:
        click.echo(json.dumps(as_plain(summary), default=str, ensure_ascii=False))
    else:
        click.echo(summary.format())
