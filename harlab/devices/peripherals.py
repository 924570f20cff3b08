"""Simulated BLE peripherals that emit byte-exact notifications of each protocol.

Each model is sans-IO: :meth:`SimPeripheral.on_write` answers control writes with
the device's real replies (indications, error codes), :meth:`SimPeripheral.tick`
returns the notifications due up to a simulated time. The bytes are built with
the protocol *encoders* that mirror harlab's decoders, and the decoders are pinned
to the vendors' published vectors, so demo mode and tests run the real decoding
path. Fidelity knobs: packet loss, device clock drift (ppm), MTU-sized frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harlab.devices.protocols import hip, hrs, microbit, polar_pmd, witmotion
from harlab.devices.protocols.units import DEG_TO_RAD, MG, G

# signal(t) -> (acc m/s² N×3, gyro rad/s N×3); heart_rate(t) -> bpm
ImuSignal = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
HeartSignal = Callable[[float], float]

Notification = tuple[str, bytes]

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


@dataclass
class Knobs:
    drop_rate: float = 0.0  #: probability that a notification is lost
    drift_ppm: float = 0.0  #: device clock runs fast (+) or slow (-)
    seed: int = 0


class SimPeripheral:
    name = "peripheral"
    model = ""
    services: tuple[str, ...] = ()

    def __init__(self, knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.rng = np.random.default_rng(self.knobs.seed)
        self.subscribed: set[str] = set()
        self.mtu = 247
        self.dropped = 0
        self.sent = 0
        self.boot: float | None = None  #: host time when the device clock read zero

    def read(self, uuid: str) -> bytes:
        raise KeyError(uuid)

    def on_write(self, uuid: str, data: bytes, now: float) -> list[Notification]:
        return []

    def on_subscribe(self, uuid: str) -> None:
        self.subscribed.add(uuid)

    def on_disconnect(self) -> None:
        """Real devices forget subscriptions and stop streams when the link drops."""
        self.subscribed.clear()

    def tick(self, now: float) -> list[Notification]:
        return []

    def _deliver(self, notes: list[Notification]) -> list[Notification]:
        out = []
        for uuid, data in notes:
            if uuid not in self.subscribed:
                continue
            self.sent += 1
            if self.knobs.drop_rate and self.rng.random() < self.knobs.drop_rate:
                self.dropped += 1
                continue
            out.append((uuid, data))
        return out

    def device_time(self, t: np.ndarray | float) -> np.ndarray | float:
        """The device's own clock (seconds since it booted, drifting) at host time ``t``."""
        if self.boot is None:
            self.boot = float(np.min(t))
        return (t - self.boot) * (1.0 + self.knobs.drift_ppm * 1e-6)


class _Sampler:
    """Hands out the sample times due since the last call at a fixed rate."""

    def __init__(self, rate_hz: float, t0: float) -> None:
        self.rate = rate_hz
        self.t0 = t0
        self.n = 0

    def due(self, now: float) -> np.ndarray:
        upto = int(np.floor((now - self.t0) * self.rate)) + 1
        idx = np.arange(self.n, max(self.n, upto))
        self.n = max(self.n, upto)
        return self.t0 + idx / self.rate


class HeartRatePeripheral(SimPeripheral):
    """A chest strap on the standard Heart Rate Service: one notification per beat-ish second."""

    name = "Sim HR strap"
    model = "Heart Rate Service"
    services = (hrs.SERVICE_UUID,)

    def __init__(self, heart: HeartSignal, knobs: Knobs | None = None) -> None:
        super().__init__(knobs)
        self.heart = heart
        self._next = None  # type: float | None

    def read(self, uuid: str) -> bytes:
        if uuid == hrs.BODY_SENSOR_LOCATION_UUID:
            return b"\x01"  # chest
        raise KeyError(uuid)

    def tick(self, now: float) -> list[Notification]:
        notes = []
        if self._next is None or now - self._next > 3.0:
            self._next = now
        while self._next <= now:
            bpm = max(30.0, float(self.heart(self._next)))
            rr = 60000.0 / bpm
            notes.append((hrs.MEASUREMENT_UUID, hrs.encode(round(bpm), [rr], contact=True)))
            self._next += rr / 1000.0
        return self._deliver(notes)


