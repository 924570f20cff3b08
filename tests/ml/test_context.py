"""Recording context: tilt from the recording's own upright, whatever way the device is worn."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from harlab.core import Segment
from harlab.core.errors import HarlabError
from harlab.ml.context import (
    CONTEXT_NAMES,
    MIN_WINDOWS,
    REF_SIZE,
    column_medians,
    context_features,
    network_context,
    recording_reference,
    reference_size,
    references_by_recording,
    relative_features,
    row_medians,
    window_motion,
)
from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.features import find_triads, window_features
from harlab.ml.modelfile import ActivityModel, BoostedFeaturesMember, TorchMember
from harlab.ml.orientation import canonicalise, channel_signs
from harlab.ml.predict import predict_session
from harlab.ml.training import TrainConfig, train

from .conftest import make_session

CH = ["acc.x", "acc.y", "acc.z"]
U = ["m/s^2"] * 3


def _rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def _recording(rot: np.ndarray, n_each: int = 20, rate: float = 25.0, seed: int = 0):
    """Windows of walking (upright, swinging), standing (upright, still) and sitting
    (leaning back 20 degrees, still), seen by a device turned by ``rot``."""
    rng = np.random.default_rng(seed)
    t = np.arange(64) / rate
    lean = np.radians(20)
    body_up = {
        "walking": np.array([0, 0, 1.0]),
        "standing": np.array([0, 0, 1.0]),
        "sitting": np.array([np.sin(lean), 0, np.cos(lean)]),
    }
    X, names = [], []
    for act, up in body_up.items():
        for _ in range(n_each):
            a = np.tile(9.81 * up, (len(t), 1))
            if act == "walking":
                a[:, 0] += 3 * np.sin(2 * np.pi * 2 * t + rng.uniform(0, 6))
                a[:, 2] += 2 * np.sin(2 * np.pi * 4 * t)
            a += rng.normal(0, 0.05, a.shape)
            X.append(a @ rot.T)
            names.append(act)
    return np.array(X, np.float32), np.array(names)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tilt_from_upright_separates_sitting_from_standing_in_any_orientation(seed: int) -> None:
    X, names = _recording(_rotation(seed), seed=seed)
    ref = recording_reference(X, CH, U)
    assert ref.shape == (REF_SIZE,) and np.isfinite(ref).all()
    F = context_features(X, np.tile(ref, (len(X), 1)), CH, U)
    tilt = F[:, CONTEXT_NAMES.index("context:tilt_from_upright_deg")]
    assert np.median(tilt[names == "standing"]) < 3
    assert np.median(tilt[names == "sitting"]) == pytest.approx(20, abs=3)
    motion = F[:, CONTEXT_NAMES.index("context:motion_over_median")]
    assert motion[names == "walking"].min() > 5 * motion[names == "standing"].max()
    walking = F[:, CONTEXT_NAMES.index("context:motion_over_walking")]
    assert np.median(walking[names == "walking"]) == pytest.approx(1.0, abs=0.1)
    assert walking[names == "sitting"].max() < 0.2


def test_too_little_or_no_accelerometer_gives_missing_values() -> None:
    X, _ = _recording(np.eye(3), n_each=3)
    assert len(X) < MIN_WINDOWS
    ref = recording_reference(X, CH, U)
    assert np.isnan(ref).all()
    assert np.isnan(context_features(X, np.tile(ref, (len(X), 1)), CH, U)).all()
    gyro_only = recording_reference(np.zeros((20, 64, 3), np.float32), ["g.x", "g.y", "g.z"], ["rad/s"] * 3)
    assert np.isnan(gyro_only).all()


def test_dataset_reference_comes_from_all_windows_not_only_labelled_ones() -> None:
    s = make_session("P1", seed=1)
    # leave the running bouts unlabelled: the reference must still see them
    kept = [seg for seg in s.remove_label_track("activity") if seg.label != "running"]
    s.add_segments("activity", [Segment(g.start, g.end, g.label, source="imported") for g in kept])
    data = build_dataset([s], "activity", 2.0, 1.0)
    assert "running" not in data.classes
    everything = session_windows(s, data.info)
    assert len(everything.X) > len(data.X)
    want = recording_reference(everything.X, data.info.channels, data.info.units, data.info.rate_hz)
    assert want.shape == (reference_size(data.info.channels, data.info.units, data.info.rate_hz),)
    np.testing.assert_allclose(data.context, np.tile(want, (len(data.X), 1)), rtol=1e-6)
    only_labelled = recording_reference(data.X, data.info.channels, data.info.units, data.info.rate_hz)
    assert not np.allclose(want[:REF_SIZE], only_labelled[:REF_SIZE])
    assert not np.allclose(want[REF_SIZE:], only_labelled[REF_SIZE:])


def test_context_model_round_trip_and_whole_session_prediction(tmp_path, sessions) -> None:
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="features", gbm_rounds=40, gbm_min_rounds=40, gbm_feature_fraction=1.0),
        context=data.context,
    )
    assert model.uses_context
    assert model.members[0].booster.num_feature() == model.members[0].features(data.X[:2]).shape[1]
    loaded = ActivityModel.load(model.save(tmp_path / "m.harmodel"))
    assert loaded.uses_context
    new = make_session("new", seed=42)
    track = predict_session(loaded, new, add=False)
    assert track.params["orientation"] == "as worn"  # the simulated wrist is worn like the training ones
    sw = session_windows(new, loaded.info)
    # the whole session is one recording: same as giving every window that recording's reference
    refs = loaded.recording_references(sw.X)
    np.testing.assert_allclose(track.probabilities, loaded.predict_proba(sw.X, refs), atol=1e-6)
    np.testing.assert_allclose(track.probabilities, model.predict_proba(sw.X, refs), atol=1e-6)
    assert (track.probabilities.argmax(1) == loaded.predict(sw.X)).all()
    # and the context is not ignored: a reference from another recording changes the answer
    other = np.tile(
        recording_reference(
            data.X[data.groups == data.groups[0]], data.info.channels, data.info.units, data.info.rate_hz
        ),
        (len(sw.X), 1),
    )
    other[:, :3] = -other[:, :3]  # an upright upside down
    assert not np.allclose(loaded.predict_proba(sw.X, other), track.probabilities, atol=1e-3)


def test_without_context_the_member_sees_window_features_only(sessions) -> None:
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="features", gbm_rounds=30, gbm_min_rounds=30, context=False),
        context=data.context,
    )
    assert not model.uses_context
    # the recording's upright is still needed to map its wearing orientation, unless that is off too
    assert model.needs_references and model.recording_references(data.X) is not None
    bare = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="features", gbm_rounds=30, gbm_min_rounds=30, context=False, orientation=False),
        context=data.context,
    )
    assert bare.recording_references(data.X) is None and bare.info.orientation_upright is None
    n_ctx = model.members[0].booster.num_feature()
    with_ctx = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="features", gbm_rounds=30, gbm_min_rounds=30),
        context=data.context,
    )
    assert with_ctx.members[0].relative  # each window feature also against the recording's median
    assert with_ctx.members[0].booster.num_feature() == 2 * n_ctx + len(CONTEXT_NAMES)


def test_cnn_takes_the_context_round_trips_and_old_files_without_it_still_load(tmp_path, sessions) -> None:
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    small = {"depth": 2, "width": 8, "max_width": 8}
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="cnn1d", epochs=2, arch=small),
        context=data.context,
    )
    member = model.members[0]
    assert model.uses_context and member.arch.context_inputs == len(CONTEXT_NAMES)
    new = make_session("new", seed=42)
    loaded = ActivityModel.load(model.save(tmp_path / "m.harmodel"))
    assert loaded.members[0].arch.context_inputs == len(CONTEXT_NAMES)
    sw = session_windows(new, loaded.info)
    refs = loaded.recording_references(sw.X)
    track = predict_session(loaded, new, add=False)
    np.testing.assert_allclose(track.probabilities, model.predict_proba(sw.X, refs), atol=1e-5)
    # the network reads the context: a flipped upright changes its answer
    flipped = np.array(refs)  # the per-window rows, to edit
    flipped[:, :3] = -flipped[:, :3]
    assert not np.allclose(loaded.predict_proba(sw.X, flipped), track.probabilities, atol=1e-4)
    with pytest.raises(HarlabError, match="recording-context inputs"):
        member.net(torch.zeros(2, data.X.shape[1], data.X.shape[2]))
    # without context: the network of earlier files (no context_inputs in the architecture)
    plain = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="cnn1d", epochs=2, arch=small, context=False, orientation=False),
        context=data.context,
    )
    assert not plain.uses_context and plain.recording_references(sw.X) is None
    header = plain.members[0].header()
    del header["arch"]["context_inputs"]  # as files written before the CNN took context
    old = TorchMember.restore(header, plain.members[0].arrays(), plain.info)
    np.testing.assert_allclose(old.predict_proba(sw.X), plain.predict_proba(sw.X), atol=1e-6)


def test_network_context_scales_and_fills_missing_values() -> None:
    X, names = _recording(_rotation(3))
    ref = np.tile(recording_reference(X, CH, U), (len(X), 1))
    net_in = network_context(X, ref, CH, U)
    raw = context_features(X, ref, CH, U)
    assert net_in.dtype == np.float32 and net_in.shape == raw.shape
    np.testing.assert_allclose(net_in[:, 0], raw[:, 0] / 90, rtol=1e-5)
    np.testing.assert_allclose(net_in[:, 2], np.log(np.maximum(raw[:, 2], 1e-3)), rtol=1e-5, atol=1e-6)
    assert np.median(net_in[names == "walking", 1]) == pytest.approx(0.0, abs=0.1)  # log(1): as walking
    missing = network_context(X, np.full_like(ref, np.nan), CH, U)
    assert (missing == 0).all()


def _accel_gyro_recording(seed: int = 0) -> tuple[np.ndarray, list[str], list[str]]:
    """The walking/standing/sitting recording plus a gyroscope that turns steadily about the
    device's z axis and a little about x, so turning about the vertical has a sign."""
    X, _ = _recording(_rotation(seed), seed=seed)
    rng = np.random.default_rng(seed + 10)
    gyro = np.array([0.3, 0.0, 1.0], np.float32) + rng.normal(0, 0.2, (len(X), X.shape[1], 3)).astype(
        np.float32
    )
    return np.concatenate([X, gyro], axis=2), CH + ["gyr.x", "gyr.y", "gyr.z"], U + ["rad/s"] * 3


