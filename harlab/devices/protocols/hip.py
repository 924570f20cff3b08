"""The harlab IMU profile (HIP): one documented protocol for DIY boards.

Arduino Nano 33 BLE, Seeed XIAO nRF52840 Sense and M5StickC have no common BLE
protocol, so harlab defines one (docs/HIP.md). One decoder and one simulator then
serve every board. Notification payload, little-endian::

    ver u8 | seq u8 | t0_us u32 | period_us u16 | n u8 | acc_range_g u8 |
    gyro_range_dps u16 | n x (ax ay az gx gy gz int16)

Values are full-scale fractions: ``raw / 32768 * range``. ``t0_us`` is the
device's microsecond clock at the first sample and wraps at 2**32; ``seq``
increments per notification and wraps at 256, which is how drops are detected.
Control (write): ``rate_hz u16 | acc_range_g u8 | gyro_range_dps u16 | start u8``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from harlab.devices.protocols.units import DEG_TO_RAD, G

SERVICE_UUID = "6a1e0001-5c3b-4e0e-9c1f-4861726c6162"
DATA_UUID = "6a1e0002-5c3b-4e0e-9c1f-4861726c6162"
CONTROL_UUID = "6a1e0003-5c3b-4e0e-9c1f-4861726c6162"

VERSION = 1
HEADER = struct.Struct("<BBIHBBH")  # 12 bytes
MAX_SAMPLES_AT_MTU_247 = (247 - 3 - HEADER.size) // 12


class HipDecodeError(ValueError):
    pass


@dataclass(frozen=True)
class HipPacket:
    seq: int
    t0_us: int
    period_us: int
    acc: np.ndarray  #: n x 3 m/s²
    gyro: np.ndarray  #: n x 3 rad/s


def decode(data: bytes) -> HipPacket:
    if len(data) < HEADER.size:
        raise HipDecodeError(f"HIP packet needs a {HEADER.size}-byte header, got {len(data)} bytes")
    ver, seq, t0, period, n, acc_range, gyro_range = HEADER.unpack_from(data)
    if ver != VERSION:
        raise HipDecodeError(f"HIP version {ver} at byte 0 (expected {VERSION})")
    if len(data) != HEADER.size + 12 * n:
        raise HipDecodeError(
            f"HIP packet says {n} samples ({HEADER.size + 12 * n} bytes) but has {len(data)} bytes"
        )
    raw = (
        np.frombuffer(data, "<i2", count=6 * n, offset=HEADER.size).reshape(n, 6).astype(np.float64) / 32768.0
    )
    acc = raw[:, :3] * acc_range * G
    gyro = raw[:, 3:] * gyro_range * DEG_TO_RAD
    return HipPacket(seq, t0, period, acc.astype(np.float32), gyro.astype(np.float32))


def encode(
    seq: int,
    t0_us: int,
    period_us: int,
    acc: np.ndarray,
    gyro: np.ndarray,
    acc_range_g: int = 8,
    gyro_range_dps: int = 2000,
) -> bytes:
    n = len(acc)
    header = HEADER.pack(VERSION, seq & 0xFF, t0_us & 0xFFFFFFFF, period_us, n, acc_range_g, gyro_range_dps)
    a = np.asarray(acc) / G / acc_range_g
    g = np.asarray(gyro) / DEG_TO_RAD / gyro_range_dps
    raw = np.clip(np.round(np.hstack([a, g]) * 32768.0), -32768, 32767).astype("<i2")
    return header + raw.tobytes()


def control_command(rate_hz: int, acc_range_g: int, gyro_range_dps: int, start: bool) -> bytes:
    return struct.pack("<HBHB", rate_hz, acc_range_g, gyro_range_dps, int(start))


def sample_times_us(packet: HipPacket, unwrap_from: int | None = None) -> np.ndarray:
    """Device times of the packet's samples (µs), unwrapping the 32-bit clock after ``unwrap_from``."""
    t0 = packet.t0_us
    if unwrap_from is not None:
        base = unwrap_from - (unwrap_from & 0xFFFFFFFF)
        t0 = base + t0
        if t0 < unwrap_from - (1 << 31):
            t0 += 1 << 32
    return t0 + packet.period_us * np.arange(len(packet.acc), dtype=np.int64)
