"""A session predicted block by block equals the session predicted in one piece, in bounded memory.

Tiny blocks make a short simulated session span many of them: a gap of the accelerometer
and a stretch of missing gyroscope values cross block boundaries (a block falls wholly
inside the gap), and recordings shorter than one block, and shorter than a reference
needs, are predicted too. The one-piece reference is the path without blocks:
:func:`~harlab.ml.predict.predict_windows` over every window of
:func:`~harlab.ml.dataset.session_windows`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.core.streams import Stream
from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.modelfile import ActivityModel, TorchMember
from harlab.ml.predict import predict_session, predict_windows, session_blocks
from harlab.ml.training import TrainConfig, train
from harlab.simulate import synthetic_session
from harlab.simulate.batch_session import demo_model_path

from .conftest import make_session

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_model() -> ActivityModel:
    """LightGBM on window features with the recording's medians and a wearing orientation."""
    return ActivityModel.load(demo_model_path())


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory) -> ActivityModel:
    """LightGBM and a network with the recording context, 25 Hz streams ``acc`` and ``gyro``."""
    sessions = [make_session(f"P{i}", seed=i) for i in range(3)]
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    cfg = TrainConfig(preset="ensemble", epochs=1, gbm_rounds=20, gbm_min_rounds=20)
    model = train(data.X, data.y, data.groups, data.info, cfg, context=data.context)
    return ActivityModel.load(model.save(tmp_path_factory.mktemp("m") / "ensemble.harmodel"))


def _with_holes(s, acc: str, gyro: str, rate: float):
    """``s`` with the accelerometer missing over 200-260 s and the gyroscope NaN over 400-433 s."""
    t, v = s.streams[acc].read()
    keep = (t < 200.0) | (t >= 260.0)
    st = s.streams[acc]
    s.remove_stream(acc)
    s.add_stream(Stream.from_arrays(acc, t[keep], v[keep], st.channels, st.units, rate_hz=rate, kind=st.kind))
    t, v = s.streams[gyro].read()
    v = v.copy()
    v[(t >= 400.0) & (t < 433.0)] = np.nan
    st = s.streams[gyro]
    s.remove_stream(gyro)
    s.add_stream(Stream.from_arrays(gyro, t, v, st.channels, st.units, rate_hz=rate, kind=st.kind))
    return s


def _whole(model: ActivityModel, session) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    sw = session_windows(session, model.info)
    probs = predict_windows(model, sw.X, threads=2)
    orientation = model.wearing_orientation(sw.X) if len(sw.X) else "as worn"
    return sw.start, sw.end, probs, orientation


def _assert_same(track, whole, model: ActivityModel, one_piece) -> None:
    start, end, probs, orientation = whole
    np.testing.assert_allclose(track.window_start, start, rtol=0, atol=1e-9)
    np.testing.assert_allclose(track.window_end, end, rtol=0, atol=1e-9)
    np.testing.assert_allclose(track.probabilities, probs, rtol=0, atol=1e-6)
    assert track.params["orientation"] == orientation
    assert [s.label for s in track.segments] == [s.label for s in one_piece.segments]
    np.testing.assert_allclose(
        [(s.start, s.end) for s in track.segments], [(s.start, s.end) for s in one_piece.segments], atol=1e-9
    )


@pytest.mark.parametrize("block_s", [7.0, 30.0, 95.0])
def test_blocks_equal_one_piece_across_a_gap_and_missing_values(demo_model, block_s) -> None:
    s = _with_holes(
        synthetic_session(600.0, rate_hz=50.0, streams=["accel", "gyro"], seed=4), "accel", "gyro", 50.0
    )
    whole = _whole(demo_model, s)
    one = predict_session(demo_model, s, add=False, block_s=1e9)
    _assert_same(one, whole, demo_model, one)
    track = predict_session(demo_model, s, add=False, block_s=block_s)
    _assert_same(track, whole, demo_model, one)
    assert not np.any((track.window_start < 260.0) & (track.window_end > 200.0))  # none in the gap
    assert len(list(session_blocks(s, demo_model.info, block_s=block_s))) > 600.0 / block_s / 2


def test_blocks_equal_one_piece_for_an_ensemble_with_a_network(ensemble) -> None:
    s = _with_holes(make_session("Q", seed=5, bouts=25), "acc", "gyro", 25.0)
    whole = _whole(ensemble, s)
    one = predict_session(ensemble, s, add=False, block_s=1e9)
    _assert_same(one, whole, ensemble, one)
    _assert_same(predict_session(ensemble, s, add=False, block_s=13.0), whole, ensemble, one)


