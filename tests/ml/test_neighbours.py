"""Temporal context: LightGBM also sees the mean features of the windows beside each window.

The neighbours are found from the samples (windows that overlap exactly), so these tests cut
windows from known signals and check which rows are averaged: across a gap, another recording,
a finer hop and NaN features; then that a model with neighbours learns what windows alone
cannot, keeps them through its file, refuses hostile settings, and predicts a session cut
into batches and blocks as in one piece.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.metrics import confusion_matrix, metrics_from_confusion
from harlab.ml.model_presets import MAX_GBM_NEIGHBOURS
from harlab.ml.modelfile import ActivityModel, ModelFileError, ModelInfo
from harlab.ml.neighbours import halo_for, neighbour_mean, stretch_ids
from harlab.ml.predict import predict_session, predict_windows
from harlab.ml.shared_trunk import find_hop
from harlab.ml.training import TrainConfig, train

from .conftest import make_session

CH6 = ["accelerometer.x", "accelerometer.y", "accelerometer.z", "gyroscope.x", "gyroscope.y", "gyroscope.z"]
U6 = ["m/s^2"] * 3 + ["rad/s"] * 3
RATE = 25.0
T = 50  # 2 s windows


def cut(signal: np.ndarray, hop: int, t: int = T) -> np.ndarray:
    """Windows of ``t`` samples every ``hop`` samples of ``signal`` (S, C)."""
    starts = range(0, len(signal) - t + 1, hop)
    return np.stack([signal[s : s + t] for s in starts]).astype(np.float32)


def test_the_mean_of_the_windows_beside_within_a_stretch() -> None:
    rng = np.random.default_rng(0)
    a, b = (cut(rng.normal(size=(400, 2)), 25) for _ in range(2))  # two recordings, 15 windows each
    X = np.concatenate([a, b])
    F = np.arange(len(X), dtype=np.float32)[:, None] * [1.0, 10.0]
    np.testing.assert_array_equal(stretch_ids(X, 25), [0] * len(a) + [1] * len(b))
    near = neighbour_mean(F, X, step=25, radius=2)
    want = [np.mean([j for j in (i - 2, i - 1, i + 1, i + 2) if 0 <= j < 15]) for i in range(15)]
    np.testing.assert_allclose(near[:15, 0], want)
    np.testing.assert_allclose(near[15:, 0], np.array(want) + 15)  # the second recording alone
    np.testing.assert_allclose(near[:, 1], 10 * near[:, 0])


def test_a_finer_hop_takes_the_windows_a_model_stride_away() -> None:
    """Calibration cuts windows every second for a model of a longer stride: the neighbour one
    stride away is then several windows away."""
    rng = np.random.default_rng(1)
    X = cut(rng.normal(size=(600, 3)), 5)  # hop 5 samples, the model's stride 25
    F = np.arange(len(X), dtype=np.float32)[:, None]
    near = neighbour_mean(F, X, step=25, radius=1)
    i = 40
    assert near[i, 0] == pytest.approx((i - 5 + i + 5) / 2)
    assert near[2, 0] == 7  # only the one after
    assert halo_for(1, 25, 5) == 5 and halo_for(2, 25, 25) == 2 and halo_for(0, 25, 5) == 0


def test_gaps_nan_features_and_windows_that_do_not_overlap() -> None:
    rng = np.random.default_rng(2)
    sig = rng.normal(size=(500, 2))
    X = cut(sig, 25)
    X[7] += 1.0  # changed samples: window 7 overlaps neither 6 nor 8 any more
    F = np.arange(len(X), dtype=np.float32)[:, None].repeat(2, 1)
    F[5, 1] = np.nan
    near = neighbour_mean(F, X, step=25, radius=1)
    assert np.isnan(near[7]).all()  # alone: NaN, what LightGBM takes as missing
    assert near[6, 0] == 5 and near[8, 0] == 9  # the gap ends each stretch
    assert near[4, 0] == 4 and near[4, 1] == 3  # a neighbour's NaN is missing for that feature only
    assert np.isnan(near[6, 1])  # its only neighbour's feature is NaN
    apart = cut(sig, T)  # a stride of a whole window: nothing overlaps, no neighbours
    assert np.isnan(neighbour_mean(np.ones((len(apart), 1), np.float32), apart, T, 2)).all()
    with pytest.raises(HarlabError, match="radius"):
        neighbour_mean(F, X, 25, MAX_GBM_NEIGHBOURS + 1)
    with pytest.raises(HarlabError, match="one row per window"):
        neighbour_mean(F[:3], X, 25, 1)


def _noisy_recordings(seed: int, n_rec: int, bouts: int = 8, bout_s: float = 40.0):
    """Recordings whose two classes differ only in how strongly the device shakes, by less than
    a 2 s window's spread of it: a window alone is often ambiguous, its minute is not."""
    rng = np.random.default_rng(seed)
    Xs, ys, gs = [], [], []
    n = int(bout_s * RATE)
    for r in range(n_rec):
        parts, labels = [], []
        for _b in range(bouts):
            c = int(rng.integers(2))
            scale = (1.0, 1.07)[c]
            acc = rng.normal(0, scale, (n, 3)) + [0.0, 0.0, 9.81]
            gyro = rng.normal(0, 0.3 * scale, (n, 3))
            parts.append(np.concatenate([acc, gyro], 1))
            labels.append(np.full(n, c))
        sig, lab = np.concatenate(parts), np.concatenate(labels)
        X = cut(sig, 25)
        mid = np.arange(len(X)) * 25 + T // 2
        Xs.append(X)
        ys.append(lab[mid])
        gs.append(np.full(len(X), f"R{seed}-{r}"))
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs)


