"""Training windows: shapes, labels and sources against expectations computed by hand."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from harlab.core import Segment, Session, Stream
from harlab.core.errors import WindowingError
from harlab.exporters import ExportError, ExportOptions, get_exporter
from harlab.exporters.windows import load_windows
from harlab.signal.labelled_windows import cut_windows
from harlab.simulate import synthetic_session
from tests.exporters.export_sessions import ten_second_session


def test_hand_computed_windows_majority(session):
    ws = cut_windows([session], "activity", window_s=1.0, stride_s=0.5)
    # span [0, 7): 70 samples, starts every 5 samples while 10 fit -> 0.0, 0.5, ..., 6.0 (13)
    # span [8, 10): 20 samples -> 8.0, 8.5, 9.0 (3); nothing crosses the unlabelled [7, 8)
    expected_starts = [i * 0.5 for i in range(13)] + [8.0, 8.5, 9.0]
    np.testing.assert_allclose(ws.start_s, expected_starts, atol=1e-12)
    assert ws.X.shape == (16, 10, 6) and ws.X.dtype == np.float32
    assert ws.classes == ["walk", "sit"]
    # the window at 3.5 s holds 5 walk and 5 sit samples: the tie goes to walk (first in the window)
    assert ws.labels.tolist() == ["walk"] * 8 + ["sit"] * 5 + ["walk"] * 3
    assert ws.class_counts() == {"walk": 11, "sit": 5}
    # values are the samples themselves: accel.x = t, accel.y = k
    i = expected_starts.index(8.0)
    np.testing.assert_allclose(ws.X[i, :, 0], np.arange(80, 90) / 10, rtol=1e-6)
    np.testing.assert_array_equal(ws.X[i, :, 1], np.arange(80, 90))
    np.testing.assert_array_equal(ws.X[i, :, 5], 1.0)
    assert ws.channels == ["accel.x", "accel.y", "accel.z", "gyro.x", "gyro.y", "gyro.z"]
    assert ws.units == ["m/s^2"] * 3 + ["rad/s"] * 3
    assert set(ws.participant) == {"P01"} and set(ws.session) == {"sess-a"}


def test_centre_and_pure_on_the_same_session(session):
    centre = cut_windows([session], "activity", 1.0, 0.5, label_policy="centre")
    # centre sample index 5: the window at 3.5 s has its centre at 4.0 s -> sit
    assert centre.labels.tolist() == ["walk"] * 7 + ["sit"] * 6 + ["walk"] * 3
    pure = cut_windows([session], "activity", 1.0, 0.5, label_policy="pure")
    assert len(pure) == 15 and 3.5 not in pure.start_s.tolist()
    assert pure.dropped["impure"] == 1


def crafted() -> Session:
    """3 s at 10 Hz: A [0, 1.3), B [1.3, 1.6), A [1.6, 3)."""
    s = Session()
    t = np.arange(30) / 10
    s.add_stream(Stream.from_arrays("a", t, t, ["x"], "u", rate_hz=10.0))
    s.add_segments("act", [Segment(0, 1.3, "A"), Segment(1.3, 1.6, "B"), Segment(1.6, 3.0, "A")])
    return s


@pytest.mark.parametrize(
    ("policy", "labels", "starts"),
    [
        ("majority", ["A", "A", "A"], [0.0, 1.0, 2.0]),  # window at 1 s: 7 A, 3 B
        ("centre", ["A", "B", "A"], [0.0, 1.0, 2.0]),  # its centre sample (1.5 s) is B
        ("pure", ["A", "A"], [0.0, 2.0]),  # it is mixed, so dropped
    ],
)
def test_label_policies_differ_on_a_boundary(policy, labels, starts):
    ws = cut_windows([crafted()], "act", 1.0, 1.0, label_policy=policy)
    assert ws.labels.tolist() == labels
    np.testing.assert_allclose(ws.start_s, starts)


def test_gaps_are_never_spanned():
    t = np.arange(100) / 10
    keep = (t < 4.95) | (t > 5.25)  # 0.4 s gap between 4.9 and 5.3 (> 1.5 periods)
    s = Session()
    s.add_stream(Stream.from_arrays("a", t[keep], t[keep], ["x"], "u", rate_hz=10.0))
    s.add_segments("act", [Segment(0, 10, "A")])
    ws = cut_windows([s], "act", 1.0, 1.0)
    # run [0, 4.9]: starts 0..4 (5 windows); run [5.3, 9.9]: starts 5.3, 6.3, 7.3, 8.3 (4 windows)
    np.testing.assert_allclose(ws.start_s, [0, 1, 2, 3, 4, 5.3, 6.3, 7.3, 8.3], atol=1e-9)
    steps = np.diff(ws.X[:, :, 0], axis=1)
    np.testing.assert_allclose(steps, 0.1, atol=1e-5)


def test_a_gap_in_the_second_stream_drops_windows_too():
    t = np.arange(100) / 10
    keep = (t < 4.95) | (t > 5.25)
    s = Session()
    s.add_stream(Stream.from_arrays("a", t, t, ["x"], "u", rate_hz=10.0))
    s.add_stream(Stream.from_arrays("b", t[keep], t[keep], ["x"], "u", rate_hz=10.0))
    s.add_segments("act", [Segment(0, 10, "A")])
    ws = cut_windows([s], "act", 1.0, 1.0)
    for start in ws.start_s:
        assert start + 0.9 < 4.95 or start > 5.25
    assert len(ws) == 9


def test_nan_samples_act_as_gaps():
    s = ten_second_session(nan_at=3)
    ws = cut_windows([s], "activity", 1.0, 1.0, channels=["accel"])
    assert not np.isnan(ws.X).any()
    assert ws.start_s[0] == pytest.approx(0.4)


def sine_session(fs: float = 100.0, seconds: float = 20.0) -> Session:
    """Exact sines (3 Hz and an aliasing 40 Hz), not the simulator: the resampling tests measure their amplitudes."""
    t = np.arange(int(fs * seconds)) / fs
    v = 2.0 * np.sin(2 * np.pi * 3.0 * t) + 1.0 * np.sin(2 * np.pi * 40.0 * t)
    s = Session()
    s.add_stream(Stream.from_arrays("a", t, v, ["x"], "u", rate_hz=fs))
    s.add_segments("act", [Segment(0, seconds, "A")])
    return s


def amplitude(x: np.ndarray, freq: float, fs: float) -> float:
    n = np.arange(len(x))
    c = np.exp(-2j * np.pi * freq * n / fs)
    return float(2 * abs(np.dot(x, c)) / len(x))


def test_resampling_keeps_frequency_and_amplitude_and_suppresses_aliases():
    ws = cut_windows([sine_session()], "act", 16.0, 4.0, rate_hz=25.0)
    assert ws.X.shape == (2, 400, 1) and ws.rate_hz == 25.0
    x = ws.X[0, :, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / 25.0)
    assert freqs[spectrum.argmax()] == pytest.approx(3.0)
    assert amplitude(x, 3.0, 25.0) == pytest.approx(2.0, rel=0.01)
    # 40 Hz sampled at 25 Hz would fold to 10 Hz at amplitude 1 without the low-pass
    assert amplitude(x, 10.0, 25.0) < 0.01
    assert ws.resampling["streams"]["a"]["anti_aliased_runs"] == 1


def test_naive_decimation_would_alias():
    """Sanity check of the test above: picking every 4th sample shows the 10 Hz alias."""
    t, v = sine_session().streams["a"].read()
    assert amplitude(v[:1600:4, 0].astype(np.float64), 10.0, 25.0) > 0.9


def test_upsampling_keeps_the_sine():
    ws = cut_windows([sine_session(fs=50.0)], "act", 10.0, 10.0, rate_hz=100.0, channels=["a.x"])
    # at fs=50 the 40 Hz component folds to 10 Hz in the source itself; the 3 Hz one must survive.
    # Linear interpolation halfway between samples scales a sine by cos(pi f / fs) (0.982 here).
    x = ws.X[0, :, 0].astype(np.float64)
    assert amplitude(x, 3.0, 100.0) == pytest.approx(2.0, rel=0.02)
    assert amplitude(x, 3.0, 100.0) <= 2.0


def test_fixed_classes_channels_and_several_sessions():
    a, b = ten_second_session("sess-a", "P01"), ten_second_session("sess-b", "P02")
    ws = cut_windows([a, b], "activity", 1.0, 1.0, channels=["gyro", "accel.x"], classes=["sit", "other"])
    assert ws.channels == ["gyro.x", "gyro.y", "gyro.z", "accel.x"]
    assert ws.classes == ["sit", "other"]
    # sit [4, 7) gives windows at 4, 5, 6 in each session
    assert ws.labels.tolist() == ["sit"] * 6 and ws.y.tolist() == [0] * 6
    assert ws.participant.tolist() == ["P01"] * 3 + ["P02"] * 3
    assert ws.session.tolist() == ["sess-a"] * 3 + ["sess-b"] * 3
    assert ws.session_index.tolist() == [0, 0, 0, 1, 1, 1]
    assert ws.dropped["other_class"] == 2 * 6  # walk windows 0-3 and 8, 9
    assert [m["n_windows"] for m in ws.sessions] == [3, 3]


def test_sessions_without_the_track_contribute_nothing():
    a = ten_second_session()
    b = ten_second_session("sess-b")
    b.remove_label_track("activity")
    ws = cut_windows([a, b], "activity", 1.0, 1.0)
    assert ws.sessions[1]["has_track"] is False and ws.sessions[1]["n_windows"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_s": 0.25}, "not a whole number of samples"),
        ({"window_s": 1.0, "stride_s": 0.0}, "stride must be a positive"),
        ({"window_s": -1.0}, "window length must be a positive"),
        ({"window_s": 1.0, "label_policy": "mode"}, "unknown label policy"),
        ({"window_s": 1.0, "channels": ["accel.w"]}, "no stream or channel 'accel.w'"),
        ({"window_s": 1.0, "track": "nope"}, "no session has a label track 'nope'"),
        ({"window_s": 1.0, "rate_hz": float("nan")}, "rate must be a positive"),
    ],
)
def test_bad_arguments(session, kwargs, message):
    kwargs.setdefault("track", "activity")
    with pytest.raises(WindowingError, match=message):
        cut_windows([session], **kwargs)


def test_streams_of_different_rates_need_a_rate(session):
    session.add_stream(
        Stream.from_arrays("hr", np.arange(10.0), np.full(10, 70.0), ["bpm"], "bpm", rate_hz=1.0)
    )
    with pytest.raises(WindowingError, match="different rates.*--rate"):
        cut_windows([session], "activity", 1.0)
    ws = cut_windows([session], "activity", 1.0, rate_hz=10.0)
    assert ws.channels[-1] == "hr.bpm"
    np.testing.assert_allclose(ws.X[:, :, -1], 70.0)


def test_the_different_rates_are_the_ones_named():
    """Many sessions at one rate and one at another: the message names both rates and the odd
    stream out (it listed the first six streams, all of one rate)."""
    slow = [synthetic_session(duration_s=10, rate_hz=10, streams={"accel": "acc"}, seed=i) for i in range(8)]
    fast = synthetic_session(duration_s=10, rate_hz=50, streams={"accel": "acc"}, seed=9)
    with pytest.raises(WindowingError) as err:
        cut_windows([*slow, fast], "activity", 1.0, names=[f"slow{i}" for i in range(8)] + ["fast"])
    text = str(err.value)
    assert "10 Hz: 8 streams (slow0:acc, slow1:acc, ...)" in text and "50 Hz: fast:acc" in text, text
    assert len(text) < 300


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_files_and_manifest(tmp_path, session, suffix):
    out = tmp_path / f"win{suffix}"
    files = get_exporter("windows").export(
        [session], out, ExportOptions(tracks=["activity"], window_s=1.0, stride_s=0.5, names=["rec"])
    )
    assert files == [out, tmp_path / f"win{suffix}.json"]
    expected = cut_windows([session], "activity", 1.0, 0.5)
    if suffix == ".npz":
        with np.load(out, allow_pickle=False) as z:
            X, y, classes = z["X"], z["y"], z["classes"].tolist()
            start, part, sess = z["start_s"], z["participant"].tolist(), z["session"].tolist()
    else:
        with h5py.File(out, "r") as f:
            X, y, classes = f["X"][()], f["y"][()], f["classes"].asstr()[()].tolist()
            start, part, sess = (
                f["start_s"][()],
                f["participant"].asstr()[()].tolist(),
                f["session"].asstr()[()].tolist(),
            )
    np.testing.assert_array_equal(X, expected.X)
    np.testing.assert_array_equal(y, expected.y)
    np.testing.assert_array_equal(start, expected.start_s)
    assert classes == ["walk", "sit"] and part == ["P01"] * 16 and sess == ["sess-a"] * 16
    manifest = json.loads(files[1].read_text())
    assert manifest["window_s"] == 1.0 and manifest["stride_s"] == 0.5 and manifest["rate_hz"] == 10.0
    assert manifest["samples_per_window"] == 10 and manifest["label_policy"] == "majority"
    assert manifest["channels"][0] == "accel.x" and manifest["units"][0] == "m/s^2"
    assert manifest["class_counts"] == {"walk": 11, "sit": 5}
    assert manifest["sessions"][0]["session_id"] == "sess-a" and manifest["sessions"][0]["name"] == "rec"
    arrays, inside = load_windows(out)
    assert inside["class_counts"] == manifest["class_counts"]
    np.testing.assert_array_equal(arrays["X"], expected.X)
    assert arrays["channels"].tolist() == expected.channels


def test_exporter_needs_one_track_and_a_window_file(tmp_path, session):
    exp = get_exporter("windows")
    with pytest.raises(ExportError, match="several label tracks"):
        exp.export([session], tmp_path / "w.npz", ExportOptions(window_s=1.0))
    with pytest.raises(ExportError, match=r"\.npz or \.h5"):
        exp.export([session], tmp_path / "w.csv", ExportOptions(tracks=["activity"]))
    assert list(tmp_path.iterdir()) == []


def test_windows_that_cannot_be_cut_are_an_export_error(tmp_path, session):
    """The cutter's WindowingError reaches an exporter's caller as the ExportError every format raises."""
    with pytest.raises(ExportError, match="not a whole number of samples") as info:
        get_exporter("windows").export(
            [session], tmp_path / "w.npz", ExportOptions(tracks=["activity"], window_s=0.25)
        )
    assert isinstance(info.value.__cause__, WindowingError)
    assert list(tmp_path.iterdir()) == []


def test_empty_result_still_writes_valid_files(tmp_path, session):
    out = tmp_path / "w.npz"
    get_exporter("windows").export([session], out, ExportOptions(tracks=["activity"], window_s=8.0))
    arrays, manifest = load_windows(out)
    assert arrays["X"].shape == (0, 80, 6) and manifest["n_windows"] == 0
