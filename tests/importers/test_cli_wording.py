"""What ``harlab import`` and ``harlab info`` print reads right: counts in the right number, the few
inputs a shared warning concerns named, and a multi-line metadata value kept under its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harlab.cli import main


def test_one_input_one_session_reads_in_the_singular(
    fitbit_seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = fitbit_seed / "watch-bin" / "Walking_20200421155113.bin"
    assert main(["import", str(src), "-o", str(tmp_path / "w.h5"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "1 session;" in out and "1 label segment\n" in out
    assert "1 of 1 input imported, 1 session file written to" in out
    assert "(s)" not in out and "1 session files" not in out


def test_a_shared_warning_names_its_few_inputs(
    fitbit_seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csvs = sorted((fitbit_seed / "training").glob("*.csv"))
    assert main(["import", *map(str, csvs), "-o", str(tmp_path / "o"), "-q"]) == 0
    out = capsys.readouterr().out
    clipped = [line for line in out.splitlines() if "flagged as clipped" in line]
    assert clipped and all(
        line.startswith("warning (2 inputs: sensor_20200421194117.csv, sensor_original.csv): ")
        for line in clipped
    )


def test_info_keeps_a_multi_line_value_under_its_key(
    fitbit_seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = fitbit_seed / "training" / "sensor_original.csv"
    assert main(["import", str(src), "-o", str(tmp_path / "o"), "-q"]) == 0
    capsys.readouterr()
    assert main(["info", str(next((tmp_path / "o").glob("*run01*.h5")))]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(i for i, line in enumerate(lines) if "import_warnings = " in line)
    assert "no time column" in lines[i]
    assert lines[i + 1].startswith(" " * lines[i].index("= ") + "  this file concatenates"), lines[i + 1]