@pytest.fixture(scope="module")
def margins_ensemble(tmp_path_factory) -> ActivityModel:
    """The ensemble with a "margins" network: each window takes 49 samples of its recording on
    each side, more than the hop of 25 samples between windows, so a batch needs two beside it."""
    sessions = [make_session(f"P{i}", seed=i) for i in range(3)]
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    arch = {"depth": 3, "width": 8, "max_width": 8, "kernel": 15, "padding": "margins"}
    cfg = TrainConfig(preset="ensemble", epochs=1, gbm_rounds=20, gbm_min_rounds=20, arch=arch)
    model = train(data.X, data.y, data.groups, data.info, cfg, context=data.context)
    return ActivityModel.load(model.save(tmp_path_factory.mktemp("m") / "margins.harmodel"))


def test_a_margins_network_gets_the_same_probabilities_whatever_the_batches_and_blocks(
    margins_ensemble, monkeypatch
) -> None:
    """Batches and blocks carry the windows beside them, so the windows at every cut take their
    margins from the recording: the track equals the windows predicted in one call (without the
    windows beside the batches, the windows at each cut differed)."""
    import harlab.ml.predict as predict

    model = margins_ensemble
    assert model.halo_windows(25) == 2 and model.halo_windows(50) == 1
    s = _with_holes(make_session("Q", seed=5, bouts=25), "acc", "gyro", 25.0)
    sw = session_windows(s, model.info)
    # one batch: every window's margins from its neighbours (and the recording's reference)
    whole = predict_windows(model, sw.X, batch=len(sw.X), threads=1)
    monkeypatch.setattr(predict, "BATCH", 7)  # a cut every 7 windows
    track = predict_session(model, s, add=False, block_s=13.0)
    np.testing.assert_allclose(track.probabilities, whole, rtol=0, atol=2e-6)
    np.testing.assert_allclose(predict_windows(model, sw.X, batch=7, threads=2), whole, rtol=0, atol=2e-6)
    # the windows beside a batch change what its two windows at each end get, and only those
    batch = sw.X[10:17]
    ref = model.recording_references(sw.X)[10:17]
    alone = model.predict_proba(batch, ref)
    beside = model.predict_proba(batch, ref, halo=(sw.X[8:10], sw.X[17:19]))
    np.testing.assert_allclose(beside, whole[10:17], rtol=0, atol=2e-6)
    for i in (0, 1, 5, 6):
        assert np.abs(alone[i] - whole[10 + i]).max() > 1e-5
    np.testing.assert_allclose(alone[2:5], whole[12:15], rtol=0, atol=2e-6)
    with pytest.raises(HarlabError, match="windows beside a batch"):
        model.predict_proba(batch, ref, halo=(sw.X[8:10, :5], sw.X[17:19]))


@pytest.mark.parametrize("seconds", [8.0, 40.0])
def test_a_recording_shorter_than_a_block(demo_model, seconds) -> None:
    """8 s: fewer windows than a reference needs (NaN reference); 40 s: one block of many."""
    s = synthetic_session(seconds, rate_hz=50.0, streams=["accel", "gyro"], seed=2)
    whole = _whole(demo_model, s)
    one = predict_session(demo_model, s, add=False)
    _assert_same(one, whole, demo_model, one)
    _assert_same(predict_session(demo_model, s, add=False, block_s=5.0), whole, demo_model, one)


def test_progress_is_monotone_and_ends_at_the_total(demo_model) -> None:
    s = synthetic_session(300.0, rate_hz=50.0, streams=["accel", "gyro"], seed=3)
    seen: list[tuple[int, int]] = []
    predict_session(demo_model, s, add=False, block_s=40.0, progress=lambda d, t: seen.append((d, t)))
    fractions = [d / t for d, t in seen]
    assert fractions == sorted(fractions)
    assert seen[-1][0] == seen[-1][1] > 0
    assert len(seen) > 10  # both passes report every block


def test_a_block_shorter_than_a_window_is_refused(demo_model) -> None:
    s = synthetic_session(30.0, rate_hz=50.0, streams=["accel", "gyro"], seed=3)
    with pytest.raises(HarlabError, match="must hold a window"):
        predict_session(demo_model, s, add=False, block_s=1.0)


def test_cancelling_from_progress_stops_the_prediction(demo_model) -> None:
    from harlab.core.errors import PredictionCancelled

    s = synthetic_session(200.0, rate_hz=50.0, streams=["accel", "gyro"], seed=3)

    def cancel(done: int, total: int) -> None:
        raise PredictionCancelled("stop")

    with pytest.raises(PredictionCancelled):
        predict_session(demo_model, s, add=False, block_s=30.0, progress=cancel)


