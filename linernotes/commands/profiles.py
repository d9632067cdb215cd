"""Placeholder: the profiles stage's commands are being built."""

from __future__ import annotations

import click


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Nothing registered yet."""
