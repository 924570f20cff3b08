"""ActiGraph ``.gt3x`` files: the raw recordings of the most used research accelerometer.

Written from ActiGraph's published format description (github.com/actigraph/GT3X-File-Format),
not from any reader's code. A ``.gt3x`` is a zip holding ``info.txt`` (``Key: value``
lines: serial number, device type, firmware, sample rate, start date as .NET ticks of
the device's local clock, time zone offset, acceleration scale and range) and either

* ``log.bin`` (current devices: GT3X+ from firmware 2.5, wGT3X-BT, GT9X Link, CentrePoint):
  a sequence of records ``0x1E, type (u8), timestamp (u32 LE, seconds of the local clock
  as a Unix time), payload size (u16 LE), payload, checksum`` where the checksum is the
  one's complement of the XOR of every byte before it. ``ACTIVITY2`` (0x1A) records hold
  one second of int16 LE x, y, z samples; ``ACTIVITY`` (0x00) records the same as packed
  12-bit values in y, x, z order. ``EVENT`` (0x03) records with payload 0x08 / 0x09 mark
  entering and leaving idle sleep mode (ISM), during which the device stores no samples.
  Other record types (battery, capsense, metadata, parameters, lux, ...) are skipped.
* ``activity.bin`` (older files, the "NHANES" layout): packed 12-bit y, x, z samples,
  continuous from the start date.

A count divided by the acceleration scale (``info.txt``; 341 counts/g when absent, the
value of the 12-bit devices) is g. Sample ``i`` of a record stamped ``T`` is at
``T + i / rate``. Seconds without an activity record are gaps: ActiLife fills idle sleep
mode with the last sample, harlab keeps them empty, flags the sample after each gap
(``FLAG_GAP_BEFORE``) and lists the stretches, with their reason, in ``extra["gaps"]``.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.importers.import_support import ReadBudget, open_zip, provenance, read_member
from harlab.importers.importer import (
    ImportOptions,
    ProgressCallback,
    head_bytes,
    register,
    warn_metadata,
)
from harlab.importers.sample_chunks import (
    AccelerometerAssembler,
    DeviceImporter,
    GapNote,
    PlacedStart,
    RowPlace,
    SampleChunk,
    StartSession,
    chunk_bytes,
    device_limit,
    iter_member,
    place_start,
)

SEPARATOR = 0x1E
ACTIVITY = 0x00
EVENT = 0x03
ACTIVITY2 = 0x1A
ISM_ENTER = 0x08
ISM_EXIT = 0x09
#: .NET ticks (100 ns since 0001-01-01) of the Unix epoch.
TICKS_AT_EPOCH = 621_355_968_000_000_000
#: Counts per g of the 12-bit devices (GT3X+, NEO, CLE), when ``info.txt`` names none.
DEFAULT_SCALE = 341.0
MAX_INFO_BYTES = 64 * 1024
#: Highest sample rate an ActiGraph offers (30-100 Hz); a larger one is a corrupt info.txt.
MAX_RATE_HZ = 256
_HEADER = struct.Struct("<BIH")
_EXPECT_RECORD = "a log record (0x1E, type, u32 timestamp, u16 size, payload, checksum)"


@dataclass
class Gt3xInfo:
    """What ``info.txt`` says about a recording."""

    fields: dict[str, str]
    rate_hz: int
    start_local: float  #: Unix seconds of the device's local clock at the start date
    tz_offset_s: float | None  #: local minus UTC, when the file records it
    scale: float  #: counts per g
    range_g: tuple[float, float]

    @property
    def serial(self) -> str:
        return self.fields.get("Serial Number", "")


def _ticks_to_unix(path: Path, key: str, text: str) -> float:
    try:
        ticks = int(text)
    except ValueError:
        raise ImportFormatError(
            path, f"info.txt: {key} {text!r} is not a number", expected=".NET ticks (an integer)"
        ) from None
    if not TICKS_AT_EPOCH <= ticks < TICKS_AT_EPOCH + 200 * 365 * 86400 * 10**7:
        raise ImportFormatError(
            path, f"info.txt: {key} {text!r} is not a date after 1970", expected=".NET ticks after 1970"
        )
    return (ticks - TICKS_AT_EPOCH) / 1e7


def _offset_seconds(path: Path, text: str) -> float:
    sign = -1.0 if text.strip().startswith("-") else 1.0
    parts = text.strip().lstrip("+-").split(":")
    try:
        h, m, s = (int(p) for p in (parts + ["0", "0"])[:3])
    except ValueError:
        raise ImportFormatError(
            path, f"info.txt: TimeZone {text!r} is not an offset", expected="[-]hh:mm:ss"
        ) from None
    if h > 14 or m > 59 or s > 59:
        raise ImportFormatError(path, f"info.txt: TimeZone {text!r} is out of range", expected="[-]hh:mm:ss")
    return sign * (h * 3600 + m * 60 + s)


def _number(path: Path, key: str, text: str, low: float, high: float) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not low <= v <= high:
        raise ImportFormatError(path, f"info.txt: {key} {text!r}", expected=f"a number in {low:g}..{high:g}")
    return v


def parse_info(path: Path, text: str) -> Gt3xInfo:
    """``info.txt``'s fields, checked: a rate, a start date and a scale harlab can use."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    for key in ("Sample Rate", "Start Date"):
        if key not in fields:
            raise ImportFormatError(path, f"info.txt has no {key!r}", expected="the info.txt of a .gt3x")
    rate = _number(path, "Sample Rate", fields["Sample Rate"], 1, MAX_RATE_HZ)
    if rate != int(rate):
        raise ImportFormatError(path, f"info.txt: Sample Rate {rate:g}", expected="a whole number of Hz")
    scale = _number(path, "Acceleration Scale", fields.get("Acceleration Scale", str(DEFAULT_SCALE)), 1, 1e5)
    lo = fields.get("Acceleration Min")
    hi = fields.get("Acceleration Max")
    # without a stated range: the 12-bit devices' full scale, or what int16 counts reach, at most the
    # ±50 g of the plausibility table
    full = min(2048 / scale if "Acceleration Scale" not in fields else 32768 / scale, 50.0)
    range_g = (
        _number(path, "Acceleration Min", lo, -64, 0) if lo else -full,
        _number(path, "Acceleration Max", hi, 0, 64) if hi else full,
    )
    tz = fields.get("TimeZone")
    return Gt3xInfo(
        fields=fields,
        rate_hz=int(rate),
        start_local=_ticks_to_unix(path, "Start Date", fields["Start Date"]),
        tz_offset_s=_offset_seconds(path, tz) if tz else None,
        scale=scale,
        range_g=range_g,
    )


