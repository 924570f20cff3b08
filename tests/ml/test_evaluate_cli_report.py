"""What ``harlab evaluate`` prints must mean something: no scores for classes the sessions lack,
and a warning when the sessions are ones the model was trained on."""

from __future__ import annotations

import json

import pytest

from harlab.cli import main
from harlab.storage import save_session

from .conftest import make_session


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    paths = [str(save_session(make_session(f"P{i}", seed=i), tmp / f"p{i}.h5")) for i in range(3)]
    model = tmp / "m.harmodel"
    assert (
        main(["train", *paths, "-o", str(model), "--window", "2", "--preset", "features", "--no-track", "-q"])
        == 0
    )
    return tmp, paths, str(model)


def test_classes_absent_from_the_sessions_show_no_score(trained, capsys):
    tmp, _, model = trained
    # two bouts: sitting then walking; the model also knows running
    two = str(save_session(make_session("Q", seed=0, bouts=2), tmp / "two.h5"))
    capsys.readouterr()
    assert main(["evaluate", model, two, "--no-track", "-q"]) == 0
    out = capsys.readouterr().out
    running = next(line for line in out.splitlines() if line.startswith("running"))
    assert running.split()[1:] == ["-", "-", "-", "0"], running
    assert "0.000" not in running
    assert "no window of running in these sessions" in out
    sitting = next(line for line in out.splitlines() if line.startswith("sitting"))
    assert "-" not in sitting.split()[1:]


def test_evaluating_on_training_sessions_is_flagged(trained, capsys):
    tmp, paths, model = trained
    new = str(save_session(make_session("Q", seed=11), tmp / "new.h5"))
    capsys.readouterr()
    assert main(["evaluate", model, paths[0], new, "--no-track"]) == 0
    err = capsys.readouterr().err
    assert "trained on 1 of these 2 sessions (p0)" in err
    assert main(["evaluate", model, new, "--no-track"]) == 0
    assert "trained on" not in capsys.readouterr().err


def test_quiet_keeps_the_warnings_and_drops_the_notes(trained, capsys):
    """``-q``: "results, warnings and errors are still shown"; the driver's quiet dropped every
    line on stderr, the warning that the scores are of training sessions too."""
    _, paths, model = trained
    capsys.readouterr()
    assert main(["evaluate", model, paths[0], "--no-track", "-q"]) == 0
    out, err = capsys.readouterr()
    assert "accuracy" in out
    lines = err.splitlines()
    assert lines and all(line.startswith("warning: ") for line in lines), err
    assert any("trained on 1 of these 1 session" in line for line in lines), err


@pytest.mark.parametrize("argv", [["evaluate", "MODEL"], ["evaluate", "--cv", "1", "SESSION"]])
def test_usage_mistakes_open_no_tracking_run(trained, argv, tmp_path, capsys, monkeypatch):
    _, paths, model = trained
    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("HARLAB_TRACKING", raising=False)
    argv = [model if a == "MODEL" else paths[0] if a == "SESSION" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "harlab: error:" in err and "tracking" not in err
    assert not (tmp_path / "data").exists()


def test_train_prints_scores_without_float_noise(tmp_path, capsys):
    paths = [
        str(save_session(make_session(f"P{i}", seed=i, bouts=3), tmp_path / f"p{i}.h5")) for i in range(3)
    ]
    assert (
        main(
            [
                "train",
                *paths,
                "-o",
                str(tmp_path / "m.harmodel"),
                "--window",
                "2",
                "--preset",
                "features",
                "--no-track",
                "-q",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["validation"] and all(
        isinstance(v, float) and round(v, 4) == v
        for v in result["validation"].values()
        if not isinstance(v, int)
    )


def test_a_folder_of_sessions_is_taken_like_its_files(trained, tmp_path, capsys):
    """``harlab train sessions/`` as ``harlab export`` takes folders, not 'no such session file'."""
    src, _, model = trained
    folder = tmp_path / "sessions"
    folder.mkdir()
    for i in range(3):
        save_session(make_session(f"P{i}", seed=i), folder / f"p{i}.h5")
    out = tmp_path / "m.harmodel"
    assert (
        main(
            [
                "train",
                str(folder),
                "-o",
                str(out),
                "--window",
                "2",
                "--preset",
                "features",
                "--no-track",
                "-q",
            ]
        )
        == 0
    )
    assert main(["evaluate", str(out), str(folder), "--no-track", "-q"]) == 0
    assert main(["explore", str(folder), "-o", str(tmp_path / "pca.png"), "-q"]) == 0
    capsys.readouterr()
    (tmp_path / "empty").mkdir()
    assert main(["train", str(tmp_path / "empty"), "-o", str(tmp_path / "e.harmodel"), "--no-track"]) == 2
    assert "folder holds no session files" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "gone"), "-o", str(tmp_path / "e.harmodel"), "--no-track"]) == 2
    assert "gone: no such session file or folder" in capsys.readouterr().err


def test_ctrl_c_during_training_exits_130_and_writes_no_model(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    paths = [
        str(save_session(make_session(f"P{i}", seed=i, bouts=9), tmp_path / f"p{i}.h5")) for i in range(3)
    ]
    out = tmp_path / "m.harmodel"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "HARLAB_TRACKING": "off"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harlab",
            "train",
            *paths,
            "-o",
            str(out),
            "--preset",
            "cnn1d",
            "--epochs",
            "500",
            "--patience",
            "500",
            "--window",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        lines = []
        for line in proc.stderr:  # wait until an epoch has run, then press Ctrl+C
            lines.append(line)
            if "epoch 2/" in line:
                break
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, "".join(lines[-5:]) + rest
    assert "training cancelled" in rest and "error" not in rest and "Traceback" not in rest
    assert not out.exists()


def test_ctrl_c_during_cross_validation_exits_130_cancelled_not_an_error(tmp_path):
    """Any long command, not only train: Ctrl+C is reported as cancelled with exit status 130."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    paths = [
        str(save_session(make_session(f"P{i}", seed=i, bouts=9), tmp_path / f"p{i}.h5")) for i in range(3)
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "HARLAB_TRACKING": "off",
        "HARLAB_DATA_DIR": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harlab",
            "evaluate",
            "--cv",
            "3",
            *paths,
            "--preset",
            "cnn1d",
            "--epochs",
            "500",
            "--patience",
            "500",
            "--window",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        lines = []
        for line in proc.stderr:  # wait until a fold's network has run an epoch, then press Ctrl+C
            lines.append(line)
            if "epoch 2/" in line:
                break
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, "".join(lines[-5:]) + rest
    assert "harlab: cancelled" in rest and "error" not in rest and "Traceback" not in rest
