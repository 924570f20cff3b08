"""Device sessions over simulated peripherals: command order, replies, reconnects, loss, drift.

The peripherals emit byte-exact notifications; the profiles decode them with the
same decoders that the vector tests pin to published bytes. Clocks run 20-40x
faster than real time so each test takes well under a second or two.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from harlab.devices.ble_profiles import HeartRateProfile, HipProfile, PolarH10Profile, WitMotionProfile
from harlab.devices.ble_source import BleSource
from harlab.devices.peripherals import (
    HeartRatePeripheral,
    HipPeripheral,
    Knobs,
    PolarH10Peripheral,
    WitMotionPeripheral,
)
from harlab.devices.protocols import hip, hrs, polar_pmd, witmotion
from harlab.devices.simlink import SimClock, SimLink
from harlab.devices.source import SourceState


def imu(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, float)
    acc = np.stack([3 * np.sin(2 * np.pi * 1.8 * t), np.zeros_like(t), np.full_like(t, 9.81)], axis=1)
    gyro = np.stack([np.zeros_like(t), 0.5 * np.cos(2 * np.pi * 1.8 * t), np.zeros_like(t)], axis=1)
    return acc, gyro


def heart(t: float) -> float:
    return 70.0 + 20.0 * (t % 20 > 10)


def run_source(source: BleSource, clock: SimClock, sim_seconds: float) -> dict[str, list]:
    source.start()
    deadline = time.monotonic() + sim_seconds / clock.speed + 5
    start = clock.now()
    while clock.now() - start < sim_seconds and time.monotonic() < deadline:
        time.sleep(0.02)
        if source.state == SourceState.ERROR:
            break
    source.stop()
    out: dict[str, list] = {}
    for b in source.drain():
        out.setdefault(b.stream, []).append(b)
    return out


def joined(batches: list) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([b.time for b in batches]), np.concatenate([b.values for b in batches])


def test_polar_h10_streams_in_order_and_aligned() -> None:
    clock = SimClock(speed=20)
    link = SimLink(PolarH10Peripheral(imu, heart, clock_epoch_s=7e8), clock)
    src = BleSource(link, PolarH10Profile(200), sleep=clock.sleep)
    got = run_source(src, clock, 10)
    assert src.state == SourceState.STOPPED, src.error
    # Subscriptions come before the start command, the stop command is sent at the end.
    uuids = [u for u, _ in link.writes]
    assert link.writes[0] == (polar_pmd.CONTROL_POINT_UUID, polar_pmd.start_command(2, {0: 200, 1: 16, 2: 8}))
    assert link.writes[-1] == (polar_pmd.CONTROL_POINT_UUID, bytes([3, 2]))
    assert uuids.count(polar_pmd.CONTROL_POINT_UUID) == 2
    assert src.profile.responses[0].ok
    t, v = joined(got["accel"])
    assert np.all(np.diff(t) > 0)
    rate = 1 / np.median(np.diff(t))
    assert rate == pytest.approx(200, rel=0.01)
    assert len(t) == pytest.approx(200 * 10, rel=0.1)
    # Host times land within a connection interval of when each sample was taken, and
    # the values are the signal at that moment (int16 mG quantisation aside).
    dev = np.concatenate([b.device_time for b in got["accel"]])
    true_t = link.peripheral.boot + dev - 7e8
    # Never early (latency is positive); late by at most a burst plus the scheduling of
    # the 20x clock on a loaded machine.
    err = t - true_t
    assert err.min() > -0.005 and err.max() < 0.2
    expected, _ = imu(true_t)
    np.testing.assert_allclose(v, expected, atol=0.01)
    hr_t, hr_v = joined(got["heart_rate"])
    assert set(np.unique(hr_v)) <= {70.0, 90.0}


def test_polar_refuses_small_mtu_with_clear_error() -> None:
    clock = SimClock(speed=20)
    link = SimLink(PolarH10Peripheral(imu, heart), clock, mtu=23)
    src = BleSource(link, PolarH10Profile(200), reconnect=False, sleep=clock.sleep)
    run_source(src, clock, 1)
    assert src.state == SourceState.ERROR
    assert "MTU of at least 232" in (src.error or "")


def test_polar_peripheral_control_point_errors() -> None:
    p = PolarH10Peripheral(imu, heart)
    cp = polar_pmd.CONTROL_POINT_UUID
    start = polar_pmd.start_command(polar_pmd.ACC, {0: 200, 1: 16, 2: 8})
    assert p.on_write(cp, start, 0.0) == []  # not subscribed: a real H10 stays silent
    p.on_subscribe(cp)
    p.on_subscribe(polar_pmd.DATA_UUID)
    bad_rate = polar_pmd.start_command(polar_pmd.ACC, {0: 333, 1: 16, 2: 8})
    assert (
        polar_pmd.parse_control_point(p.on_write(cp, bad_rate, 0.0)[0][1]).status_name
        == "INVALID_SAMPLE_RATE"
    )
    assert polar_pmd.parse_control_point(p.on_write(cp, start, 0.0)[0][1]).ok
    again = polar_pmd.parse_control_point(p.on_write(cp, start, 0.0)[0][1])
    assert again.status_name == "ALREADY_IN_STATE"


def test_reconnect_resubscribes_and_restarts_with_gap() -> None:
    clock = SimClock(speed=10)
    t0 = clock.now()
    link = SimLink(PolarH10Peripheral(imu, heart), clock, disconnect_at=[t0 + 3.0])
    src = BleSource(link, PolarH10Profile(100), sleep=clock.sleep)
    got = run_source(src, clock, 8)
    assert src.state == SourceState.STOPPED, src.error
    assert link.connects == 2 and src.reconnects == 1
    starts = [d for u, d in link.writes if d[0] == polar_pmd.OP_START]
    assert len(starts) == 2
    batches = got["accel"]
    gaps = [i for i, b in enumerate(batches) if b.gap_before]
    assert len(gaps) == 1 and 0 < gaps[0] < len(batches)
    t, _ = joined(batches)
    assert np.all(np.diff(t) > 0)
    assert np.diff(t).max() > 0.3  # the outage stays a gap: nothing invented
    before = np.concatenate([b.time for b in batches[: gaps[0]]])
    assert before[-1] <= t0 + 3.05


def test_hip_counts_lost_packets_and_flags_gaps() -> None:
    clock = SimClock(speed=20)
    link = SimLink(HipPeripheral(imu, Knobs(drop_rate=0.1, seed=3)), clock)
    src = BleSource(link, HipProfile(100), sleep=clock.sleep)
    got = run_source(src, clock, 10)
    assert src.state == SourceState.STOPPED, src.error
    periph = link.peripheral
    assert periph.dropped > 0
    # Losses after the last delivered packet cannot be seen; every other one is counted.
    assert periph.dropped - 2 <= src.profile.lost_packets <= periph.dropped
    acc = got["accel"]
    assert 0 < sum(b.gap_before for b in acc) <= src.profile.lost_packets
    t, v = joined(acc)
    assert len(t) == (periph.sent - periph.dropped) * hip.MAX_SAMPLES_AT_MTU_247
    assert np.all(np.diff(t) > 0)
    dev = np.concatenate([b.device_time for b in acc])
    expected, _ = imu(periph.boot + dev)
    np.testing.assert_allclose(v, expected, atol=0.01)


def test_clock_drift_is_followed() -> None:
    clock = SimClock(speed=40)
    link = SimLink(HipPeripheral(imu, Knobs(drift_ppm=800)), clock)
    src = BleSource(link, HipProfile(100), sleep=clock.sleep)
    got = run_source(src, clock, 30)
    t, _ = joined(got["accel"])
    dev = np.concatenate([b.device_time for b in got["accel"]])
    # The device clock runs 800 ppm fast: 24 ms over 30 s, which a plain offset would
    # accumulate. The error may carry a constant latency (the accelerated clock's
    # scheduling), but it must not grow with the drift.
    true_host = link.peripheral.boot + dev / (1 + 800e-6)
    err = t - true_host
    assert np.all(err > -0.01) and err.max() < 0.3
    late = err[len(err) // 2 :]
    assert np.ptp(late) < 0.012


def test_witmotion_split_frames_at_nominal_rate() -> None:
    clock = SimClock(speed=5)
    link = SimLink(WitMotionPeripheral(imu), clock)
    src = BleSource(link, WitMotionProfile(50), sleep=clock.sleep)
    got = run_source(src, clock, 10)
    assert src.state == SourceState.STOPPED, src.error
    assert (witmotion.WRITE_UUID, witmotion.set_rate_command(50)) in link.writes
    t, v = joined(got["accel"])
    assert len(t) > 300
    # No frame lost or invented over the span: one sample per nominal period.
    assert len(t) == pytest.approx((t[-1] - t[0]) * 50 + 1, rel=0.02)
    assert 1 / np.median(np.diff(t)) == pytest.approx(50, rel=0.01)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1).min(), 9.81, atol=0.05)
    assert src.profile.parser.skipped_bytes == 0


def test_heart_rate_strap_rr_intervals() -> None:
    clock = SimClock(speed=20)
    link = SimLink(HeartRatePeripheral(heart), clock)
    src = BleSource(link, HeartRateProfile(), sleep=clock.sleep)
    got = run_source(src, clock, 15)
    _, hr = joined(got["heart_rate"])
    _, rr = joined(got["rr"])
    assert {70.0, 90.0} >= set(np.unique(hr))
    np.testing.assert_allclose(rr[:, 0], 60000.0 / np.where(hr[:, 0] == 70, 70, 90), atol=1.0)
    assert src.stats.samples["heart_rate"] == len(hr)
    assert hrs.MEASUREMENT_UUID not in [u for u, _ in link.writes]


def test_heart_rate_burst_keeps_every_beat() -> None:
    """Beats delivered together (a stalled loop) get distinct, RR-spaced times."""
    prof = HeartRateProfile()
    t = 1_000_000_000_000
    out = [prof.decode(hrs.MEASUREMENT_UUID, hrs.encode(60, [1000.0]), t) for _ in range(3)]
    times = [b[0].time[0] for b in out]
    assert times == [1000.0, 1001.0, 1002.0]


def test_verity_sense_compressed_acc_and_gyro_with_factors() -> None:
    from harlab.devices.ble_profiles import PolarVeritySenseProfile
    from harlab.devices.peripherals import PolarVeritySensePeripheral

    clock = SimClock(speed=10)
    link = SimLink(PolarVeritySensePeripheral(imu), clock)
    src = BleSource(link, PolarVeritySenseProfile(52), sleep=clock.sleep)
    got = run_source(src, clock, 12)
    assert src.state == SourceState.STOPPED, src.error
    # One control command at a time: ACC start, its reply, then GYRO start.
    starts = [d for u, d in link.writes if d[0] == polar_pmd.OP_START]
    assert [d[1] for d in starts] == [polar_pmd.ACC, polar_pmd.GYRO]
    assert src.profile.factors == {
        polar_pmd.ACC: pytest.approx(8 / 32768),
        polar_pmd.GYRO: pytest.approx(2000 / 32768),
    }
    periph = link.peripheral
    for name, col in (("accel", 0), ("gyro", 1)):
        t, v = joined(got[name])
        assert 1 / np.median(np.diff(t)) == pytest.approx(52, rel=0.01)
        dev = np.concatenate([b.device_time for b in got[name]])
        ref = imu(periph.boot + dev - 7e8)[col]
        step = 8 * 9.80665 / 32768 if name == "accel" else 2000 * np.pi / 180 / 32768
        np.testing.assert_allclose(v, ref, atol=step)  # delta-decoded and scaled by the FACTOR


def test_battery_level_read_when_offered() -> None:
    clock = SimClock(speed=20)
    link = SimLink(PolarH10Peripheral(imu, heart), clock)
    src = BleSource(link, PolarH10Profile(100), sleep=clock.sleep)
    levels = []
    src.events.connect(lambda e: levels.append(e.data["percent"]) if e.kind == "battery" else None)
    run_source(src, clock, 1)
    assert src.battery_percent == 87 and levels == [87]


def test_microbit_period_and_samples() -> None:
    from harlab.devices.ble_profiles import MicrobitProfile
    from harlab.devices.peripherals import MicrobitPeripheral
    from harlab.devices.protocols import microbit

    clock = SimClock(speed=10)
    link = SimLink(MicrobitPeripheral(imu), clock)
    src = BleSource(link, MicrobitProfile(50), sleep=clock.sleep)
    got = run_source(src, clock, 8)
    assert src.state == SourceState.STOPPED, src.error
    assert link.writes[0] == (microbit.PERIOD_UUID, bytes.fromhex("1400"))  # 20 ms, before subscribing
    t, v = joined(got["accel"])
    assert 1 / np.median(np.diff(t)) == pytest.approx(50, rel=0.02)
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(v[:, 2], 9.81, atol=0.01)  # milli-g resolution
