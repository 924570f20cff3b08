"""The simulator engine: a participant's wrist IMU and heart rate, sample by sample.

Model (device frame as in :mod:`harlab.simulate.activity_table`; world frame z up):

* **Orientation** ``q = q_base ⊗ q_swing ⊗ q_wobble`` (device to world).
  ``q_base`` is the posture: at each activity change it turns from where it is to
  the new posture along the shortest arc with a C2 "smootherstep" over
  ``transition_s``. ``q_swing`` is the arm swinging about the profile's axis,
  ``q_wobble`` small smooth wrist movements plus a slow drift, and a heading that
  wanders while walking (turns). Each bout holds its posture with a small random
  tilt, and each participant wears the watch slightly turned.
* **Accelerometer** = what a real one reads, specific force in m/s²:
  ``q⁻¹ (a_body + g ẑ)`` with the body's vertical bounce (harmonics of the step
  phase, cadence jitter, step-to-step amplitude changes), fore-aft and lateral
  sway, plus the tangential and centripetal acceleration of the wrist swinging
  round the shoulder, broadband shaking (heel strikes, road), white noise, a
  constant per-device bias, 16-bit quantisation and clipping at the range
  (flagged).
* **Gyroscope** = the body-frame angular velocity of exactly that orientation
  (posture turn, swing, wobble, heading), in rad/s, plus bias and noise, so
  integrating the gyro reproduces the accelerometer's gravity changes.
* **Heart rate** at 1 Hz follows the activity's MET with a first-order lag
  (about 25 s rising, 50 s recovering) plus slow variability and noise.

Why it streams and batches identically: every random quantity is a pure
function of (seed, time) (see :mod:`harlab.simulate._noise`), the posture
state at each change is computed once when the change is scheduled, and the
only running sums (the gait phases and the heart rate) are carried sample by
sample in the same order whatever the chunk sizes. So a plan generated in one
call, streamed 7 samples at a time, or streamed with live activity changes at
the same instants gives the same arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from harlab.core.streams import FLAG_CLIPPED
from harlab.simulate import _rotation as rot
from harlab.simulate._noise import SmoothNoise, WhiteNoise
from harlab.simulate.activity_table import ActivityProfile, SimulationError, canonical_name, get_profile
from harlab.simulate.participant import Participant
from harlab.simulate.plan import Plan, Step

G = 9.80665  #: standard gravity, m/s²
_Z = np.array([0.0, 0.0, 1.0])

# Random-process keys: each process draws from its own stream of the seed.
(
    _KEY_WHITE,
    _KEY_WOBBLE,
    _KEY_DRIFT,
    _KEY_SLOW,
    _KEY_HR,
    _KEY_BIAS,
    _KEY_EVENT,
    _KEY_HR_WHITE,
    _KEY_VIBRATION,
    _KEY_STRIDE,
) = range(1, 11)
_STEP_VARIABILITY = 0.10  #: relative sd of the step-to-step change of movement amplitude
_MOTION_NOISE = 0.05  #: broadband shaking per m/s² of vertical bounce (heel strikes are not sinusoids)

# Layout of the per-activity parameter vector that transitions blend.
_F, _AV, _H1, _H2, _H3, _H4, _AF, _AL, _SA, _SO, _SR = range(11)
_AX = slice(11, 14)
_ARM = slice(14, 17)
_WOB, _TURN, _VIB, _JIT, _MET, _WORN = range(17, 23)
_NP = 23


@dataclass(frozen=True)
class SensorConfig:
    """The simulated sensor's range, resolution and noise.

    Noise levels are per-sample standard deviations at 100 Hz (typical consumer
    MEMS: 150 µg/√Hz, 0.01 °/s/√Hz); they scale with √(rate / 100 Hz) like a real
    sensor whose bandwidth follows its output rate.
    """

    accel_range_g: float = 8.0
    gyro_range_dps: float = 2000.0
    resolution_bits: int = 16  #: 0 turns quantisation off
    accel_noise: float = 0.02  #: m/s²
    gyro_noise: float = 0.003  #: rad/s
    accel_bias: float = 0.06  #: m/s², sd of the constant per-device offset of each axis
    gyro_bias: float = 0.006  #: rad/s
    hr_noise: float = 0.6  #: bpm, white
    hr_variability: float = 1.8  #: bpm, slow (heart-rate variability)
    hr_tau_up: float = 25.0  #: s, heart-rate time constant when effort rises
    hr_tau_down: float = 50.0  #: s, ... and when it falls

    @property
    def accel_range(self) -> float:
        return self.accel_range_g * G

    @property
    def gyro_range(self) -> float:
        return math.radians(self.gyro_range_dps)


@dataclass
class Chunk:
    """The samples of one step of the stream, times in seconds from the start.

    IMU samples have ``t0 <= time < t1``; heart-rate samples (1 Hz, on whole
    seconds) likewise. ``segments`` are the activity spans that overlap the chunk,
    as (start, end, activity); the last one's end is ``t1`` while it continues.
    """

    t0: float
    t1: float
    time: np.ndarray
    accel: np.ndarray
    gyro: np.ndarray
    accel_flags: np.ndarray
    gyro_flags: np.ndarray
    hr_time: np.ndarray
    hr: np.ndarray
    segments: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.time)

    @property
    def activity(self) -> str:
        """The activity at the end of the chunk."""
        return self.segments[-1][2] if self.segments else ""


def _params(p: ActivityProfile, who: Participant) -> np.ndarray:
    v = np.zeros(_NP)
    v[_F] = p.gait_hz * who.cadence_scale
    v[_AV] = p.vertical_amp * who.amplitude_scale
    h = (list(p.harmonics) + [0.0] * 4)[:4]
    v[_H1 : _H4 + 1] = h
    v[_AF] = p.forward_amp * who.amplitude_scale
    v[_AL] = p.lateral_amp * who.amplitude_scale
    v[_SA] = p.swing_amp * math.sqrt(who.amplitude_scale)
    v[_SO] = p.swing_offset
    v[_SR] = p.swing_ratio
    axis = np.asarray(p.swing_axis, float)
    v[_AX] = axis / np.linalg.norm(axis)
    v[_ARM] = p.arm
    v[_WOB] = p.wobble
    v[_TURN] = p.turn_rate
    v[_VIB] = p.vibration
    v[_JIT] = p.cadence_jitter
    v[_MET] = p.met
    v[_WORN] = 1.0 if p.worn else 0.0  # scales the arm's slow drift; 0 off the wrist
    return v


def _nonzero(x: float | np.ndarray) -> bool:
    """Whether a parameter (a scalar in steady parts, an array in turning ones) is ever non-zero."""
    return bool(x.any()) if isinstance(x, np.ndarray) and x.ndim else bool(x != 0.0)


def _floats(q: rot.Quat) -> rot.Quat:
    return (float(q[0]), float(q[1]), float(q[2]), float(q[3]))


def _smootherstep(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s(x) = 6x⁵ - 15x⁴ + 10x³ on [0, 1] and its derivative (C2: no jerk spikes)."""
    x = np.clip(x, 0.0, 1.0)
    x2 = x * x
    return x2 * x * (x * (6.0 * x - 15.0) + 10.0), 30.0 * x2 * (1.0 - x) ** 2


