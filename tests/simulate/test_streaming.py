"""Streaming: chunk by chunk, with live activity changes, equal to batch generation."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.simulate import Plan, SimulationError, Simulator, random_plan, simulate_session
from tests.simulate.sim_helpers import magnitude


def collect(chunks):
    chunks = list(chunks)
    cat = np.concatenate
    return (
        cat([c.time for c in chunks]),
        cat([c.accel for c in chunks]),
        cat([c.gyro for c in chunks]),
        cat([c.hr_time for c in chunks]),
        cat([c.hr for c in chunks]),
        cat([c.accel_flags for c in chunks]),
    )


def test_streaming_in_random_chunks_equals_batch():
    plan = random_plan(240, seed=8)
    session = simulate_session(plan, rate_hz=100, seed=21, participant="P05")
    sim = Simulator(plan, rate_hz=100, seed=21, participant="P05")
    rng = np.random.default_rng(1)
    chunks = []
    while sim.time < plan.duration_s:
        if rng.random() < 0.5:
            chunks.append(sim.next_chunk(float(rng.uniform(0.0, 1.3))))
        else:
            chunks.append(sim.next_samples(int(rng.integers(0, 97))))
    t, acc, gyro, hr_t, hr, flags = collect(chunks)
    n = session.streams["accel"].n_samples
    bt, bacc = session.streams["accel"].read()
    _, bgyro = session.streams["gyro"].read()
    bhr_t, bhr = session.streams["heart_rate"].read()
    np.testing.assert_array_equal(t[:n], bt)
    np.testing.assert_array_equal(acc[:n], bacc)  # bit for bit
    np.testing.assert_array_equal(gyro[:n], bgyro)
    np.testing.assert_array_equal(hr_t[: len(bhr_t)], bhr_t)
    np.testing.assert_array_equal(hr[: len(bhr)], bhr[:, 0])
    np.testing.assert_array_equal(flags[:n], session.streams["accel"].data.read_flags())


def test_chunks_iterator_covers_the_plan_once():
    plan = Plan([("walking", 3.3), ("sitting", 2.0)])
    sim = Simulator(plan, rate_hz=50, seed=0)
    chunks = list(sim.chunks(0.25))
    t = np.concatenate([c.time for c in chunks])
    np.testing.assert_array_equal(t, np.arange(265) / 50.0)
    assert all(c.t0 <= c.time[0] and c.time[-1] < c.t1 for c in chunks if c.n)
    assert [c.activity for c in chunks][0] == "walking" and chunks[-1].activity == "sitting"
    assert sim.segments() == plan.spans()


def test_live_change_takes_effect_at_the_next_chunk():
    sim = Simulator(rate_hz=100, seed=3, activity="sitting")
    before = sim.next_chunk(10.0)
    assert before.activity == "sitting" and sim.activity == "sitting"
    assert magnitude(before.accel[300:]).std() < 0.2
    sim.set_activity("running")
    assert sim.activity == "running"
    after = sim.next_chunk(10.0)
    assert after.t0 == 10.0 and after.time[0] == 10.0
    assert after.segments == [(10.0, 20.0, "running")]
    moving = magnitude(after.accel[300:])
    assert moving.std() > 3.0
    # the wrist turns from the sitting posture over the ~1.5 s transition, not in one sample
    jump = np.linalg.norm(np.diff(after.accel[:150].astype(np.float64), axis=0), axis=1)
    assert np.median(jump) < 3.0
    assert sim.segments() == [(0.0, 10.0, "sitting"), (10.0, 20.0, "running")]


def test_live_change_drops_the_rest_of_the_plan():
    sim = Simulator(Plan([("sitting", 10), ("walking", 10)]), rate_hz=50, seed=0)
    sim.next_chunk(5.0)
    sim.set_activity("lying")
    assert not sim.following_plan
    sim.next_chunk(20.0)
    assert sim.segments() == [(0.0, 5.0, "sitting"), (5.0, 25.0, "lying")]
    sim.set_activity("lying")  # the same activity again: no new segment
    sim.next_chunk(1.0)
    assert sim.segments()[-1] == (5.0, 26.0, "lying")


def test_live_changes_are_deterministic_whatever_the_chunking():
    def run(step: float):
        sim = Simulator(rate_hz=100, seed=9, participant="P02", activity="standing")
        changes = {10.0: "walking", 25.0: "stairs_up", 31.0: "running", 50.0: "sitting"}
        out = []
        while sim.time < 60.0 - 1e-9:
            for t, act in changes.items():
                if abs(sim.time - t) < 1e-9:
                    sim.set_activity(act)
            nxt = min([t for t in changes if t > sim.time + 1e-9] + [60.0])
            out.append(sim.next_chunk(min(step, nxt - sim.time)))
        return collect(out)

    a, b = run(0.2), run(0.77)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_next_until_is_paced_by_absolute_time():
    a = Simulator(rate_hz=50, seed=4, activity="walking")
    b = Simulator(rate_hz=50, seed=4, activity="walking")
    parts = [a.next_until(t) for t in (0.013, 0.5, 0.5, 1.96, 3.0)]
    assert [p.n for p in parts] == [1, 24, 0, 73, 52]  # samples at 0.00 .. 1.94 s are before 1.96 s
    assert a.time == 3.0
    np.testing.assert_array_equal(np.concatenate([p.accel for p in parts]), b.next_chunk(3.0).accel)


def test_first_activity_can_be_replaced_before_streaming():
    sim = Simulator(rate_hz=20, seed=0, activity="standing")
    sim.set_activity("cycling")
    sim.next_chunk(1.0)
    assert sim.segments() == [(0.0, 1.0, "cycling")]


def test_bad_requests_are_errors():
    sim = Simulator(rate_hz=20)
    with pytest.raises(SimulationError):
        sim.next_chunk(-1.0)
    with pytest.raises(SimulationError):
        sim.next_samples(-5)
    with pytest.raises(SimulationError, match="unknown activity"):
        sim.set_activity("teleporting")
    empty = sim.next_samples(0)
    assert empty.n == 0 and empty.accel.shape == (0, 3)
