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
