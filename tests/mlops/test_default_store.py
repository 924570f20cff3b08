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

from harlab.cli import main
from harlab.mlops.paths import data_dir
from harlab.simulate import demo_model_path, simulate_session
from harlab.storage import open_session, save_session

from .conftest import need_mlflow

pytestmark = pytest.mark.slow  # MLflow creates a store and logs a model (about 20 s)


def _serve_version(spec: str, cwd) -> dict:
    """Start ``harlab serve -m spec`` in ``cwd``, ask GET /version, stop it."""
    proc = subprocess.Popen([sys.executable, "-m", "harlab", "serve", "-m", spec, "--port", "0", "--quiet"],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
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


def test_register_predict_and_serve_from_the_default_store_write_nothing_in_cwd(tmp_path, monkeypatch, capsys):
    need_mlflow()
    assert "MLFLOW_TRACKING_URI" not in os.environ and str(data_dir()).startswith(str(tmp_path.parent.parent))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    model = shutil.copy(demo_model_path(), work / "tiny.harmodel")
    session = save_session(simulate_session([("walking", 20), ("sitting", 20)], rate_hz=50, seed=3),
                           work / "s.h5")
    monkeypatch.chdir(cwd)

    assert main(["models", "register", str(model), "--name", "tiny-default", "--alias", "prod"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["version"] == "1"
    assert main(["models", "list", "--json"]) == 0
    assert "tiny-default" in {m["name"] for m in json.loads(capsys.readouterr().out)}

    for spec, track in (("models:/tiny-default/1", "by-version"), ("models:/tiny-default@prod", "by-alias")):
        assert main(["predict", spec, str(session), "--name", track]) == 0, capsys.readouterr().err
        with open_session(session) as sf:
            got = sf.session.prediction_tracks[track]
        assert got.params["model_uri"] == "models:/tiny-default/1" and len(got) > 0

    for spec in ("models:/tiny-default@prod", "models:/tiny-default/1"):
        info = _serve_version(spec, cwd)
        assert info["model_uri"] == "models:/tiny-default/1" and info["model_version"] == "1"

    assert sorted(p.name for p in cwd.iterdir()) == []  # no stray mlflow.db, mlruns/, records
    assert (data_dir() / "mlflow" / "mlflow.db").is_file()
