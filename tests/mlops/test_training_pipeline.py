"""The one training pipeline, without Qt: a tiny run on simulated sessions with classes merged and
ignored, tracked in a temporary MLflow store; cancelling; and ``harlab train --merge/--ignore``."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from harlab.core.errors import HarlabError
from harlab.ml.training import TrainConfig, TrainingCancelled
from harlab.mlops.paths import TrackingOptions
from harlab.mlops.training_pipeline import TrainRequest, run_training
from harlab.simulate import simulate_session
from harlab.storage import save_session

from .conftest import need_mlflow

PLAN = [("walking", 20), ("sitting", 20), ("running", 20), ("lying", 20)] * 2
TINY = TrainConfig(preset="features", seed=1, gbm_min_rounds=20, threads=1)


@pytest.fixture(scope="module")
def session_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sessions")
    paths = []
    for i, who in enumerate(("P01", "P02", "P03")):
        plan = PLAN[i % 4 :] + PLAN[: i % 4]
        s = simulate_session(plan, rate_hz=20.0, seed=30 + i, participant=who, transition_s=1.0)
        paths.append(save_session(s, folder / f"{who.lower()}.h5"))
    return paths


def _request(paths: list[Path], **kw) -> TrainRequest:
    return TrainRequest(sources=paths, config=TINY, window_s=2.0, channels=["accel", "gyro"], **kw)


def test_merge_and_ignore_change_the_model_classes_and_the_tracked_run(session_files, tmp_path):
    need_mlflow()
    from mlflow.tracking import MlflowClient

    store = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    out = tmp_path / "merged.harmodel"
    notes: list[str] = []
    req = _request(session_files, mapping={"running": "walking", "lying": None}, model_name="merged")
    result = run_training(
        req, output=out, say=notes.append, tracking=TrackingOptions(tracking_uri=store, experiment="pipeline")
    )
    assert sorted(result.model.classes) == ["sitting", "walking"]  # running merged, lying left out
    assert result.class_counts["walking"] > result.class_counts["sitting"]  # twice the time
    assert result.model_path == out and out.is_file()
    assert (
        result.report is not None
        and sum(map(sum, result.report["confusion"])) == result.model.info.metrics["n_validation_windows"]
    )
    assert {s["sha256"] for s in result.sources} and all(len(s["sha256"]) == 64 for s in result.sources)
    assert any(n.startswith("reading ") for n in notes)

    run = MlflowClient(tracking_uri=store).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["classes.merged"] == "running=walking"
    assert run.data.params["classes.ignored"] == "lying"
    assert run.data.params["model.classes"] in ("sitting,walking", "walking,sitting")
    assert 0 <= run.data.metrics["val_accuracy"] <= 1
    record = json.loads(result.run_record.read_text())
    assert result.run_record == out.with_name(out.name + ".run.json")
    assert record["status"] == "FINISHED" and record["mlflow"]["run_id"] == result.run_id


def test_a_run_without_output_is_tracked_with_its_model_and_writes_no_model_file(
    session_files, tmp_path, monkeypatch
):
    """The dialog's way: the model is saved later, but its run already carries the model."""
    need_mlflow()
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path / "data"))
    store = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    result = run_training(
        _request(session_files, model_name="dialog"),
        tracking=TrackingOptions(tracking_uri=store, tags={"harlab.source": "train dialog"}),
    )
    assert result.model_path is None and not list(tmp_path.glob("*.harmodel"))
    assert result.run_record is not None and result.run_record.parent == tmp_path / "data" / "runs"
    client = MlflowClient(tracking_uri=store)
    run = client.get_run(result.run_id)
    assert run.data.tags["harlab.source"] == "train dialog"
    assert [a.path for a in client.list_artifacts(result.run_id, "harlab_model")] == [
        "harlab_model/dialog.harmodel"
    ]


def test_untracked_run_leaves_no_record(session_files, tmp_path):
    result = run_training(_request(session_files), output=tmp_path / "m.harmodel")
    assert result.run_record is None and result.run_id is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.harmodel"]


def test_cancel_ends_the_run_killed_and_writes_nothing(session_files, tmp_path, monkeypatch):
    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path / "data"))
    cancel = threading.Event()

    def say(msg: str) -> None:
        if msg.startswith("training preset"):
            cancel.set()  # as a Cancel button or Ctrl+C would, once training has begun

    with pytest.raises(TrainingCancelled):
        run_training(
            _request(session_files),
            output=tmp_path / "m.harmodel",
            say=say,
            cancel=cancel,
            tracking=TrackingOptions(enabled=False),
        )
    assert not (tmp_path / "m.harmodel").exists()
    (record,) = (tmp_path / "data" / "runs").glob("*.json")
    assert json.loads(record.read_text())["status"] == "KILLED"


def test_fewer_than_two_classes_is_refused_before_reading(tmp_path):
    with pytest.raises(HarlabError, match="at least two classes"):
        run_training(_request([tmp_path / "never-read.h5"], classes=["walking"]))


def test_cli_merge_and_ignore(session_files, tmp_path, capsys):
    from harlab.cli import main

    out = tmp_path / "m.harmodel"
    rc = main(
        [
            "train",
            *map(str, session_files),
            "-o",
            str(out),
            "--window",
            "2",
            "--preset",
            "features",
            "--channels",
            "accel,gyro",
            "--merge",
            "running=walking",
            "--ignore",
            "lying",
            "--no-track",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    assert sorted(json.loads(capsys.readouterr().out)["classes"]) == ["sitting", "walking"]
    rc = main(
        [
            "train",
            *map(str, session_files),
            "-o",
            str(tmp_path / "x.harmodel"),
            "--merge",
            "running=lying",
            "--ignore",
            "lying",
            "--no-track",
        ]
    )
    assert rc == 2 and "cannot be both trained and left out" in capsys.readouterr().err
    rc = main(
        [
            "train",
            *map(str, session_files),
            "-o",
            str(tmp_path / "x.harmodel"),
            "--merge",
            "running",
            "--no-track",
        ]
    )
    assert rc == 2 and "CLASS=INTO" in capsys.readouterr().err
