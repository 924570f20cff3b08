"""Tracking URIs a user types, as every command reads them, each in its own process as a user runs it.

A plain folder as ``MLFLOW_TRACKING_URI`` (MLflow 2's file store) stopped ``harlab train`` with MLflow 3's
"maintenance mode" error; now it is a SQLite store inside the folder, said once, and an old file store
there is refused with the migration command. MLflow's own INFO lines ("Creating initial MLflow database
tables") reached stderr, even under ``-q``. "a JSON run record is still written" did not say where.
Stores live in ``tmp_path``, never the user's (conftest's ``_private_data_dir`` covers the default one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harlab.mlops.paths import FileStoreRefused, is_plain_path, store_for_path
from harlab.simulate import demo_model_path, simulate_session
from harlab.storage import open_session, save_session

from .conftest import need_mlflow

TINY = ["--preset", "ensemble", "--epochs", "1", "--window", "1", "--stride", "1", "--rate", "10"]


def _harlab(
    *args: str, cwd: Path, tracking_uri: str | None = None, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """One ``harlab`` command in a fresh process (MLflow's tracking URI is process-wide state)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    if tracking_uri is not None:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    done = subprocess.run(
        [sys.executable, "-m", "harlab", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == expect, done.stderr
    return done


@pytest.fixture
def work(tmp_path: Path) -> dict[str, Path]:
    """An empty working folder, a session and a copy of the demo model outside it."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    session = save_session(
        simulate_session([("walking", 20), ("sitting", 20)], rate_hz=50, seed=3), tmp_path / "s.h5"
    )
    model = Path(shutil.copy(demo_model_path(), tmp_path / "tiny.harmodel"))
    return {"cwd": cwd, "session": session, "model": model, "tmp": tmp_path}


# -- which store a path means (no MLflow needed) -------------------------------------------------------


def test_plain_paths_are_told_from_store_uris(tmp_path):
    assert is_plain_path("/data/store") and is_plain_path("store") and is_plain_path("C:\\mlflow")
    assert is_plain_path("file:///data/store")
    for uri in (
        "sqlite:////x/mlflow.db",
        "http://mlflow:5000",
        "databricks",
        "databricks://prof",
        "azureml://x",
    ):
        assert not is_plain_path(uri), uri
    folder = tmp_path / "store"
    want = "sqlite:///" + (folder / "mlflow.db").as_posix()
    assert store_for_path(str(folder), "MLFLOW_TRACKING_URI") == want
    assert store_for_path(folder.as_uri(), "MLFLOW_TRACKING_URI") == want
    assert (
        store_for_path(str(tmp_path / "runs.db"), "--tracking-uri")
        == "sqlite:///" + (tmp_path / "runs.db").as_posix()
    )


def test_an_mlflow_file_store_is_refused_with_the_migration_command(tmp_path):
    old = tmp_path / "mlruns"
    (old / "0").mkdir(parents=True)
    (old / "0" / "meta.yaml").write_text("name: Default\n")
    with pytest.raises(FileStoreRefused) as err:
        store_for_path(str(old), "MLFLOW_TRACKING_URI")
    msg = str(err.value)
    assert f"MLFLOW_TRACKING_URI={old}" in msg and f"mlflow migrate-filestore --source {old}" in msg


# -- the commands ---------------------------------------------------------------------------------------


@pytest.mark.slow  # trains a tiny model and creates a store (about 40 s)
def test_a_plain_folder_store_trains_registers_and_predicts_and_writes_nothing_in_cwd(work):
    need_mlflow()
    store = work["tmp"] / "store"
    out = work["tmp"] / "m.harmodel"
    train = _harlab(
        "train",
        str(work["session"]),
        "-o",
        str(out),
        *TINY,
        "--register",
        "folder-model",
        cwd=work["cwd"],
        tracking_uri=str(store),
    )
    db = "sqlite:///" + (store / "mlflow.db").as_posix()
    assert (
        train.stderr.count(f"tracking URI {store} is a path, not a store URI: using the SQLite store {db}")
        == 1
    )
    assert "maintenance mode" not in train.stderr
    assert "INFO mlflow" not in train.stderr and "Creating initial MLflow database tables" not in train.stderr
    assert (store / "mlflow.db").is_file() and any((store / "artifacts").iterdir())

    # -q: not even harlab's note about the folder
    pred = _harlab(
        "predict",
        "models:/folder-model/1",
        str(work["session"]),
        "--name",
        "from-folder",
        "-q",
        cwd=work["cwd"],
        tracking_uri=str(store),
    )
    assert pred.stderr == ""
    with open_session(work["session"]) as sf:
        assert sf.session.prediction_tracks["from-folder"].params["model_uri"] == "models:/folder-model/1"
    assert sorted(p.name for p in work["cwd"].iterdir()) == []


@pytest.mark.slow  # creates a store and logs a model (about 20 s)
def test_a_sqlite_store_keeps_its_artifacts_beside_the_database_not_in_cwd(work):
    need_mlflow()
    db = work["tmp"] / "elsewhere" / "runs.db"
    uri = "sqlite:///" + db.as_posix()
    _harlab(
        "models",
        "--tracking-uri",
        uri,
        "register",
        str(work["model"]),
        "--name",
        "beside",
        "-q",
        cwd=work["cwd"],
    )
    _harlab(
        "predict",
        "models:/beside/1",
        str(work["session"]),
        "--name",
        "beside",
        "--tracking-uri",
        uri,
        "-q",
        cwd=work["cwd"],
    )
    _harlab("evaluate", "models:/beside/1", str(work["session"]), "-q", cwd=work["cwd"], tracking_uri=uri)
    assert sorted(p.name for p in work["cwd"].iterdir()) == []
    assert sorted(p.name for p in db.parent.iterdir()) == ["artifacts", "runs.db"]


def test_an_old_file_store_in_the_variable_is_a_clear_error(work):
    need_mlflow()
    old = work["tmp"] / "mlruns"
    (old / ".trash").mkdir(parents=True)
    done = _harlab("models", "list", cwd=work["cwd"], tracking_uri=str(old), expect=2)
    assert done.stderr.startswith(f"harlab: error: MLFLOW_TRACKING_URI={old} is an MLflow file store")
    assert "Traceback" not in done.stderr and sorted(p.name for p in old.iterdir()) == [".trash"]


def test_mlflow_log_lines_never_reach_stderr(work):
    """``serve -q`` handles --quiet itself: MLflow's INFO lines from creating the database came through."""
    need_mlflow()
    uri = "sqlite:///" + (work["tmp"] / "fresh" / "mlflow.db").as_posix()
    done = _harlab(
        "serve", "-m", "models:/nothing/1", "--port", "0", "-q", cwd=work["cwd"], tracking_uri=uri, expect=2
    )
    assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith("harlab: error: ")
    listed = _harlab(
        "models",
        "list",
        cwd=work["cwd"],
        tracking_uri="sqlite:///" + (work["tmp"] / "fresh2" / "mlflow.db").as_posix(),
    )
    assert "INFO" not in listed.stderr and "alembic" not in listed.stderr, listed.stderr


def test_tracking_off_names_where_the_run_record_goes(work):
    report = work["tmp"] / "rep.json"
    done = _harlab(
        "evaluate",
        str(work["model"]),
        str(work["session"]),
        "--no-track",
        "--report",
        str(report),
        cwd=work["cwd"],
    )
    record = report.with_suffix(".run.json")
    assert f"the JSON run record goes to {record}" in done.stderr and record.is_file()

    done = _harlab("evaluate", str(work["model"]), str(work["session"]), "--no-track", cwd=work["cwd"])
    line = next(s for s in done.stderr.splitlines() if "the JSON run record goes to " in s)
    path = Path(line.split("the JSON run record goes to ", 1)[1])
    assert path.parent == Path(os.environ["HARLAB_DATA_DIR"]) / "runs" and path.is_file()
    assert sorted(p.name for p in work["cwd"].iterdir()) == []
