"""Window features (version 2): names, known values, orientation invariance, old model files."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.ml.features import column_map, feature_names, find_triads, n_features, window_features
from harlab.ml.modelfile import ActivityModel
from harlab.ml.orientation import channel_signs

CH6 = ["accelerometer.x", "accelerometer.y", "accelerometer.z", "gyroscope.x", "gyroscope.y", "gyroscope.z"]
U6 = ["m/s^2"] * 3 + ["rad/s"] * 3


def _walk_windows(n: int, rate: float = 50.0, seconds: float = 2.56, seed: int = 0) -> np.ndarray:
    """Wrist-like windows: gravity on a tilted axis, a step rhythm, gyro swing, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    X = np.zeros((n, len(t), 6))
    for i in range(n):
        f = rng.uniform(1.5, 2.2)
        g = rng.normal(size=3)
        g = 9.81 * g / np.linalg.norm(g)
        X[i, :, :3] = g + np.outer(np.sin(2 * np.pi * f * t), rng.normal(size=3) * 2)
        X[i, :, 3:] = np.outer(np.cos(2 * np.pi * f * t), rng.normal(size=3))
    return (X + rng.normal(0, 0.1, X.shape)).astype(np.float32)


@pytest.mark.parametrize(
    ("channels", "units"),
    [
        (CH6, U6),
        (CH6[:3], U6[:3]),  # accelerometer only
        (["acc.x", "acc.y", "acc.z", "heart_rate.bpm"], ["g", "g", "g", "bpm"]),
        (["heart_rate.bpm"], ["bpm"]),  # no triad at all
    ],
)
def test_names_match_columns(channels: list[str], units: list[str]) -> None:
    X = np.random.default_rng(1).normal(size=(5, 64, len(channels))).astype(np.float32)
    tri = find_triads(channels, units)
    F = window_features(X, 25.0, tri, units)
    names = feature_names(channels, units)
    assert F.shape == (5, len(names)) == (5, n_features(64, len(channels), 25.0, tri, units))
    assert len(set(names)) == len(names)
    assert np.isfinite(F).all()


def test_values_of_known_signals() -> None:
    rate = 50.0
    t = np.arange(256) / rate
    x = np.zeros((1, 256, 6), np.float32)
    f = 10 * rate / 256  # 1.95 Hz, on an FFT bin so no leakage
    x[0, :, 0] = 3.0 * np.sin(2 * np.pi * f * t)  # cadence 0.51 s
    x[0, :, 2] = 9.81
    x[0, :, 5] = np.sin(2 * np.pi * f * t)  # turning about the vertical (gravity is on z)
    F = dict(zip(feature_names(CH6, U6), window_features(x, rate, find_triads(CH6, U6), U6)[0], strict=True))
    assert F["accelerometer.x:f1_hz"] == pytest.approx(f, abs=1e-6)
    assert F["accelerometer.x:f1_share"] > 0.9
    assert F["gyroscope.about_vertical:acf_peak_lag_s"] == pytest.approx(1 / f, abs=0.021)
    assert F["gyroscope.about_vertical:acf_peak"] > 0.4
    assert F["gyroscope.across_vertical:sd"] == pytest.approx(0.0, abs=1e-4)
    assert F["accelerometer.x:sd"] == pytest.approx(3.0 / np.sqrt(2), rel=0.02)
    assert F["accelerometer.x:p50"] == pytest.approx(np.percentile(x[0, :, 0], 50), abs=1e-5)
    assert F["accelerometer.x:p95"] == pytest.approx(np.percentile(x[0, :, 0], 95), abs=1e-5)
    assert F["accelerometer.x:band_1-2Hz"] + F["accelerometer.x:band_2-3Hz"] > 0.9
    # gravity along +z: the tilt is (0, 0, 1) and the step swing is horizontal, not vertical
    assert F["accelerometer:gravity_z"] == pytest.approx(1.0, abs=1e-3)
    assert F["accelerometer:gravity_norm"] == pytest.approx(9.81, abs=1e-3)
    assert F["accelerometer.horizontal:sd"] > 10 * F["accelerometer.vertical:sd"]
    assert F["accelerometer.z:sd"] == pytest.approx(0.0, abs=1e-4)
    assert F["accelerometer.z:skew"] == 0.0  # constant channel: defined, not NaN


