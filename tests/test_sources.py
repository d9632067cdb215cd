"""The sources file: the contract's format, our extensions, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from linernotes.crawler.sources import SourceConfigError, load_sources, parse_duration


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_contract_example_parses(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        r"""
[[source]]
name = "some-blog"
start_urls = ["https://example.org/"]
feeds = ["https://example.org/feed"]
sitemaps = ["https://example.org/sitemap.xml"]
allow = ["/\\d{4}/\\d{2}/"]
deny = ["/tag/", "/page/\\d+"]
max_pages = 500
allow_private_addresses = false
recrawl_after = "12h"
""",
    )
    parsed = load_sources(path)
    (src,) = parsed.sources
    assert src.name == "some-blog"
    assert src.max_pages == 500
    assert src.recrawl_after == 12 * 3600
    assert src.hosts == frozenset({"example.org"})
    assert parsed.crawler.user_agent_string.endswith("(+https://github.com/linernotes/linernotes)")


def test_repo_sources_file_is_valid() -> None:
    parsed = load_sources(Path(__file__).resolve().parents[1] / "sources.toml")
    assert len(parsed.sources) >= 3
    assert all(s.max_pages is not None and s.max_pages <= 500 for s in parsed.sources)
    assert all(not s.allow_private_addresses for s in parsed.sources)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[source]]\nname = "a"\nstart_urls = ["ftp://x.org/"]', "source 'a': key 'start_urls'"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://x.org/"]\nallow = ["("]', "key 'allow'"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://x.org/"]\nmax_pages = "ten"', "max_pages"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://x.org/"]\nspeed = 3', "key 'speed'"),
        ('[[source]]\nname = "a"', "needs start_urls, feeds or sitemaps"),
        ('[[source]]\nstart_urls = ["https://x.org/"]', "source #1: key 'name'"),
        (
            '[[source]]\nname = "a"\nstart_urls = ["https://x.org/"]\n'
            '[[source]]\nname = "a"\nstart_urls = ["https://y.org/"]',
            "used twice",
        ),
        (
            '[crawler]\ncontact = "me"\n[[source]]\nname = "a"\nfeeds = ["https://x.org/f"]',
            "contact",
        ),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_errors_name_file_source_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SourceConfigError) as info:
        load_sources(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message


def test_missing_file_and_unknown_source(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="not found"):
        load_sources(tmp_path / "nope.toml")
    path = write(tmp_path, '[[source]]\nname = "a"\nfeeds = ["https://x.org/f"]')
    with pytest.raises(SourceConfigError, match="no source named 'b'"):
        load_sources(path).select("b")


def test_durations() -> None:
    assert parse_duration(30) == 30
    assert parse_duration("2d") == 2 * 86400
    assert parse_duration("1.5h") == 5400
    with pytest.raises(ValueError):
        parse_duration("soon")


SOURCE = '[[source]]\nname = "a"\nstart_urls = ["https://x.org/"]\n'


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[crawler]\ndelay = inf\n" + SOURCE, "[crawler]: key 'delay'"),
        ("[crawler]\ndelay = nan\n" + SOURCE, "[crawler]: key 'delay'"),
        ("[crawler]\ntimeout = nan\n" + SOURCE, "[crawler]: key 'timeout'"),
        ("[crawler]\ntimeout = -inf\n" + SOURCE, "[crawler]: key 'timeout'"),
        ("[crawler]\ndelay = 1e9\n" + SOURCE, "[crawler]: key 'delay'"),
        ("[crawler]\nmax_bytes = 100000000000000000000\n" + SOURCE, "key 'max_bytes'"),
        ("[crawler]\nbatch_size = 0\n" + SOURCE, "[crawler]: key 'batch_size'"),
        ("[crawler]\nredis_max_idle = inf\n" + SOURCE, "[crawler]: key 'redis_max_idle'"),
        ("[crawler]\nextract_workers = -1\n" + SOURCE, "[crawler]: key 'extract_workers'"),
        ("[crawler]\nextract_workers = 1.5\n" + SOURCE, "[crawler]: key 'extract_workers'"),
        (SOURCE + "delay = inf\n", "source 'a': key 'delay'"),
        (SOURCE + "delay = -nan\n", "source 'a': key 'delay'"),
        (SOURCE + "max_pages = 10000000000\n", "source 'a': key 'max_pages'"),
        (SOURCE + "max_depth = 100000\n", "source 'a': key 'max_depth'"),
        (SOURCE + "recrawl_after = inf\n", "source 'a': key 'recrawl_after'"),
        (SOURCE + "recrawl_after = nan\n", "source 'a': key 'recrawl_after'"),
        (SOURCE + "recrawl_after = '99999999w'\n", "source 'a': key 'recrawl_after'"),
    ],
)
def test_numbers_must_be_finite_and_in_range(tmp_path: Path, body: str, key: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SourceConfigError) as info:
        load_sources(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and key in message
    assert len(message.splitlines()) == 1


def test_latin1_file_and_directory_are_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes((SOURCE + "# caf\u00e9 notes\n").encode("latin-1"))
    with pytest.raises(SourceConfigError) as info:
        load_sources(path)
    assert str(info.value) == f"{path}: line 4: not UTF-8 (byte 0xe9); save the file as UTF-8"
    with pytest.raises(SourceConfigError, match="is a directory"):
        load_sources(tmp_path)
