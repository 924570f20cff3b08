"""BBC micro:bit accelerometer service: 3 x int16 milli-g per notification, no timestamp."""

from __future__ import annotations

import struct

import numpy as np

from harlab.devices.protocols.units import MG

SERVICE_UUID = "e95d0753-251d-470a-a062-fa1922dfa9a8"
DATA_UUID = "e95dca4b-251d-470a-a062-fa1922dfa9a8"
PERIOD_UUID = "e95dfb24-251d-470a-a062-fa1922dfa9a8"
VALID_PERIODS_MS = (1, 2, 5, 10, 20, 80, 160, 640)


def decode(data: bytes) -> np.ndarray:
    """One sample, m/s²."""
    if len(data) != 6:
        raise ValueError(f"micro:bit accelerometer data is 6 bytes, got {len(data)}")
    return (np.array(struct.unpack("<3h", data), np.float64) * MG).astype(np.float32)


def encode(acc_ms2: np.ndarray) -> bytes:
    mg = np.clip(np.round(np.asarray(acc_ms2) / MG), -32768, 32767).astype(int)
    return struct.pack("<3h", *mg)


def period_command(period_ms: int) -> bytes:
    if period_ms not in VALID_PERIODS_MS:
        raise ValueError(f"micro:bit accelerometer periods are {VALID_PERIODS_MS} ms, not {period_ms}")
    return struct.pack("<H", period_ms)
