"""Polar Measurement Data (PMD): control point commands and data frames.

Covers what harlab records: accelerometer (H10 raw int16 frames; Verity Sense
delta-compressed frames) and gyroscope (Verity Sense, delta-compressed). The
layout follows Polar's ``online_measurement.pdf`` and the Android SDK parser; the
unit tests use Polar's own published vectors.

Data frame: ``type u8 | timestamp u64 (ns since 2000-01-01, device clock, time
of the LAST sample) | frame type u8 (bit 7 = delta compressed) | samples``.
Delta compression: one reference sample (16-bit values), then blocks of
``W u8 (bits per delta) | N u8 (samples) | ceil(W*N*channels/8) bytes`` read
LSB-first, sample-major, channel-minor, each field two's complement.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from harlab.devices.protocols.units import DEG_TO_RAD, MG, G

SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

POLAR_EPOCH_UNIX_NS = 946_684_800_000_000_000  #: 2000-01-01T00:00:00Z in Unix ns

ECG, PPG, ACC, PPI, GYRO, MAG = 0, 1, 2, 3, 5, 6
TYPE_NAMES = {ECG: "ecg", PPG: "ppg", ACC: "acc", PPI: "ppi", GYRO: "gyro", MAG: "mag"}

# Control point opcodes and settings types.
OP_GET_SETTINGS, OP_START, OP_STOP = 0x01, 0x02, 0x03
SET_SAMPLE_RATE, SET_RESOLUTION, SET_RANGE, SET_RANGE_MILLI, SET_CHANNELS, SET_FACTOR = 0, 1, 2, 3, 4, 5
_SETTING_SIZE = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}

STATUS = {
    0: "SUCCESS",
    1: "INVALID_OP_CODE",
    2: "INVALID_MEASUREMENT_TYPE",
    3: "NOT_SUPPORTED",
    4: "INVALID_LENGTH",
    5: "INVALID_PARAMETER",
    6: "ALREADY_IN_STATE",
    7: "INVALID_RESOLUTION",
    8: "INVALID_SAMPLE_RATE",
    9: "INVALID_RANGE",
    10: "INVALID_MTU",
    11: "INVALID_NUMBER_OF_CHANNELS",
    12: "INVALID_STATE",
    13: "DEVICE_IN_CHARGER",
    14: "DISK_FULL",
}


class PmdDecodeError(ValueError):
    pass


# -- control point -------------------------------------------------------------------


def start_command(measurement: int, settings: dict[int, int]) -> bytes:
    """``02 <type> <TLV...>``; one value per setting, FACTOR never sent."""
    out = bytearray([OP_START, measurement])
    for key, value in settings.items():
        size = _SETTING_SIZE[key]
        out += bytes([key, 1]) + int(value).to_bytes(size, "little")
    return bytes(out)


def stop_command(measurement: int) -> bytes:
    return bytes([OP_STOP, measurement])


def get_settings_command(measurement: int) -> bytes:
    return bytes([OP_GET_SETTINGS, measurement])


def parse_settings(data: bytes) -> dict[int, list[float]]:
    """Settings TLV (``type u8, count u8, count x value``) into {type: [values]}."""
    out: dict[int, list[float]] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise PmdDecodeError(f"settings TLV cut off at byte {pos}")
        key, count = data[pos], data[pos + 1]
        pos += 2
        size = _SETTING_SIZE.get(key)
        if size is None:
            raise PmdDecodeError(f"unknown setting type {key} at byte {pos - 2}")
        if pos + size * count > len(data):
            raise PmdDecodeError(f"setting {key} needs {size * count} bytes at byte {pos}")
        vals: list[float] = []
        for _ in range(count):
            raw = data[pos : pos + size]
            if key == SET_FACTOR:
                vals.append(struct.unpack("<f", raw)[0])
            else:
                vals.append(int.from_bytes(raw, "little"))
            pos += size
        out[key] = vals
    return out


def encode_settings(settings: dict[int, list[float]]) -> bytes:
    out = bytearray()
    for key, values in settings.items():
        out += bytes([key, len(values)])
        for v in values:
            if key == SET_FACTOR:
                out += struct.pack("<f", v)
            else:
                out += int(v).to_bytes(_SETTING_SIZE[key], "little")
    return bytes(out)


@dataclass(frozen=True)
class ControlPointResponse:
    opcode: int
    measurement: int
    status: int
    more: bool
    params: bytes

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def status_name(self) -> str:
        return STATUS.get(self.status, f"UNKNOWN_{self.status}")

    def factor(self) -> float | None:
        if not self.params:
            return None
        vals = parse_settings(self.params).get(SET_FACTOR)
        return vals[0] if vals else None


def parse_control_point(data: bytes) -> ControlPointResponse:
    if len(data) < 4 or data[0] != 0xF0:
        raise PmdDecodeError(f"control point response must start F0 op type status, got {data.hex(' ')}")
    more = bool(data[4]) if len(data) > 4 else False
    return ControlPointResponse(data[1], data[2], data[3], more, bytes(data[5:]))


def control_point_response(opcode: int, measurement: int, status: int = 0, params: bytes = b"") -> bytes:
    return bytes([0xF0, opcode, measurement, status, 0]) + params


# -- data frames ---------------------------------------------------------------------


@dataclass(frozen=True)
class PmdFrame:
    measurement: int
    timestamp_ns: int  #: device ns since 2000-01-01 of the last sample
    frame_type: int
    compressed: bool
    samples: np.ndarray  #: N x C raw integers (before factor/units)


def _sign_extend(values: np.ndarray, bits: int) -> np.ndarray:
    values = values.astype(np.int64)
    sign = 1 << (bits - 1)
    return (values ^ sign) - sign


def _unpack_bits(buf: bytes, width: int, count: int) -> np.ndarray:
    """``count`` two's-complement fields of ``width`` bits, LSB-first."""
    bits = np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")[: width * count]
    fields = bits.reshape(count, width).astype(np.int64)
    raw = (fields << np.arange(width, dtype=np.int64)).sum(axis=1)
    return _sign_extend(raw, width)