def test_orientation_free_views_do_not_change_when_the_device_is_turned() -> None:
    """A watch worn the other way round, or any rotation, leaves the magnitude and
    gravity-aligned views alone (what makes the features robust across participants)."""
    X = _walk_windows(40)
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = q * np.sign(np.linalg.det(q))  # a proper rotation
    Xr = X.copy()
    Xr[:, :, :3] = X[:, :, :3] @ rot.T
    Xr[:, :, 3:] = X[:, :, 3:] @ rot.T
    tri = find_triads(CH6, U6)
    F, Fr = window_features(X, 50.0, tri, U6), window_features(Xr, 50.0, tri, U6)
    names = np.array(feature_names(CH6, U6))
    free = np.array([any(k in n for k in ("|xyz", "vertical", "horizontal", "gravity_norm")) for n in names])
    assert free.sum() > 150
    np.testing.assert_allclose(Fr[:, free], F[:, free], rtol=2e-3, atol=2e-3)
    # ... while the per-axis views do change (the test would pass vacuously otherwise)
    assert np.abs(Fr[:, ~free] - F[:, ~free]).max() > 1.0


def test_batches_give_the_same_columns_as_one_pass() -> None:
    X = _walk_windows(37)
    tri = find_triads(CH6, U6)
    np.testing.assert_array_equal(
        window_features(X, 50.0, tri, U6, batch=8), window_features(X, 50.0, tri, U6)
    )


def test_version_1_model_files_still_apply(tmp_path) -> None:
    """Files written before feature versions existed (no ``features_version`` in the member
    header) were trained on version 1 columns and must keep getting exactly those."""
    import json

    import lightgbm as lgb

    from harlab.ml.modelfile import BoostedFeaturesMember, ModelInfo

    X = _walk_windows(60)
    y = (np.arange(60) % 2).astype(np.int64)
    X[y == 1] *= 1.5
    tri = find_triads(CH6, U6)
    F1 = window_features(X, 50.0, tri, U6, version=1)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 2, "verbose": -1, "min_data_in_leaf": 5},
        lgb.Dataset(F1, y),
        num_boost_round=10,
    )
    info = ModelInfo(classes=["a", "b"], channels=CH6, units=U6, rate_hz=50.0, window_s=2.56, stride_s=1.28)
    member = BoostedFeaturesMember(booster, 50.0, tri, 2, U6, features_version=1, channels=CH6)
    path = ActivityModel(info, [member]).save(tmp_path / "v1.harmodel")
    # make it look like a file from before versions: drop the keys added since
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["__header__"].tobytes())
    for m in header["members"]:
        m.pop("features_version"), m.pop("recording_context")
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    loaded = ActivityModel.load(path)
    gbm = loaded.members[0]
    assert gbm.features_version == 1 and not gbm.uses_context
    assert gbm.features(X).shape == (60, booster.num_feature()) == F1.shape
    np.testing.assert_allclose(loaded.predict_proba(X), booster.predict(F1), atol=1e-6)
    assert n_features(128, 6, 50.0, tri, U6) != F1.shape[1]  # version 2 would not fit this booster


def test_unknown_version_is_refused() -> None:
    with pytest.raises(HarlabError, match="version 3"):
        window_features(np.zeros((1, 10, 3), np.float32), 10.0, version=3)


@pytest.mark.parametrize("transform", [0, 1, 2, 3])
def test_column_map_says_how_features_move_under_a_wearing_transform(transform: int) -> None:
    """Features of a recording worn another way are a permutation of the original's, some
    negated: what lets a recording's median features follow it into a model's orientation."""
    ch = ["acc.x", "acc.y", "acc.z", "gyr.x", "gyr.y", "gyr.z", "hr.bpm"]
    un = ["m/s^2"] * 3 + ["rad/s"] * 3 + ["bpm"]
    rng = np.random.default_rng(transform)
    X = rng.normal(size=(40, 64, 7)).astype(np.float32)
    X[:, :, :3] += np.array([3.0, -2.0, 9.0], np.float32)  # a tilted device
    X[:, :, 3:6] += np.array([0.3, 0.1, 1.0], np.float32)  # turning about all axes
    X[:, :, :6] += np.sin(np.linspace(0, 12, 64))[None, :, None].astype(np.float32) * rng.normal(
        size=6
    ).astype(np.float32)
    X[:, :, 6] = 70 + X[:, :, 6]
    signs = channel_signs(np.array([transform]), ch, un)[0]
    tri = find_triads(ch, un)
    F = window_features(X, 25.0, tri, un)
    Ft = window_features(X * signs, 25.0, tri, un)
    index, sign = column_map(ch, un, signs)
    np.testing.assert_allclose(Ft, sign * F[:, index], rtol=1e-4, atol=1e-4)
    moved = int((index != np.arange(len(index))).sum() + (sign < 0).sum())
    assert (moved > 0) == (transform > 0)
    with pytest.raises(HarlabError, match="not a wearing transform"):
        column_map(ch, un, [1, 1, 1, 1, -1, 1, 1])


