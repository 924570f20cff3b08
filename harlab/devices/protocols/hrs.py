"""Bluetooth SIG Heart Rate Service, Heart Rate Measurement (0x2A37).

Layout: ``flags | HR (u8 or u16) | [energy expended u16, kJ] | [RR u16 in 1/1024 s]*``.
Several RR intervals may arrive in one notification and all of them matter for
HRV, so none is dropped. Contact bits mean something only when bit 2 (contact
feature supported) is set.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID = "00002a38-0000-1000-8000-00805f9b34fb"


class HrsDecodeError(ValueError):
    pass


@dataclass(frozen=True)
class HeartRateMeasurement:
    heart_rate_bpm: int
    contact: bool | None  #: None when the sensor does not report contact
    energy_expended_kj: int | None
    rr_ms: list[float] = field(default_factory=list)


def decode(data: bytes) -> HeartRateMeasurement:
    if len(data) < 2:
        raise HrsDecodeError(f"heart rate measurement needs at least 2 bytes, got {len(data)}")
    flags = data[0]
    pos = 1
    if flags & 0x01:
        if len(data) < 3:
            raise HrsDecodeError("flags say 16-bit heart rate but the value is cut off at byte 1")
        hr = struct.unpack_from("<H", data, pos)[0]
        pos += 2
    else:
        hr = data[pos]
        pos += 1
    contact = bool(flags & 0x02) if flags & 0x04 else None
    ee = None
    if flags & 0x08:
        if len(data) < pos + 2:
            raise HrsDecodeError(
                f"flags say energy expended is present but the value is cut off at byte {pos}"
            )
        ee = struct.unpack_from("<H", data, pos)[0]
        pos += 2
    rr: list[float] = []
    if flags & 0x10:
        rest = data[pos:]
        if len(rest) % 2:
            raise HrsDecodeError(f"RR intervals end in half a value at byte {len(data) - 1}")
        rr = [v * 1000.0 / 1024.0 for v in struct.unpack(f"<{len(rest) // 2}H", rest)]
    return HeartRateMeasurement(hr, contact, ee, rr)


def encode(
    heart_rate_bpm: int,
    rr_ms: list[float] | None = None,
    contact: bool | None = True,
    energy_expended_kj: int | None = None,
) -> bytes:
    """The notification a strap sends; used by the simulated peripherals."""
    flags = 0
    body = b""
    if heart_rate_bpm > 255:
        flags |= 0x01
        body += struct.pack("<H", heart_rate_bpm)
    else:
        body += bytes([heart_rate_bpm])
    if contact is not None:
        flags |= 0x04 | (0x02 if contact else 0)
    if energy_expended_kj is not None:
        flags |= 0x08
        body += struct.pack("<H", energy_expended_kj)
    if rr_ms:
        flags |= 0x10
        body += struct.pack(f"<{len(rr_ms)}H", *(round(r * 1024.0 / 1000.0) for r in rr_ms))
    return bytes([flags]) + body
