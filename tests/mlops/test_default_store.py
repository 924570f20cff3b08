"""The default local store (no ``MLFLOW_TRACKING_URI``, no ``--tracking-uri``) is one store for every command.

``harlab models register`` and ``list`` found a model that ``harlab predict`` and ``harlab serve`` then
could not load by ``models:/NAME/1`` or ``models:/NAME@alias``: MLflow looked the URI up again in its
own default store, and left a ``mlflow.db`` in the working folder. The default store here is the
temporary data folder of conftest's ``_private_data_dir``, never the user's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request

import pytest

from harlab.mlops.paths import data_dir
from harlab.simulate import demo_model_path, simulate_session
from harlab.storage import open_session, save_session

from .conftest import need_mlflow

pytestmark = pytest.mark.slow  # MLflow creates a store and logs a model (about 20 s)


def _env() -> dict[str, str]:
    """The environment of a fresh shell: no MLflow URIs (MLflow sets them in-process once used)."""
    return {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}


def _harlab(*args: str, cwd) -> str:
    """Run one ``harlab`` command in its own process, as a user would; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "harlab", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _serve_version(spec: str, cwd) -> dict:
    """Start ``harlab serve -m spec`` in ``cwd``, ask GET /version, stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harlab", "serve", "-m", spec, "--port", "0", "--quiet"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        url = json.loads(line)["listening"]
        with urllib.request.urlopen(url + "/version", timeout=30) as r:
            return json.loads(r.read())
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_register_predict_and_serve_from_the_default_store_write_nothing_in_cwd(tmp_path):
    need_mlflow()
    store = data_dir() / "mlflow" / "mlflow.db"
    assert "MLFLOW_TRACKING_URI" not in _env() and str(store).startswith(str(tmp_path.parent.parent))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    model = shutil.copy(demo_model_path(), work / "tiny.harmodel")
    session = save_session(
        simulate_session([("walking", 20), ("sitting", 20)], rate_hz=50, seed=3), work / "s.h5"
    )

    out = _harlab("models", "register", str(model), "--name", "tiny-default", "--alias", "prod", cwd=cwd)
    assert json.loads(out.strip().splitlines()[-1])["version"] == "1"
    assert "tiny-default" in {m["name"] for m in json.loads(_harlab("models", "list", "--json", cwd=cwd))}

    for spec, track in (("models:/tiny-default/1", "by-version"), ("models:/tiny-default@prod", "by-alias")):
        _harlab("predict", spec, str(session), "--name", track, cwd=cwd)
        with open_session(session) as sf:
            got = sf.session.prediction_tracks[track]
        assert got.params["model_uri"] == "models:/tiny-default/1" and len(got) > 0

    for spec in ("models:/tiny-default@prod", "models:/tiny-default/1"):
        info = _serve_version(spec, cwd)
        assert info["model_uri"] == "models:/tiny-default/1" and info["model_version"] == "1"

    assert sorted(p.name for p in cwd.iterdir()) == []  # no stray mlflow.db, mlruns/, records
    assert store.is_file()
