"""First-hour CLI defects (issue 17), each through the real ``harlab`` entry point."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harlab.cli import main
from harlab.simulate.batch_session import demo_model_path


@pytest.mark.parametrize(
    "command",
    [
        ["train", "{csv}", "-o", "{tmp}/m.harmodel"],
        ["evaluate", "{model}", "{csv}"],
        ["predict", "{model}", "{csv}"],
        ["explore", "{csv}", "-o", "{tmp}/pca.png"],
    ],
)
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


def test_counts_of_one_are_singular_in_predict_and_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 3 s session holds one 2.56 s window: 'predict' said '1 windows, 1 segments', 'info' '1 segments'."""
    from harlab.simulate.batch_session import make_demo_session
    from harlab.storage import save_session

    path = save_session(make_demo_session(0.05), tmp_path / "short.h5")
    assert main(["predict", str(demo_model_path()), str(path)]) == 0
    assert "  1 window, 1 segment in " in capsys.readouterr().err
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 source files" in out and "1 steps" not in out and "(s)" not in out
    assert " 1 segment  classes: walking (1)" in out
    assert "  1 window  1 segment  classes:" in out


def test_export_windows_defaults_are_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'export --to windows' cut 2 s windows while 'train' cuts 2.56 s every 1.28 s; now both cut the same."""
    from harlab.cli.ml_options import add_window_args
    from harlab.ml.dataset import build_dataset
    from harlab.simulate.batch_session import make_demo_session
    from harlab.storage import read_session, save_session

    path = save_session(make_demo_session(1.0), tmp_path / "s.h5")
    out = tmp_path / "w.npz"
    assert (
        main(
            [
                "export",
                str(path),
                "--to",
                "windows",
                "--track",
                "activity",
                "--streams",
                "accel,gyro",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    manifest = json.loads((tmp_path / "w.npz.json").read_text())
    p = argparse.ArgumentParser()
    add_window_args(p)
    train_window = p.parse_args([]).window
    data = build_dataset([read_session(path)], "activity", train_window, channels=["accel", "gyro"])
    assert (
        (manifest["window_s"], manifest["stride_s"])
        == (data.info.window_s, data.info.stride_s)
        == (2.56, 1.28)
    )
    assert manifest["n_windows"] == len(data.windows)


def test_export_default_window_is_rounded_at_a_rate_it_does_not_fit(tmp_path: Path) -> None:
    """2.56 s is 51.2 samples at 20 Hz (WISDM): the default is rounded as train rounds it, not refused."""
    from harlab.simulate.batch_session import make_demo_session
    from harlab.storage import save_session

    path = save_session(make_demo_session(1.0, rate_hz=20.0), tmp_path / "s.h5")
    out = tmp_path / "w.npz"
    assert (
        main(
            [
                "export",
                str(path),
                "--to",
                "windows",
                "--track",
                "activity",
                "--streams",
                "accel",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    manifest = json.loads((tmp_path / "w.npz.json").read_text())
    assert manifest["window_s"] == pytest.approx(2.55) and manifest["stride_s"] == pytest.approx(1.3)


def test_predict_warns_once_about_label_classes_the_model_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """UCI HAPT labels under the demo model: LAYING and WALKING_UPSTAIRS are no class of it; 'Walking' is."""
    from harlab.core.labels import LabelTrack, Segment
    from harlab.simulate.batch_session import make_demo_session
    from harlab.storage import save_session

    paths = []
    for i in range(2):
        session = make_demo_session(0.5, seed=i)
        track = LabelTrack("activity")
        track.add_many(
            [
                Segment(0.0, 10.0, "Walking"),
                Segment(10.0, 20.0, "LAYING"),
                Segment(20.0, 30.0, "WALKING_UPSTAIRS"),
            ]
        )
        session.label_tracks["activity"] = track
        paths.append(save_session(session, tmp_path / f"s{i}.h5"))
    assert main(["predict", str(demo_model_path()), *map(str, paths)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert (
        f"warning: {paths[0]}: its 'activity' labels have classes the model does not know: "
        "LAYING (nearest: lying), WALKING_UPSTAIRS"
    ) in err
    assert "Walking" not in err.split("warning:")[1].split(";")[0]