_CHILD = textwrap.dedent(
    """
    import json, sys
    from harlab.ml.modelfile import ActivityModel
    from harlab.ml.predict import predict_session
    from harlab.simulate import synthetic_session
    from harlab.simulate.batch_session import demo_model_path

    s = synthetic_session(float(sys.argv[1]), rate_hz=50.0, streams=["accel", "gyro"], seed=1)
    m = ActivityModel.load(demo_model_path())
    predict_session(m, synthetic_session(60.0, rate_hz=50.0, streams=["accel", "gyro"]), add=False)  # warm up


    def status_kb(key):
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(key))

    # the peak so far (building the session, the warm-up) must not hide the prediction's own:
    # writing 5 to clear_refs resets the process's high-water mark (Linux 4.0+)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = status_kb("VmRSS:")
    track = predict_session(m, s, add=False, block_s=float(sys.argv[2]), workers=2)
    print(json.dumps({"windows": len(track.window_start), "growth_kb": status_kb("VmHWM:") - before}))
    """
)


def _growth_kb(seconds: float, block_s: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(seconds), str(block_s)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK),
    reason="needs Linux's /proc/self/clear_refs to reset peak RSS",
)
def test_peak_memory_grows_much_less_with_blocks() -> None:
    """Two hours: the peak RSS a prediction adds, in 10-minute blocks against one piece. Most
    of what blocks add is fixed (the compiled trees, torch and its threads: some 50 MB); one
    piece holds every window and its features besides (+87 MB at 2 h since the features run in
    batches of 256 windows; +500 MB with their former batches of 2048)."""
    one = _growth_kb(7200.0, 1e9)
    blocks = _growth_kb(7200.0, 600.0)
    assert blocks["windows"] == one["windows"] > 5000
    assert blocks["growth_kb"] < 0.7 * one["growth_kb"], (blocks, one)


def test_session_windows_are_the_samples_of_each_piece_every_stride(ensemble) -> None:
    """Every window is the recorded samples from its start, T of them, in the model's channel
    order; windows start every stride within each gap-free piece and none spans a hole (the
    accelerometer's gap, the gyroscope's NaN): the strided copy against the samples themselves."""
    info = ensemble.info
    s = _with_holes(make_session("pieces", seed=4, seconds_per_bout=120.0), "acc", "gyro", 25.0)
    sw = session_windows(s, info)
    T, S = info.n_time, round(info.stride_s * info.rate_hz)
    ta, va = s.streams["acc"].read()
    tg, vg = s.streams["gyro"].read()
    assert len(sw.X) > 100 and sw.X.flags.c_contiguous and sw.X.dtype == np.float32
    assert not np.any((sw.start < 260.0) & (sw.end > 200.0))
    assert not np.any((sw.start < 433.0) & (sw.end > 400.0))
    for i in range(len(sw.X)):
        a = int(np.searchsorted(ta, sw.start[i] - 1e-6))
        g = int(np.searchsorted(tg, sw.start[i] - 1e-6))
        np.testing.assert_allclose(sw.X[i], np.concatenate([va[a : a + T], vg[g : g + T]], axis=1), atol=1e-5)
    steps = np.round(np.diff(sw.start) * info.rate_hz).astype(int)
    assert set(steps[steps < T].tolist()) == {S}  # within a piece: every stride
    assert len(sw.pieces) == 3


@pytest.mark.parametrize("gap", [False, True])
def test_samples_on_the_grid_are_the_windows_that_interpolation_gives(demo_model, gap: bool) -> None:
    """A session whose streams were recorded at the model's rate with times on its grid gives the
    windows interpolating every stream onto the grid gives (the general path, written out here),
    value for value; a gyroscope with missing values and a gap in the accelerometer take the
    general path for that stream and still give those windows."""
    from harlab.signal.resampling import nominal_period, resample_onto
    from harlab.signal.windowing import run_grid, uniform_pieces, whole_samples

    info = demo_model.info
    session = synthetic_session(rate_hz=info.rate_hz, plan=[("walking", 60.0), ("sitting", 60.0)], seed=4)
    if gap:  # a gap in the accelerometer (its grid has two runs), missing values of the gyroscope
        session = _with_holes(session, "accel", "gyro", info.rate_hz)
    sw = session_windows(session, info)
    # the general path: every stream interpolated onto the first stream's grid
    acc = session.streams["accel"]
    t, v = acc.read()
    grid = run_grid(t, nominal_period(t, acc.rate_hz), info.rate_hz)
    cols = []
    for name in info.channels:
        stream = session.streams[name.rpartition(".")[0]]
        ts, vs = stream.read()
        ci = stream.channels.index(name.rpartition(".")[2])
        cols.append(resample_onto(ts, vs[:, [ci]], grid, info.rate_hz, rate_hz=stream.rate_hz)[:, 0])
    values = np.stack(cols, axis=1)
    T, S = info.n_time, whole_samples(info.stride_s, info.rate_hz, "stride", rounding=True)
    pieces = [
        (a, b) for a, b in uniform_pieces(np.isfinite(values).all(axis=1), grid, info.rate_hz) if b - a >= T
    ]
    want = np.concatenate([np.stack([values[s : s + T] for s in range(a, b - T + 1, S)]) for a, b in pieces])
    assert len(sw.X) == len(want) > 50
    np.testing.assert_array_equal(sw.X, want)


