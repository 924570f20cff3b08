"""``harlab calibrate`` end to end, and the tracked run: linked to the parent's run, registered
under a name of its own, in a real MLflow store in a temporary folder."""

from __future__ import annotations

import json

import pytest

from harlab.cli import main
from harlab.core.metadata import sha256_of
from harlab.ml.calibration import CalibrationConfig
from harlab.ml.modelfile import ActivityModel
from harlab.storage import save_session

from .conftest import UNUSUAL, activity_session

CFG = CalibrationConfig(threads=1)


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path, monkeypatch):
    """Run records and default stores go to a temporary folder, never to the user's."""
    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path / "harlab-data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("HARLAB_TRACKING", raising=False)


@pytest.fixture
def session_file(tmp_path):
    return save_session(activity_session(UNUSUAL, 100, seconds=30), tmp_path / "unusual.h5")


def test_cli_calibrates_prints_before_after_and_writes_the_model(
    general_model, session_file, tmp_path, capsys
):
    _, parent = general_model
    out = tmp_path / "me.harmodel"
    code = main(["calibrate", str(parent), str(session_file), "-o", str(out), "--no-track", "--threads", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("before (general model):  accuracy ")
    assert lines[1].startswith("after (personal model):  accuracy ")
    summary = json.loads(lines[-1])
    assert summary["model"] == str(out) and summary["fallback_classes"] == []
    assert summary["after"]["macro_f1"] > summary["before"]["macro_f1"]
    assert "last layers epoch" in captured.err  # progress on stderr
    model = ActivityModel.load(out)
    assert model.info.name == "me"
    (s,) = model.info.calibration["sessions"]
    assert s["path"] == str(session_file.resolve()) and s["sha256"] == sha256_of(session_file)
    assert model.info.calibration["parent"]["sha256"] == sha256_of(parent)
    # the JSON run record sits beside the model, as for harlab train
    record = json.loads((tmp_path / "me.harmodel.run.json").read_text())
    assert record["kind"] == "calibrate" and record["status"] == "FINISHED"


def test_cli_refuses_clearly(general_model, tmp_path, capsys):
    _, parent = general_model
    one = save_session(
        activity_session(UNUSUAL, 100, seconds=60, bouts=1, activities=("walking",)), tmp_path / "w.h5"
    )
    out = tmp_path / "me.harmodel"
    code = main(["calibrate", str(parent), str(one), "-o", str(out), "--no-track", "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "only walking" in err and "at least two" in err
    assert not out.exists()
    code = main(["calibrate", str(tmp_path / "missing.harmodel"), str(one), "-o", str(out), "--no-track"])
    assert code == 2 and "missing.harmodel" in capsys.readouterr().err


def test_tracked_calibration_links_the_parent_run_and_registers_a_version(
    general_model, session_file, tmp_path
):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    from harlab.mlops.paths import TrackingOptions
    from harlab.mlops.tracking import RunTracker

    model, parent = general_model
    store = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    # the parent logged as harlab train logs its model (the run is tagged with the file's hash)
    with RunTracker(TrackingOptions(tracking_uri=store, register="general"), "train", None) as t:
        t.log_model(model, parent)
    parent_run = t.run_id
    out = tmp_path / "anna.harmodel"
    code = main(
        [
            "calibrate",
            str(parent),
            str(session_file),
            "-o",
            str(out),
            "--tracking-uri",
            store,
            "--threads",
            "1",
            "--epochs",
            "5",
        ]
    )
    assert code == 0
    personal = ActivityModel.load(out)
    assert personal.info.calibration["parent"]["mlflow_run_id"] == parent_run
    client = MlflowClient(tracking_uri=store)
    (version,) = client.search_model_versions("name='anna'")  # registered under its own name
    assert str(version.version) == "1"
    assert version.tags["harlab.parent_run_id"] == parent_run
    assert version.tags["harlab.parent_model_sha256"] == sha256_of(parent)
    run = client.get_run(version.run_id)
    assert run.data.tags["harlab.kind"] == "calibrate"
    assert run.data.tags["harlab.parent_run_id"] == parent_run
    assert run.data.tags["harlab.model_sha256"] == sha256_of(out)
    assert run.data.params["parent.sha256"] == sha256_of(parent)
    assert run.data.params["calibration.epochs"] == "5"
    assert "after_macro_f1" in run.data.metrics and "before_macro_f1" in run.data.metrics
    # the general model's registered versions are untouched
    assert [str(v.version) for v in client.search_model_versions("name='general'")] == ["1"]
    # calibrating the registered parent by its URI records the URI and the run it came from
    out2 = tmp_path / "anna2.harmodel"
    code = main(
        ["calibrate", "models:/general/1", str(session_file), "-o", str(out2), "--tracking-uri", store]
        + ["--threads", "1", "--epochs", "2", "--register", "anna"]
    )
    assert code == 0
    ref = ActivityModel.load(out2).info.calibration["parent"]
    assert ref["model_uri"] == "models:/general/1" and ref["mlflow_run_id"] == parent_run
    assert sorted(str(v.version) for v in client.search_model_versions("name='anna'")) == ["1", "2"]


def test_pipeline_takes_an_open_session_and_a_loaded_model(general_model, tmp_path):
    """The workbench's way: the session just recorded, the model it has open."""
    from harlab.mlops.calibration_pipeline import CalibrationRequest, run_calibration

    model, parent = general_model
    notes: list[str] = []
    req = CalibrationRequest(
        model=model,
        model_path=parent,
        sources=[activity_session(UNUSUAL, 100, seconds=30)],
        config=CFG,
        model_name="protocol",
    )
    run = run_calibration(req, output=tmp_path / "p.harmodel", say=notes.append)
    assert run.model_path == tmp_path / "p.harmodel" and run.run_id is None
    cal = ActivityModel.load(run.model_path).info.calibration
    assert cal["parent"]["sha256"] == sha256_of(parent)
    assert cal["sessions"][0]["note"] == "open session in the workbench"
    assert any("calibration windows" in n for n in notes)
    assert run.model.info.name == "protocol"


def test_an_open_session_is_recorded_with_its_file_and_hash(general_model, session_file, tmp_path):
    """The workbench calibrates the session it has open (a Session, not a path): the personal
    model still names the file it was opened from and that file's sha256."""
    from harlab.core.errors import HarlabError
    from harlab.mlops.calibration_pipeline import CalibrationRequest, run_calibration
    from harlab.storage import read_session

    _, parent = general_model
    opened = read_session(session_file)
    never_saved = activity_session(UNUSUAL, 102, seconds=30)
    req = CalibrationRequest(parent, [opened, never_saved], config=CFG, source_files=[session_file, None])
    run = run_calibration(req, output=tmp_path / "me.harmodel")
    first, second = ActivityModel.load(run.model_path).info.calibration["sessions"]
    assert first["path"] == str(session_file.resolve()) and first["sha256"] == sha256_of(session_file)
    assert first["session_id"] == opened.metadata.session_id and "open session" in first["note"]
    assert second["path"] == "" and "sha256" not in second  # nothing on disk to name
    with pytest.raises(HarlabError, match="2 calibration sources"):
        run_calibration(CalibrationRequest(parent, [opened, never_saved], config=CFG, source_files=[None]))
