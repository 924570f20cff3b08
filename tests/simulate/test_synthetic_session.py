"""The one test-session factory: what each parameter promises."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core import LabelClass, LabelSchema, PredictionTrack, Segment
from harlab.simulate import PROFILES, SIMULATED_STREAMS, SimulationError, simulate_session, synthetic_session
from harlab.simulate.synthetic import MAX_FOLLOWED_SEGMENTS


def _spread(session, stream: str, t0: float, t1: float) -> float:
    t, v = session.streams[stream].read(t0, t1)
    return float(np.linalg.norm(v, axis=1).std())


def test_defaults_are_the_simulators_session():
    s = synthetic_session(120.0, seed=4)
    assert list(s.streams) == list(SIMULATED_STREAMS)
    plain = simulate_session([(g.label, g.end - g.start) for g in s.label_tracks["activity"]], seed=4)
    for name in SIMULATED_STREAMS:
        np.testing.assert_array_equal(s.streams[name].read()[1], plain.streams[name].read()[1])
    colours = {p.name: p.label_class().color for p in PROFILES}
    assert all(c.color == colours[c.name] for c in s.schema)


def test_streams_are_chosen_and_renamed():
    s = synthetic_session(10.0, rate_hz=25.0, streams={"accel": "wrist_accel", "heart_rate": "hr"})
    assert list(s.streams) == ["wrist_accel", "hr"]
    assert s.streams["wrist_accel"].rate_hz == 25.0 and s.streams["wrist_accel"].n_samples == 250
    assert synthetic_session(10.0, streams=()).streams == {}
    with pytest.raises(SimulationError, match="no stream"):
        synthetic_session(10.0, streams=("magnetometer",))


def test_segments_are_the_track_exactly_and_the_signal_follows_them():
    segs = [(10.0, 40.0, "running"), (50.0, 80.0, "sitting")]
    s = synthetic_session(90.0, segments=segs, seed=1)
    assert [(g.start, g.end, g.label) for g in s.label_tracks["activity"]] == segs
    assert _spread(s, "accel", 15.0, 35.0) > 5 * _spread(s, "accel", 55.0, 75.0)
    assert len(synthetic_session(30.0, segments=[]).label_tracks["activity"]) == 0


def test_unknown_classes_still_move_differently_and_keep_their_segment_fields():
    schema = LabelSchema([LabelClass("A", "#112233", "1"), LabelClass("B", "#445566", "2")])
    seg = Segment(0.0, 5.0, "A", note="check", annotator="ab")
    s = synthetic_session(10.0, streams=(), classes=schema, segments=[seg, (5.0, 10.0, "B")])
    assert s.schema is schema
    first = next(iter(s.label_tracks["activity"]))
    assert (first.note, first.annotator) == ("check", "ab")
    named = synthetic_session(10.0, streams=(), classes=["x", "y"], segments=[(0.0, 5.0, "x")])
    assert named.schema.names == ["x", "y"] and named.schema["x"].color != named.schema["y"].color


def test_plan_drives_the_signal_and_labels_may_be_spelt_otherwise():
    s = synthetic_session(
        plan=[("sitting", 20.0), ("running", 20.0)],
        segments=[(0, 20, "SIT"), (20, 40, "RUN")],
        streams=("accel",),
        seed=2,
    )
    assert s.schema.names == ["SIT", "RUN"]
    assert _spread(s, "accel", 25.0, 38.0) > 5 * _spread(s, "accel", 2.0, 18.0)


def test_accel_in_g_is_the_same_motion_scaled():
    ms = synthetic_session(20.0, seed=3, streams=("accel",))
    g = synthetic_session(20.0, seed=3, streams=("accel",), accel_unit="g")
    assert g.streams["accel"].units == ["g"] * 3
    np.testing.assert_allclose(
        g.streams["accel"].read()[1] * 9.80665, ms.streams["accel"].read()[1], rtol=1e-5
    )
    with pytest.raises(SimulationError, match="accel_unit"):
        synthetic_session(20.0, accel_unit="ft/s^2")


def test_same_inputs_same_session_and_the_seed_matters():
    a, b, c = (synthetic_session(30.0, seed=k, participant="P09") for k in (5, 5, 6))
    assert a.metadata.participant_id == "P09"
    np.testing.assert_array_equal(a.streams["gyro"].read()[1], b.streams["gyro"].read()[1])
    assert not np.array_equal(a.streams["gyro"].read()[1], c.streams["gyro"].read()[1])


def test_many_segments_keep_every_label():
    n = MAX_FOLLOWED_SEGMENTS + 5
    s = synthetic_session(float(n), streams=("accel",), segments=[(i, i + 0.5, "walking") for i in range(n)])
    assert len(s.label_tracks["activity"]) == n


def test_ramp_signal_is_exact_and_keeps_the_streams_descriptions():
    s = synthetic_session(
        3.0, rate_hz=20.0, signal="ramp", streams={"accel": "a", "gyro": "g", "heart_rate": "h"}
    )
    simulated = synthetic_session(3.0, rate_hz=20.0)
    k = np.arange(60)
    t, v = s.streams["a"].read()
    np.testing.assert_array_equal(t, k / 20.0)
    np.testing.assert_array_equal(v, np.stack([k / 20.0, k, -k], axis=1).astype(np.float32))
    np.testing.assert_array_equal(s.streams["g"].read()[1][:, 0], (k / 100.0).astype(np.float32))
    assert s.streams["h"].rate_hz == 20.0 and s.streams["h"].read()[1][-1, 0] == pytest.approx(60 + 59 / 20)
    for new, old in (("a", "accel"), ("g", "gyro"), ("h", "heart_rate")):
        ours, theirs = s.streams[new], simulated.streams[old]
        assert (ours.units, ours.kind, ours.device) == (theirs.units, theirs.kind, theirs.device)
    with pytest.raises(SimulationError, match="signal"):
        synthetic_session(3.0, signal="noise")  # type: ignore[arg-type]


def test_metadata_fields_and_prediction_tracks_are_set_as_given():
    pred = PredictionTrack("m", "model", "1", ["walking"], np.zeros(1), np.ones(1), np.ones((1, 1)))
    s = synthetic_session(
        5.0, metadata={"session_id": "s-1", "start_utc": None, "notes": "n"}, predictions=[pred]
    )
    md = s.metadata
    assert (md.session_id, md.start_utc, md.notes, md.participant_id) == ("s-1", None, "n", "P01")
    assert s.prediction_tracks == {"m": pred}
