"""Tracked training on real recordings: the run, its lineage and artifacts; the registry and aliases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from harlab.cli import main
from harlab.core.metadata import sha256_of
from harlab.ml.modelfile import ActivityModel

from .conftest import TINY, need_data


def _run(store, run_id):
    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=store)
    return c, c.get_run(run_id)


def _artifacts(client, run_id, path=""):
    out = []
    for a in client.list_artifacts(run_id, path):
        out += _artifacts(client, run_id, a.path) if a.is_dir else [a.path]
    return out


@pytest.mark.slow  # shares the tracked training (about 20 s once per session)
def test_train_run_has_params_metrics_lineage_and_artifacts(trained):
    rec = trained["record"]
    assert rec["status"] == "FINISHED" and rec["mlflow"]["registered_version"] == "1"
    client, run = _run(trained["store"], rec["mlflow"]["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    p = run.data.params
    assert p["train.preset"] == "ensemble" and p["train.epochs"] == "2" and p["train.arch.width"] == "8"
    assert p["model.window_s"] == "1.0" and p["model.rate_hz"] == "10.0" and p["model.track"] == "activity"
    assert p["model.classes"].split(",")[:3] == ["Walking", "Upstairs", "Downstairs"]
    # per-epoch metrics from the progress callback, one step per epoch
    hist = client.get_metric_history(run.info.run_id, "cnn1d.loss")
    assert [m.step for m in hist] == [1, 2] and all(np.isfinite(m.value) for m in hist)
    assert 0 <= run.data.metrics["val_accuracy"] <= 1 and "val_f1.Walking" in run.data.metrics
    arts = _artifacts(client, run.info.run_id)
    for want in (
        "confusion/validation.png",
        "confusion/validation.json",
        "reports/validation.json",
        "lineage/training.json",
        "training/history.json",
        "harlab_model/seed.harmodel",
    ):
        assert want in arts, (want, arts)
    local = client.download_artifacts(run.info.run_id, "lineage/training.json")
    lin = json.loads(Path(local).read_text())
    assert len(lin["sessions"]) == 14 and lin["track"] == "activity"
    assert sum(lin["class_counts"].values()) == lin["n_windows"] == 593
    by_path = {s["path"]: s for s in lin["sessions"]}
    first = str(trained["sessions"][0].resolve())
    assert by_path[first]["sha256"] == sha256_of(first) and by_path[first]["windows_sha256"]
    cm = json.loads(Path(client.download_artifacts(run.info.run_id, "confusion/validation.json")).read_text())
    assert (
        len(cm["confusion"]) == 10
        and sum(map(sum, cm["confusion"])) == run.data.metrics["n_validation_windows"]
    )
    png = client.download_artifacts(run.info.run_id, "confusion/validation.png")
    assert Path(png).read_bytes()[:4] == b"\x89PNG"
    # the windows are an MLflow dataset input of the run
    assert (
        run.inputs.dataset_inputs
        and run.inputs.dataset_inputs[0].dataset.digest == lin["windows_digest"][:16]
    )
    # the JSON run record beside the model holds the same facts
    assert trained["record"]["params"]["train.preset"] == "ensemble"
    assert [h["step"] for h in trained["record"]["history"] if "cnn1d.loss" in h] == [1, 2]


@pytest.mark.slow  # shares the tracked training (about 20 s once per session)
def test_register_alias_load_and_same_predictions(trained, capsys):
    import mlflow

    from harlab.mlops.registry import load_registered

    store = trained["store"]
    assert (
        main(["models", "--tracking-uri", store, "promote", "seed-activity", "1", "--alias", "staging"]) == 0
    )
    assert "seed-activity@staging -> version 1" in capsys.readouterr().out
    assert main(["models", "--tracking-uri", store, "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "seed-activity" and listed[0]["aliases"]["staging"] == 1
    assert main(["models", "--tracking-uri", store, "show", "seed-activity"]) == 0
    assert re.search(r"v1 \[[^\]]*staging", capsys.readouterr().out)

    direct = ActivityModel.load(trained["model_path"])
    model, uri, version = load_registered("seed-activity", "staging", store)
    assert (uri, version) == ("models:/seed-activity/1", "1")
    X = np.random.default_rng(0).normal(0, 3, (40, 10, 6)).astype(np.float32)
    np.testing.assert_array_equal(model.predict_proba(X), direct.predict_proba(X))
    # the MLflow pyfunc (harlab's preprocessing inside) gives the same answer through MLflow
    mlflow.set_tracking_uri(store)
    pf = mlflow.pyfunc.load_model("models:/seed-activity@staging")
    out = pf.predict(X)
    np.testing.assert_allclose(
        out[[f"p_{c}" for c in direct.classes]].to_numpy(), direct.predict_proba(X), atol=1e-6
    )
    assert list(out["class"]) == [direct.classes[i] for i in direct.predict(X)]


@pytest.mark.slow  # shares the tracked training (about 20 s once per session)
def test_unknown_alias_is_a_clear_error(trained):
    from harlab.core.errors import HarlabError
    from harlab.mlops.registry import load_registered

    with pytest.raises(HarlabError, match="seed-activity@nope"):
        load_registered("seed-activity", "nope", trained["store"])


@pytest.mark.slow  # shares the tracked training (about 20 s once per session)
def test_predictions_record_the_registered_version(trained):
    from harlab.mlops.registry import predict_registered, set_alias
    from harlab.storage import read_session

    set_alias("seed-activity", "1", "production", trained["store"])
    session = read_session(trained["sessions"][0])
    track = predict_registered(session, "seed-activity", "production", trained["store"])
    assert track.model_version.startswith("models:/seed-activity/1 ")
    assert track.params["model_uri"] == "models:/seed-activity/1"
    assert (
        track.params["registry_uri"] == trained["store"] and track.params["registered_alias"] == "production"
    )
    assert session.prediction_tracks[track.name] is track and len(track) > 0


@pytest.mark.slow  # shares the tracked training (about 20 s once per session)
def test_evaluate_a_registered_model_is_tracked(trained, tmp_path, capsys):
    from mlflow import MlflowClient

    store = trained["store"]
    rep_path = tmp_path / "rep.json"
    rc = main(
        [
            "evaluate",
            "models:/seed-activity/1",
            *map(str, trained["sessions"][:4]),
            "--json",
            "--report",
            str(rep_path),
            "--tracking-uri",
            store,
            "--experiment",
            "tests",
        ]
    )
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    rec = json.loads(rep_path.with_suffix(".run.json").read_text())
    run = MlflowClient(tracking_uri=store).get_run(rec["mlflow"]["run_id"])
    assert run.data.tags["harlab.kind"] == "evaluate"
    assert run.data.params["evaluated_model.model_uri"] == "models:/seed-activity/1"
    assert run.data.metrics["accuracy"] == pytest.approx(rep["accuracy"])
    # the timeline the sessions' predictions would show, scored beside the windows
    assert run.data.metrics["timeline_macro_f1"] == pytest.approx(rep["timeline"]["macro_f1"])
    assert "confusion/evaluation.png" in [
        a.path for a in MlflowClient(tracking_uri=store).list_artifacts(run.info.run_id, "confusion")
    ]


def test_no_track_still_writes_a_run_record(seed_sessions, tmp_path, capsys):
    need_data()
    out = tmp_path / "m.harmodel"
    rc = main(
        [
            "train",
            *map(str, seed_sessions[:6]),
            "-o",
            str(out),
            *TINY[:1],
            "features",
            "--window",
            "1",
            "--stride",
            "1",
            "--no-track",
        ]
    )
    assert rc == 0 and out.is_file()
    assert "tracking off" in capsys.readouterr().err
    rec = json.loads(out.with_name(out.name + ".run.json").read_text())
    assert rec["status"] == "FINISHED" and rec["mlflow"] is None and rec["lineage"]["n_windows"] > 0
    assert "harlab_model/m.harmodel" in rec["artifacts"]


@pytest.mark.slow
def test_without_mlflow_training_says_how_to_turn_tracking_on(seed_sessions, tmp_path):
    """A subprocess in which ``import mlflow`` fails, as on a base install."""
    import subprocess
    import sys

    out = tmp_path / "m.harmodel"
    code = (
        "import sys; sys.modules['mlflow'] = None\n"
        "from harlab.cli import main\n"
        f"sys.exit(main({['train', *map(str, seed_sessions[:4]), '-o', str(out), '--preset', 'features', '--window', '1', '--stride', '1']!r}))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "pip install 'harlab[mlops]'" in p.stderr and out.is_file()
    assert json.loads(out.with_name(out.name + ".run.json").read_text())["mlflow"] is None


@pytest.mark.slow  # shares the tracked training (about 20 s once per session)
def test_cli_predict_with_a_registered_model(trained, tmp_path):
    """``harlab predict models:/NAME@ALIAS`` stores a track that names the exact version."""
    import shutil

    from harlab.mlops.registry import set_alias
    from harlab.storage import read_session

    set_alias("seed-activity", "1", "production", trained["store"])
    session_file = Path(shutil.copy(trained["sessions"][1], tmp_path / "s.h5"))
    assert (
        main(
            [
                "predict",
                "models:/seed-activity@production",
                str(session_file),
                "--tracking-uri",
                trained["store"],
                "--name",
                "registered",
            ]
        )
        == 0
    )
    track = read_session(session_file).prediction_tracks["registered"]
    assert track.model_version.startswith("models:/seed-activity/1 ")
    assert track.params["registered_alias"] == "production" and track.params["registered_version"] == "1"