def count_before(t: float, rate_hz: float) -> int:
    """Number of sample indices ``i >= 0`` with ``i / rate_hz < t``."""
    if t <= 0:
        return 0
    n = int(math.ceil(t * rate_hz))
    while n > 0 and (n - 1) / rate_hz >= t:
        n -= 1
    while n / rate_hz < t:
        n += 1
    return n


class Simulator:
    """A simulated participant wearing a wrist IMU and a heart-rate sensor, streamed in chunks.

    Follows ``plan`` if given (and stays in its last activity afterwards; ``activity``
    is then ignored), else performs ``activity`` until :meth:`set_activity` changes it. Call
    :meth:`next_chunk` (by time) or :meth:`next_samples` (by count) repeatedly;
    each returns the next samples and advances the clock. A live change takes
    effect at the first sample of the next chunk and cancels what was left of the plan.
    """

    def __init__(
        self,
        plan: Plan | Iterable[Step | tuple[str, float]] | None = None,
        *,
        rate_hz: float = 100.0,
        seed: int = 0,
        participant: str | Participant = "P01",
        activity: str = "standing",
        transition_s: float = 1.5,
        sensor: SensorConfig | None = None,
    ) -> None:
        rate_hz = float(rate_hz)
        if not math.isfinite(rate_hz) or not 0.5 <= rate_hz <= 10_000:
            raise SimulationError(f"sample rate must be between 0.5 and 10000 Hz, got {rate_hz!r}")
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise SimulationError(f"seed must be a non-negative integer, got {seed!r}")
        if not transition_s > 0:
            raise SimulationError(f"transition_s must be positive, got {transition_s!r}")
        self.rate_hz = rate_hz
        self.seed = int(seed)
        self.participant = (
            participant if isinstance(participant, Participant) else Participant.from_id(str(participant))
        )
        self.transition_s = float(transition_s)
        self.sensor = sensor or SensorConfig()
        self.plan = Plan.of(plan) if plan is not None else None
        if self.plan is not None and not len(self.plan):
            raise SimulationError("a plan needs at least one step")
        #: True while the plan is followed; a live :meth:`set_activity` ends it
        self.following_plan = self.plan is not None

        scale = math.sqrt(self.rate_hz / 100.0)
        self._accel_sd = self.sensor.accel_noise * scale
        self._gyro_sd = self.sensor.gyro_noise * scale
        brng = np.random.default_rng([self.seed, _KEY_BIAS])
        self.accel_bias = brng.normal(0.0, self.sensor.accel_bias, 3)
        self.gyro_bias = brng.normal(0.0, self.sensor.gyro_bias, 3)

        self._white = WhiteNoise(self.seed, _KEY_WHITE, 6)
        self._vibration = WhiteNoise(self.seed, _KEY_VIBRATION, 3)
        self._wobble = SmoothNoise(self.seed, _KEY_WOBBLE, 3, 0.3)
        self._drift = SmoothNoise(self.seed, _KEY_DRIFT, 3, 30.0)
        self._slow = SmoothNoise(self.seed, _KEY_SLOW, 3, 2.0)  # cadence jitter, amplitude, turning
        self._stride = SmoothNoise(self.seed, _KEY_STRIDE, 1, 0.5)  # step-to-step amplitude
        self._hrv = SmoothNoise(self.seed, _KEY_HR, 1, 8.0)
        self._hr_white = WhiteNoise(self.seed, _KEY_HR_WHITE, 1, block=4096)
        self._twist = _floats(rot.from_rotvec((self.participant.watch_twist, 0.0, 0.0)))

        # The timeline: one event per activity change, with the state it starts from.
        self._ev_t: list[float] = []
        self._ev_act: list[str] = []
        self._ev_p0: list[np.ndarray] = []
        self._ev_p1: list[np.ndarray] = []
        self._ev_q0: list[rot.Quat] = []
        self._ev_q1: list[rot.Quat] = []
        self._ev_v: list[np.ndarray] = []
        self._ev_arrays: tuple[np.ndarray, ...] | None = None

        # Running state.
        self._i = 0  # next IMU sample
        self._t_req = 0.0  # time requested so far by next_chunk
        self._phase = 0.0
        self._swing_phase = 0.0
        self._hr_k = 0  # next heart-rate second
        self._hr_state: float | None = None

        if self.plan is not None:
            for start, _end, act in self.plan.spans():
                self._add_event(start, act)
        else:
            self._add_event(0.0, canonical_name(activity))

    # -- timeline ------------------------------------------------------------------------------------
    def _event_state(self, j: int, t: float) -> tuple[np.ndarray, rot.Quat]:
        """Blended parameters and base orientation of event ``j`` at time ``t``."""
        p0, p1, v = self._ev_p0[j], self._ev_p1[j], self._ev_v[j]
        w = float(_smootherstep(np.array([(t - self._ev_t[j]) / self.transition_s]))[0][0])
        p = p0 + w * (p1 - p0)
        if w >= 1.0:
            return p, self._ev_q1[j]
        return p, _floats(rot.qmul(self._ev_q0[j], rot.from_rotvec(tuple(w * v))))

    def _add_event(self, t: float, activity: str) -> None:
        prof = get_profile(activity)
        target = _params(prof, self.participant)
        erng = np.random.default_rng([self.seed, _KEY_EVENT, len(self._ev_t)])
        # Each bout is held a little differently: a random tilt of about 5°.
        tilt = rot.from_rotvec(tuple(erng.normal(0.0, 0.08, 3)))
        q_target = _floats(rot.qmul(rot.qmul(rot.align(prof.up_unit, _Z), self._twist), tilt))
        if not self._ev_t:
            start, q_start = target.copy(), q_target
        else:
            start, q_start = self._event_state(len(self._ev_t) - 1, t)
        # The gait phase keeps its speed while a movement fades out or in.
        if target[_F] == 0.0:
            target[_F] = start[_F]
        if start[_F] == 0.0:
            start[_F] = target[_F]
        # Swing geometry of a side without swing is taken from the other side.
        for a, b in ((start, target), (target, start)):
            if a[_SA] == 0.0 and a[_SO] == 0.0:
                a[_SR], a[_AX], a[_ARM] = b[_SR], b[_AX], b[_ARM]
        v = rot.to_rotvec(rot.qmul(rot.qconj(q_start), q_target))
        self._ev_t.append(float(t))
        self._ev_act.append(prof.name)
        self._ev_p0.append(start)
        self._ev_p1.append(target)
        self._ev_q0.append(q_start)
        self._ev_q1.append(q_target)
        self._ev_v.append(v)
        self._ev_arrays = None

    def _arrays(self) -> tuple[np.ndarray, ...]:
        if self._ev_arrays is None:
            p0 = np.array(self._ev_p0)
            self._ev_arrays = (
                np.array(self._ev_t),
                np.ascontiguousarray(p0.T),
                np.ascontiguousarray((np.array(self._ev_p1) - p0).T),
                np.ascontiguousarray(np.array(self._ev_q0).T),
                np.ascontiguousarray(np.array(self._ev_v).T),
                np.ascontiguousarray(np.array(self._ev_q1).T),
            )
        return self._ev_arrays

    @property
    def time(self) -> float:
        """Time of the next sample (seconds from the start)."""
        return self._i / self.rate_hz

    @property
    def sample_index(self) -> int:
        return self._i

    def activity_at(self, t: float) -> str:
        j = max(0, int(np.searchsorted(self._arrays()[0], t, side="right")) - 1)
        return self._ev_act[j]

    @property
    def activity(self) -> str:
        """The activity the next sample belongs to."""
        return self.activity_at(self.time)

    def set_activity(self, activity: str) -> None:
        """Switch to ``activity`` from the next sample on; what was left of the plan is dropped."""
        name = canonical_name(activity)
        t = self.time
        self.following_plan = False
        while len(self._ev_t) > 1 and self._ev_t[-1] >= t:
            self._pop_event()
        if self._ev_t[-1] >= t:  # nothing generated yet: start with the new activity
            self._pop_event()
        elif self._ev_act[-1] == name:
            return
        self._add_event(t, name)

    def _pop_event(self) -> None:
        for lst in (self._ev_t, self._ev_act, self._ev_p0, self._ev_p1, self._ev_q0, self._ev_q1, self._ev_v):
            lst.pop()
        self._ev_arrays = None

    def segments(self, until: float | None = None, since: float = 0.0) -> list[tuple[float, float, str]]:
        """Activity spans (start, end, activity) that overlap [since, until), ``until``
        defaulting to the current time; the last one ends at ``until`` while it goes on."""
        end = self.time if until is None else float(until)
        ev_t = self._arrays()[0]
        j0 = max(0, int(np.searchsorted(ev_t, since, side="right")) - 1)
        j1 = int(np.searchsorted(ev_t, end, side="left"))
        out = []
        for j in range(j0, j1):
            stop = self._ev_t[j + 1] if j + 1 < len(self._ev_t) else end
            out.append((self._ev_t[j], min(stop, end), self._ev_act[j]))
        return out

    # -- streaming -----------------------------------------------------------------------------------
    def next_chunk(self, dt: float) -> Chunk:
        """The samples of the next ``dt`` seconds (those with time < requested total)."""
        if not 0 <= dt < math.inf:
            raise SimulationError(f"chunk length must be a finite number of seconds >= 0, got {dt!r}")
        self._t_req = max(self._t_req + float(dt), self.time)
        n = count_before(self._t_req, self.rate_hz) - self._i
        return self.next_samples(n)

    def next_until(self, t: float) -> Chunk:
        """The samples from the current time up to (not including) time ``t``; for sources
        paced by a clock ("give me everything due by now")."""
        if not t < math.inf:
            raise SimulationError(f"time must be finite, got {t!r}")
        self._t_req = max(self._t_req, float(t), self.time)
        return self.next_samples(max(0, count_before(float(t), self.rate_hz) - self._i))

    def next_samples(self, n: int) -> Chunk:
        """The next ``n`` IMU samples (and the heart-rate samples in the same span)."""
        if n < 0:
            raise SimulationError(f"sample count must be >= 0, got {n}")
        i0, i1 = self._i, self._i + int(n)
        t0, t1 = i0 / self.rate_hz, i1 / self.rate_hz
        time = np.arange(i0, i1, dtype=np.float64) / self.rate_hz
        accel, gyro = self._render(i0, i1, time)
        accel, aflags = self._digitise(accel, self.sensor.accel_range)
        gyro, gflags = self._digitise(gyro, self.sensor.gyro_range)
        hr_time, hr = self._heart_rate(t1)
        self._i = i1
        self._t_req = max(self._t_req, self.time)
        segs = self.segments(until=t1, since=t0) if n else []
        return Chunk(t0, t1, time, accel, gyro, aflags, gflags, hr_time, hr, segs)

    def chunks(self, dt: float, duration_s: float | None = None) -> Iterator[Chunk]:
        """Chunks of ``dt`` seconds until ``duration_s`` (default: the end of the plan; forever without one)."""
        end = (
            duration_s
            if duration_s is not None
            else (self.plan.duration_s if self.plan is not None and self.following_plan else math.inf)
        )
        while self.time < end - 1e-12:
            yield self.next_chunk(min(dt, end - self._t_req) if math.isfinite(end) else dt)

    # -- the model -----------------------------------------------------------------------------------
    def _digitise(self, v: np.ndarray, full_scale: float) -> tuple[np.ndarray, np.ndarray]:
        """Round to the sensor's resolution and clip to its range, as a signed ``bits``-bit
        converter does; samples at a rail are flagged as clipped."""
        bits = self.sensor.resolution_bits
        lo, hi = -full_scale, full_scale
        if bits:
            lsb = full_scale / (1 << (bits - 1))
            v *= 1.0 / lsb
            np.round(v, out=v)
            np.clip(v, -(1 << (bits - 1)), (1 << (bits - 1)) - 1, out=v)
            v *= lsb
            hi = full_scale - lsb
        else:
            np.clip(v, lo, hi, out=v)
        clipped = ((v <= lo) | (v >= hi)).any(axis=1)
        return v.astype(np.float32), np.asarray(clipped.astype(np.uint8) * np.uint8(FLAG_CLIPPED))

    def _render(self, i0: int, i1: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accelerometer and gyroscope (N, 3) float64 for samples i0 .. i1-1 at times ``t``.

        The chunk is cut where an activity starts and where its posture turn ends;
        each part is rendered with the formulas of its kind (turning or steady), so
        every sample is computed the same way whatever the chunking.
        """
        n = i1 - i0
        accel = np.empty((n, 3))
        gyro = np.empty((n, 3))
        if n == 0:
            return accel, gyro
        ev_t = self._arrays()[0]
        j0 = max(0, int(np.searchsorted(ev_t, t[0], side="right")) - 1)
        j1 = max(0, int(np.searchsorted(ev_t, t[-1], side="right")) - 1)
        parts: list[tuple[int, int, int, bool]] = []
        for j in range(j0, j1 + 1):
            a = 0 if j == j0 else int(np.searchsorted(t, ev_t[j], side="left"))
            b = n if j == j1 else int(np.searchsorted(t, ev_t[j + 1], side="left"))
            if b <= a:
                continue
            mid = min(max(int(np.searchsorted(t, ev_t[j] + self.transition_s, side="left")), a), b)
            if mid > a:
                parts.append((a, mid, j, True))
            if b > mid:
                parts.append((mid, b, j, False))
        # Random processes for the whole chunk (pure functions of time / index).
        slow, _ = self._slow(t)
        wob, dwob = self._wobble(t, derivative=True)
        drift, ddrift = self._drift(t, derivative=True)
        noise = self._white(i0, i1)
        for a, b, j, turning in parts:
            sl = slice(a, b)
            self._render_part(
                i0 + a,
                i0 + b,
                t[sl],
                j,
                turning,
                [x[sl] for x in slow],
                [x[sl] for x in wob],
                [x[sl] for x in dwob],
                [x[sl] for x in drift],
                [x[sl] for x in ddrift],
                noise[:, sl],
                accel[sl],
                gyro[sl],
            )
        return accel, gyro

    def _render_part(
        self,
        i0: int,
        i1: int,
        t: np.ndarray,
        j: int,
        turning: bool,
        slow: list[np.ndarray],
        wob: list[np.ndarray],
        dwob: list[np.ndarray],
        drift: list[np.ndarray],
        ddrift: list[np.ndarray],
        noise: np.ndarray,
        accel: np.ndarray,
        gyro: np.ndarray,
    ) -> None:
        """Render samples of one event, all turning or all steady, into ``accel`` and ``gyro``.

        Terms that are exactly zero here (no swing, no turning, no vibration) are
        skipped; adding an exact zero would change no bit.
        """
        ev_t, p0t, dpt, q0t, vt, q1t = self._arrays()
        p0, dp = p0t[:, j], dpt[:, j]
        v = (vt[0, j], vt[1, j], vt[2, j])
        if turning:
            w, dw = _smootherstep((t - ev_t[j]) * (1.0 / self.transition_s))
            dw *= 1.0 / self.transition_s

            def par(c: int) -> np.ndarray | float:  # an array when turning, a scalar otherwise
                return p0[c] + w * dp[c]

            def rate_of(c: int) -> np.ndarray | float:
                return dw * dp[c]

            q0 = (q0t[0, j], q0t[1, j], q0t[2, j], q0t[3, j])
            q_base = rot.qmul(q0, rot.from_rotvec((w * v[0], w * v[1], w * v[2])))
        else:

            def par(c: int) -> np.ndarray | float:
                return p0[c] + dp[c]

            def rate_of(c: int) -> np.ndarray | float:
                return 0.0

            q_base = (q1t[0, j], q1t[1, j], q1t[2, j], q1t[3, j])

        # Gait phases, carried sample by sample (the only running sums besides heart rate).
        # They are carried unwrapped: wrapping at chunk ends would make the numbers depend on chunking.
        rate = (2.0 * np.pi) * par(_F) * (1.0 + par(_JIT) * slow[0])  # rad/s
        phase = np.cumsum(np.concatenate([[self._phase], rate * (1.0 / self.rate_hz)]))[1:]
        swing_rate = rate * par(_SR)
        sphase = np.cumsum(np.concatenate([[self._swing_phase], swing_rate * (1.0 / self.rate_hz)]))[1:]
        self._phase = float(phase[-1])
        self._swing_phase = float(sphase[-1])

        # Body acceleration in the walking frame (x forward, y left, z up); harmonics by recurrence.
        a_v, a_f, a_l = par(_AV), par(_AF), par(_AL)
        if _nonzero(a_v) or _nonzero(a_f) or _nonzero(a_l):
            stride, _ = self._stride(t)
            amp = 1.0 + 0.12 * slow[1] + _STEP_VARIABILITY * stride[0]
            c1, s1 = np.cos(phase), np.sin(phase)
            c2 = 2.0 * c1 * c1 - 1.0
            vert = par(_H1) * c1 + par(_H2) * c2
            h3, h4 = par(_H3), par(_H4)
            if _nonzero(h3):
                vert += h3 * (2.0 * c1 * c2 - c1)
            if _nonzero(h4):
                vert += h4 * (2.0 * c2 * c2 - 1.0)
            fwd = s1 * math.cos(0.6) + c1 * math.sin(0.6)
            body: rot.Vec3 = (a_f * amp * fwd, a_l * amp * np.sin(0.5 * phase), a_v * amp * vert + G)
        else:
            body = (0.0, 0.0, G)

        # Wrist wobble (fast, activity-scaled) and a slow drift of how the arm rests (none off
        # the wrist: a device on a table keeps its orientation).
        w_amp, dw_amp = par(_WOB), rate_of(_WOB)
        d_amp = 0.05 * par(_WORN)
        wvec = (
            w_amp * wob[0] + d_amp * drift[0],
            w_amp * wob[1] + d_amp * drift[1],
            w_amp * wob[2] + d_amp * drift[2],
        )
        dwvec = [w_amp * dwob[k] + d_amp * ddrift[k] for k in range(3)]
        if turning:
            dwvec = [dwvec[k] + dw_amp * wob[k] for k in range(3)]
            dd_amp = 0.05 * rate_of(_WORN)
            if _nonzero(dd_amp):
                dwvec = [dwvec[k] + dd_amp * drift[k] for k in range(3)]
        q_wob = rot.from_rotvec(wvec)

        # Arm swing about the shoulder: angle, rate and angular acceleration.
        s_amp, s_off = par(_SA), par(_SO)
        swinging = _nonzero(s_amp) or _nonzero(s_off)
        if swinging:
            sin_s, cos_s = np.sin(sphase), np.cos(sphase)
            theta = s_off + s_amp * sin_s
            dtheta = s_amp * cos_s * swing_rate
            if turning:
                dtheta = dtheta + (rate_of(_SO) + rate_of(_SA) * sin_s)
            ddtheta = -s_amp * sin_s * swing_rate * swing_rate
            ax = (par(_AX.start), par(_AX.start + 1), par(_AX.start + 2))
            inv = 1.0 / np.sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2])
            axis = (ax[0] * inv, ax[1] * inv, ax[2] * inv)
            arm = (par(_ARM.start), par(_ARM.start + 1), par(_ARM.start + 2))
            n_x_d = rot.cross(axis, arm)
            n_x_n_x_d = rot.cross(axis, n_x_d)
            d2 = dtheta * dtheta
            a_arm = (
                ddtheta * n_x_d[0] + d2 * n_x_n_x_d[0],
                ddtheta * n_x_d[1] + d2 * n_x_n_x_d[1],
                ddtheta * n_x_d[2] + d2 * n_x_n_x_d[2],
            )
            q_swing = rot.from_axis_angle(axis, theta)
            q_dev = rot.qmul(rot.qmul(q_base, q_swing), q_wob)
        else:
            q_dev = rot.qmul(q_base, q_wob)

        # Accelerometer: specific force in the device frame.
        acc = rot.rotate_inverse(q_dev, body)
        if swinging:
            arm_dev = rot.rotate_inverse(q_wob, a_arm)
            acc = (acc[0] + arm_dev[0], acc[1] + arm_dev[1], acc[2] + arm_dev[2])
        vib = par(_VIB) + _MOTION_NOISE * a_v
        if _nonzero(vib):
            shake = self._vibration(i0, i1)
            acc = (acc[0] + vib * shake[0], acc[1] + vib * shake[1], acc[2] + vib * shake[2])
        for k in range(3):
            accel[:, k] = acc[k] + self._accel_sd * noise[k] + self.accel_bias[k]

        # Gyroscope: body-frame angular velocity of q_dev, plus turning about the vertical.
        om: rot.Vec3 | None = None
        if turning:
            om = (dw * v[0], dw * v[1], dw * v[2])
            if swinging:
                om = rot.rotate_inverse(q_swing, om)
        if swinging:
            om = (
                (dtheta * axis[0], dtheta * axis[1], dtheta * axis[2])
                if om is None
                else (om[0] + dtheta * axis[0], om[1] + dtheta * axis[1], om[2] + dtheta * axis[2])
            )
        if om is not None:
            om = rot.rotate_inverse(q_wob, om)
            dwvec = [dwvec[k] + om[k] for k in range(3)]
        turn = par(_TURN)
        if _nonzero(turn):
            tw = rot.rotate_inverse(q_dev, (0.0, 0.0, turn * slow[2]))
            dwvec = [dwvec[k] + tw[k] for k in range(3)]
        for k in range(3):
            gyro[:, k] = dwvec[k] + self._gyro_sd * noise[3 + k] + self.gyro_bias[k]

    def _heart_rate(self, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Heart-rate samples on whole seconds k with k < t1, continuing the running state."""
        k1 = int(math.ceil(t1))
        if k1 <= self._hr_k:
            return np.zeros(0), np.zeros(0, np.float32)
        ks = np.arange(self._hr_k, k1)
        e = np.maximum(np.searchsorted(self._arrays()[0], ks.astype(float), side="right") - 1, 0)
        met = np.array([p[_MET] for p in self._ev_p1])
        target = np.asarray(self.participant.hr_target(met[e]))
        a_up = 1.0 - math.exp(-1.0 / self.sensor.hr_tau_up)
        a_down = 1.0 - math.exp(-1.0 / self.sensor.hr_tau_down)
        state = float(target[0]) if self._hr_state is None else self._hr_state
        out = np.empty(len(ks))
        for j, tgt in enumerate(target.tolist()):
            if j or self._hr_state is not None:
                state += (tgt - state) * (a_up if tgt > state else a_down)
            out[j] = state
        self._hr_state = state
        self._hr_k = k1
        hrv, _ = self._hrv(ks.astype(float))
        noise = self._hr_white(int(ks[0]), k1)[0]
        hr = out + self.sensor.hr_variability * hrv[0] + self.sensor.hr_noise * noise
        worn = np.array([p[_WORN] > 0.0 for p in self._ev_p1])[e]  # off the wrist: no reading
        return ks[worn].astype(np.float64), np.round(hr[worn], 1).astype(np.float32)