def _row_statistics(row: np.ndarray, rate: float) -> list[float]:
    """The version-2 statistics of one row, written plainly in double precision with numpy's
    own percentile and FFT: the reference the vectorised single-precision code must match."""
    x = row.astype(np.float64)
    t = len(x)
    mean = x.mean()
    cen = x - mean
    sd = cen.std()
    flat = sd <= 1e-6 * (abs(mean) + 1.0)
    pct = list(np.percentile(x, [5, 25, 50, 75, 95]))
    signs = np.signbit(cen)
    spec = np.abs(np.fft.rfft(cen)) ** 2
    freqs = np.fft.rfftfreq(t, 1.0 / rate)
    total = spec.sum() + 1e-12
    p = spec / total
    order = np.argsort(-spec, kind="stable")
    bands = [p[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in ((0, 0.5), (0.5, 1), (1, 2), (2, 3), (3, 5))]
    bands += [p[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in ((5, 8), (8, 12), (12, 1e9))]
    return [
        mean,
        sd,
        x.min(),
        x.max(),
        *pct,
        pct[3] - pct[1],
        0.0 if flat else float((cen**3).mean() / sd**3),
        0.0 if flat else float((cen**4).mean() / sd**4),
        float(np.abs(np.diff(x)).mean()),
        float((signs[1:] != signs[:-1]).mean()),
        freqs[order[0]],
        p[order[0]],
        freqs[order[1]],
        p[order[1]],
        float(p @ freqs),
        *bands,
        float(np.log(total / t)),
        float(-(p * np.log(p + 1e-12)).sum() / np.log(len(spec))),
    ]


def test_vectorised_statistics_equal_a_plain_per_row_reference() -> None:
    """Every statistic column of a batch equals the plain double-precision computation of each
    row alone, within float32 rounding: the batched code (einsum moments, scipy's float32 FFT,
    band sums) must not change what a booster was trained on."""
    rng = np.random.default_rng(11)
    rate = 50.0
    t = np.arange(128) / rate
    # noise, offsets and rhythms at scales of accelerometer and gyroscope signals, plus a flat row
    rows = rng.normal(0, rng.uniform(0.05, 3, (300, 1)), (300, 128)) + rng.uniform(-10, 10, (300, 1))
    rows[:100] += rng.uniform(0.5, 4, (100, 1)) * np.sin(2 * np.pi * rng.uniform(0.6, 6, (100, 1)) * t)
    rows[-1] = 9.81
    rows = rows.astype(np.float32)
    from harlab.ml.features import _stats  # noqa: PLC2701 - the statistics against their reference

    got = np.stack(_stats(rows, rate), axis=1).astype(np.float64)
    want = np.array([_row_statistics(r, rate) for r in rows])
    assert got.shape == want.shape
    scale = np.maximum(np.abs(want), np.abs(want).max(0, keepdims=True) * 1e-2)
    err = np.abs(got - want) / np.maximum(scale, 1e-6)
    # the flat row's spectrum is float32 rounding residue against double's zeros: only its moments count
    err[-1, 14:] = 0.0
    assert err.max() < 1e-3, (np.unravel_index(err.argmax(), err.shape), err.max())


def test_window_features_equal_the_values_pinned_from_the_previous_code() -> None:
    """The features of 48 windows (24 random ones with constant, NaN, ±inf and zero channels; 24 of
    a simulated 24 h wrist session) as the code before the shared centring, the single copy of
    each view and the reused correlations computed them (revision d85d76f, this machine: AVX-512),
    stored in ``data/features_v2_pinned.npz``. Trained boosters split on these numbers, so they
    must stay equal: within float32 rounding (another CPU's SIMD width sums in another order;
    on the machine that stored them they are equal bit for bit)."""
    from pathlib import Path

    with np.load(Path(__file__).parent / "data" / "features_v2_pinned.npz") as z:
        X, want = z["X"], z["F"]
    tri = find_triads(CH6, U6)
    with np.errstate(all="ignore"):
        got = window_features(X, 50.0, tri, U6)
    assert got.shape == want.shape == (48, n_features(128, 6, 50.0, tri, U6))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])  # NaN where NaN, ±inf where ±inf
    # float32 rounding: relative to the value, or to the column's scale for values near zero
    scale = np.nanmax(np.where(finite, np.abs(want), np.nan), axis=0)
    tol = 1e-5 * np.abs(want) + 1e-6 * np.nan_to_num(scale)[None, :] + 1e-12
    err = np.abs(np.where(finite, got, 0.0) - np.where(finite, want, 0.0))  # no inf - inf
    assert (err <= np.where(finite, tol, 0.0)).all(), np.unravel_index(np.argmax(err - tol), err.shape)
