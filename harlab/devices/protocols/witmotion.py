"""WitMotion WT901BLECL / WT9011DCL (BLE 5.0) ``55 61`` frames.

A 20-byte frame is ``55 61`` + 9 little-endian int16: ax ay az (raw/32768*16 g),
wx wy wz (raw/32768*2000 °/s), roll pitch yaw (raw/32768*180 °). Frames carry no
checksum and no timestamp, and a notification may hold several frames or part of
one, so :class:`WitMotionParser` buffers bytes and resynchronises on ``55 61``.
"""

from __future__ import annotations

import numpy as np

from harlab.devices.protocols.units import DEG_TO_RAD, G

SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

HEADER = b"\x55\x61"
FRAME_SIZE = 20
UNLOCK = bytes.fromhex("FFAA6988B5")
RATE_CODES = {10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0B}


def set_rate_command(rate_hz: int) -> bytes:
    if rate_hz not in RATE_CODES:
        raise ValueError(f"WitMotion rates are {sorted(RATE_CODES)} Hz, not {rate_hz}")
    return bytes([0xFF, 0xAA, 0x03, RATE_CODES[rate_hz], 0x00])


def decode_frames(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(acc m/s², gyro rad/s, angles °) for an (N, 20) uint8 array of whole frames."""
    raw = frames[:, 2:].copy().view("<i2").astype(np.float64)
    acc = raw[:, 0:3] / 32768.0 * 16.0 * G
    gyro = raw[:, 3:6] / 32768.0 * 2000.0 * DEG_TO_RAD
    angle = raw[:, 6:9] / 32768.0 * 180.0
    return acc.astype(np.float32), gyro.astype(np.float32), angle.astype(np.float32)


def encode_frame(acc_ms2: np.ndarray, gyro_rads: np.ndarray, angle_deg: np.ndarray) -> bytes:
    vals = np.concatenate(
        [
            np.asarray(acc_ms2) / G / 16.0 * 32768.0,
            np.asarray(gyro_rads) / DEG_TO_RAD / 2000.0 * 32768.0,
            np.asarray(angle_deg) / 180.0 * 32768.0,
        ]
    )
    return HEADER + np.clip(np.round(vals), -32768, 32767).astype("<i2").tobytes()


class WitMotionParser:
    """Reassembles frames across notifications; counts bytes skipped to resync."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> np.ndarray:
        """Append ``data``; return the complete frames now available as (N, 20) uint8."""
        self._buf += data
        frames: list[bytes] = []
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                keep = 1 if self._buf.endswith(HEADER[:1]) else 0
                self.skipped_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                break
            if start:
                self.skipped_bytes += start
                del self._buf[:start]
            if len(self._buf) < FRAME_SIZE:
                break
            frames.append(bytes(self._buf[:FRAME_SIZE]))
            del self._buf[:FRAME_SIZE]
        if not frames:
            return np.zeros((0, FRAME_SIZE), np.uint8)
        return np.frombuffer(b"".join(frames), np.uint8).reshape(-1, FRAME_SIZE)
