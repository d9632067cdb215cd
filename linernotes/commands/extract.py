"""`extract`, `annotate` and `eval mentions`: the mention stage from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from linernotes.context import AppContext, pass_app
from linernotes.errors import UserFacingError
from linernotes.output import echo_summary, json_option

F = TypeVar("F", bound=Callable[..., Any])
TRANSFORMER_NER_ENV = "LINERNOTES_TRANSFORMER_NER"


class _SwitchValue(click.types.BoolParamType):
    """click's boolean, whose error names the environment variable a bad value came from.

    Only the variable can carry a value here (the flags carry none), and click's own
    message names the flag, which the user did not type.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(
                f"{TRANSFORMER_NER_ENV}={value!r}: expected 1/0, true/false, yes/no or on/off",
                param,
                ctx,
            )


def transformer_ner_switch(command: F) -> F:
    """`--transformer-ner/--no-transformer-ner` (env LINERNOTES_TRANSFORMER_NER) for the
    commands that store mentions; None when neither is given, so `run` can fall back on
    the sources file's `[extract] transformer_ner`."""
    return click.option(
        "--transformer-ner/--no-transformer-ner",
        "transformer_ner",
        default=None,
        envvar=TRANSFORMER_NER_ENV,
        type=_SwitchValue(),
        help="Add the shipped transformer NER as a candidate source: better on conversational "
        "text (queries, forum posts); the mention pass about 2.5x slower (a two-model "
        f"ensemble); off by default (env {TRANSFORMER_NER_ENV}=1; docs/mentions.md).",
    )(command)


@click.command("extract")
@click.option("--processes", "-p", default=1, show_default=True, help="spaCy worker processes.")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Documents per commit.",
)
@transformer_ner_switch
@json_option
@pass_app
def extract_command(
    app: AppContext,
    processes: int,
    chunk_size: int,
    transformer_ner: bool | None,
    as_json: bool,
) -> None:
    """Find mentions in documents not processed yet (new or changed)."""
    from linernotes.nlp.extract import extract_documents

    summary = extract_documents(
        app.store(),
        n_process=processes,
        chunk_size=chunk_size,
        progress=sys.stderr.isatty(),
        transformer_ner=bool(transformer_ner),
    )
    echo_summary(summary, as_json)


# One annotate line is one document: spaCy's time and memory grow with its length
# (a 1 MB line took 104 s and 3.9 GB), so longer texts are refused, naming the line.
MAX_TEXT_CHARS = 100_000
# A line may escape every character as \uXXXX; past this it is refused unread.
MAX_LINE_BYTES = 6 * MAX_TEXT_CHARS + 4096


