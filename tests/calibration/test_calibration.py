"""Calibration adapts a general model to one participant, keeps what it cannot calibrate, and
refuses data that cannot calibrate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from harlab.core.errors import HarlabError
from harlab.core.metadata import sha256_of
from harlab.ml.calibration import (
    CalibrationConfig,
    CalibrationRefused,
    calibrate,
    calibrate_sessions,
    calibration_dataset,
    held_out_gap,
    held_out_windows,
)
from harlab.ml.evaluate import evaluate_model
from harlab.ml.modelfile import ActivityModel, BoostedFeaturesMember, TorchMember
from harlab.ml.training import TrainingCancelled
from harlab.simulate import synthetic_session

from .conftest import ACTIVITIES, RATE, UNUSUAL, activity_session

CFG = CalibrationConfig(threads=1)


def test_calibration_improves_an_unusual_participant(general_model):
    model, _ = general_model
    calibration = [activity_session(UNUSUAL, 100, seconds=30)]
    later = calibration_dataset(model, [activity_session(UNUSUAL, 101, bouts=10, shift=2)])
    result = calibrate_sessions(model, calibration, CFG)
    general = evaluate_model(model, later)["macro_f1"]
    personal = evaluate_model(result.model, later)["macro_f1"]
    assert general < 0.7  # the general model serves this participant badly ...
    assert personal > general + 0.15  # ... and a recording of 30 s per activity fixes much of it
    # the held-out block of the calibration recording says the same
    assert result.after is not None and result.before is not None
    assert result.after["macro_f1"] > result.before["macro_f1"]
    assert result.calibrated_classes == list(ACTIVITIES) and result.fallback_classes == []
    assert result.model.classes == model.classes
    # the parent is untouched: calibration works on copies
    assert evaluate_model(model, later)["macro_f1"] == general


def test_unlabelled_classes_keep_the_general_models_scores(general_model):
    model, _ = general_model
    labelled = ("sitting", "walking", "running")
    sessions = [activity_session(UNUSUAL, 100, seconds=30, bouts=3, activities=labelled)]
    result = calibrate_sessions(model, sessions, CFG)
    assert result.model.classes == model.classes  # never dropped from the class list
    assert result.calibrated_classes == list(labelled)
    assert result.fallback_classes == ["stairs_up", "cycling"]
    assert any("not labelled: stairs_up, cycling" in w for w in result.warnings)
    kept = [model.classes.index(c) for c in result.fallback_classes]
    tuned = [model.classes.index(c) for c in labelled]
    X = calibration_dataset(model, [activity_session(UNUSUAL, 7, bouts=5)]).X
    for old, new in zip(model.members, result.model.members, strict=True):
        if isinstance(old, TorchMember):
            assert isinstance(new, TorchMember)
            assert torch.equal(new.net.head.weight[kept], old.net.head.weight[kept])
            assert torch.equal(new.net.head.bias[kept], old.net.head.bias[kept])
            assert not torch.equal(new.net.head.weight[tuned], old.net.head.weight[tuned])
        else:
            assert isinstance(old, BoostedFeaturesMember) and isinstance(new, BoostedFeaturesMember)
            F = old.features(X)
            raw_old = old.booster.predict(F, raw_score=True)
            raw_new = new.booster.predict(F, raw_score=True)
            np.testing.assert_allclose(raw_new[:, kept], raw_old[:, kept], atol=1e-9)
            assert new.booster.current_iteration() >= old.booster.current_iteration()


def test_a_class_with_too_little_time_falls_back(general_model):
    model, _ = general_model
    plan = [("sitting", 30.0), ("walking", 30.0), ("running", 30.0), ("cycling", 2.5)]
    ends = np.cumsum([d for _, d in plan])
    session = synthetic_session(
        rate_hz=RATE,
        streams={"accel": "acc", "gyro": "gyro"},
        plan=plan,
        segments=[(e - d, e, a) for (a, d), e in zip(plan, ends, strict=True)],
        participant=UNUSUAL,
        seed=100,
        classes=list(ACTIVITIES),
    )
    result = calibrate_sessions(model, [session], CFG)
    assert result.calibrated_classes == ["sitting", "walking", "running"]
    assert result.fallback_classes == ["stairs_up", "cycling"]
    assert any("too little of cycling" in w for w in result.warnings)


def test_refuses_one_class(general_model):
    model, _ = general_model
    one = [activity_session(UNUSUAL, 100, seconds=60, bouts=1, activities=("walking",))]
    with pytest.raises(CalibrationRefused, match="only walking"):
        calibrate_sessions(model, one, CFG)


def test_refuses_too_little_time(general_model):
    model, _ = general_model
    data = calibration_dataset(model, [activity_session(UNUSUAL, 100, seconds=30)])
    one_each = data.subset(np.array([np.flatnonzero(data.y == c)[0] for c in np.unique(data.y)]))
    with pytest.raises(CalibrationRefused, match="too little calibration data.*2 windows each"):
        calibrate(model, one_each, CFG)
    # a few windows of each class calibrate (without a held-out block: a short fixed schedule)
    few = data.subset(np.concatenate([np.flatnonzero(data.y == c)[:3] for c in np.unique(data.y)]))
    result = calibrate(model, few, CFG)
    assert result.after is None and any("no window could be held out" in w for w in result.warnings)


def test_refuses_windows_cut_for_another_model(general_model):
    model, _ = general_model
    from harlab.ml.dataset import build_dataset

    other = build_dataset([activity_session(UNUSUAL, 100, seconds=30)], window_s=4.0, rate_hz=10.0)
    with pytest.raises(CalibrationRefused, match="calibration_dataset|channels"):
        calibrate(model, other, CFG)


def test_cancel_stops_calibration(general_model):
    import threading

    model, _ = general_model
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrainingCancelled):
        calibrate_sessions(model, [activity_session(UNUSUAL, 100, seconds=30)], CFG, cancel=cancel)


def test_progress_reports_each_member(general_model):
    model, _ = general_model
    seen = []
    calibrate_sessions(model, [activity_session(UNUSUAL, 100, seconds=30)], CFG, progress=seen.append)
    stages = {p.stage for p in seen}
    assert "cnn1d last layers" in stages and "lightgbm" in stages


def test_provenance_names_parent_and_sessions(general_model, tmp_path):
    model, path = general_model
    session = activity_session(UNUSUAL, 100, seconds=30)
    out = tmp_path / "personal.harmodel"
    result = calibrate_sessions(
        path, [session], CFG, sources=[{"path": "/data/p1.h5", "sha256": "ab" * 32}], output=out
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["personal.harmodel"]  # no temporary left
    loaded = ActivityModel.load(out)
    cal = loaded.info.calibration
    assert cal is not None and result.model.info.calibration == cal
    parent = cal["parent"]
    assert parent["sha256"] == sha256_of(path) and parent["path"] == str(path.resolve())
    assert parent["name"] == model.info.name and parent["classes"] == model.classes
    (s,) = cal["sessions"]
    assert s["session_id"] == session.metadata.session_id
    assert s["path"] == "/data/p1.h5" and s["sha256"] == "ab" * 32
    assert s["participant"] == "unusual"
    assert 0.0 <= s["start_s"] < s["end_s"] <= 150.0 + 1e-6
    assert s["classes"] == sorted(ACTIVITIES)
    assert cal["calibrated_classes"] == list(ACTIVITIES)
    assert cal["before"]["macro_f1"] == pytest.approx(result.before["macro_f1"])
    assert loaded.info.name == "general-personal" or loaded.info.name.endswith("-personal")
    # the general model's own training sessions stay in the lineage
    assert loaded.info.training_sessions == model.info.training_sessions
    # and the personal model predicts like the model in memory
    X = calibration_dataset(model, [session]).X
    np.testing.assert_allclose(loaded.predict_proba(X), result.model.predict_proba(X), atol=1e-5)


def test_header_refuses_a_malformed_calibration_record():
    from harlab.core.errors import HarlabError
    from harlab.ml.model_header import check_info

    info = {"classes": ["a", "b"], "channels": ["acc.x"], "units": ["m/s^2"], "rate_hz": 20.0}
    info.update(window_s=2.0, stride_s=1.0)
    check_info(info)
    for bad in ("x", {"sessions": []}, {"parent": {}, "sessions": ["x"]}):
        with pytest.raises(HarlabError, match="calibration"):
            check_info({**info, "calibration": bad})


def _mislabelled_session(seed: int) -> object:
    """The unusual participant doing each activity, labelled as another one."""
    swap = {"sitting": "running", "running": "sitting", "walking": "cycling", "cycling": "walking"}
    order = [ACTIVITIES[(i + seed) % len(ACTIVITIES)] for i in range(len(ACTIVITIES))]
    return synthetic_session(
        rate_hz=RATE,
        streams={"accel": "acc", "gyro": "gyro"},
        plan=[(act, 30.0) for act in order],
        segments=[(i * 30.0, (i + 1) * 30.0, swap.get(a, a)) for i, a in enumerate(order)],
        participant=UNUSUAL,
        seed=seed,
        classes=list(ACTIVITIES),
    )


def test_calibration_that_another_bout_disowns_keeps_the_general_model(general_model):
    """Two bouts of each activity: the first mislabelled, the second (held out: the last bout)
    right. Whatever the first teaches makes the second worse, so the general model is kept."""
    model, _ = general_model
    sessions = [_mislabelled_session(100), activity_session(UNUSUAL, 101, seconds=30)]
    # the default (cross-fitted) does not get worse on later bouts either
    later = calibration_dataset(model, [activity_session(UNUSUAL, 7, bouts=5)])
    general = evaluate_model(model, later)["macro_f1"]
    default = calibrate_sessions(model, sessions, CFG)
    assert evaluate_model(default.model, later)["macro_f1"] >= general - 0.02
    # one held-out split holds out the last bout
    split = replace(CFG, folds=1, evidence="fixed", min_gain=0.0)
    result = calibrate_sessions(model, sessions, split)
    assert "last bout" in result.held_out
    blend = result.model.info.calibration["blend"]
    assert blend["general_head"] == 1.0, blend  # the network heads are the general model's
    assert evaluate_model(result.model, later)["macro_f1"] >= general - 0.02
    # the same bouts labelled right calibrate
    right = calibrate_sessions(model, [activity_session(UNUSUAL, 100, seconds=30), sessions[1]], split)
    assert right.model.info.calibration["blend"]["general_head"] < 1.0


def test_windows_overlapping_the_held_out_ones_are_left_out(general_model):
    model, _ = general_model
    data = calibration_dataset(model, [activity_session(UNUSUAL, 100, seconds=30)])
    rows = np.arange(len(data))
    val, by_bout = held_out_windows(data, rows)
    assert val.any() and not by_bout  # one bout of each activity: its last time block
    gap = held_out_gap(data, rows, val)
    start, w = data.windows.start_s, data.windows.window_s
    distance = np.abs(start[:, None] - start[val][None, :]).min(axis=1)
    assert gap.any() and not (gap & val).any()
    assert np.all(distance[gap] < w) and np.all(distance[~gap & ~val] >= w - 1e-9)
    # without the windows' times (a subset), the window before each held-out block is left out
    half = data.subset(np.arange(len(data) - 1))
    rows_h = np.arange(len(half))
    val_h, _ = held_out_windows(half, rows_h)
    gap_h = held_out_gap(half, rows_h, val_h)
    assert gap_h.sum() == len(np.unique(half.y[val_h]))


def test_a_small_held_out_gain_keeps_the_general_model(general_model):
    """A participant like the general model's own: whatever calibration gains on a few held-out
    windows is under the strong-gain bar, so the personal model is the general one, and says why."""
    model, _ = general_model
    result = calibrate_sessions(model, [activity_session("P2", 100, seconds=30)], CFG)
    blend = result.model.info.calibration["blend"]
    assert blend["general_head"] == 1.0 and blend["trees"] == "general" and blend["network_weight"] == 1.0
    gain = blend["chosen_held_out"]["macro_f1"] - blend["general_held_out"]["macro_f1"]
    assert gain < CFG.strong_gain
    assert any("weak evidence" in w for w in result.warnings)
    later = calibration_dataset(model, [activity_session("P2", 7, bouts=5)])
    np.testing.assert_allclose(result.model.predict_proba(later.X), model.predict_proba(later.X), atol=1e-6)
    # asked to keep half of a weak calibration, it keeps half of the heads and nothing else
    half = calibrate_sessions(model, [activity_session("P2", 100, seconds=30)], replace(CFG, weak_share=0.5))
    kept = half.model.info.calibration["blend"]
    assert kept["general_head"] >= 0.5 and kept["trees"] == "general" and kept["network_weight"] == 1.0


def test_calibration_cuts_its_windows_densely_and_the_personal_model_keeps_the_stride(general_model):
    """A minute of an activity at a 5 s stride is 11 windows: calibration cuts one at least every
    ``stride_s`` (never sparser than the model), while the personal model predicts as its parent."""
    model, _ = general_model
    session = activity_session(UNUSUAL, 100, seconds=30)
    at_model = calibration_dataset(model, [session])
    dense = calibration_dataset(model, [session], stride_s=0.5)
    assert model.info.stride_s == 1.0 and dense.info.stride_s == 0.5
    assert len(dense) >= 2 * len(at_model) - 10  # each bout: twice the starts, less its end
    assert len(calibration_dataset(model, [session], stride_s=5.0)) == len(at_model)
    result = calibrate_sessions(model, [session], replace(CFG, stride_s=0.5))
    assert result.model.info.stride_s == model.info.stride_s
    record = result.model.info.calibration
    assert record["n_windows"] == len(dense) and record["config"]["stride_s"] == 0.5
    with pytest.raises(HarlabError, match="calibration stride"):
        CalibrationConfig(stride_s=0.0)
    with pytest.raises(HarlabError, match="calibration stride"):
        CalibrationConfig(stride_s=float("nan"))
