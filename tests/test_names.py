"""Name normalisation: the matching key shared by catalogue and linker."""

from __future__ import annotations

import pytest

from storage.names import normalize_name, slugify


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The Beatles", "beatles"),
        ("Simon & Garfunkel", "Simon and Garfunkel"),
        ("Björk", "BJORK"),
        ("Guns N' Roses", "guns n roses"),
        ("AC/DC", "ACDC"),
        ("  Sigur   Rós ", "sigur ros"),
    ],
)
def test_equivalent_spellings_share_a_key(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


def test_distinct_names_stay_distinct() -> None:
    assert normalize_name("Low") != normalize_name("Yellow")
    assert normalize_name("The The") == "the"  # never normalised to empty


def test_slug_is_url_safe_and_readable() -> None:
    assert slugify("Sigur Rós") == "sigur-ros"
    assert slugify("Simon & Garfunkel") == "simon-and-garfunkel"
    assert slugify("!!!") == "x"
