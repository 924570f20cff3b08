"""The simulated signals behave like a wrist IMU and a heart-rate sensor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from harlab.core.streams import FLAG_CLIPPED
from harlab.simulate import G, Participant, SensorConfig, Simulator, get_profile, simulate_session
from tests.simulate.sim_helpers import PROTOCOL, magnitude, step_window


def test_same_seed_same_numbers_other_seed_other_numbers():
    plan = PROTOCOL[:3]
    a = simulate_session(plan, rate_hz=50, seed=3)
    b = simulate_session(plan, rate_hz=50, seed=3)
    c = simulate_session(plan, rate_hz=50, seed=4)
    for name in ("accel", "gyro", "heart_rate"):
        ta, va = a.streams[name].read()
        tb, vb = b.streams[name].read()
        tc, vc = c.streams[name].read()
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(va, vb)
        np.testing.assert_array_equal(ta, tc)
        assert not np.array_equal(va, vc)
    assert a.metadata.session_id == b.metadata.session_id != c.metadata.session_id


def test_participants_differ_and_keep_their_traits_across_seeds():
    p1, p2 = Participant.from_id("P01"), Participant.from_id("P02")
    assert p1 == Participant.from_id("P01") and p1 != p2
    s1 = simulate_session(PROTOCOL[:2], seed=1, participant="P07")
    s2 = simulate_session(PROTOCOL[:2], seed=2, participant="P07")
    assert s1.metadata.extra["participant_traits"] == s2.metadata.extra["participant_traits"]


@pytest.mark.parametrize("posture", ["sitting", "standing", "lying"])
def test_gravity_magnitude_at_rest(protocol_session, posture):
    _, acc = step_window(protocol_session, "accel", posture)
    mag = magnitude(acc)
    assert abs(mag.mean() - G) < 0.3
    assert mag.std() < 0.3  # still, but not frozen
    assert acc.std(axis=0).max() > 0.005


def test_postures_point_gravity_in_distinct_directions(protocol_session):
    dirs = {}
    for posture in ("sitting", "standing", "lying"):
        _, acc = step_window(protocol_session, "accel", posture)
        m = acc.astype(np.float64).mean(axis=0)
        dirs[posture] = m / np.linalg.norm(m)
        # the mean reading is the profile's gravity direction, up to the bout's random tilt
        angle = np.degrees(np.arccos(np.clip(dirs[posture] @ get_profile(posture).up_unit, -1, 1)))
        assert angle < 25, (posture, angle)
    for a, b in itertools.combinations(dirs, 2):
        angle = np.degrees(np.arccos(np.clip(dirs[a] @ dirs[b], -1, 1)))
        assert angle > 45, (a, b, angle)
    # the seed's convention: a hanging arm reads ax close to -g
    assert dirs["standing"][0] < -0.85


def dominant_hz(values: np.ndarray, rate: float) -> float:
    mag = magnitude(values)
    spec = np.abs(np.fft.rfft((mag - mag.mean()) * np.hanning(len(mag))))
    freqs = np.fft.rfftfreq(len(mag), 1.0 / rate)
    band = freqs > 0.3
    return float(freqs[band][np.argmax(spec[band])])


@pytest.mark.parametrize("activity", ["walking", "running", "jumping", "cycling"])
def test_dominant_frequency_is_the_profile_cadence(protocol_session, neutral, activity):
    _, acc = step_window(protocol_session, "accel", activity)
    expected = get_profile(activity).gait_hz * neutral.cadence_scale
    assert abs(dominant_hz(acc, 100.0) - expected) <= 0.2


def test_cadence_follows_the_participant():
    who = Participant.from_id("P03")
    s = simulate_session([("walking", 60)], seed=5, participant=who)
    _, acc = s.streams["accel"].read(3.0, 60.0)
    assert abs(dominant_hz(acc, 100.0) - 1.9 * who.cadence_scale) <= 0.2


def test_running_moves_more_than_walking(protocol_session):
    _, walk = step_window(protocol_session, "accel", "walking")
    _, run = step_window(protocol_session, "accel", "running")
    _, gwalk = step_window(protocol_session, "gyro", "walking")
    _, grun = step_window(protocol_session, "gyro", "running")
    assert magnitude(run).std() > 2 * magnitude(walk).std()
    assert magnitude(grun).mean() > 1.3 * magnitude(gwalk).mean()
    # magnitudes in the range of the seed's Fitbit recordings (|a| 10.0 ± 2.4 walking, 13.4 ± 9.9 running)
    assert 9.9 < magnitude(walk).mean() < 12.0 and 1.2 < magnitude(walk).std() < 4.0
    assert 12.0 < magnitude(run).mean() < 20.0 and magnitude(run).std() > 4.0
    _, sit = step_window(protocol_session, "gyro", "sitting")
    assert magnitude(sit).mean() < 0.3 < magnitude(gwalk).mean()


def test_gyro_integrates_to_the_accelerometer_posture_change():
    """Rotating the gravity direction seen before a posture change by the integrated
    gyroscope gives the direction the accelerometer sees after it."""
    s = simulate_session([("sitting", 20), ("standing", 20)], rate_hz=200, seed=2)
    t, acc = s.streams["accel"].read()
    _, gyro = s.streams["gyro"].read()
    acc, gyro = acc.astype(np.float64), gyro.astype(np.float64)
    before = (t >= 18.5) & (t < 19.5)
    after = (t >= 22.5) & (t < 23.5)
    g = acc[before].mean(axis=0)
    g /= np.linalg.norm(g)
    g_start = g.copy()
    dt = 1.0 / 200
    for w in gyro[(t >= 19.0) & (t < 23.0)]:
        # a fixed world vector seen from a frame turning at w: dg/dt = -w x g (Rodrigues step)
        angle = np.linalg.norm(w) * dt
        if angle > 0:
            k = -w / np.linalg.norm(w)
            g = g * np.cos(angle) + np.cross(k, g) * np.sin(angle) + k * (k @ g) * (1 - np.cos(angle))
    g_after = acc[after].mean(axis=0)
    g_after /= np.linalg.norm(g_after)
    turned = np.degrees(np.arccos(np.clip(g_start @ g_after, -1, 1)))
    error = np.degrees(np.arccos(np.clip(g @ g_after, -1, 1)))
    assert turned > 45
    assert error < 4.0, (turned, error)


def test_heart_rate_follows_effort_with_a_lag(protocol_session):
    hr_t, hr = protocol_session.streams["heart_rate"].read()
    hr = hr[:, 0].astype(np.float64)
    spans = {act: (a, b) for a, b, act in reversed(PROTOCOL.spans())}  # first occurrence wins
    run0, run1 = spans["running"]
    sit0, sit1 = spans["sitting"]

    def at(t0: float, t1: float) -> float:
        return float(hr[(hr_t >= t0) & (hr_t < t1)].mean())

    rest = at(run0 - 30, run0)  # the end of walking
    standing = at(90, 120)
    peak = at(run1 - 20, run1)
    assert peak > standing + 40
    # a lag: 10 s into running the heart is far from its steady state, and takes
    # 10-60 s to cover 63 % of the way (a first-order time constant of tens of seconds)
    assert at(run0 + 5, run0 + 10) < peak - 25
    target = rest + 0.63 * (peak - rest)
    reach = hr_t[(hr_t >= run0) & (hr > target)][0] - run0
    assert 10 <= reach <= 60, reach
    # recovery: still raised 20 s into sitting, back near rest at its end
    end_sit = at(sit1 - 30, sit1)
    assert at(sit0 + 10, sit0 + 20) > end_sit + 15
    assert end_sit < standing + 5
    assert np.all(np.abs(np.diff(hr)) < 8)  # no jumps: a physiological signal
    assert hr.min() > 40 and hr.max() < 200


def test_streams_and_units(protocol_session):
    s = protocol_session
    acc, gyro, hr = s.streams["accel"], s.streams["gyro"], s.streams["heart_rate"]
    assert (acc.kind, gyro.kind, hr.kind) == ("accelerometer", "gyroscope", "heart_rate")
    assert acc.units == ["m/s^2"] * 3 and gyro.units == ["rad/s"] * 3 and hr.units == ["bpm"]
    assert acc.channels == ["x", "y", "z"] and acc.rate_hz == 100.0 and hr.rate_hz == 1.0
    assert acc.n_samples == round(PROTOCOL.duration_s * 100) == gyro.n_samples
    assert hr.n_samples == int(np.ceil(PROTOCOL.duration_s))
    assert abs(acc.measured_rate_hz() - 100.0) < 1e-6
    t, v = acc.read()
    assert t[0] == 0.0 and t[-1] < PROTOCOL.duration_s and v.dtype == np.float32


def test_other_rates_work():
    s = simulate_session([("walking", 20), ("sitting", 10)], rate_hz=12.5, seed=1)
    assert s.streams["accel"].n_samples == 375
    _, acc = s.streams["accel"].read(23, 30)
    assert abs(magnitude(acc).mean() - G) < 0.3


def test_quantisation_and_clipping_flags():
    cfg = SensorConfig(accel_range_g=2.0)
    s = simulate_session([("jumping", 20)], seed=1, sensor=cfg)
    acc = s.streams["accel"]
    _, v = acc.read()
    v = v.astype(np.float64)
    flags = acc.data.read_flags()
    full = 2.0 * G
    lsb = full / 32768
    codes = v / lsb
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)  # on the 16-bit grid
    assert codes.min() >= -32768.01 and codes.max() <= 32767.01  # float32 storage
    at_rail = np.any((np.round(codes) <= -32768) | (np.round(codes) >= 32767), axis=1)
    assert 0 < at_rail.sum() < len(v)  # jumping jacks exceed ±2 g now and then
    np.testing.assert_array_equal((flags & FLAG_CLIPPED) > 0, at_rail)
    # with the default ±8 g range nothing clips
    assert not np.any(simulate_session([("jumping", 20)], seed=1).streams["accel"].data.read_flags())


def test_simulator_rejects_bad_settings():
    with pytest.raises(Exception, match="sample rate"):
        Simulator(rate_hz=0)
    with pytest.raises(Exception, match="seed"):
        Simulator(seed=-1)


def test_posture_changes_turn_the_wrist_smoothly_over_a_second_or_two():
    s = simulate_session([("standing", 10), ("lying", 10)], rate_hz=100, seed=6)
    t, acc = s.streams["accel"].read(8.0, 14.0)
    kernel = np.ones(10) / 10  # 0.1 s moving average against noise and wobble
    smooth = np.stack([np.convolve(acc[:, k].astype(np.float64), kernel, "same") for k in range(3)], 1)[
        10:-10
    ]
    t = t[10:-10]
    d = smooth / np.linalg.norm(smooth, axis=1, keepdims=True)
    angle = np.degrees(np.arccos(np.clip(d @ d[0], -1, 1)))
    total = angle[-50:].mean()
    assert total > 60
    t10 = t[np.argmax(angle > 0.1 * total)]
    t90 = t[np.argmax(angle > 0.9 * total)]
    assert t10 >= 10.0 and t90 <= 11.8 and 0.5 <= t90 - t10 <= 2.0, (t10, t90)
    step = np.degrees(np.arccos(np.clip(np.sum(d[1:] * d[:-1], axis=1), -1, 1)))
    assert step.max() < 3.0  # no jumps between consecutive samples
