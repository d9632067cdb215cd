"""Catalogue import messages name the right line and say what the path is."""

from __future__ import annotations

from pathlib import Path

import pytest

from linernotes.storage import Store
from linernotes.storage.catalog import CatalogError, import_catalog

HEADER = "artist_id,artist,track_id,track,album_id,album\n"


def test_oversized_csv_field_names_its_own_line(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(HEADER + ",A,,B,,\n,C," + "x" * 1_000_000 + ",D,,\n,E,,F,,\n")
    with pytest.raises(CatalogError) as caught:
        import_catalog(sqlite_store, path)
    assert str(caught.value).startswith(f"{path}: line 3: malformed CSV: field larger than")


def test_oversized_field_right_after_the_header(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(HEADER + ",A," + "x" * 1_000_000 + ",B,,\n")
    with pytest.raises(CatalogError, match=r"big\.csv: line 2: malformed CSV"):
        import_catalog(sqlite_store, path)


def test_a_directory_is_not_called_missing(sqlite_store: Store, tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        import_catalog(sqlite_store, tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory, not a catalogue file"
    with pytest.raises(CatalogError, match="no such file"):
        import_catalog(sqlite_store, tmp_path / "missing.csv")
