"""A tiny model trained once per test session on the seed's Fitbit recordings, tracked and registered
in a temporary MLflow store (never the user's), shared by the tracking, registry and serving tests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.real_data import SHARED_DATA

DATA = SHARED_DATA
WATCH_BIN = DATA / "fitbit-seed" / "watch-bin"
RAW_CSV = DATA / "fitbit-seed" / "azure" / "fitbit" / "raw_input"
TINY = [
    "--preset",
    "ensemble",
    "--epochs",
    "2",
    "--batch-size",
    "32",
    "--depth",
    "2",
    "--width",
    "8",
    "--window",
    "1",
    "--stride",
    "1",
    "--rate",
    "10",
]


def need_data() -> None:
    if not WATCH_BIN.is_dir():
        pytest.skip("../shared/data not present (the seed's Fitbit recordings)")


def need_mlflow() -> None:
    pytest.importorskip("mlflow", reason="MLflow not installed (pip install 'harlab[mlops]')")


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """Run records and default stores go to a temporary folder, never to the user's."""
    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path_factory.getbasetemp() / "harlab-data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("HARLAB_TRACKING", raising=False)


def seed_request_windows(max_files: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """Windows in the seed's request shape (N, 10, 6, 1) from its raw upload CSVs, with their activity ids."""
    files = sorted(RAW_CSV.rglob("*.csv"))[:max_files]
    xs, ys = [], []
    for f in files:
        a = np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.float64)
        n = len(a) // 10 * 10
        xs.append(a[:n, 1:].reshape(-1, 10, 6, 1))
        ys.append(a[:n:10, 0].astype(int))
    return np.concatenate(xs), np.concatenate(ys)


@pytest.fixture(scope="session")
def seed_sessions(tmp_path_factory):
    """The 14 watch recordings as session files."""
    need_data()
    from harlab.importers import ImportOptions, get_importer
    from harlab.storage import save_session

    out = tmp_path_factory.mktemp("seed-sessions")
    imp = get_importer("fitbit_bin")
    paths = []
    for p in sorted(WATCH_BIN.glob("*.bin")):
        for i, s in enumerate(imp.read(p, ImportOptions())):
            paths.append(save_session(s, out / f"{p.stem}-{i}.h5"))
    return paths


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> str:
    need_mlflow()
    return "sqlite:///" + (tmp_path_factory.mktemp("mlflow") / "mlflow.db").as_posix()


@pytest.fixture(scope="session")
def trained(seed_sessions, store, tmp_path_factory):
    """``harlab train`` on the seed's recordings, tracked in ``store`` and registered as ``seed-activity``."""
    from harlab.cli import main

    model_path = tmp_path_factory.mktemp("model") / "seed.harmodel"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARLAB_DATA_DIR", str(tmp_path_factory.getbasetemp() / "harlab-data"))
        mp.delenv("HARLAB_TRACKING", raising=False)
        rc = main(
            [
                "train",
                *map(str, seed_sessions),
                "-o",
                str(model_path),
                *TINY,
                "--tracking-uri",
                store,
                "--experiment",
                "tests",
                "--register",
                "seed-activity",
                "--run-name",
                "tiny",
            ]
        )
    assert rc == 0
    record = json.loads(model_path.with_name(model_path.name + ".run.json").read_text())
    return {"model_path": model_path, "record": record, "store": store, "sessions": seed_sessions}
