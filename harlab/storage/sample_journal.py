"""The recording journal: an append-only binary log that survives SIGKILL.

HDF5 is not crash-safe: a process killed while the library has dirty metadata in
memory can leave a file that no longer opens, losing everything, not just the last
second (SWMR avoids that but needs the writer to create every dataset up front and
pins the file to the HDF5 1.10+ format with single-writer semantics). So the recorder
writes every append first to ``<file>.journal``, a plain sequence of records, with an
``os.write`` per append (the data is in the kernel's page cache at once, where a
killed process cannot lose it) and an ``fsync`` at least every half second.

Each record is a 19-byte header followed by a payload::

    marker  u32  0x4A524C48 ("HLRJ" little-endian)
    kind    u8   1 header, 2 stream, 3 data, 4 segment, 5 end
    stream  u16  stream id (data records), else 0
    count   u32  number of samples (data records), else 0
    length  u32  payload bytes
    crc32   u32  zlib.crc32 of kind..length (11 bytes) + payload

A record torn by the kill (short, or with a wrong CRC) ends the readable journal: it
and anything after it are dropped. Header, stream and segment payloads are UTF-8
JSON; a data payload is ``time`` float64[count], ``values`` float32[count x C]
(row-major) and ``flags`` uint8[count], all little-endian.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

MARKER = 0x4A524C48
HEADER = struct.Struct("<IBHIII")
KIND_HEADER, KIND_STREAM, KIND_DATA, KIND_SEGMENT, KIND_END = 1, 2, 3, 4, 5
MAX_PAYLOAD = 1 << 30


def recording_journal_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".journal")


def encode(kind: int, payload: bytes, stream: int = 0, count: int = 0) -> bytes:
    body = struct.pack("<BHII", kind, stream, count, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(body))
    return HEADER.pack(MARKER, kind, stream, count, len(payload), crc) + payload


def encode_json(kind: int, obj: Any) -> bytes:
    return encode(kind, json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def encode_data(stream: int, time: np.ndarray, values: np.ndarray, flags: np.ndarray) -> bytes:
    payload = b"".join(
        (
            time.astype("<f8", copy=False).tobytes(),
            values.astype("<f4", copy=False).tobytes(),
            flags.astype("u1", copy=False).tobytes(),
        )
    )
    return encode(KIND_DATA, payload, stream, len(time))


@dataclass
class Record:
    kind: int
    stream: int
    count: int
    payload: bytes
    offset: int

    def json(self) -> Any:
        return json.loads(self.payload.decode("utf-8"))

    def data(self, n_channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.count
        expect = n * (8 + 4 * n_channels + 1)
        if len(self.payload) != expect:
            raise ValueError(
                f"data record at byte {self.offset}: {len(self.payload)} bytes, expected {expect}"
            )
        b = self.payload
        t = np.frombuffer(b, "<f8", n, 0)
        v = np.frombuffer(b, "<f4", n * n_channels, 8 * n).reshape(n, n_channels)
        f = np.frombuffer(b, "u1", n, 8 * n + 4 * n * n_channels)
        return t.astype(np.float64), v.astype(np.float32), f.copy()


@dataclass
class ReadResult:
    """Where reading stopped: ``end`` is the offset after the last good record,
    ``size`` the file size, ``problem`` why the rest was dropped (None when clean)."""

    end: int = 0
    size: int = 0
    problem: str | None = None


def read_records(fh: BinaryIO, result: ReadResult) -> Iterator[Record]:
    """Yield good records in order; stop at the first torn or corrupt one."""
    offset = 0
    while True:
        head = fh.read(HEADER.size)
        if not head:
            return
        if len(head) < HEADER.size:
            result.problem = f"torn record header at byte {offset} ({len(head)} of {HEADER.size} bytes)"
            return
        marker, kind, stream, count, length, crc = HEADER.unpack(head)
        if marker != MARKER or length > MAX_PAYLOAD:
            result.problem = f"no record marker at byte {offset}"
            return
        payload = fh.read(length)
        if len(payload) < length:
            result.problem = f"torn record at byte {offset} ({len(payload)} of {length} payload bytes)"
            return
        body = struct.pack("<BHII", kind, stream, count, length)
        if zlib.crc32(payload, zlib.crc32(body)) != crc:
            result.problem = f"CRC mismatch in the record at byte {offset}"
            return
        yield Record(kind, stream, count, payload, offset)
        offset += HEADER.size + length
        result.end = offset
