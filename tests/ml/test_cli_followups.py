"""First-hour CLI defects (issue 17), each through the real ``harlab`` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from harlab.cli import main
from harlab.simulate.session import demo_model_path


@pytest.mark.parametrize("command", [
    ["train", "{csv}", "-o", "{tmp}/m.harmodel"],
    ["evaluate", "{model}", "{csv}"],
    ["predict", "{model}", "{csv}"],
    ["explore", "{csv}", "-o", "{tmp}/pca.png"],
])
def test_a_csv_given_for_a_session_says_import_it_first(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "walk.csv"
    csv.write_text("time,x,y,z\n0,1,2,3\n0.02,1,2,3\n")
    argv = [a.format(csv=csv, tmp=tmp_path, model=demo_model_path()) for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{csv} is not a harlab session file (HDF5); import it first: harlab import {csv} -o DIR" in err
    assert "bytes 0-7" not in err


def test_counts_of_one_are_singular_in_predict_and_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 3 s session holds one 2.56 s window: 'predict' said '1 windows, 1 segments', 'info' '1 segments'."""
    from harlab.simulate.session import make_demo_session
    from harlab.storage import save_session

    path = save_session(make_demo_session(0.05), tmp_path / "short.h5")
    assert main(["predict", str(demo_model_path()), str(path)]) == 0
    assert "  1 window, 1 segment in " in capsys.readouterr().err
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 source files" in out and "1 steps" not in out and "(s)" not in out
    assert " 1 segment  classes: walking (1)" in out
    assert "  1 window  1 segment  classes:" in out
