"""A simulated week: sleep at night, non-wear stretches, days that differ, streamed into a file
that equals the session simulated in memory; ``harlab demo --duration`` with units."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.simulate import (
    SimulatedRun,
    SimulationError,
    day_schedule,
    label_schema,
    simulate_session,
    week_plan,
)
from harlab.simulate.plan import DAY_S, parse_duration
from harlab.storage import read_session, save_session, validate_file
from harlab.storage.session_writer import SessionWriter
from tests.storage.test_storage_roundtrip import assert_sessions_equal


def _activity_at(plan, t: float) -> str:
    return plan.activity_at(t)


def test_a_week_sleeps_at_night_takes_the_watch_off_and_no_two_days_are_alike() -> None:
    plan = week_plan(seed=3)
    assert plan.duration_s == 7 * DAY_S
    assert plan == week_plan(seed=3) and plan != week_plan(seed=4)
    for day in range(7):  # 03:00 each night: asleep, or the watch is on the table
        assert _activity_at(plan, day * DAY_S + 3 * 3600) in ("lying", "nonwear")
        assert _activity_at(plan, day * DAY_S + 3 * 3600 + 1) in ("lying", "nonwear")
    nonwear = [(a, b) for a, b, act in plan.spans() if act == "nonwear"]
    assert len(nonwear) >= 5
    assert sum(b - a for a, b in nonwear) >= 3 * 3600
    assert max(b - a for a, b in nonwear) >= 3600  # long enough for a 60-minute non-wear detector
    per_day = []
    for day in range(7):
        minutes: Counter[str] = Counter()
        for a, b, act in plan.spans():
            lo, hi = max(a, day * DAY_S), min(b, (day + 1) * DAY_S)
            if hi > lo:
                minutes[act] += round((hi - lo) / 60)
        per_day.append(minutes)
    assert len({tuple(sorted(m.items())) for m in per_day}) == 7
    scheds = [day_schedule(d, 3) for d in range(7)]
    assert len({round(s.wake_h, 3) for s in scheds}) == 7
    assert [s.weekend for s in scheds] == [False] * 5 + [True] * 2
    assert min(s.wake_h for s in scheds[5:]) > min(s.wake_h for s in scheds[:5])  # weekends sleep in
    assert any(s.exercise for s in scheds) and not all(s.exercise for s in scheds)


def test_a_plan_window_starts_where_asked_and_lasts_exactly() -> None:
    plan = week_plan(5 * 3600 + 0.25, seed=1, start_hour=10.5)
    assert plan.duration_s == 5 * 3600 + 0.25
    assert plan.spans()[0][2] != "lying"  # half past ten in the morning
    with pytest.raises(SimulationError):
        week_plan(0)
    with pytest.raises(SimulationError):
        week_plan(3600, start_hour=24.0)


def test_a_watch_off_the_wrist_is_still_keeps_its_orientation_and_reads_no_heart_rate() -> None:
    s = simulate_session([("walking", 120), ("nonwear", 3600), ("sitting", 120)], rate_hz=25.0, seed=2)
    assert "nonwear" in s.schema.names and s.schema.names[:-1] == label_schema().names
    t, v = s.streams["accel"].data.read()
    off = (t > 130) & (t < 3710)
    sd_mg = v[off].std(axis=0) / 9.80665 * 1000
    assert (sd_mg < 5).all(), sd_mg  # GGIR's non-wear criterion is 13 mg
    assert (v[(t > 1000) & (t < 1100)].mean(axis=0) - v[(t > 3500) & (t < 3600)].mean(axis=0)).max() < 0.01
    assert abs(np.linalg.norm(v[off].mean(axis=0)) - 9.80665) < 0.2  # gravity, nothing else
    worn_sd_mg = v[(t > 10) & (t < 110)].std(axis=0) / 9.80665 * 1000
    assert (worn_sd_mg > 50).all()
    ht, _ = s.streams["heart_rate"].data.read()
    assert not ((ht >= 122) & (ht < 3720)).any()
    assert ((ht < 120).sum(), (ht >= 3722).sum()) == (120, 118)


def test_a_week_plan_streamed_into_a_file_equals_the_session_simulated_in_memory(tmp_path: Path) -> None:
    """Six hours across the watch coming off and going back on, at 10 Hz, in blocks far smaller
    than the session: the same code path a week takes, read back equal to the one-go save."""
    plan = week_plan(6 * 3600, seed=5, start_hour=19.0)
    assert "nonwear" in {act for _, _, act in plan.spans()}
    run = SimulatedRun(plan, rate_hz=10.0, seed=5, participant="P07")
    once = save_session(run.session(), tmp_path / "once.h5")
    with SessionWriter(tmp_path / "streamed.h5", run.metadata, run.schema, block_rows=3000) as w:
        run.write_into(w, block=7001)
    streamed = tmp_path / "streamed.h5"
    assert validate_file(streamed) == []
    assert_sessions_equal(read_session(once), read_session(streamed))
    with h5py.File(once, "r") as a, h5py.File(streamed, "r") as b:
        for name in ("accel", "gyro", "heart_rate"):
            pa, pb = a[f"streams/{name}/pyramid"], b[f"streams/{name}/pyramid"]
            assert pa.attrs["levels"] == pb.attrs["levels"]
            for k in range(1, int(pa.attrs["levels"]) + 1):
                for key in ("time", "lo", "hi"):
                    np.testing.assert_array_equal(pa[f"{k}/{key}"][()], pb[f"{k}/{key}"][()])


def test_durations_take_units_and_a_bare_number_is_in_the_default_unit() -> None:
    assert parse_duration("7d") == 7 * DAY_S
    assert parse_duration("90m") == parse_duration("1.5 h") == parse_duration("90", "min") == 5400
    assert parse_duration("45") == 45
    with pytest.raises(SimulationError, match="90m, 2h or 7d"):
        parse_duration("2 weeks")
    assert isinstance(SimulationError("x"), HarlabError)


def test_demo_two_hours_in_memory_and_past_two_hours_streamed(tmp_path: Path, capsys) -> None:
    from harlab.cli import main

    assert (
        main(
            ["demo", "--duration", "2h", "--no-open", "--no-predictions", "--rate", "25", "-o", str(tmp_path)]
        )
        == 0
    )
    two = tmp_path / "demo-2h-seed0.h5"
    assert capsys.readouterr().out.strip() == str(two)
    assert validate_file(two) == []
    s = read_session(two)
    assert s.streams["accel"].n_samples == 2 * 3600 * 25
    assert "nonwear" not in {seg.label for seg in s.label_tracks["activity"]}

    assert main(["demo", "--duration", "26h", "--no-open", "--rate", "5", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr()
    day = tmp_path / "demo-26h-seed0.h5"
    assert out.out.strip() == str(day) and "harlab predict" in out.err
    assert validate_file(day) == []
    s = read_session(day)
    assert s.streams["accel"].n_samples == 26 * 3600 * 5
    assert s.metadata.start_utc is not None and s.metadata.start_utc.hour == 22  # midnight in Berlin
    labels = {seg.label for seg in s.label_tracks["activity"]}
    assert {"lying", "nonwear", "sitting"} <= labels
    assert not s.prediction_tracks


@pytest.mark.parametrize("text", ["8d", "2 weeks"])
def test_demo_refuses_what_is_no_duration_or_more_than_a_week(text: str, tmp_path: Path, capsys) -> None:
    from harlab.cli import main

    assert main(["demo", "--no-open", "-o", str(tmp_path), "--duration", text]) == 2
    assert "duration" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