def test_relative_features_are_each_window_against_its_recordings_median() -> None:
    X, ch, un = _accel_gyro_recording()
    rate = 25.0
    ref = recording_reference(X, ch, un, rate)
    F = window_features(X, rate, find_triads(ch, un), un)
    assert ref.shape == (REF_SIZE + F.shape[1],) == (reference_size(ch, un, rate),)
    np.testing.assert_allclose(ref[:REF_SIZE], recording_reference(X, ch, un))  # the motion part as before
    refs = references_by_recording(X, np.zeros(len(X)), ch, un, rate)
    assert refs.shape == (len(X), len(ref)) and refs.table.shape == (
        1,
        len(ref),
    )  # one row, seen by every window
    rel = relative_features(F, refs)
    np.testing.assert_allclose(rel, F - np.median(F, axis=0), rtol=1e-5, atol=1e-5)
    # two recordings keep two medians
    two = references_by_recording(np.concatenate([X, 2 * X]), np.repeat([0, 1], len(X)), ch, un, rate)
    assert len(two.table) == 2 and not np.allclose(two.table[0, REF_SIZE:], two.table[1, REF_SIZE:])
    np.testing.assert_array_equal(np.asarray(two)[[0, -1]], two.table)
    with pytest.raises(HarlabError, match="sampling rate"):
        relative_features(F, np.tile(ref[:REF_SIZE], (len(X), 1)))
    # a day's worth of windows: the features' batches on worker threads give the same medians
    many = np.concatenate([X * (1 + 0.01 * k) for k in range(50)])
    with ThreadPoolExecutor(max_workers=2) as pool:
        np.testing.assert_array_equal(
            recording_reference(many, ch, un, rate, pool), recording_reference(many, ch, un, rate)
        )