def _info() -> ModelInfo:
    return ModelInfo(
        classes=["calm", "shaky"], channels=CH6, units=U6, rate_hz=RATE, window_s=T / RATE, stride_s=1.0
    )


@pytest.fixture(scope="module")
def noisy_models(tmp_path_factory):
    X, y, g = _noisy_recordings(0, 6)
    base = dict(preset="features", gbm_rounds=150, gbm_min_rounds=150, orientation=False)
    alone = train(X, y, g, _info(), TrainConfig(**base))
    beside = train(X, y, g, _info(), TrainConfig(**base, gbm_neighbours=3))
    path = beside.save(tmp_path_factory.mktemp("n") / "beside.harmodel")
    return alone, beside, path


def _macro_f1(model: ActivityModel, X: np.ndarray, y: np.ndarray) -> float:
    pred = predict_windows(model, X, threads=1).argmax(1)
    return float(metrics_from_confusion(confusion_matrix(y, pred, 2), ["calm", "shaky"])["macro_f1"])


def test_the_windows_beside_tell_what_a_window_alone_cannot(noisy_models) -> None:
    alone, beside, _ = noisy_models
    X, y, _ = _noisy_recordings(1, 2)  # other recordings
    f_alone, f_beside = _macro_f1(alone, X, y), _macro_f1(beside, X, y)
    assert f_beside > f_alone + 0.05, (f_alone, f_beside)
    # shuffled, no window has its neighbours: the member falls back to what the window shows, as
    # well as a member trained without them (training blanks some windows' neighbours; without
    # that this scored 0.33 against 0.77)
    order = np.random.default_rng(0).permutation(len(X))
    shuffled = _macro_f1(beside, X[order], y[order])
    assert f_alone - 0.04 < shuffled < f_beside - 0.05, (f_alone, shuffled, f_beside)


def test_neighbours_go_through_the_model_file(noisy_models) -> None:
    _, beside, path = noisy_models
    loaded = ActivityModel.load(path)
    m = loaded.members[0]
    assert (m.neighbours, m.step) == (3, 25)
    assert loaded.halo_windows(25) == 3 and loaded.halo_windows(5) == 15
    X, _, _ = _noisy_recordings(2, 1, bouts=2)
    np.testing.assert_allclose(loaded.predict_proba(X), beside.predict_proba(X), atol=1e-6)