def test_absurd_but_finite_samples_give_finite_probabilities_and_segments(ensemble) -> None:
    """A session file from someone else may hold finite values no sensor records (3e38 m/s²,
    near float32's largest): the network's input is held to a million standard deviations, so
    its sums do not overflow to NaN (which made every segment's confidence NaN and the
    prediction fail), and ordinary samples are normalised exactly as before."""
    s = make_session("Q", seed=5, bouts=25)
    t, v = s.streams["acc"].read()
    v = v.copy()
    v[(t >= 100.0) & (t < 130.0)] = 3e38
    v[(t >= 200.0) & (t < 210.0), 1] = -3e38
    st = s.streams["acc"]
    s.remove_stream("acc")
    s.add_stream(Stream.from_arrays("acc", t, v, st.channels, st.units, rate_hz=25.0, kind=st.kind))
    track = predict_session(ensemble, s, add=False)
    assert len(track.window_start) and np.isfinite(track.probabilities).all()
    assert track.segments and all(0.0 <= g.confidence <= 1.0 for g in track.segments)
    member = next(m for m in ensemble.members if isinstance(m, TorchMember))
    X = session_windows(make_session("R", seed=6), ensemble.info).X
    np.testing.assert_array_equal(member.normalise(X), (X - member.mean) / member.std)
    assert np.abs(member.normalise(np.full((1, *X.shape[1:]), 3e38, np.float32))).max() == np.float32(1e6)


def _jittered(s, name: str, rate: float, seed: int):
    """``s`` with stream ``name``'s timestamps moved by up to a tenth of a period each (a phone
    logger's clock): every stream is then interpolated onto the grid."""
    t, v = s.streams[name].read()
    st = s.streams[name]
    jitter = np.random.default_rng(seed).uniform(-0.1, 0.1, len(t)) / rate
    s.remove_stream(name)
    s.add_stream(Stream.from_arrays(name, t + jitter, v, st.channels, st.units, rate_hz=rate, kind=st.kind))
    return s


@pytest.mark.parametrize("jitter", [False, True])
@pytest.mark.parametrize("block_s", [7.0, 31.0, 95.0])
def test_blocks_cut_the_whole_sessions_windows_to_the_bit(demo_model, block_s: float, jitter: bool) -> None:
    """Each block goes on with the grid of the run the previous block's last window lay in, so
    the blocks' windows and their start times are those of the session cut in one piece, bit for
    bit: across the accelerometer's gap and the gyroscope's missing values, on a stream sampled
    on the grid (taken as it is) and on one with jittered timestamps (interpolated at the very
    points one piece interpolates at). Blocks anchored at their own first sample were shifted
    by the jitter, and off by rounding even without it."""
    info = demo_model.info
    s = _with_holes(
        synthetic_session(600.0, rate_hz=50.0, streams=["accel", "gyro"], seed=4),
        "accel",
        "gyro",
        50.0,
    )
    if jitter:
        s = _jittered(s, "accel", 50.0, seed=1)
    whole = session_windows(s, info)
    blocks = list(session_blocks(s, info, block_s=block_s))
    assert len(blocks) > 600.0 / block_s / 2
    np.testing.assert_array_equal(np.concatenate([b.start for b in blocks]), whole.start)
    np.testing.assert_array_equal(np.concatenate([b.X for b in blocks]), whole.X)
    assert not np.any((whole.start < 260.0) & (whole.end > 200.0))  # none in the gap


@pytest.mark.parametrize("block_s", [31.0, 95.0])
def test_blocks_filter_a_faster_stream_as_the_whole_session_does(demo_model, block_s: float) -> None:
    """A 100 Hz recording for a 50 Hz model is low-pass filtered before it is resampled: each block
    reads a second past both its ends, so its first and last windows are filtered over samples
    beyond them, as in one piece, not up to the block's edge (reading only the block, 19 of 467
    windows differed by up to 8e-4 m/s^2 with 31 s blocks)."""
    info = demo_model.info
    s = synthetic_session(600.0, rate_hz=100.0, streams=["accel", "gyro"], seed=4)
    whole = session_windows(s, info)
    blocks = list(session_blocks(s, info, block_s=block_s))
    np.testing.assert_array_equal(np.concatenate([b.start for b in blocks]), whole.start)
    np.testing.assert_allclose(np.concatenate([b.X for b in blocks]), whole.X, rtol=0, atol=1e-9)