def read_jsonl(stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; a bad line is a UserFacingError.

    Lines are read as bytes with a bounded `readline`, so neither a huge line
    nor bytes that are not UTF-8 get further than one readable error line.
    """
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        where = f"{name}: line {number}"
        if len(raw) > MAX_LINE_BYTES:
            raise UserFacingError(f"{where}: longer than {MAX_LINE_BYTES} bytes; split the text")
        obj = _parse_line(raw, where)
        if obj is not None:
            yield number, obj


def _parse_line(raw: bytes, where: str) -> dict[str, Any] | None:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise UserFacingError(f"{where}: not UTF-8 (byte 0x{bad:02x} at {exc.start})") from None
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserFacingError(f"{where}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise UserFacingError(f"{where}: JSON nested too deeply") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise UserFacingError(f"{where}: expected an object with a 'text' string")
    if len(obj["text"]) > MAX_TEXT_CHARS:
        raise UserFacingError(
            f"{where}: text of {len(obj['text'])} characters is over the limit of "
            f"{MAX_TEXT_CHARS}; split it into several lines"
        )
    return obj


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
@click.option(
    "--batch", type=click.IntRange(min=1), default=64, show_default=True, help="Lines per batch."
)
@click.option(
    "--transformer-ner",
    is_flag=True,
    help="Add the shipped transformer NER as a candidate source (slower; docs/mentions.md).",
)
@pass_app
def annotate_command(
    app: AppContext, input_path: Path | None, batch: int, transformer_ner: bool
) -> None:
    """Write each input JSONL object back with the mentions found in its text as `spans`."""
    from linernotes.nlp.extract import make_extractor

    extractor = make_extractor(app.store(), transformer_ner=transformer_ner)
    name = str(input_path) if input_path else "<stdin>"
    stream = input_path.open("rb") if input_path else sys.stdin.buffer
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
    default=None,
    help="Gold JSONL (text + spans) to score against.",
)
@click.option(
    "--split",
    type=click.Choice(["tune", "check"]),
    default=None,
    help="Only this fixed half of the gold file (by a hash of each text; see docs/mentions.md).",
)
@click.option(
    "--musicreconer",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A MusicRecoNER dataset directory (ground-truth.bio + queries.csv) to score against,"
    " or a BIO file alone (dataset4/train.bio: datasets 1-3, lower-cased tokens).",
)
@click.option(
    "--fold",
    type=click.IntRange(0, 4),
    default=None,
    help="Only this MusicRecoNER cross-validation fold (0 is the one the transformer NER was"
    " not trained on).",
)
@click.option("--without", multiple=True, help="Leave out this candidate rule (repeatable).")
@click.option(
    "--contributions", is_flag=True, help="Show what leaving out each rule in turn costs."
)
@click.option(
    "--catalog",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Link against this catalogue file instead of the database's catalogue.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option(
    "--transformer-ner",
    is_flag=True,
    help="Add the shipped transformer NER as a candidate source (slower; docs/mentions.md).",
)
@pass_app
def eval_mentions_command(
    app: AppContext,
    gold: Path | None,
    split: str | None,
    musicreconer: Path | None,
    fold: int | None,
    without: tuple[str, ...],
    contributions: bool,
    catalog: Path | None,
    as_json: bool,
    transformer_ner: bool,
) -> None:
    """Precision, recall and F1 per label and micro-averaged (exact span and label)."""
    from linernotes.nlp.evaluate import (
        GoldFormatError,
        evaluate_extractor,
        format_contributions,
        format_scores,
        load_gold,
        load_musicreconer,
        rule_contributions,
        select_fold,
        select_split,
    )
    from linernotes.nlp.extract import make_extractor

    if gold is None and musicreconer is None:
        raise UserFacingError("eval mentions: give --gold FILE and/or --musicreconer DIR")
    sets = []
    try:
        if gold is not None:
            name = f"{gold} [{split}]" if split else str(gold)
            sets.append((name, select_split(load_gold(gold), split)))
        if musicreconer is not None:
            name = f"{musicreconer} [fold {fold}]" if fold is not None else str(musicreconer)
            sets.append((name, select_fold(load_musicreconer(musicreconer), fold)))
        extractor = make_extractor(
            app.store(), without=without, catalog=catalog, transformer_ner=transformer_ner
        )
    except (GoldFormatError, ValueError, OSError) as exc:
        raise UserFacingError(str(exc)) from None
    results = {}
    for name, examples in sets:
        if contributions:
            rows = rule_contributions(extractor, examples)
            results[name] = {rule: scores for rule, scores in rows}
            text = format_contributions(rows)
        else:
            results[name] = evaluate_extractor(extractor, examples)
            text = format_scores(results[name])
        if not as_json:
            if len(sets) > 1 or split or fold is not None or contributions:
                click.echo(f"== {name} ({len(examples)} texts)")
            click.echo(text)
    if as_json:
        only = next(iter(results.values())) if len(results) == 1 else results
        click.echo(json.dumps(only, indent=2))


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `extract`, `annotate` and `eval mentions`."""
    cli.add_command(extract_command)
    cli.add_command(annotate_command)
    groups["eval"].add_command(eval_mentions_command)