def _rewrite(path, out, change) -> None:
    """``path`` with its header changed by ``change`` written to ``out`` (arrays kept)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["__header__"].tobytes())
    change(header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(out, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (MAX_GBM_NEIGHBOURS + 1, "outside"),
        (-1, "outside"),
        ("2", "integer"),
        (True, "integer"),
        (2.5, "integer"),
    ],
)
def test_a_hostile_neighbours_setting_is_refused(noisy_models, tmp_path, value, problem) -> None:
    _, _, path = noisy_models
    out = tmp_path / "bad.harmodel"
    _rewrite(path, out, lambda h: h["members"][0].update(neighbours=value))
    with pytest.raises(ModelFileError, match=problem):
        ActivityModel.load(out)


def test_a_booster_of_other_columns_than_its_neighbours_is_refused(noisy_models, tmp_path) -> None:
    _, _, path = noisy_models
    out = tmp_path / "fewer.harmodel"
    _rewrite(path, out, lambda h: h["members"][0].pop("neighbours"))
    with pytest.raises(ModelFileError, match="feature"):
        ActivityModel.load(out)


def test_a_file_whose_windows_do_not_overlap_cannot_ask_for_neighbours(noisy_models, tmp_path) -> None:
    """A stride of a whole window has no neighbours, and a longer one would make every batch of
    a session carry ever more windows beside it."""
    _, _, path = noisy_models
    out = tmp_path / "apart.harmodel"
    _rewrite(path, out, lambda h: h["info"].update(stride_s=1e6))
    with pytest.raises(ModelFileError, match="overlap"):
        ActivityModel.load(out)


def test_the_training_setting_is_checked() -> None:
    with pytest.raises(HarlabError, match="neighbours"):
        TrainConfig(gbm_neighbours=MAX_GBM_NEIGHBOURS + 1)
    with pytest.raises(HarlabError, match="neighbours"):
        TrainConfig(gbm_neighbours=True)
    X, y, g = _noisy_recordings(0, 2, bouts=2)
    apart = ModelInfo(
        classes=["calm", "shaky"], channels=CH6, units=U6, rate_hz=RATE, window_s=2.0, stride_s=2.0
    )
    model = train(X, y, g, apart, TrainConfig(preset="features", gbm_rounds=5, gbm_neighbours=1))
    assert model.members[0].neighbours == 0  # windows that do not overlap have none: trained without
    assert any("each window alone" in w for w in model.info.metrics["warnings"])


def test_a_session_in_batches_and_blocks_gets_the_probabilities_of_one_piece(
    noisy_models, monkeypatch
) -> None:
    """Each batch carries the windows beside it, so the windows at every cut average the same
    neighbours as in one piece; without them the windows at a cut differ."""
    import harlab.ml.predict as predict

    sessions = [make_session(f"P{i}", seed=i) for i in range(3)]
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    cfg = TrainConfig(preset="ensemble", epochs=1, gbm_rounds=30, gbm_min_rounds=30, gbm_neighbours=2)
    model = train(data.X, data.y, data.groups, data.info, cfg, context=data.context)
    assert model.halo_windows(25) == 2
    s = make_session("Q", seed=5, bouts=25)
    sw = session_windows(s, model.info)
    whole = predict_windows(model, sw.X, batch=len(sw.X), threads=1)
    monkeypatch.setattr(predict, "BATCH", 7)
    track = predict_session(model, s, add=False, block_s=13.0)
    np.testing.assert_allclose(track.probabilities, whole, rtol=0, atol=2e-6)
    np.testing.assert_allclose(predict_windows(model, sw.X, batch=7, threads=2), whole, rtol=0, atol=2e-6)
    # the noisy model's member: its features of a batch with and without the windows beside it
    _, beside, _ = noisy_models
    X, _, _ = _noisy_recordings(3, 1, bouts=2)
    ref = beside.recording_references(X)
    one = beside.predict_proba(X, ref)
    alone = beside.predict_proba(X[20:30], ref[20:30])
    with_halo = beside.predict_proba(X[20:30], ref[20:30], halo=(X[17:20], X[30:33]))
    np.testing.assert_allclose(with_halo, one[20:30], atol=1e-6)
    assert np.abs(alone[[0, -1]] - one[[20, 29]]).max() > 1e-4


def test_calibration_extends_a_member_with_neighbours(tmp_path) -> None:
    """Calibration cuts windows every second for a model of a longer stride; the member's new
    trees take the neighbours a model stride away, and the personal model keeps them."""
    from harlab.ml.calibration import CalibrationConfig, calibrate_sessions
    from tests.calibration.conftest import RATE, UNUSUAL, activity_session

    sessions = [activity_session(f"P{i}", i) for i in range(4)]
    data = build_dataset(sessions, window_s=4.0, stride_s=2.0, rate_hz=RATE)
    cfg = TrainConfig(preset="features", gbm_rounds=40, gbm_min_rounds=40, gbm_neighbours=2, threads=1)
    model = train(data.X, data.y, data.groups, data.info, cfg, context=data.context, blocks=data.blocks)
    result = calibrate_sessions(
        model, [activity_session(UNUSUAL, 100, seconds=40)], CalibrationConfig(threads=1, min_gain=0.0)
    )
    personal = ActivityModel.load(result.model.save(tmp_path / "personal.harmodel"))
    m = personal.members[0]
    assert (m.neighbours, m.step) == (2, int(2.0 * RATE))
    assert m.booster.current_iteration() > model.members[0].booster.current_iteration()  # new trees
    p = personal.predict_proba(data.X, data.context)
    assert p.shape == (len(data.X), len(model.classes)) and np.all(np.isfinite(p))


def test_hours_of_a_repeated_value_do_not_choose_the_hop() -> None:
    """Windows of one repeated value overlap at every hop; with the probes of a mostly idle
    recording all landing on them a hop of one sample was chosen and no neighbour was right."""
    rng = np.random.default_rng(3)
    idle = np.ones((20000, 2))
    X = cut(np.concatenate([idle, rng.normal(size=(200, 2)), idle]), 25)  # 9 moving windows of 1607
    assert find_hop(X, 1) == 1  # every sampled pair idle
    F = np.arange(len(X), dtype=np.float32)[:, None]
    near = neighbour_mean(F, X, step=25, radius=1)
    assert near[802, 0] == pytest.approx(802)  # a moving window: the mean of the windows beside it


def test_only_training_windows_lose_their_neighbours() -> None:
    """Training blanks some windows' neighbours so that the trees learn a fallback; the validation
    windows keep theirs, so the validation score is what prediction will see."""
    from harlab.ml.training import NEIGHBOURS_BLANKED, without_some_neighbours

    F = np.ones((4000, 5), np.float32)
    train_rows = np.arange(4000) < 3000
    out = without_some_neighbours(F, 2, seed=0, rows=train_rows)
    blanked = np.isnan(out[:, -2:]).all(axis=1)
    assert not blanked[~train_rows].any() and not np.isnan(out[:, :3]).any()
    assert abs(blanked[train_rows].mean() - NEIGHBOURS_BLANKED) < 0.02
    assert np.isfinite(F).all()  # a copy
