"""`extract`, `annotate` and `eval mentions`: the mention stage from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from linernotes.context import AppContext, pass_app
from linernotes.errors import UserFacingError
from linernotes.output import echo_summary, json_option


@click.command("extract")
@click.option("--processes", "-p", default=1, show_default=True, help="spaCy worker processes.")
@click.option("--chunk-size", default=200, show_default=True, help="Documents per commit.")
@json_option
@pass_app
def extract_command(app: AppContext, processes: int, chunk_size: int, as_json: bool) -> None:
    """Find mentions in documents not processed yet (new or changed)."""
    from nlp.extract import extract_documents

    summary = extract_documents(
        app.store(), n_process=processes, chunk_size=chunk_size, progress=sys.stderr.isatty()
    )
    echo_summary(summary, as_json)


def read_jsonl(stream: IO[str], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; a bad line is a UserFacingError."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserFacingError(f"{name}: line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise UserFacingError(f"{name}: line {number}: expected an object with a 'text' string")
        yield number, obj


def span_json(mention: Any) -> dict[str, Any]:
    """CONTRACT span format: start, end, label, plus id and name when linked."""
    span: dict[str, Any] = {"start": mention.start, "end": mention.end, "label": mention.label}
    if mention.entity_id:
        span["id"] = mention.entity_id
        span["name"] = mention.name
    return span


@click.command("annotate")
@click.option(
    "--input",
    "input_path",
    type=click.Path(path_type=Path),
    default=None,
    help="JSONL file with a 'text' field per line (default: stdin).",
)
@click.option("--batch", default=64, show_default=True, help="Lines per batch.")
@pass_app
def annotate_command(app: AppContext, input_path: Path | None, batch: int) -> None:
    """Write each input JSONL object back with the mentions found in its text as `spans`."""
    from nlp.extract import make_extractor

    extractor = make_extractor(app.store())
    name = str(input_path) if input_path else "<stdin>"
    stream = input_path.open(encoding="utf-8") if input_path else sys.stdin
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        texts = [obj["text"] for obj in pending]
        for obj, found in zip(pending, extractor.annotate(texts), strict=True):
            out = dict(obj)
            out["spans"] = [span_json(m) for m in found]
            click.echo(json.dumps(out, ensure_ascii=False))
        pending.clear()

    try:
        for _, obj in read_jsonl(stream, name):
            pending.append(obj)
            if len(pending) >= batch:
                flush()
    finally:
        if pending:
            flush()
        if input_path:
            stream.close()


@click.command("mentions")
@click.option(
    "--gold",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="Gold JSONL (text + spans) to score against.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@pass_app
def eval_mentions_command(app: AppContext, gold: Path, as_json: bool) -> None:
    """Precision, recall and F1 per label and micro-averaged (exact span and label)."""
    from nlp.evaluate import format_scores, load_gold, score
    from nlp.extract import make_extractor

    examples = load_gold(gold)
    extractor = make_extractor(app.store())
    predicted = [
        [(m.start, m.end, m.label) for m in found]
        for found in extractor.annotate(ex.text for ex in examples)
    ]
    scores = score(examples, predicted)
    click.echo(json.dumps(scores, indent=2) if as_json else format_scores(scores))


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `extract`, `annotate` and `eval mentions`."""
    cli.add_command(extract_command)
    cli.add_command(annotate_command)
    groups["eval"].add_command(eval_mentions_command)
