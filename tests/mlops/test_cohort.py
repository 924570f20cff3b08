"""A cohort on a real Dask cluster: a ``distributed.LocalCluster`` of two worker processes, shared
by the module (starting one costs seconds), running ``harlab predict`` and ``evaluate --cv``."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from harlab.cli import main
from harlab.core.metadata import sha256_of
from harlab.ml.dataset import build_dataset
from harlab.ml.evaluate import cross_validate
from harlab.ml.modelfile import ActivityModel
from harlab.ml.predict import SmoothingConfig, predict_session
from harlab.ml.training import TrainConfig
from harlab.mlops.cohort import CohortOptions, ItemResult, cohort_fold_runner, run_cohort
from harlab.simulate import demo_model_path, synthetic_session
from harlab.storage import open_session, read_session, save_session

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

N_SESSIONS = 12
BAD = 5  #: the index of the corrupt file among them


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    ) as c:
        yield c


@pytest.fixture
def address(cluster) -> str:
    return str(cluster.scheduler_address)


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> list[Path]:
    """A dozen short sessions (20 s at 50 Hz, different people and plans) and one corrupt file."""
    folder = tmp_path_factory.mktemp("cohort-originals")
    paths = [
        save_session(
            synthetic_session(20.0, rate_hz=50.0, seed=i, participant=f"P{i:02d}"), folder / f"s{i:02d}.h5"
        )
        for i in range(N_SESSIONS - 1)
    ]
    bad = folder / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"not a session" * 50)
    paths.insert(BAD, bad)
    return paths


def copies(paths: list[Path], folder: Path) -> list[Path]:
    folder.mkdir()
    return [Path(shutil.copy(p, folder / p.name)) for p in paths]


def sequential_track(path: Path, model: ActivityModel, model_path: Path):
    """What ``harlab predict MODEL SESSION`` writes for one session, predicted here in this process."""
    version = f"{model.info.preset} {model.info.created_utc} sha256:{sha256_of(model_path)[:12]}"
    with open_session(path) as sf:
        return predict_session(
            model, sf.session, smoothing=SmoothingConfig(), model_version=version, add=False
        )


def test_predict_on_the_cluster_writes_what_sequential_predict_writes_and_reports_a_corrupt_file(
    tmp_path, address, originals, capsys
):
    paths = copies(originals, tmp_path / "cohort")
    model = demo_model_path()
    rc = main(["predict", str(model), *map(str, paths), "--scheduler", address])
    out, err = capsys.readouterr()
    assert rc == 1  # one session failed
    bad = paths[BAD]
    assert f"harlab: error: {bad}: corrupt or truncated HDF5 file" in err
    lines = out.splitlines()
    good = [p for p in paths if p != bad]
    assert [line.split(": ")[0] for line in lines] == [str(p) for p in good]  # input order
    assert f"{N_SESSIONS} sessions on 2 workers" in err and f"{N_SESSIONS - 1} predicted, 1 failed" in err
    loaded = ActivityModel.load(model)
    for p in good:
        written = read_session(p).prediction_tracks["activity-predicted"]
        expected = sequential_track(originals[paths.index(p)], loaded, model)
        np.testing.assert_array_equal(written.probabilities, expected.probabilities)
        np.testing.assert_array_equal(written.window_start, expected.window_start)
        assert [(s.start, s.end, s.label) for s in written.segments] == [
            (s.start, s.end, s.label) for s in expected.segments
        ]
        assert written.model_version == expected.model_version
    assert bad.read_bytes() == originals[BAD].read_bytes()  # never written


def test_a_second_run_skips_everything_and_a_changed_model_predicts_again(
    tmp_path, address, originals, capsys
):
    good = [p for i, p in enumerate(originals) if i != BAD][:4]
    paths = copies(good, tmp_path / "cohort")
    model = demo_model_path()
    assert main(["predict", str(model), *map(str, paths), "--scheduler", address, "-q"]) == 0
    first = capsys.readouterr()
    assert first.err == ""  # -q: no progress, no notes
    before = [p.read_bytes() for p in paths]

    assert main(["predict", str(model), *map(str, paths), "--scheduler", address]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{p}: skipped: track 'activity-predicted' already holds this model's prediction" for p in paths
    ]
    assert "0 predicted, 4 skipped" in err
    assert [p.read_bytes() for p in paths] == before  # not even saved again

    # another smoothing is another prediction
    assert main(["predict", str(model), str(paths[0]), "--scheduler", address, "--no-hmm"]) == 0
    assert read_session(paths[0]).prediction_tracks["activity-predicted"].params["p_switch"] == ""
    capsys.readouterr()

    # a changed model (another file hash in the track's version) predicts every session again
    demo = ActivityModel.load(model)
    changed = tmp_path / "changed.harmodel"
    ActivityModel(
        dataclasses.replace(demo.info, created_utc="2030-01-01T00:00:00+00:00"), demo.members, demo.weights
    ).save(changed)
    assert main(["predict", str(changed), *map(str, paths), "--scheduler", address]) == 0
    out, err = capsys.readouterr()
    assert "skipped" not in out and "4 predicted" in err
    for p in paths:
        assert (
            read_session(p)
            .prediction_tracks["activity-predicted"]
            .model_version.startswith("features 2030-01-01T00:00:00+00:00 sha256:")
        )
    # --no-resume predicts again what is already there
    assert (
        main(["predict", str(changed), str(paths[1]), str(paths[2]), "--scheduler", address, "--no-resume"])
        == 0
    )
    assert "2 predicted" in capsys.readouterr().err


def test_a_session_held_open_for_writing_is_reported_and_left_as_it_was(tmp_path, address, originals, capsys):
    good = [p for i, p in enumerate(originals) if i != BAD][:3]
    paths = copies(good, tmp_path / "cohort")
    before = paths[1].read_bytes()
    with open_session(
        paths[1], writable=True
    ):  # another harlab process editing it, as far as the worker knows
        # paths[0] named twice (another spelling) is predicted once
        again = os.path.join(str(paths[0].parent), ".", paths[0].name)
        rc = main(["predict", str(demo_model_path()), *map(str, paths), again, "--scheduler", address])
    out, err = capsys.readouterr()
    assert rc == 1
    assert (
        f"harlab: error: {paths[1]} is open for writing by another harlab process (pid {os.getpid()}" in err
    )
    assert paths[1].read_bytes() == before
    assert "activity-predicted" not in read_session(paths[1]).prediction_tracks
    for p in (paths[0], paths[2]):
        assert "activity-predicted" in read_session(p).prediction_tracks
    assert [line.split(": ")[0] for line in out.splitlines()] == [str(paths[0]), str(paths[2])]


def _cv_data():
    from tests.ml.conftest import make_session

    return build_dataset([make_session(f"P{i}", seed=i, bouts=3) for i in range(4)], "activity", 2.0, 2.0)


def _without_timings(rep: dict) -> dict:
    rep = json.loads(json.dumps(rep))
    for f in rep["folds"]:
        for key in ("train_s", "train_windows_per_s", "infer_windows_per_s"):
            f.pop(key)
    return rep


def test_cross_validation_folds_on_the_cluster_equal_the_sequential_run(cluster, address):
    data = _cv_data()
    cfg = TrainConfig(preset="features", gbm_rounds=40, gbm_min_rounds=40, seed=3)
    here = cross_validate(data, cfg, 3, seed=1)
    finished: list[ItemResult] = []
    there = cross_validate(
        data,
        cfg,
        3,
        seed=1,
        run_folds=cohort_fold_runner(
            CohortOptions(scheduler=address), progress=lambda d, n, r: finished.append(r)
        ),
    )
    assert _without_timings(there) == _without_timings(here)
    assert sorted(int(r.item) for r in finished) == [0, 1, 2] and all(r.status == "done" for r in finished)
    assert {r.worker for r in finished} <= set(cluster.scheduler_info["workers"])


def test_evaluate_cv_with_a_scheduler_prints_the_sequential_report(tmp_path, address, capsys, monkeypatch):
    from tests.ml.conftest import make_session

    monkeypatch.setenv("HARLAB_TRACKING", "off")  # what is compared is the report, not a tracked run

    paths = [
        str(save_session(make_session(f"P{i}", seed=i, bouts=3), tmp_path / f"p{i}.h5")) for i in range(3)
    ]
    argv = ["evaluate", "--cv", "3", *paths, "--window", "2", "--preset", "features", "--no-refit", "--json"]
    assert main(argv) == 0
    here = json.loads(capsys.readouterr().out)
    assert main([*argv, "--scheduler", address]) == 0
    there = json.loads(capsys.readouterr().out)
    assert _without_timings(there) == _without_timings(here)
    assert main(["evaluate", str(demo_model_path()), paths[0], "--workers", "2"]) == 2
    assert "--workers and --scheduler run the folds of --cv K" in capsys.readouterr().err


def test_an_own_local_cluster_reports_each_item_and_shuts_down_without_leaks(tmp_path):
    """The engine's own cluster (no scheduler given): results in input order, an unexpected error
    with its traceback, and afterwards no worker process or thread left behind."""
    files = []
    for i in range(3):
        f = tmp_path / f"f{i}.bin"
        f.write_bytes(b"x" * (i + 1))
        files.append(str(f))
    files.insert(1, str(tmp_path / "missing"))
    me = psutil.Process()
    children = {c.pid for c in me.children(recursive=True)}
    threads = {t.ident for t in threading.enumerate()}
    seen: list[str] = []
    progress: list[tuple[int, int]] = []
    report = run_cohort(
        os.path.getsize,
        files,
        CohortOptions(workers=1),
        on_result=lambda r: seen.append(r.item),
        progress=lambda d, n, r: progress.append((d, n)),
    )
    assert seen == files and [d for d, _ in progress] == [1, 2, 3, 4]
    assert [r.status for r in report.results] == ["done", "failed", "done", "done"]
    assert [r.value for r in report.results if r.status == "done"] == [1, 2, 3]
    failed = report.failed[0]
    assert failed.message.startswith("FileNotFoundError:") and "Traceback" in failed.detail
    assert report.workers == 1 and not report.ok
    assert "4 sessions on 1 worker" in report.summary() and "1 failed" in report.summary()
    left = {c.pid for c in me.children(recursive=True) if c.is_running()} - children
    assert not left, f"worker processes left running: {left}"
    new_threads = [t for t in threading.enumerate() if t.ident not in threads and t.is_alive()]
    assert not [t for t in new_threads if not t.daemon], new_threads


def test_a_scheduler_that_is_no_address_refuses_the_command_before_any_session(tmp_path, originals, capsys):
    paths = copies(originals[:2], tmp_path / "cohort")
    before = [p.read_bytes() for p in paths]
    assert main(["predict", str(demo_model_path()), *map(str, paths), "--scheduler", "no-port-here"]) == 2
    assert "harlab: error: cannot reach the Dask scheduler at no-port-here" in capsys.readouterr().err
    assert [p.read_bytes() for p in paths] == before


def test_summary_runs_on_the_cluster_and_reports_a_bad_file(address, originals, capsys):
    """``harlab summary`` over several sessions maps the same per-session function on the engine:
    the text equals one-at-a-time runs, in the order given, and a corrupt file fails alone."""
    chosen = [originals[0], originals[BAD], originals[1]]
    expected = []
    for path in (originals[0], originals[1]):
        assert main(["summary", str(path)]) == 0
        expected.append(capsys.readouterr().out)
    code = main(["summary", "-q", "--scheduler", address, *map(str, chosen)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == "".join(expected)
    assert f"harlab: error: {originals[BAD]}" in captured.err