def _rotation_onto(up: np.ndarray) -> np.ndarray:
    """A rotation that takes the device's z axis onto ``up`` (Rodrigues)."""
    up = up / np.linalg.norm(up)
    v = np.cross([0.0, 0.0, 1.0], up)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + up[2])


@pytest.mark.parametrize("transform", [1, 2, 3])
def test_the_recording_median_maps_with_its_windows_into_the_models_orientation(transform: int) -> None:
    """The medians are taken as worn; mapping a recording worn another way into the canonical
    orientation must give the medians of the canonical recording, without computing them again."""
    X, _ = _recording(_rotation_onto(np.array([0.6, 0.5, 0.62])), seed=5)
    rng = np.random.default_rng(5)
    gyro = np.array([0.3, -0.2, 1.0], np.float32) + rng.normal(0, 0.2, (len(X), X.shape[1], 3)).astype(
        np.float32
    )
    X = np.concatenate([X, gyro], axis=2)
    ch, un = CH + ["gyr.x", "gyr.y", "gyr.z"], U + ["rad/s"] * 3
    ref = recording_reference(X, ch, un, 25.0)
    worn = X * channel_signs(np.full(len(X), transform), ch, un)[:, None, :]
    worn_refs = references_by_recording(worn, np.zeros(len(X)), ch, un, 25.0)
    assert not np.allclose(worn_refs[0, REF_SIZE:], ref[REF_SIZE:])
    back, refs, t = canonicalise(worn, worn_refs, ref[:3], ch, un)
    assert (t == transform).all()  # each transform is its own inverse
    np.testing.assert_allclose(back, X, atol=1e-6)
    np.testing.assert_allclose(refs, np.tile(ref, (len(X), 1)), rtol=1e-4, atol=1e-5)


