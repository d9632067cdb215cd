"""Command modules, one per stage; each exposes `register(cli, groups)`.

`groups` holds the shared sub-groups (`catalog`, `eval`, `export`) so that
commands from different stages can sit under one name (`eval mentions`,
`eval similarity`).
"""

from __future__ import annotations

import click

from linernotes.commands import catalog, crawl, extract, ops, pages, pipeline, profiles, query

MODULES = (catalog, crawl, extract, profiles, query, pipeline, ops, pages)


@click.group("eval")
def eval_group() -> None:
    """Measure extraction and similarity against gold files."""


@click.group("export")
def export_group() -> None:
    """Export results in exchange formats."""


def register(cli: click.Group) -> None:
    """Attach every stage's commands to the main group."""
    groups = {"eval": eval_group, "export": export_group}
    cli.add_command(eval_group)
    cli.add_command(export_group)
    for module in MODULES:
        module.register(cli, groups)