class PolarH10Peripheral(SimPeripheral):
    """Polar H10: PMD accelerometer (raw int16 mG frames) plus heart rate over HRS."""

    name = "Polar H10 SIM0001"
    model = "Polar H10"
    services = (polar_pmd.SERVICE_UUID, hrs.SERVICE_UUID, BATTERY_SERVICE_UUID)
    RATES = (25, 50, 100, 200)
    RANGES = (2, 4, 8)

    def __init__(
        self, imu: ImuSignal, heart: HeartSignal, knobs: Knobs | None = None, clock_epoch_s: float = 0.0
    ) -> None:
        super().__init__(knobs)
        self.imu = imu
        self.hr = HeartRatePeripheral(heart, knobs)
        self.clock_epoch_s = clock_epoch_s  #: device clock value (s since 2000) at host t=0
        self.sampler: _Sampler | None = None
        self.pending = np.zeros((0, 3), np.int64)
        self.pending_t = np.zeros(0)
        self.stops = 0

    def on_subscribe(self, uuid: str) -> None:
        super().on_subscribe(uuid)
        self.hr.on_subscribe(uuid)

    def on_disconnect(self) -> None:
        super().on_disconnect()
        self.hr.on_disconnect()
        # The H10 keeps sampling when the link drops without a stop command (polar-ble-sdk
        # KnownIssues, H10 #2); what it measures meanwhile is lost, never buffered.
        self._outage = True

    _outage = False

    def read(self, uuid: str) -> bytes:
        if uuid == polar_pmd.CONTROL_POINT_UUID:
            return bytes.fromhex("0f0500")
        if uuid == BATTERY_LEVEL_UUID:
            return bytes([self.battery_percent])
        return self.hr.read(uuid)

    battery_percent = 87

    def on_write(self, uuid: str, data: bytes, now: float) -> list[Notification]:
        if uuid != polar_pmd.CONTROL_POINT_UUID or not data:
            return []
        cp = polar_pmd.CONTROL_POINT_UUID
        if cp not in self.subscribed or polar_pmd.DATA_UUID not in self.subscribed:
            return []  # real devices never answer before both subscriptions (polar-ble-sdk#281)
        op = data[0]
        meas = data[1] if len(data) > 1 else 0xFF
        if meas != polar_pmd.ACC and op in (1, 2, 3):
            return [(cp, polar_pmd.control_point_response(op, meas, 2))]
        if op == polar_pmd.OP_GET_SETTINGS:
            params = polar_pmd.encode_settings({0: list(self.RATES), 1: [16], 2: list(self.RANGES)})
            return [(cp, polar_pmd.control_point_response(op, meas, 0, params))]
        if op == polar_pmd.OP_START:
            if self.mtu < 232:
                return [(cp, polar_pmd.control_point_response(op, meas, 10))]
            if self.sampler is not None:
                return [(cp, polar_pmd.control_point_response(op, meas, 6))]
            try:
                settings = {k: int(v[0]) for k, v in polar_pmd.parse_settings(data[2:]).items()}
            except polar_pmd.PmdDecodeError:
                return [(cp, polar_pmd.control_point_response(op, meas, 4))]
            rate = settings.get(0, 200)
            if rate not in self.RATES:
                return [(cp, polar_pmd.control_point_response(op, meas, 8))]
            if settings.get(2, 8) not in self.RANGES:
                return [(cp, polar_pmd.control_point_response(op, meas, 9))]
            self.range_g = settings.get(2, 8)
            self.sampler = _Sampler(rate, now)
            return [(cp, polar_pmd.control_point_response(op, meas, 0))]
        if op == polar_pmd.OP_STOP:
            if self.sampler is None:
                return [(cp, polar_pmd.control_point_response(op, meas, 6))]
            self.sampler = None
            self.stops += 1
            self.pending = self.pending[:0]
            self.pending_t = self.pending_t[:0]
            return [(cp, polar_pmd.control_point_response(op, meas, 0))]
        return [(cp, polar_pmd.control_point_response(op, meas, 1))]

    def tick(self, now: float) -> list[Notification]:
        notes = self.hr.tick(now)
        if self.sampler is None:
            return notes
        t = self.sampler.due(now)
        if self._outage:
            self._outage = False
            self.pending = self.pending[:0]
            self.pending_t = self.pending_t[:0]
            t = t[-1:] if len(t) else t
        if len(t):
            acc, _ = self.imu(t)
            lim = self.range_g * 1000
            mg = np.clip(np.round(np.asarray(acc) / MG), -lim, lim).astype(np.int64)
            self.pending = np.vstack([self.pending, mg])
            self.pending_t = np.concatenate([self.pending_t, t])
        per_frame = (self.mtu - 3 - 10) // 6
        frames = []
        while len(self.pending) >= per_frame:
            chunk, self.pending = self.pending[:per_frame], self.pending[per_frame:]
            tc, self.pending_t = self.pending_t[:per_frame], self.pending_t[per_frame:]
            ts_ns = int(round((self.clock_epoch_s + float(self.device_time(tc[-1]))) * 1e9))
            frames.append(
                (polar_pmd.DATA_UUID, polar_pmd.encode_frame(polar_pmd.ACC, ts_ns, chunk, compressed=False))
            )
        return notes + self._deliver(frames)


