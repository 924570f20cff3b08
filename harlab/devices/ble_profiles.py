"""Device sessions per BLE profile: what to subscribe, which commands, how to decode.

A profile turns raw notifications (bytes plus arrival time) into
:class:`~harlab.devices.source.SampleBatch` objects in harlab units on the host
clock. It keeps per-stream state (Polar frame timestamps, HIP sequence numbers,
WitMotion's partial frames) that :meth:`DeviceProfile.after_reconnect` resets
where the device resets it, so a reconnect shows as a gap, never as invented data.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harlab.devices.clock import ClockAligner
from harlab.devices.link import GattLink, LinkError
from harlab.devices.protocols import hip, hrs, microbit, polar_pmd, witmotion
from harlab.devices.source import SampleBatch, StreamSpec

ACC = StreamSpec("accel", ("x", "y", "z"), ("m/s^2",) * 3, None, "accelerometer")
GYRO = StreamSpec("gyro", ("x", "y", "z"), ("rad/s",) * 3, None, "gyroscope")
HR = StreamSpec("heart_rate", ("bpm",), ("bpm",), 1.0, "heart_rate")
RR = StreamSpec("rr", ("rr",), ("ms",), None, "rr_interval")

#: what a profile hands each notification to: (characteristic uuid, bytes, arrival ns)
RawCallback = Callable[[str, bytes, int], None]


def _with_rate(spec: StreamSpec, rate: float) -> StreamSpec:
    return StreamSpec(spec.name, spec.channels, spec.units, rate, spec.kind)


class DeviceProfile:
    key = ""
    service = ""
    description = ""

    def __init__(self, rate_hz: float | None = None) -> None:
        self.rate_hz = rate_hz
        self.streams: list[StreamSpec] = []
        self._gap = False
        self.decode_errors = 0

    async def start(self, link: GattLink, callback: RawCallback) -> None:
        raise NotImplementedError

    async def stop(self, link: GattLink) -> None:
        pass

    def decode(self, uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
        raise NotImplementedError

    def after_reconnect(self) -> None:
        self._gap = True

    def _take_gap(self) -> bool:
        gap, self._gap = self._gap, False
        return gap


class HeartRateProfile(DeviceProfile):
    key = "hrs"
    service = hrs.SERVICE_UUID
    description = "standard Heart Rate Service (heart rate and RR intervals)"

    def __init__(self, rate_hz: float | None = None) -> None:
        super().__init__(rate_hz)
        self.streams = [HR, RR]
        self._last_t: float | None = None

    async def start(self, link: GattLink, callback: RawCallback) -> None:
        await link.subscribe(hrs.MEASUREMENT_UUID, lambda d, t: callback(hrs.MEASUREMENT_UUID, d, t))

    def decode(self, uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
        if uuid != hrs.MEASUREMENT_UUID:
            return []
        m = hrs.decode(data)
        t = arrival_ns / 1e9
        # A stalled loop delivers several beats in one burst with one arrival time; space
        # them by their own RR intervals so no beat is lost to a repeated timestamp.
        if self._last_t is not None and t <= self._last_t:
            t = self._last_t + (sum(m.rr_ms) / 1000.0 if m.rr_ms else 0.001)
        self._last_t = t
        gap = self._take_gap()
        out = [
            SampleBatch(
                "heart_rate", np.array([t]), np.array([[m.heart_rate_bpm]], np.float32), gap_before=gap
            )
        ]
        if m.rr_ms:
            # The last interval ends at the beat that triggered the notification; earlier ones
            # end before it by the intervals that follow them.
            r = np.array(m.rr_ms) / 1000.0
            after = np.concatenate([np.cumsum(r[::-1])[::-1][1:], [0.0]])
            out.append(SampleBatch("rr", t - after, np.array(m.rr_ms, np.float32)[:, None], gap_before=gap))
        return out


class PolarH10Profile(DeviceProfile):
    """Polar H10: PMD accelerometer (subscribe CP and data first, then start) plus HRS."""

    key = "polar-h10"
    service = polar_pmd.SERVICE_UUID
    description = "Polar H10 accelerometer (PMD) and heart rate"
    rate_hz: float  # the default stands in for None, so the rate is always known

    def __init__(self, rate_hz: float | None = 200, range_g: int = 8) -> None:
        super().__init__(rate_hz or 200)
        self.range_g = range_g
        self.streams = [_with_rate(ACC, self.rate_hz), HR, RR]
        self.hr = HeartRateProfile()
        self.timestamps = polar_pmd.PmdTimestamps(self.rate_hz)
        self.aligner = ClockAligner()
        self.factor: float | None = None
        self.responses: list[polar_pmd.ControlPointResponse] = []

    async def start(self, link: GattLink, callback: RawCallback) -> None:
        if link.mtu < 232:
            raise LinkError(f"{link.name}: Polar PMD needs an ATT MTU of at least 232, link has {link.mtu}")
        cp, data = polar_pmd.CONTROL_POINT_UUID, polar_pmd.DATA_UUID
        await link.subscribe(cp, lambda d, t: callback(cp, d, t))
        await link.subscribe(data, lambda d, t: callback(data, d, t))
        if link.has_service(hrs.SERVICE_UUID):
            await self.hr.start(link, callback)
        self.timestamps.reset()
        await link.write(
            cp, polar_pmd.start_command(polar_pmd.ACC, {0: int(self.rate_hz), 1: 16, 2: self.range_g})
        )

    async def stop(self, link: GattLink) -> None:
        if link.is_connected:
            await link.write(polar_pmd.CONTROL_POINT_UUID, polar_pmd.stop_command(polar_pmd.ACC))

    def after_reconnect(self) -> None:
        super().after_reconnect()
        self.hr.after_reconnect()
        self.timestamps.reset()

    def decode(self, uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
        if uuid == polar_pmd.CONTROL_POINT_UUID:
            resp = polar_pmd.parse_control_point(data)
            self.responses.append(resp)
            if resp.opcode == polar_pmd.OP_START and resp.ok:
                self.factor = resp.factor()
            elif resp.opcode == polar_pmd.OP_START and resp.status_name == "ALREADY_IN_STATE":
                pass  # an H10 that kept streaming through a dropped link: the stream goes on
            elif not resp.ok:
                raise LinkError(f"Polar control point refused op {resp.opcode}: {resp.status_name}")
            return []
        if uuid == hrs.MEASUREMENT_UUID:
            return self.hr.decode(uuid, data, arrival_ns)
        if uuid != polar_pmd.DATA_UUID:
            return []
        frame = polar_pmd.decode_frame(data)
        if frame.measurement != polar_pmd.ACC:
            return []
        dev_ns = self.timestamps(frame.timestamp_ns, len(frame.samples))
        dev_s = dev_ns / 1e9
        self.aligner.update(float(dev_s[-1]), arrival_ns / 1e9)
        return [
            SampleBatch(
                "accel",
                self.aligner.to_host(dev_s),
                polar_pmd.to_units(frame, self.factor),
                device_time=dev_s,
                gap_before=self._take_gap(),
            )
        ]


class PolarVeritySenseProfile(DeviceProfile):
    """Polar Verity Sense: PMD accelerometer and gyroscope, delta-compressed frames scaled
    by the FACTOR each start reply carries. PMD takes one control command at a time, so
    each start waits for its reply before the next is sent."""

    key = "polar-verity"
    service = polar_pmd.SERVICE_UUID
    description = "Polar Verity Sense accelerometer and gyroscope (PMD, delta-compressed)"
    rate_hz: float  # the default stands in for None, so the rate is always known
    MEASUREMENTS = {polar_pmd.ACC: "accel", polar_pmd.GYRO: "gyro"}

    def __init__(self, rate_hz: float | None = 52, reply_timeout_s: float = 5.0) -> None:
        super().__init__(rate_hz or 52)
        self.streams = [_with_rate(ACC, self.rate_hz), _with_rate(GYRO, self.rate_hz)]
        self.timestamps = {m: polar_pmd.PmdTimestamps(self.rate_hz) for m in self.MEASUREMENTS}
        self.aligners = {m: ClockAligner() for m in self.MEASUREMENTS}
        self.factors: dict[int, float | None] = {}
        self.responses: list[polar_pmd.ControlPointResponse] = []
        self.reply_timeout_s = reply_timeout_s
        self._gaps: set[int] = set()

    async def _await_reply(self, opcode: int, measurement: int, since: int) -> polar_pmd.ControlPointResponse:
        """The control point's indication for (opcode, measurement); decoding runs on this loop."""
        import asyncio

        waited = 0.0
        while waited < self.reply_timeout_s:
            for r in self.responses[since:]:
                if r.opcode == opcode and r.measurement == measurement:
                    return r
            await asyncio.sleep(0.02)
            waited += 0.02
        raise LinkError(f"Polar control point did not answer op {opcode} for measurement {measurement}")

    async def start(self, link: GattLink, callback: RawCallback) -> None:
        if link.mtu < 232:
            raise LinkError(f"{link.name}: Polar PMD needs an ATT MTU of at least 232, link has {link.mtu}")
        cp, data = polar_pmd.CONTROL_POINT_UUID, polar_pmd.DATA_UUID
        await link.subscribe(cp, lambda d, t: callback(cp, d, t))
        await link.subscribe(data, lambda d, t: callback(data, d, t))
        for meas in self.MEASUREMENTS:
            self.timestamps[meas].reset()
            since = len(self.responses)
            await link.write(cp, polar_pmd.start_command(meas, {0: int(self.rate_hz), 1: 16}))
            reply = await self._await_reply(polar_pmd.OP_START, meas, since)
            if not reply.ok and reply.status_name != "ALREADY_IN_STATE":
                raise LinkError(
                    f"Polar control point refused to start measurement {meas}: {reply.status_name}"
                )

    async def stop(self, link: GattLink) -> None:
        for meas in self.MEASUREMENTS:
            if link.is_connected:
                await link.write(polar_pmd.CONTROL_POINT_UUID, polar_pmd.stop_command(meas))

    def after_reconnect(self) -> None:
        super().after_reconnect()
        self._gaps = set(self.MEASUREMENTS)

    def decode(self, uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
        if uuid == polar_pmd.CONTROL_POINT_UUID:
            resp = polar_pmd.parse_control_point(data)
            self.responses.append(resp)
            if resp.opcode == polar_pmd.OP_START and resp.ok:
                self.factors[resp.measurement] = resp.factor()
            return []
        if uuid != polar_pmd.DATA_UUID:
            return []
        frame = polar_pmd.decode_frame(data)
        name = self.MEASUREMENTS.get(frame.measurement)
        if name is None:
            return []
        if self.factors.get(frame.measurement) is None:
            raise ValueError("a compressed PMD frame arrived before its start reply gave the FACTOR")
        dev_s = self.timestamps[frame.measurement](frame.timestamp_ns, len(frame.samples)) / 1e9
        aligner = self.aligners[frame.measurement]
        aligner.update(float(dev_s[-1]), arrival_ns / 1e9)
        gap = frame.measurement in self._gaps
        self._gaps.discard(frame.measurement)
        return [
            SampleBatch(
                name,
                aligner.to_host(dev_s),
                polar_pmd.to_units(frame, self.factors[frame.measurement]),
                device_time=dev_s,
                gap_before=gap,
            )
        ]


class WitMotionProfile(DeviceProfile):
    """WitMotion WT901BLE: no timestamps, so sample times come from the nominal rate and arrivals."""

    key = "witmotion"
    service = witmotion.SERVICE_UUID
    description = "WitMotion WT901BLE accelerometer and gyroscope (55 61 frames)"
    rate_hz: float  # the default stands in for None, so the rate is always known

    def __init__(self, rate_hz: float | None = 10) -> None:
        super().__init__(rate_hz or 10)
        self.streams = [_with_rate(ACC, self.rate_hz), _with_rate(GYRO, self.rate_hz)]
        self.parser = witmotion.WitMotionParser()
        self.aligner = ClockAligner()
        self.index = 0

    async def start(self, link: GattLink, callback: RawCallback) -> None:
        # Set the rate first: frames carry no timestamps, so frames at the old rate would
        # be timed wrongly.
        await link.write(witmotion.WRITE_UUID, witmotion.UNLOCK)
        await link.write(witmotion.WRITE_UUID, witmotion.set_rate_command(int(self.rate_hz)))
        await link.subscribe(witmotion.NOTIFY_UUID, lambda d, t: callback(witmotion.NOTIFY_UUID, d, t))

    def after_reconnect(self) -> None:
        super().after_reconnect()
        self.parser = witmotion.WitMotionParser()

    def decode(self, uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
        frames = self.parser.feed(data)
        if not len(frames):
            return []
        arrival = arrival_ns / 1e9
        period = 1.0 / self.rate_hz
        gap = self._take_gap()
        if self.aligner.offset is not None:
            # Without sequence numbers a loss shows only as arrivals running late:
            # jump the sample index forward and flag the gap.
            expected_last = self.aligner.to_host(np.array([(self.index + len(frames) - 1) * period]))[0]
            late = arrival - expected_last
            if late > max(1.0, 10 * period):
                self.index += int(round(late / period))
                gap = True
        dev = (self.index + np.arange(len(frames))) * period
        self.index += len(frames)
        self.aligner.update(float(dev[-1]), arrival)
        acc, gyro, _ = witmotion.decode_frames(frames)
        t = self.aligner.to_host(dev)
        return [
            SampleBatch("accel", t, acc, device_time=dev, gap_before=gap),
            SampleBatch("gyro", t, gyro, device_time=dev, gap_before=gap),
        ]


class HipProfile(DeviceProfile):
    """harlab IMU profile for DIY boards: device µs timestamps and sequence numbers."""

    key = "hip"
    service = hip.SERVICE_UUID
    description = "harlab IMU profile (Arduino Nano 33 BLE, XIAO nRF52840 Sense, M5StickC)"
    rate_hz: float  # the default stands in for None, so the rate is always known

    def __init__(self, rate_hz: float | None = 100, acc_range_g: int = 8, gyro_range_dps: int = 2000) -> None:
        super().__init__(rate_hz or 100)
        self.acc_range_g = acc_range_g
        self.gyro_range_dps = gyro_range_dps
        self.streams = [_with_rate(ACC, self.rate_hz), _with_rate(GYRO, self.rate_hz)]
        self.aligner = ClockAligner()
        self.last_seq: int | None = None
        self.last_us: int | None = None
        self.lost_packets = 0

    async def start(self, link: GattLink, callback: RawCallback) -> None:
        await link.subscribe(hip.DATA_UUID, lambda d, t: callback(hip.DATA_UUID, d, t))
        await link.write(
            hip.CONTROL_UUID,
            hip.control_command(int(self.rate_hz), self.acc_range_g, self.gyro_range_dps, True),
        )

    async def stop(self, link: GattLink) -> None:
        if link.is_connected:
            await link.write(
                hip.CONTROL_UUID,
                hip.control_command(int(self.rate_hz), self.acc_range_g, self.gyro_range_dps, False),
            )

    def after_reconnect(self) -> None:
        super().after_reconnect()
        self.last_seq = None

    def decode(self, uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
        p = hip.decode(data)
        gap = self._take_gap()
        if self.last_seq is not None and p.seq != (self.last_seq + 1) & 0xFF:
            self.lost_packets += (p.seq - self.last_seq - 1) & 0xFF
            gap = True
        self.last_seq = p.seq
        us = hip.sample_times_us(p, self.last_us)
        self.last_us = int(us[-1])
        dev = us / 1e6
        self.aligner.update(float(dev[-1]), arrival_ns / 1e9)
        t = self.aligner.to_host(dev)
        return [
            SampleBatch("accel", t, p.acc, device_time=dev, gap_before=gap),
            SampleBatch("gyro", t, p.gyro, device_time=dev, gap_before=gap),
        ]


class MicrobitProfile(DeviceProfile):
    key = "microbit"
    service = microbit.SERVICE_UUID
    description = "BBC micro:bit accelerometer service"
    rate_hz: float  # the default stands in for None, so the rate is always known

    def __init__(self, rate_hz: float | None = 50) -> None:
        super().__init__(rate_hz or 50)
        self.streams = [_with_rate(ACC, self.rate_hz)]
        self.aligner = ClockAligner()
        self.index = 0

    async def start(self, link: GattLink, callback: RawCallback) -> None:
        await link.write(microbit.PERIOD_UUID, microbit.period_command(int(round(1000 / self.rate_hz))))
        await link.subscribe(microbit.DATA_UUID, lambda d, t: callback(microbit.DATA_UUID, d, t))

    def decode(self, uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
        v = microbit.decode(data)[None, :]
        dev = np.array([self.index / self.rate_hz])
        self.index += 1
        self.aligner.update(float(dev[0]), arrival_ns / 1e9)
        return [
            SampleBatch("accel", self.aligner.to_host(dev), v, device_time=dev, gap_before=self._take_gap())
        ]


PROFILES: dict[str, type[DeviceProfile]] = {
    p.key: p
    for p in (
        HeartRateProfile,
        PolarH10Profile,
        PolarVeritySenseProfile,
        WitMotionProfile,
        HipProfile,
        MicrobitProfile,
    )
}


def profile_for_services(services: list[str], name: str = "") -> type[DeviceProfile] | None:
    """Recognise a device's profile from its advertised services (and, for Polar, its name:
    the H10 and the Verity Sense share the PMD service but not their sensors)."""
    s = {u.lower() for u in services}
    if polar_pmd.SERVICE_UUID in s and name.startswith(("Polar Sense", "Polar OH1")):
        return PolarVeritySenseProfile
    for cls in (PolarH10Profile, HipProfile, WitMotionProfile, MicrobitProfile, HeartRateProfile):
        if cls.service in s:
            return cls
    return None
