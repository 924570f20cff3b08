"""Wearing orientation: which recordings are mapped, that the signs respect the physics of
polar and axial vectors, and that a model sees a mirrored recording as the original."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.ml.context import REF_SIZE, references_by_recording
from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.modelfile import ActivityModel
from harlab.ml.orientation import (
    AXIAL_SIGNS,
    POLAR_SIGNS,
    TRANSFORMS,
    canonicalise,
    channel_signs,
    choose,
    fit_upright,
)
from harlab.ml.training import TrainConfig, train

from .conftest import make_session

CANON = np.array([0.7, -0.7, 0.14]) / np.linalg.norm([0.7, -0.7, 0.14])


def _ref(up, motion: float = 3.0) -> np.ndarray:
    up = np.asarray(up, float) / np.linalg.norm(up)
    return np.concatenate([up, [motion, motion / 3]])


def _rodrigues(axis: np.ndarray, angle: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def test_choose_maps_turned_and_mirrored_recordings_and_leaves_doubtful_ones() -> None:
    refs = np.stack(
        [
            _ref(CANON),  # as worn
            _ref(CANON * POLAR_SIGNS[1]),  # turned round
            _ref(CANON * POLAR_SIGNS[2]),  # other wrist
            _ref(CANON * POLAR_SIGNS[3]),  # other wrist, turned
            _ref(CANON * POLAR_SIGNS[2], motion=0.1),  # mirrored but too still to tell
            _ref([0.0, 0.2, 0.98]),  # an upright of its own (sit-ups): no transform fits
            np.full(REF_SIZE, np.nan),  # no accelerometer / too short
        ]
    )
    assert choose(refs, CANON).tolist() == [0, 1, 2, 3, 0, 0, 0]


def test_fit_upright_follows_the_majority_and_needs_usable_recordings() -> None:
    rng = np.random.default_rng(0)
    rows = [_ref(CANON + rng.normal(0, 0.05, 3)) for _ in range(8)]
    rows += [_ref((CANON + rng.normal(0, 0.05, 3)) * POLAR_SIGNS[2]) for _ in range(3)]
    up = np.asarray(fit_upright(np.stack(rows)))
    assert float(up @ CANON) > 0.99  # the three mirrored recordings join the majority instead of pulling it
    assert fit_upright(np.stack([_ref(CANON, motion=0.05)])) is None
    assert fit_upright(np.full((3, REF_SIZE), np.nan)) is None


@pytest.mark.parametrize("t", range(len(TRANSFORMS)))
def test_signs_keep_the_kinematics_of_a_turning_device(t: int) -> None:
    """In the device frame gravity turns as dg/dt = -w x g. After a transform the mapped
    signals must obey the same law; mirrors only do so because angular velocity is an
    axial vector (the polar signs on the gyroscope would break it)."""
    rng = np.random.default_rng(t)
    w = rng.normal(0, 1.0, 3)
    g0 = rng.normal(0, 1.0, 3)
    dt = 1e-4
    g1 = _rodrigues(w, -np.linalg.norm(w) * dt) @ g0  # the frame turns by w, gravity by -w
    channels = ["acc.x", "acc.y", "acc.z", "gyro.x", "gyro.y", "gyro.z"]
    units = ["m/s^2"] * 3 + ["rad/s"] * 3
    s = channel_signs(np.array([t]), channels, units)[0]
    ga, gb, wm = g0 * s[:3], g1 * s[:3], w * s[3:]
    np.testing.assert_allclose((gb - ga) / dt, -np.cross(wm, ga), rtol=1e-3, atol=1e-4)
    if t >= 2:  # mirrors: treating the gyroscope like the accelerometer violates the law
        wrong = w * POLAR_SIGNS[t]
        assert not np.allclose((gb - ga) / dt, -np.cross(wrong, ga), rtol=1e-2, atol=1e-3)
    assert np.array_equal(AXIAL_SIGNS[:2], POLAR_SIGNS[:2])  # proper rotations treat both alike


def test_channels_outside_a_sensor_triad_are_left_alone() -> None:
    s = channel_signs(np.array([2]), ["acc.x", "acc.y", "acc.z", "heart_rate.bpm"], ["m/s^2"] * 3 + ["bpm"])
    assert s.tolist() == [[-1, 1, 1, 1]]


def _tilted(X: np.ndarray) -> np.ndarray:
    """The simulated wrist (gravity on z) tilted so its upright is like a watch's (x and y)."""
    R = _rodrigues(np.array([1.0, 1.0, 0.0]), np.radians(80))
    out = X.copy()
    out[:, :, :3] = X[:, :, :3] @ R.T
    out[:, :, 3:6] = X[:, :, 3:6] @ R.T
    return out


def test_a_model_sees_a_mirrored_recording_as_the_original(tmp_path, sessions) -> None:
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    X = _tilted(data.X)
    refs = references_by_recording(X, data.groups, data.info.channels, data.info.units)
    cfg = TrainConfig(preset="features", gbm_rounds=30, gbm_min_rounds=30, gbm_feature_fraction=1.0)
    model = train(X, data.y, data.groups, data.info, cfg, context=refs)
    assert model.info.orientation_upright is not None
    new = make_session("new", seed=42)
    Xn = _tilted(session_windows(new, model.info).X)
    mirrored = Xn * channel_signs(np.full(len(Xn), 2), model.info.channels, model.info.units)[:, None, :]
    assert model.wearing_orientation(Xn) == "as worn"
    assert model.wearing_orientation(mirrored) == "mirrored in x"
    np.testing.assert_array_equal(model.predict_proba(mirrored), model.predict_proba(Xn))
    # it survives the model file
    loaded = ActivityModel.load(model.save(tmp_path / "m.harmodel"))
    np.testing.assert_array_equal(loaded.predict_proba(mirrored), model.predict_proba(Xn))
    # without the mapping the same model answers differently for the mirrored recording
    plain = train(
        X, data.y, data.groups, data.info, TrainConfig(**{**cfg.__dict__, "orientation": False}), context=refs
    )
    assert plain.info.orientation_upright is None and plain.wearing_orientation(mirrored) == "as worn"
    assert not np.allclose(plain.predict_proba(mirrored), plain.predict_proba(Xn), atol=1e-3)


def test_canonicalise_without_an_upright_changes_nothing() -> None:
    X = np.ones((4, 5, 6), np.float32)
    refs = np.tile(_ref(CANON * POLAR_SIGNS[2]), (4, 1))
    X2, refs2, t = canonicalise(
        X, refs, None, ["a.x", "a.y", "a.z", "g.x", "g.y", "g.z"], ["m/s^2"] * 3 + ["rad/s"] * 3
    )
    assert X2 is X and refs2 is refs and not t.any()
    X3, refs3, t3 = canonicalise(
        X, refs, CANON, ["a.x", "a.y", "a.z", "g.x", "g.y", "g.z"], ["m/s^2"] * 3 + ["rad/s"] * 3
    )
    assert (t3 == 2).all() and X3[0, 0].tolist() == [-1, 1, 1, 1, -1, -1]
    np.testing.assert_allclose(refs3[0, :3], CANON / np.linalg.norm(CANON), atol=1e-9)