def decode_delta(body: bytes, channels: int, resolution: int) -> np.ndarray:
    """Delta-compressed samples into an N x channels int64 array."""
    ref_size = math.ceil(resolution / 8)
    if len(body) < ref_size * channels:
        raise PmdDecodeError(
            f"delta frame needs a {ref_size * channels}-byte reference sample, got {len(body)}"
        )
    ref = np.array(
        [
            int.from_bytes(body[i * ref_size : (i + 1) * ref_size], "little", signed=True)
            for i in range(channels)
        ],
        np.int64,
    )
    samples = [ref[None, :]]
    pos = ref_size * channels
    while pos < len(body):
        if pos + 2 > len(body):
            raise PmdDecodeError(f"delta block header cut off at byte {pos} of the samples")
        width, count = body[pos], body[pos + 1]
        pos += 2
        if width == 0 or width > 32:
            raise PmdDecodeError(f"delta width {width} bits at byte {pos - 2} of the samples")
        nbytes = math.ceil(width * count * channels / 8)
        if pos + nbytes > len(body):
            raise PmdDecodeError(f"delta block of {count} samples needs {nbytes} bytes at byte {pos}")
        deltas = _unpack_bits(body[pos : pos + nbytes], width, count * channels).reshape(count, channels)
        pos += nbytes
        samples.append(samples[-1][-1] + np.cumsum(deltas, axis=0))
    return np.concatenate(samples)


def encode_delta(samples: np.ndarray, resolution: int = 16, block: int = 8) -> bytes:
    """Inverse of :func:`decode_delta` with the minimal width per block (simulators)."""
    samples = np.asarray(samples, np.int64)
    ref_size = math.ceil(resolution / 8)
    out = bytearray()
    for v in samples[0]:
        out += int(v).to_bytes(ref_size, "little", signed=True)
    deltas = np.diff(samples, axis=0)
    for i in range(0, len(deltas), block):
        d = deltas[i : i + block]
        span = int(np.abs(d).max()) if d.size else 0
        width = max(2, span.bit_length() + 1)
        fields = (d.reshape(-1) & ((1 << width) - 1)).astype(np.uint64)
        bits = ((fields[:, None] >> np.arange(width, dtype=np.uint64)) & 1).astype(np.uint8).reshape(-1)
        out += bytes([width, len(d)]) + np.packbits(bits, bitorder="little").tobytes()
    return bytes(out)


