"""``harlab import --participant``: sources that name their subjects keep them (two people never become one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harlab.cli import main
from harlab.storage import read_session


def _wisdm(folder: Path, subject: int) -> None:
    """A small WISDM 2019 watch accelerometer file of ``subject`` (20 Hz, walking)."""
    lines = [f"{subject},A,{252207666810782 + i * 50_000_000},0.1,9.7,0.3;\n" for i in range(400)]
    (folder / f"data_{subject}_accel_watch.txt").write_text("".join(lines))


def test_participant_does_not_merge_the_subjects_of_a_wisdm_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "wisdm"
    src.mkdir()
    for subject in (1600, 1601):
        _wisdm(src, subject)
    out = tmp_path / "out"
    assert main(["import", str(src), "-o", str(out), "--participant", "alice", "-q"]) == 0
    ids = sorted(read_session(p).metadata.participant_id for p in out.glob("*.h5"))
    assert ids == ["1600", "1601"]
    printed = capsys.readouterr().out
    assert "warning (2 inputs" in printed
    assert "--participant alice not applied: the source names its subjects" in printed


def test_participant_help_says_where_it_applies(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "sources that name their subjects (WISDM, UCI HAPT) keep their ids" in text
