"""Whole sessions, the demo session, ``harlab demo`` and the 24-hour fast path."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest

from harlab.cli import main
from harlab.simulate import (
    ACTIVITIES,
    DEVICE_NAME,
    Plan,
    SimulationError,
    make_demo_session,
    random_plan,
    simulate_session,
)
from harlab.storage import read_session
from tests.simulate.sim_helpers import PROTOCOL


def test_labels_exactly_match_the_plan(protocol_session):
    track = protocol_session.label_tracks["activity"]
    assert track.policy == "exclusive"
    segs = list(track)
    assert [(s.start, s.end, s.label) for s in segs] == PROTOCOL.spans()
    assert {s.annotator for s in segs} == {"simulator"} and {s.source for s in segs} == {"manual"}
    assert protocol_session.schema.names == list(ACTIVITIES)
    assert protocol_session.schema["walking"].hotkey == "w"


def test_metadata_names_the_simulated_device():
    start = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    s = simulate_session(
        [("walking", 5)], seed=2, participant="P09", start_utc=start, timezone="America/New_York"
    )
    m = s.metadata
    assert m.participant_id == "P09" and m.timezone == "America/New_York" and m.start_utc == start
    assert m.device.name == DEVICE_NAME == "harlab simulator" and m.device.placement == "left wrist"
    assert m.provenance.importer == "harlab.simulate"
    assert Plan.parse(m.extra["simulator_plan"]) == Plan([("walking", 5)])
    assert {st.device for st in s.streams.values()} == {DEVICE_NAME}
    with pytest.raises(SimulationError, match="timezone-aware"):
        simulate_session([("walking", 5)], start_utc=datetime(2025, 3, 1))


def test_demo_session_shows_every_activity():
    s = make_demo_session(duration_min=10, seed=0)
    assert s.duration_s == pytest.approx(600.0)
    used = {seg.label for seg in s.label_tracks["activity"]}
    assert used == set(ACTIVITIES)
    assert s.metadata.participant_id == "demo"
    again = make_demo_session(duration_min=10, seed=0)
    np.testing.assert_array_equal(s.streams["accel"].read()[1], again.streams["accel"].read()[1])
    with pytest.raises(SimulationError):
        make_demo_session(duration_min=0)


def test_harlab_demo_writes_a_session_file(tmp_path, capsys):
    out = tmp_path / "demo-out"
    assert main(["demo", "--no-open", "-o", str(out), "--duration", "1", "--seed", "3"]) == 0
    printed = capsys.readouterr().out.strip()
    path = out / "demo-1min-seed3.h5"
    assert printed == str(path) and path.is_file()
    session = read_session(path)
    assert session.streams["accel"].n_samples == 6000
    assert session.streams["heart_rate"].n_samples == 60
    assert session.metadata.device.name == "harlab simulator"
    expected = make_demo_session(duration_min=1, seed=3)
    np.testing.assert_array_equal(session.streams["gyro"].read()[1], expected.streams["gyro"].read()[1])
    assert [(g.start, g.end, g.label) for g in session.label_tracks["activity"]] == [
        (g.start, g.end, g.label) for g in expected.label_tracks["activity"]
    ]
    # never overwrites: a second run picks a new name; --force and an explicit .h5 name overwrite
    assert main(["demo", "--no-open", "-o", str(out), "--duration", "1", "--seed", "3"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "demo-1min-seed3-2.h5")
    assert main(["demo", "--no-open", "-o", str(path), "--duration", "0.5"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["demo", "--no-open", "-o", str(path), "--duration", "0.5", "--force"]) == 0
    assert read_session(path).streams["accel"].n_samples == 3000


def test_harlab_demo_rejects_bad_arguments(tmp_path, capsys):
    assert main(["demo", "--no-open", "-o", str(tmp_path), "--duration", "-2"]) == 2
    assert "--duration" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_day_at_100_hz_generates_in_seconds():
    plan = random_plan(24 * 3600, seed=0)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    s = simulate_session(plan, rate_hz=100.0, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    n = s.streams["accel"].n_samples
    assert n == 8_640_000 and s.streams["heart_rate"].n_samples == 86_400
    assert len(s.label_tracks["activity"]) == len(plan)
    print(
        f"\n24 h x 100 Hz: {n} samples in {wall:.2f} s wall ({cpu:.2f} s CPU): "
        f"{n / wall / 1e6:.2f} M samples/s wall, {n / cpu / 1e6:.2f} M samples/s CPU"
    )