def decode_frame(data: bytes, channels: int = 3) -> PmdFrame:
    """Split a data notification into its header and raw integer samples."""
    if len(data) < 10:
        raise PmdDecodeError(f"PMD frame needs a 10-byte header, got {len(data)} bytes")
    measurement = data[0] & 0x3F
    ts = struct.unpack_from("<Q", data, 1)[0]
    frame_type = data[9] & 0x7F
    compressed = bool(data[9] & 0x80)
    body = bytes(data[10:])
    if compressed:
        samples = decode_delta(body, channels, 16)
    else:
        size = {0: 1, 1: 2, 2: 3}.get(frame_type)
        if size is None or measurement not in (ACC, GYRO, MAG):
            raise PmdDecodeError(f"unsupported raw frame type {frame_type} for measurement {measurement}")
        step = size * channels
        if len(body) % step:
            raise PmdDecodeError(
                f"raw frame of {len(body)} bytes is not a whole number of {step}-byte samples"
            )
        raw = np.frombuffer(body, np.uint8).reshape(-1, channels, size).astype(np.int64)
        vals = (raw << (8 * np.arange(size, dtype=np.int64))).sum(axis=2)
        samples = _sign_extend(vals, 8 * size)
    return PmdFrame(measurement, ts, frame_type, compressed, samples)


def encode_frame(
    measurement: int, timestamp_ns: int, samples: np.ndarray, compressed: bool, frame_type: int = 1
) -> bytes:
    header = bytes([measurement]) + struct.pack("<Q", timestamp_ns)
    if compressed:
        return header + bytes([0x80 | (frame_type & 0x7F)]) + encode_delta(samples)
    samples = np.asarray(samples, np.int64)
    return header + bytes([frame_type]) + samples.astype("<i2").tobytes()


def to_units(frame: PmdFrame, factor: float | None) -> np.ndarray:
    """Raw samples in harlab units: ACC → m/s², GYRO → rad/s (float32)."""
    f = 1.0 if factor is None else factor
    raw = frame.samples.astype(np.float64)
    if frame.measurement == ACC:
        if frame.compressed and frame.frame_type == 0:
            mg = raw * f * 1000.0  # value × FACTOR = G
        else:
            mg = raw * (f if frame.compressed else 1.0)
        return (mg * MG).astype(np.float32)
    if frame.measurement == GYRO:
        return (raw * f * DEG_TO_RAD).astype(np.float32)
    return (raw * f).astype(np.float32)


class PmdTimestamps:
    """Per-sample device times from frame timestamps (Polar's PmdTimeStampUtils).

    With a previous frame: samples spread evenly between it and this frame's
    stamp. The first frame uses the nominal rate. The last sample always equals
    the frame's stamp. Call :meth:`reset` when the stream stops.
    """

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._prev: int | None = None

    def reset(self) -> None:
        self._prev = None

    def __call__(self, timestamp_ns: int, n: int) -> np.ndarray:
        i = np.arange(n, dtype=np.float64)
        if self._prev is None or timestamp_ns <= self._prev:
            step = 1e9 / self.rate_hz
            t = timestamp_ns - step * (n - 1 - i)
        else:
            step = (timestamp_ns - self._prev) / n
            t = self._prev + step * (i + 1)
        self._prev = timestamp_ns
        return t

    @staticmethod
    def to_unix_ns(device_ns: float) -> float:
        return device_ns + POLAR_EPOCH_UNIX_NS


__all__ = [
    "ACC",
    "GYRO",
    "G",
    "ControlPointResponse",
    "PmdDecodeError",
    "PmdFrame",
    "PmdTimestamps",
    "decode_delta",
    "decode_frame",
    "encode_delta",
    "encode_frame",
    "parse_control_point",
    "start_command",
    "stop_command",
    "to_units",
]