def test_models_from_before_relative_features_still_apply_to_full_references(tmp_path, sessions) -> None:
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    cfg = TrainConfig(preset="features", gbm_rounds=30, gbm_min_rounds=30)
    # a reference without the feature medians, as every dataset had before them
    old = train(
        data.X, data.y, data.groups, data.info, cfg, context=np.ascontiguousarray(data.context[:, :REF_SIZE])
    )
    assert old.uses_context and not old.members[0].relative
    header = old.members[0].header()
    del header["recording_relative"]  # as such files were written
    restored = BoostedFeaturesMember.restore(header, old.members[0].arrays(), old.info)
    assert not restored.relative
    np.testing.assert_allclose(
        restored.predict_proba(data.X, context=data.context),
        old.members[0].predict_proba(data.X, context=data.context[:, :REF_SIZE]),
        atol=1e-6,
    )
    new = train(data.X, data.y, data.groups, data.info, cfg, context=data.context)
    loaded = ActivityModel.load(new.save(tmp_path / "new.harmodel"))
    assert loaded.members[0].relative
    np.testing.assert_allclose(
        loaded.predict_proba(data.X, data.context), new.predict_proba(data.X, data.context), atol=1e-6
    )
    with pytest.raises(HarlabError, match="sampling rate"):
        loaded.predict_proba(data.X, data.context[:, :REF_SIZE])


@pytest.mark.parametrize("n", [1, 2, 7, 10, 1001])
def test_column_medians_are_numpys_medians(n: int) -> None:
    """The feature medians by partial sorts are np.median's very numbers, odd and even counts,
    with a NaN column (NaN), ±inf, signed zeros and ties."""
    rng = np.random.default_rng(n)
    F = rng.standard_normal((n, 9)).astype(np.float32)
    F[:, 1] = np.round(F[:, 1])  # ties
    F[rng.random(n) < 0.3, 2] = np.inf
    F[rng.random(n) < 0.3, 3] = -np.inf
    F[:, 4] = -0.0
    F[n // 2, 5] = np.nan
    F[:, 6] = 3.0
    got = column_medians(F)
    want = np.median(F, axis=0)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    R = np.ascontiguousarray(F.T)
    np.testing.assert_array_equal(row_medians(R), want)


def test_window_motion_in_chunks_is_the_motion_of_one_piece() -> None:
    """The gravity direction and motion of each window, computed chunk by chunk, are the numbers
    of the whole set in one piece (the formula without chunks), for any count of windows."""
    X, channels, units = _accel_gyro_recording()
    X = np.concatenate([X] * 40)[:1001]  # several chunks and a partial one
    a = np.asarray(X[:, :, :3], np.float64)
    g = a.mean(1)
    want_gu = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
    want_motion = np.linalg.norm(a, axis=2).std(1)
    for part in (X, X[:1], X[:257]):
        gu, motion = window_motion(part, channels, units)
        np.testing.assert_array_equal(gu, want_gu[: len(part)])
        np.testing.assert_array_equal(motion, want_motion[: len(part)])
