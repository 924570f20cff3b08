"""The importer registry: content sniffing picks the right format; helpers importers share."""

from __future__ import annotations

from pathlib import Path

import pytest

from harlab.core.errors import HarlabError, ImportFormatError
from harlab.core.session import Session
from harlab.importers import ImportOptions, detect, get_importer, importers
from harlab.importers.importer import import_warnings, load_errors, resolve_timezone, warn


def test_fitbit_importers_are_registered() -> None:
    names = set(importers())
    assert {
        "fitbit_bin",
        "fitbit_csv",
        "fitbit_fetcher_csv",
        "fitbit_fetcher_bin",
        "fitbit_takeout",
        "fitbit_webapi_hr",
    } <= names
    assert not {k: v for k, v in load_errors().items() if k.startswith("fitbit")}
    assert get_importer("fitbit_takeout").accepts_directories


def test_unknown_format_name() -> None:
    with pytest.raises(HarlabError, match="unknown import format"):
        get_importer("no_such_format")


def test_detect_by_content_not_name(fitbit_seed: Path, tmp_path: Path) -> None:
    assert detect(next((fitbit_seed / "watch-bin").glob("*.bin"))).name == "fitbit_bin"
    assert detect(fitbit_seed / "training" / "sensor_original.csv").name == "fitbit_csv"
    # a seed CSV renamed to .txt is still a seed CSV; a seed .bin renamed without the stamp still sniffs
    renamed = tmp_path / "export.txt"
    renamed.write_bytes((fitbit_seed / "training" / "sensor_original.csv").read_bytes()[:2000])
    assert detect(renamed).name == "fitbit_csv"
    plain = tmp_path / "recording.bin"
    plain.write_bytes((fitbit_seed / "watch-bin" / "Walking_20200421155113.bin").read_bytes())
    assert detect(plain).name == "fitbit_bin"


def test_detect_refuses_random_bytes(tmp_path: Path) -> None:
    p = tmp_path / "mystery.dat"
    p.write_bytes(bytes(range(256)) * 3)
    with pytest.raises(ImportFormatError, match="no importer recognises"):
        detect(p)


def test_warnings_are_kept_on_the_session() -> None:
    s = Session()
    warn(s, "first")
    warn(s, "second")
    warn(s, "first")
    assert import_warnings(s) == ["first", "second"]


def test_resolve_timezone() -> None:
    assert resolve_timezone(ImportOptions(timezone="Asia/Tokyo")) == ("Asia/Tokyo", None)
    tz, msg = resolve_timezone(ImportOptions())
    assert tz == "UTC" and msg and "UTC" in msg
    with pytest.raises(HarlabError, match="Mars/Olympus"):
        resolve_timezone(ImportOptions(timezone="Mars/Olympus"))