def unpack12(data: np.ndarray) -> np.ndarray:
    """Big-endian packed 12-bit two's-complement values (3 bytes -> 2 values) as int16."""
    n = len(data) // 3 * 3
    t = data[:n].reshape(-1, 3).astype(np.int16)
    out = np.empty((len(t), 2), np.int16)
    out[:, 0] = (t[:, 0] << 4) | (t[:, 1] >> 4)
    out[:, 1] = ((t[:, 1] & 0x0F) << 8) | t[:, 2]
    flat = out.reshape(-1)
    if len(data) - n >= 2:  # a last value in the next 1.5 bytes
        flat = np.append(flat, np.int16((int(data[n]) << 4) | (int(data[n + 1]) >> 4)))
    flat[flat > 2047] -= 4096
    return flat


def _yxz12(data: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples of packed 12-bit y, x, z as (n, 3) x, y, z counts."""
    v = unpack12(data)[: 3 * n].reshape(n, 3)
    return v[:, [1, 0, 2]]


@dataclass
class LogState:
    """What walking ``log.bin`` carries from one piece to the next."""

    prev_ts: int | None = None  #: timestamp of the last activity record
    prev_end: float = 0.0  #: session time just after its last sample
    ism: bool = False  #: inside idle sleep mode (an enter event without its exit yet)
    ism_since: bool = False  #: idle sleep mode was entered since the last activity record
    last_ts: int | None = None  #: timestamp of the last record of any type
    gaps: list[GapNote] = field(default_factory=list)
    empty_records: int = 0


@dataclass
class _Records:
    """The whole records of one piece of ``log.bin``: columns of their headers."""

    arr: np.ndarray  #: the bytes they sit in
    base: int  #: byte offset of ``arr[0]`` in log.bin
    start: np.ndarray  #: int64 offset of each record's separator in ``arr``
    type: np.ndarray
    ts: np.ndarray  #: int64 timestamps
    size: np.ndarray  #: int64 payload sizes


def _scan(path: Path, pieces: Iterator[bytes]) -> Iterator[_Records]:
    """The records of ``log.bin``, one :class:`_Records` per piece read.

    Every record is whole and its checksum right, or an :class:`ImportFormatError` names its
    byte. Zero bytes after the last record (flash padding) end the log.
    """
    buf = b""
    base = 0
    padding_at: int | None = None
    unpack = _HEADER.unpack_from
    for more in _with_end(pieces):
        eof = more is None
        if padding_at is not None:
            if more and any(more):
                off = padding_at + next(i for i, b in enumerate(more) if b)
                raise ImportFormatError(
                    path,
                    "data after the zero padding that ends the log",
                    offset=off,
                    expected="zeros to the end",
                )
            padding_at += len(more or b"")
            continue
        buf = buf + (more or b"")
        recs: list[tuple[int, int, int, int]] = []
        pos = 0
        n = len(buf)
        while pos < n:
            if buf[pos] != SEPARATOR:
                if buf[pos] == 0 and not any(buf[pos:]):
                    padding_at = base + n
                    pos = n
                    break
                raise ImportFormatError(
                    path,
                    f"byte 0x{buf[pos]:02x} where a record starts",
                    offset=base + pos,
                    expected=_EXPECT_RECORD,
                )
            if pos + 8 > n:
                break
            typ, ts, size = unpack(buf, pos + 1)
            end = pos + 9 + size
            if end > n:
                break
            recs.append((pos, typ, ts, size))
            pos = end
        if eof and pos < n:
            raise ImportFormatError(
                path,
                f"the log ends inside a record ({n - pos} bytes of it)",
                offset=base + pos,
                expected=_EXPECT_RECORD,
            )
        if recs:
            arr = np.frombuffer(buf, np.uint8)
            cols = np.array(recs, dtype=np.int64)
            start, size = cols[:, 0], cols[:, 3]
            ends = start + 8 + size
            xor = np.bitwise_xor.reduceat(arr, np.ravel(np.column_stack([start, ends])))[::2]
            bad = np.flatnonzero((~xor & 0xFF) != arr[ends])
            if len(bad):
                k = int(bad[0])
                raise ImportFormatError(
                    path,
                    f"record of type 0x{int(cols[k, 1]):02x} has a wrong checksum",
                    offset=base + int(ends[k]),
                    expected="the one's complement of the XOR of the record's bytes",
                )
            yield _Records(arr, base, start, cols[:, 1], cols[:, 2], size)
        buf = buf[pos:]
        base += pos


def _with_end(pieces: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from pieces
    yield None


def _gather(arr: np.ndarray, start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The bytes ``arr[start[k] : start[k] + size[k]]`` of every k, concatenated (views joined once:
    no per-byte index arrays, so a piece's temporaries stay the size of its payload)."""
    return np.concatenate([arr[s : s + n] for s, n in zip(start.tolist(), size.tolist(), strict=True)])


def _record_place(first_row: np.ndarray, offs: np.ndarray, widths: np.ndarray) -> RowPlace:
    def place(row: int) -> dict[str, int]:
        k = int(np.searchsorted(first_row, row, side="right")) - 1
        return {"offset": int(offs[k]) + int((row - int(first_row[k])) * float(widths[k]))}

    return place


def _check_activity(
    path: Path, rec: _Records, act: np.ndarray, n: np.ndarray, packed: np.ndarray, rate: int
) -> None:
    """Refuse an ACTIVITY2 payload that is no whole number of samples, or a record of more than one second."""
    size = rec.size[act]
    odd = np.flatnonzero(~packed & (size % 6 != 0) & (size > 1))
    if len(odd):
        k = int(act[odd[0]])
        raise ImportFormatError(
            path,
            f"ACTIVITY2 record of {int(rec.size[k])} bytes",
            offset=rec.base + int(rec.start[k]) + 6,
            expected="a multiple of 6 bytes (int16 x, y, z per sample)",
        )
    over = np.flatnonzero(n > rate)
    if len(over):
        k = int(act[over[0]])
        raise ImportFormatError(
            path,
            f"activity record holds {int(n[over[0]])} samples",
            offset=rec.base + int(rec.start[k]) + 6,
            expected=f"at most one second of samples ({rate} at {rate} Hz)",
        )


def _ism_before(rec: _Records, act: np.ndarray, state: LogState) -> np.ndarray:
    """[k]: idle sleep mode was entered after activity record k-1 and before k (k = len(act): after
    the last); updates ``state.ism`` (in idle sleep mode at the end of the piece)."""
    ev = np.flatnonzero((rec.type == EVENT) & (rec.size >= 1))
    out = np.zeros(len(act) + 1, bool)
    for j, code in zip(np.searchsorted(act, ev), rec.arr[rec.start[ev] + 8], strict=True):
        if code == ISM_ENTER:
            state.ism = True
            out[j] = True
        elif code == ISM_EXIT:
            state.ism = False
    return out


def iter_log(path: Path, pieces: Iterator[bytes], info: Gt3xInfo, state: LogState) -> Iterator[SampleChunk]:
    """The samples of ``log.bin`` (given as byte pieces), one chunk per piece; gaps go to ``state``.

    Records are decoded column-wise (a week at 100 Hz is 600,000 activity records): only
    events and the rare packed 12-bit records are looked at one by one.
    """
    rate = info.rate_hz
    for rec in _scan(path, pieces):
        state.last_ts = int(rec.ts[-1])
        act = np.flatnonzero((rec.type == ACTIVITY2) | (rec.type == ACTIVITY))
        packed = rec.type[act] == ACTIVITY
        n = np.where(packed, rec.size[act] * 2 // 9, rec.size[act] // 6)
        _check_activity(path, rec, act, n, packed, rate)
        keep = n > 0  # a one-byte ACTIVITY2 record marks a moment without samples
        state.empty_records += int((~keep).sum())
        act, packed, n = act[keep], packed[keep], n[keep]
        since = _ism_before(rec, act, state)
        since[0] |= state.ism_since
        state.ism_since = bool(since[-1])
        if not len(act):
            state.ism_since = bool(since[0])
            continue
        ts_rec = rec.ts[act]
        t_rec = (ts_rec - info.start_local).astype(np.float64)
        prev_ts = np.concatenate(
            [[state.prev_ts if state.prev_ts is not None else ts_rec[0] - 1], ts_rec[:-1]]
        )
        ends = t_rec + n / rate
        prev_end = np.concatenate([[state.prev_end if state.prev_ts is not None else t_rec[0]], ends[:-1]])
        back = np.flatnonzero(ts_rec <= prev_ts)
        if len(back):
            k = int(act[back[0]])
            raise ImportFormatError(
                path,
                f"activity record stamped {int(rec.ts[k])} after one stamped {int(prev_ts[back[0]])}: "
                "time goes backwards",
                offset=rec.base + int(rec.start[k]) + 2,
                expected="increasing record timestamps",
            )
        for j in np.flatnonzero(t_rec > prev_end + 0.5 / rate):
            reason = "idle sleep mode" if since[j] else "no samples recorded"
            state.gaps.append(GapNote(float(prev_end[j]), float(t_rec[j]), reason))
        state.prev_ts, state.prev_end = int(ts_rec[-1]), float(ends[-1])
        first_row = np.concatenate([[0], np.cumsum(n)[:-1]])
        time = np.repeat(t_rec, n) + (np.arange(int(n.sum())) - np.repeat(first_row, n)) / rate
        starts = rec.start[act] + 8
        if packed.any():
            counts = np.concatenate(
                [
                    _yxz12(rec.arr[s : s + size], int(k))
                    if p
                    else rec.arr[s : s + size].view("<i2").reshape(-1, 3)
                    for s, size, k, p in zip(starts, rec.size[act], n, packed, strict=True)
                ]
            )
        else:
            counts = _gather(rec.arr, starts, rec.size[act]).view("<i2").reshape(-1, 3)
        values = counts.astype(np.float32) / np.float32(info.scale)
        yield SampleChunk(
            time, values, _record_place(first_row, rec.base + starts, np.where(packed, 4.5, 6.0))
        )


def iter_activity_bin(path: Path, pieces: Iterator[bytes], info: Gt3xInfo) -> Iterator[SampleChunk]:
    """The continuous packed samples of an older file's ``activity.bin`` (9 bytes = 2 samples)."""
    rate = info.rate_hz
    carry = b""
    first = 0  # index of the next sample
    base = 0  # byte offset of ``carry``'s start
    for piece in _with_end(pieces):
        data = carry + (piece or b"")
        usable = len(data) if piece is None else len(data) // 9 * 9
        n = usable * 8 // 36
        if n:
            counts = _yxz12(np.frombuffer(data[:usable], np.uint8), n)
            b0, i0 = base, first
            yield SampleChunk(
                (i0 + np.arange(n)) / rate,
                counts.astype(np.float32) / np.float32(info.scale),
                lambda row, b0=b0: {"offset": b0 + int(row * 4.5)},  # type: ignore[misc]
            )
        first += n
        carry = data[usable:]
        base += usable


def _zip_names(path: Path) -> set[str]:
    """Member names, through the bounded zip opening every importer uses (a hostile central directory
    is refused before it is parsed)."""
    with open_zip(path) as zf:
        return set(zf.namelist())


@register
class Gt3xImporter(DeviceImporter):
    """ActiGraph ``.gt3x`` recordings (log.bin and the older activity.bin layout)."""

    name = "actigraph_gt3x"
    description = (
        "ActiGraph .gt3x raw recordings (GT3X+, wGT3X-BT, GT9X Link, CentrePoint): accelerometer "
        "in m/s², idle sleep mode kept as gaps"
    )
    patterns = ("*.gt3x",)

    def sniff(self, path: Path) -> float:
        if path.is_dir() or head_bytes(path, 4) != b"PK\x03\x04":
            return 0.0
        try:
            names = _zip_names(path)
        except (ImportFormatError, zipfile.BadZipFile, OSError, ValueError):
            # A .gt3x whose zip directory is gone (a copy cut short) still goes to this
            # importer, whose error says what is damaged rather than "no importer".
            return 0.3 if self.matches_name(path) else 0.0
        if "info.txt" in names and ({"log.bin", "activity.bin"} & names):
            return 0.95
        return 0.3 if self.matches_name(path) else 0.0

    def import_into(
        self, path: Path, options: ImportOptions, begin: StartSession, progress: ProgressCallback | None
    ) -> None:
        piece = chunk_bytes(options)
        zf = open_zip(path)
        with zf:
            members = {i.filename: i for i in zf.infolist()}
            if "info.txt" not in members:
                raise ImportFormatError(
                    path, "the zip has no info.txt", expected="a .gt3x (info.txt and log.bin)"
                )
            budget = ReadBudget()
            raw = read_member(zf, members["info.txt"], Path(f"{path}:info.txt"), ReadBudget(MAX_INFO_BYTES))
            text = raw.decode("utf-8-sig", errors="replace")
            info = parse_info(Path(f"{path}:info.txt"), text)
            state = LogState()
            device = info.fields.get("Device Type", "ActiGraph")
            if "log.bin" in members:
                member = members["log.bin"]
                label = Path(f"{path}:log.bin")
                pieces = iter_member(zf, member, label, budget, _EXPECT_RECORD, piece)
                chunks = iter_log(label, pieces, info, state)
            elif "activity.bin" in members:
                member = members["activity.bin"]
                label = Path(f"{path}:activity.bin")
                chunks = iter_activity_bin(label, iter_member(zf, member, label, budget, "", piece), info)
            else:
                raise ImportFormatError(
                    path, "the zip has neither log.bin nor activity.bin", expected="a .gt3x with samples"
                )
            placed = self._placed(info, options)
            asm = AccelerometerAssembler(
                label,
                float(info.rate_hz),
                device_limit(*info.range_g, device),
                begin,
                lambda _first: (self._metadata(path, info, placed, options), 0.0),
            )
            total = max(member.file_size, 1)
            done = 0
            for chunk in chunks:
                asm.add(chunk)
                done = min(total, done + piece)
                if progress:
                    progress(0.8 * done / total, f"{path.name}: {asm.n_samples:,} samples")
        if asm.n_samples == 0:
            raise ImportFormatError(label, "the recording holds no samples", expected="activity records")
        if state.ism and state.last_ts is not None and state.last_ts - info.start_local > state.prev_end:
            state.gaps.append(GapNote(state.prev_end, state.last_ts - info.start_local, "idle sleep mode"))
        metadata = asm.finish(state.gaps)
        if placed.warning:
            warn_metadata(metadata, placed.warning)
        if state.empty_records:
            warn_metadata(
                metadata, f"{path.name}: {state.empty_records} activity records without samples were skipped"
            )

    @staticmethod
    def _placed(info: Gt3xInfo, options: ImportOptions) -> PlacedStart:
        local = datetime.fromtimestamp(info.start_local, UTC).replace(tzinfo=None)
        return place_start(local, info.tz_offset_s, options)

    def _metadata(self, path: Path, info: Gt3xInfo, placed: PlacedStart, options: ImportOptions) -> Metadata:
        f = info.fields
        t0_source = "info.txt Start Date (device local clock)" + (
            " and TimeZone" if info.tz_offset_s is not None else ", zone from the user"
        )
        placement = " ".join(x for x in (f.get("Side", ""), f.get("Limb", "")) if x).lower()
        return Metadata(
            participant_id=options.participant or "",
            devices=[
                DeviceInfo(
                    name="actigraph",
                    model=f"ActiGraph {f.get('Device Type', '')}".strip(),
                    firmware=f.get("Firmware", ""),
                    placement=placement,
                    address=info.serial,
                )
            ],
            timezone=placed.zone,
            start_utc=placed.start_utc,
            provenance=provenance(self.name, [path]),
            extra={
                "fs_nominal": f"{info.rate_hz:g}",
                "t0_known": "true",
                "t0_source": t0_source,
                "serial_number": info.serial,
                "acceleration_scale": f"{info.scale:g}",
                "acceleration_range_g": f"{info.range_g[0]:g}..{info.range_g[1]:g}",
                "source_unit": "g (converted to m/s^2)",
            },
        )
