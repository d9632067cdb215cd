"""The pages' and charts' commands: `serve`, `report` and `trending` (docs/cli.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from linernotes.context import app
from linernotes.errors import UserFacingError


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve_command(host: str, port: int) -> None:
    """Browse profiles: search, descriptors, trends, neighbours, evidence, trending charts.

    Every profile is also JSON: /artist/ID.json, /track/ID.json, /trending.json.
    """
    from linernotes.server import serve

    serve(app(click.get_current_context()).api(), host, port)


@click.command("report")
@click.option("--artist", "artist", default=None, help="Artist id or name.")
@click.option("--track", "track", default=None, help="Track id or name.")
@click.option("--album", "album", default=None, help="Album id or name.")
@click.option("--all", "everything", is_flag=True, help="Every profiled entity: a static site.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="The HTML file (one entity) or folder (--all) to write.",
)
def report_command(
    artist: str | None, track: str | None, album: str | None, everything: bool, out: Path
) -> None:
    """Write one entity's profile page as an HTML file, or every page as a site (--all)."""
    from linernotes.commands.profiles import announce
    from linernotes.web import render_entity_page

    chosen = [(k, v) for k, v in (("artist", artist), ("track", track), ("album", album)) if v]
    if everything and chosen:
        raise click.UsageError("give --all or one of --artist, --track, --album, not both")
    if not everything and len(chosen) != 1:
        raise click.UsageError("give exactly one of --artist, --track, --album (or --all)")
    api = app(click.get_current_context()).api()
    if everything:
        from linernotes.site import write_site

        pages = write_site(api, out)
        click.echo(f"wrote {pages} profile pages and {out / 'index.html'}")
        return
    kind, ref = chosen[0]
    try:
        res = api.resolve(kind, ref)
    except UserFacingError:
        raise UserFacingError(f"no {kind} with id or name {ref!r}") from None
    announce(res)
    data = api.profile(kind, res.id)
    if data is None:  # pragma: no cover - resolve found it a moment ago
        raise UserFacingError(f"no {kind} with id or name {ref!r}")
    if out.is_dir():
        raise UserFacingError(f"--out {out} is a folder: give a file name (or use --all)")
    out.write_text(render_entity_page(data, live=False), encoding="utf-8")
    click.echo(f"wrote {out}")


@click.command("trending")
@click.option("--kind", type=click.Choice(["artist", "track"]), default="artist", show_default=True)
@click.option("--days", type=click.IntRange(1, 36600), default=7, show_default=True)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="End of the window (YYYY-MM-DD, exclusive; default now).",
)
@click.option("--rising", is_flag=True, help="Rank by the gain over the window before.")
@click.option("-n", "limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--posts", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output, with every post behind each.")
def trending_command(
    kind: str,
    days: int,
    until: datetime | None,
    rising: bool,
    limit: int,
    posts: int,
    as_json: bool,
) -> None:
    """Most written-about (or fastest-rising) artists or tracks of the last DAYS days.

    Ranked by distinct sources, then distinct posts: one prolific blog cannot
    carry a chart. Each entry lists the newest posts behind it.
    """
    api = app(click.get_current_context()).api()
    end = until.replace(tzinfo=UTC) if until else None
    order = "rising" if rising else "top"
    rows = api.trending_rows(kind, days, until=end, limit=limit, order=order)
    if as_json:
        click.echo(json.dumps({"kind": kind, "days": days, "order": order, "chart": rows}))
        return
    if not rows:
        from linernotes.trending import newest_post

        newest = newest_post(api.store, kind)
        hint = (
            f"the newest post mentioning one is from {newest.date()}: try a larger --days"
            if newest
            else "no post mentions a catalogue entry yet (`linernotes status`)"
        )
        raise UserFacingError(f"no {kind}s written about in the last {days} days; {hint}")
    for row in rows:
        by = f" - {row['artist_name']}" if kind != "artist" and row["artist_name"] else ""
        rise = f"  ({row['rise_sources']:+d} sources)" if rising else ""
        click.echo(
            f"{row['rank']:>3}  {row['name']}{by}  {_n(row['sources'], 'source')}, "
            f"{_n(row['posts'], 'post')}, {_n(row['mentions'], 'mention')}{rise}  ({row['id']})"
        )
        for post in row["posts_behind"][:posts]:
            click.echo(f"       {post['posted_at']}  {post['source']}  {post['title'] or ''}")
            click.echo(f"                   {post['url']}")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `serve`, `report` and `trending`."""
    cli.add_command(serve_command)
    cli.add_command(report_command)
    cli.add_command(trending_command)