class WitMotionPeripheral(SimPeripheral):
    """WitMotion WT901BLECL: ``55 61`` frames at 10 Hz by default; frames may split across notifications."""

    name = "WT901BLE67"
    model = "WitMotion WT901BLE"
    services = (witmotion.SERVICE_UUID,)

    def __init__(self, imu: ImuSignal, knobs: Knobs | None = None, split: bool = True) -> None:
        super().__init__(knobs)
        self.imu = imu
        self.rate = 10
        self.split = split
        self.sampler: _Sampler | None = None
        self._unlocked = False

    def on_write(self, uuid: str, data: bytes, now: float) -> list[Notification]:
        if data == witmotion.UNLOCK:
            self._unlocked = True
        elif data[:3] == b"\xff\xaa\x03" and len(data) == 5:
            codes = {v: k for k, v in witmotion.RATE_CODES.items()}
            if data[3] in codes:
                self.rate = codes[data[3]]
                self.sampler = _Sampler(self.rate, now)
        return []

    def tick(self, now: float) -> list[Notification]:
        if self.sampler is None:
            if witmotion.NOTIFY_UUID not in self.subscribed:
                return []
            self.sampler = _Sampler(self.rate, now)  # it streams as soon as someone listens
        t = self.sampler.due(now)
        if not len(t):
            return []
        acc, gyro = self.imu(t)
        blob = b"".join(witmotion.encode_frame(a, g, np.zeros(3)) for a, g in zip(acc, gyro, strict=True))
        size = 27 if self.split else 20 * 10
        notes = [(witmotion.NOTIFY_UUID, blob[i : i + size]) for i in range(0, len(blob), size)]
        return self._deliver(notes)


class HipPeripheral(SimPeripheral):
    """A DIY board running harlab's IMU profile (see ``harlab.devices.protocols.hip``)."""

    name = "harlab-imu XIAO"
    model = "harlab IMU profile"
    services = (hip.SERVICE_UUID,)

    def __init__(self, imu: ImuSignal, knobs: Knobs | None = None) -> None:
        super().__init__(knobs)
        self.imu = imu
        self.sampler: _Sampler | None = None
        self.seq = 0
        self.pending_t = np.zeros(0)

    def on_write(self, uuid: str, data: bytes, now: float) -> list[Notification]:
        if uuid != hip.CONTROL_UUID or len(data) != 6:
            return []
        rate, self.acc_range, self.gyro_range, start = (
            int.from_bytes(data[0:2], "little"),
            data[2],
            int.from_bytes(data[3:5], "little"),
            data[5],
        )
        self.sampler = _Sampler(rate, now) if start else None
        self.pending_t = np.zeros(0)
        return []

    def tick(self, now: float) -> list[Notification]:
        if self.sampler is None:
            return []
        self.pending_t = np.concatenate([self.pending_t, self.sampler.due(now)])
        n = hip.MAX_SAMPLES_AT_MTU_247
        notes = []
        while len(self.pending_t) >= n:
            t, self.pending_t = self.pending_t[:n], self.pending_t[n:]
            acc, gyro = self.imu(t)
            t0_us = int(round(float(self.device_time(t[0])) * 1e6))
            period = int(round(1e6 / self.sampler.rate))
            notes.append(
                (
                    hip.DATA_UUID,
                    hip.encode(self.seq, t0_us, period, acc, gyro, self.acc_range, self.gyro_range),
                )
            )
            self.seq = (self.seq + 1) & 0xFF
        return self._deliver(notes)


class PolarVeritySensePeripheral(SimPeripheral):
    """Polar Verity Sense: PMD accelerometer and gyroscope at 52 Hz in delta-compressed frames.

    Frames carry raw integers; the start reply gives the FACTOR that scales them (G per
    count for ACC frame type 0, deg/s per count for GYRO), as the real device does.
    Unlike the H10 it stops its streams when the link drops.
    """

    name = "Polar Sense SIM0002"
    model = "Polar Verity Sense"
    services = (polar_pmd.SERVICE_UUID,)
    RATE = 52
    FACTORS = {polar_pmd.ACC: 8.0 / 32768.0, polar_pmd.GYRO: 2000.0 / 32768.0}  # ±8 G, ±2000 dps
    PER_FRAME = 12

    def __init__(self, imu: ImuSignal, knobs: Knobs | None = None, clock_epoch_s: float = 7e8) -> None:
        super().__init__(knobs)
        self.imu = imu
        self.clock_epoch_s = clock_epoch_s
        self.streaming: dict[int, _Sampler] = {}
        self.pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._sampler: _Sampler | None = None

    def read(self, uuid: str) -> bytes:
        if uuid == polar_pmd.CONTROL_POINT_UUID:
            return bytes.fromhex("0f6e00")  # PPG, ACC, PPI, GYRO, MAG
        raise KeyError(uuid)

    def on_disconnect(self) -> None:
        super().on_disconnect()
        self.streaming.clear()
        self.pending.clear()
        self._sampler = None

    def on_write(self, uuid: str, data: bytes, now: float) -> list[Notification]:
        cp = polar_pmd.CONTROL_POINT_UUID
        if uuid != cp or len(data) < 2:
            return []
        if cp not in self.subscribed or polar_pmd.DATA_UUID not in self.subscribed:
            return []
        op, meas = data[0], data[1]
        if meas not in self.FACTORS:
            return [(cp, polar_pmd.control_point_response(op, meas, 3))]
        if op == polar_pmd.OP_START:
            if self.mtu < 232:
                return [(cp, polar_pmd.control_point_response(op, meas, 10))]
            if meas in self.streaming:
                return [(cp, polar_pmd.control_point_response(op, meas, 6))]
            try:
                rate = int(polar_pmd.parse_settings(data[2:]).get(0, [self.RATE])[0])
            except polar_pmd.PmdDecodeError:
                return [(cp, polar_pmd.control_point_response(op, meas, 4))]
            if rate != self.RATE:
                return [(cp, polar_pmd.control_point_response(op, meas, 8))]
            self.streaming[meas] = _Sampler(rate, now)
            self.pending[meas] = (np.zeros((0, 3), np.int64), np.zeros(0))
            params = polar_pmd.encode_settings({polar_pmd.SET_FACTOR: [self.FACTORS[meas]]})
            return [(cp, polar_pmd.control_point_response(op, meas, 0, params))]
        if op == polar_pmd.OP_STOP:
            if self.streaming.pop(meas, None) is None:
                return [(cp, polar_pmd.control_point_response(op, meas, 6))]
            return [(cp, polar_pmd.control_point_response(op, meas, 0))]
        return [(cp, polar_pmd.control_point_response(op, meas, 1))]

    def tick(self, now: float) -> list[Notification]:
        if not self.streaming:
            return []
        if self._sampler is None:
            self._sampler = _Sampler(self.RATE, min(s.t0 for s in self.streaming.values()))
        t = self._sampler.due(now)
        notes = []
        if len(t):
            acc, gyro = self.imu(t)  # one IMU reading per instant, shared by both streams
            for meas, sampler in self.streaming.items():
                keep = t >= sampler.t0
                value = (acc / G if meas == polar_pmd.ACC else gyro / DEG_TO_RAD)[keep]  # G, deg/s
                counts = np.clip(np.round(value / self.FACTORS[meas]), -32768, 32767).astype(np.int64)
                raw, tt = self.pending[meas]
                self.pending[meas] = (np.vstack([raw, counts]), np.concatenate([tt, t[keep]]))
        for meas in list(self.streaming):
            raw, tt = self.pending[meas]
            while len(raw) >= self.PER_FRAME:
                chunk, raw = raw[: self.PER_FRAME], raw[self.PER_FRAME :]
                tc, tt = tt[: self.PER_FRAME], tt[self.PER_FRAME :]
                ts = int(round((self.clock_epoch_s + float(self.device_time(tc[-1]))) * 1e9))
                notes.append(
                    (
                        polar_pmd.DATA_UUID,
                        polar_pmd.encode_frame(meas, ts, chunk, compressed=True, frame_type=0),
                    )
                )
            self.pending[meas] = (raw, tt)
        return self._deliver(notes)


class MicrobitPeripheral(SimPeripheral):
    """A BBC micro:bit running the accelerometer service: one 3 × int16 milli-g sample per
    notification, at the period last written to the Period characteristic (default 20 ms)."""

    name = "BBC micro:bit [zotiv]"
    model = "BBC micro:bit accelerometer service"
    services = (microbit.SERVICE_UUID,)

    def __init__(self, imu: ImuSignal, knobs: Knobs | None = None) -> None:
        super().__init__(knobs)
        self.imu = imu
        self.period_ms = 20
        self.sampler: _Sampler | None = None

    def read(self, uuid: str) -> bytes:
        if uuid == microbit.PERIOD_UUID:
            return microbit.period_command(self.period_ms)
        raise KeyError(uuid)

    def on_write(self, uuid: str, data: bytes, now: float) -> list[Notification]:
        if uuid == microbit.PERIOD_UUID and len(data) == 2:
            period = int.from_bytes(data, "little")
            if period in microbit.VALID_PERIODS_MS:
                self.period_ms = period
                self.sampler = None
        return []

    def tick(self, now: float) -> list[Notification]:
        if microbit.DATA_UUID not in self.subscribed:
            return []
        if self.sampler is None:
            self.sampler = _Sampler(1000.0 / self.period_ms, now)
        t = self.sampler.due(now)
        if not len(t):
            return []
        acc, _ = self.imu(t)
        return self._deliver([(microbit.DATA_UUID, microbit.encode(a)) for a in acc])
