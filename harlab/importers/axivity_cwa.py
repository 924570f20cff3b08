"""Axivity ``.cwa`` files (AX3, AX6): the device of UK Biobank's week-long recordings.

Written from Open Movement's published format description (``cwa.h`` in
github.com/digitalinteraction/openmovement, BSD licence). A file is a 1024-byte header
block (``MD``: device and session id, sensor configuration, rate code) followed by
512-byte data blocks (``AX``), each with its own sequence number, a packed timestamp
of the device's clock (``YYYYYYMM MMDDDDDh hhhhmmmm mmssssss``, years after 2000), the
index of the sample that timestamp belongs to, a rate code (``3200 / 2**(15 - code & 15)``
Hz; range ``16 >> (code >> 6)`` g), the number of axes and packing, up to 120 samples and
a checksum (the 256 little-endian 16-bit words of a block sum to 0). Samples are three
10-bit values and a 2-bit exponent packed in 32 bits (AX3), or int16 per axis (AX3
unpacked; AX6 with the gyroscope's three axes first). Acceleration is counts / 2**(8 + n) g
and rotation counts * (8000 / 2**m) / 32768 °/s, with n and m in the top bits of the
block's light word. Temperature is (raw & 0x3ff - 171) / 3.142 °C, one value per block.

Times: each block's timestamp fixes the end of that block (its sample at the timestamp
offset is at the whole second; the rest follow at the nominal rate). Samples are spread
evenly from the previous block's end to this one's, so the device's clock drift is
followed block by block; a block more than a second away from its predecessor starts a
gap (``FLAG_GAP_BEFORE``). This is how scikit-digital-health times samples, so an
import matches its reference output. Times are the device's clock with no zone:
``--timezone`` places them, else UTC with a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.wording import counted
from harlab.importers.import_support import ReadBudget, provenance
from harlab.importers.importer import (
    ImportOptions,
    ProgressCallback,
    head_bytes,
    open_binary,
    register,
    warn_metadata,
)
from harlab.importers.sample_chunks import (
    CHUNK_BYTES,
    AccelerometerAssembler,
    DeviceImporter,
    RowPlace,
    SampleChunk,
    StartSession,
    chunk_bytes,
    device_limit,
    file_budget,
    place_start,
)

HEADER_BYTES = 1024
BLOCK = 512
_EXPECT_BLOCK = "a 512-byte data block starting 'AX' with length 508"
_BLOCK_DTYPE = np.dtype(
    [
        ("id", "<u2"),
        ("length", "<u2"),
        ("fraction", "<u2"),
        ("session", "<u4"),
        ("sequence", "<u4"),
        ("timestamp", "<u4"),
        ("light", "<u2"),
        ("temperature", "<u2"),
        ("events", "u1"),
        ("battery", "u1"),
        ("rate", "u1"),
        ("axes_bps", "u1"),
        ("offset", "<i2"),
        ("count", "<u2"),
    ]
)
AX = 0x5841  # "AX" little-endian
MD = 0x444D  # "MD"


@dataclass
class CwaHeader:
    device_id: int
    session_id: int
    axes: int  #: 3 (accelerometer) or 6 (gyroscope and accelerometer)
    rate_hz: float
    range_g: float
    hardware: int
    rate_code: int  #: the byte every data block repeats


@dataclass
class BlockState:
    """What reading the blocks carries from one piece to the next (a streaming writer keeps one per file)."""

    prev_end: float | None = None  #: end time of the previous block, seconds after ``origin``
    origin: float | None = None  #: Unix seconds (device clock) that times count from
    sequence: int | None = None
    samples: int = 0
    blocks: int = 0  #: data blocks read, damaged ones included
    damaged: int = 0  #: blocks skipped for a wrong checksum
    first_damaged: int | None = None  #: byte offset of the first one
    skipped_last: bool = False  #: the previous piece ended with a skipped block


#: A block whose checksum is wrong is skipped and its time left as a gap, as Open Movement's
#: omconvert and GGIR's reader do: one flipped bit in a week should not refuse the week. Past
#: this share of damaged blocks the file is refused: it is not a damaged recording but not one.
MAX_DAMAGED_SHARE = 0.01
#: ...once at least this many blocks have been read (a handful of bad blocks early on is not a share).
DAMAGED_GRACE = 100


def parse_header(path: Path, head: bytes) -> CwaHeader:
    """The 1024-byte header block, checked."""
    if len(head) < HEADER_BYTES:
        raise ImportFormatError(
            path,
            f"file is {len(head)} bytes, shorter than the header block",
            offset=len(head),
            expected="a 1024-byte 'MD' header block",
        )
    ident, length = np.frombuffer(head[:4], "<u2")
    if ident != MD or length != HEADER_BYTES - 4:
        raise ImportFormatError(path, "no 'MD' header block", offset=0, expected="'MD' and length 1020")
    hardware = head[4]
    device = int.from_bytes(head[5:7], "little")
    upper = int.from_bytes(head[11:13], "little")
    if upper != 0xFFFF:
        device |= upper << 16
    config = head[35]
    rate = head[36]
    axes = 3 if config in (0, 0xFF) else (9 if config >> 4 else 6)
    if axes == 9:
        raise ImportFormatError(
            path,
            "magnetometer recordings are not supported",
            offset=35,
            expected="an AX3 or AX6 (3 or 6 axes)",
        )
    return CwaHeader(
        device_id=device,
        session_id=int.from_bytes(head[7:11], "little"),
        axes=axes,
        rate_hz=3200.0 / (1 << (15 - (rate & 0x0F))),
        range_g=float(16 >> (rate >> 6)),
        hardware=hardware,
        rate_code=rate,
    )


def _unix_seconds(path: Path, stamp: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Packed device timestamps as Unix seconds of the device's clock (int64); a corrupt one names its block."""
    s = stamp.astype(np.int64)
    year, month, day = 2000 + (s >> 26), (s >> 22) & 0x0F, (s >> 17) & 0x1F
    hour, minute, sec = (s >> 12) & 0x1F, (s >> 6) & 0x3F, s & 0x3F
    bad = (month < 1) | (month > 12) | (day < 1) | (hour > 23) | (minute > 59) | (sec > 59)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ImportFormatError(
            path,
            f"block timestamp 0x{int(s[k]):08x} is no date",
            offset=int(offsets[k]) + 14,
            expected="a packed date and time",
        )
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + (day - 1)
    return days.astype(np.int64) * 86400 + hour * 3600 + minute * 60 + sec


def damaged_blocks(blocks: np.ndarray) -> np.ndarray:
    """Which blocks' checksums are wrong (their 256 little-endian words do not sum to 0)."""
    return blocks.view("<u2").sum(axis=1, dtype=np.uint16) != 0


def _count_damaged(path: Path, damaged: np.ndarray, base: int, state: BlockState) -> None:
    """Tally this piece's damaged blocks; refuse the file once they are more than a stray few."""
    state.blocks += len(damaged)
    if not damaged.any():
        return
    if state.first_damaged is None:
        state.first_damaged = base + int(np.flatnonzero(damaged)[0]) * BLOCK + 510
    state.damaged += int(damaged.sum())
    if state.damaged > max(DAMAGED_GRACE * MAX_DAMAGED_SHARE, MAX_DAMAGED_SHARE * state.blocks) and (
        state.blocks >= DAMAGED_GRACE or state.damaged == state.blocks
    ):
        raise ImportFormatError(
            path,
            f"{state.damaged:,} of the first {state.blocks:,} data blocks have a wrong checksum",
            offset=state.first_damaged,
            expected=f"16-bit words summing to 0; at most {MAX_DAMAGED_SHARE:.0%} damaged blocks, which are skipped",
        )


def _check_blocks(
    path: Path, blocks: np.ndarray, hdr: np.ndarray, offsets: np.ndarray, header: CwaHeader
) -> None:
    """Refuse a block that is not a data block of this recording (``offsets``: each block's byte offset)."""
    bad = np.flatnonzero((hdr["id"] != AX) | (hdr["length"] != BLOCK - 4))
    if len(bad):
        raise ImportFormatError(path, "not a data block", offset=int(offsets[bad[0]]), expected=_EXPECT_BLOCK)
    axes = (hdr["axes_bps"] >> 4).astype(np.int64)
    bps = (hdr["axes_bps"] & 0x0F).astype(np.int64)
    capacity = np.where(bps == 0, 120, 480 // np.maximum(axes * 2, 1))
    bad = np.flatnonzero(hdr["rate"] != header.rate_code)
    if len(bad):
        k = int(bad[0])
        raise ImportFormatError(
            path,
            f"block rate code 0x{int(hdr['rate'][k]):02x} differs from the header's 0x{header.rate_code:02x}",
            offset=int(offsets[k]) + 24,
            expected="one rate and range for the whole recording",
        )
    bad = np.flatnonzero(
        (axes != header.axes) | ~np.isin(bps, (0, 2)) | ((bps == 0) & (axes != 3)) | (hdr["count"] > capacity)
    )
    if len(bad):
        k = int(bad[0])
        raise ImportFormatError(
            path,
            f"block of {int(axes[k])} axes, packing {int(bps[k])} and {int(hdr['count'][k])} samples",
            offset=int(offsets[k]) + 25,
            expected=f"{header.axes} axes as the header says, packed (0) or int16 (2), at most a block's capacity",
        )


def _samples(blocks: np.ndarray, hdr: np.ndarray, axes: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(accelerometer g, gyroscope °/s or None) of the blocks' valid samples, block after block."""
    packed = (hdr["axes_bps"] & 0x0F) == 0
    count = hdr["count"].astype(np.int64)
    keep = np.arange(120)[None, :] < count[:, None]
    light = hdr["light"].astype(np.int64)
    accel_unit = (1 << (8 + ((light >> 13) & 7))).astype(np.float32)
    if packed.all():
        raw = blocks[:, 30:510].copy().view("<u4")  # (k, 120); 16-bit work keeps a chunk's temporaries small
        e = (raw >> 30).astype(np.int16)
        acc = np.empty((*raw.shape, 3), np.float32)
        for axis, s in enumerate((0, 10, 20)):
            v = ((raw >> s) & 0x3FF).astype(np.int16)
            v = ((v ^ 0x200) - 0x200) << e  # sign-extend 10 bits, then the exponent (at most 511 << 3)
            acc[..., axis] = v
        acc /= accel_unit[:, None, None]
        return acc[keep], None
    per = 480 // (2 * axes)
    raw16 = blocks[:, 30 : 30 + per * axes * 2].copy().view("<i2").reshape(len(blocks), per, axes)
    keep = keep[:, :per]
    if axes == 3:
        return (raw16.astype(np.float32) / accel_unit[:, None, None])[keep], None
    gyro_dps = (8000.0 / (1 << ((light >> 10) & 7))).astype(np.float32)
    gyro = raw16[..., :3].astype(np.float32) * (gyro_dps / 32768.0)[:, None, None]
    acc = raw16[..., 3:6].astype(np.float32) / accel_unit[:, None, None]
    return acc[keep], gyro[keep]


def iter_blocks(
    path: Path,
    f: IO[bytes],
    header: CwaHeader,
    state: BlockState,
    budget: ReadBudget,
    temps: list[np.ndarray],
    piece_bytes: int = CHUNK_BYTES,
) -> Iterator[SampleChunk]:
    """The samples of the data blocks read from ``f`` (positioned after the header), a few MiB at a time.

    Block temperatures (time, °C) are appended to ``temps`` as pairs of rows.
    """
    read = f.read
    base = HEADER_BYTES
    piece_bytes = max(BLOCK, piece_bytes // BLOCK * BLOCK)
    while data := read(piece_bytes):
        budget.take(path, len(data), "an Axivity .cwa")
        if len(data) % BLOCK:
            more = read(BLOCK - len(data) % BLOCK)
            data += more
            if len(data) % BLOCK:
                raise ImportFormatError(
                    path,
                    f"the file ends inside a data block ({len(data) % BLOCK} of its 512 bytes)",
                    offset=base + len(data) // BLOCK * BLOCK,
                    expected=_EXPECT_BLOCK,
                )
        blocks = np.frombuffer(data, np.uint8).reshape(-1, BLOCK)
        damaged = damaged_blocks(blocks)
        _count_damaged(path, damaged, base, state)
        kept = np.flatnonzero(~damaged)
        offsets = base + kept * BLOCK  # each kept block's byte offset in the file
        after_skip = np.concatenate([[state.skipped_last], damaged[:-1]])[kept]
        state.skipped_last = bool(damaged[-1])
        base += len(data)
        if not len(kept):
            continue
        blocks = blocks[kept]
        hdr = blocks[:, :30].copy().view(_BLOCK_DTYPE).reshape(-1)
        _check_blocks(path, blocks, hdr, offsets, header)
        seq = hdr["sequence"].astype(np.int64)
        prev_seq = np.concatenate([[seq[0] - 1 if state.sequence is None else state.sequence], seq[:-1]])
        back = np.flatnonzero(seq <= prev_seq)
        if len(back):
            k = int(back[0])
            raise ImportFormatError(
                path,
                f"block sequence number {int(seq[k])} after {int(prev_seq[k])}",
                offset=int(offsets[k]) + 10,
                expected="increasing sequence numbers",
            )
        state.sequence = int(seq[-1])
        freq = 3200.0 / (1 << (15 - (hdr["rate"] & 0x0F).astype(np.int64)))
        unix = _unix_seconds(path, hdr["timestamp"], offsets)
        if state.origin is None:
            state.origin = float(unix[0])
        count = hdr["count"].astype(np.int64)
        anchor = (unix - state.origin) - hdr["offset"] / freq
        end = anchor + count / freq
        prev_end = np.concatenate([[np.nan if state.prev_end is None else state.prev_end], end[:-1]])
        backwards = np.flatnonzero(anchor < prev_end - 1.0)
        if len(backwards):
            k = int(backwards[0])
            raise ImportFormatError(
                path,
                f"block time goes back {float(prev_end[k] - anchor[k]):.1f} s",
                offset=int(offsets[k]) + 14,
                expected="block timestamps that do not go backwards",
            )
        # NaN (the first block) compares False; a block after a skipped one starts a gap, so the
        # missing block's time is never spread over this block's samples
        contiguous = (np.abs(anchor - prev_end) < 1.0) & ~after_skip
        start = np.where(contiguous, prev_end, anchor)
        backwards = np.flatnonzero(end < start)
        if len(backwards):
            k = int(backwards[0])
            raise ImportFormatError(
                path,
                f"block ends {float(start[k] - end[k]):.3f} s before the previous block ends",
                offset=int(offsets[k]) + 14,
                expected="block timestamps that do not go backwards",
            )
        state.prev_end = float(end[-1])
        first_row = np.concatenate([[0], np.cumsum(count)[:-1]])
        within = np.arange(int(count.sum())) - np.repeat(first_row, count)
        step = (end - start) / np.maximum(count, 1)
        time = np.repeat(start, count) + within * np.repeat(step, count)
        acc, gyro = _samples(blocks, hdr, header.axes)
        temps.append(np.stack([start, ((hdr["temperature"] & 0x3FF) - 171.0) / 3.142]))
        bps = np.where((hdr["axes_bps"] & 0x0F) == 0, 4, 2 * header.axes)
        yield SampleChunk(time, acc, _block_place(first_row, offsets + 30, bps), gyro=gyro)
        state.samples += len(time)


def _block_place(first_row: np.ndarray, offs: np.ndarray, bps: np.ndarray) -> RowPlace:
    def place(row: int) -> dict[str, int]:
        k = int(np.searchsorted(first_row, row, side="right")) - 1
        return {"offset": int(offs[k]) + (row - int(first_row[k])) * int(bps[k])}

    return place


@register
class CwaImporter(DeviceImporter):
    """Axivity AX3/AX6 ``.cwa`` recordings."""

    name = "axivity_cwa"
    description = (
        "Axivity AX3/AX6 .cwa recordings (UK Biobank's device): accelerometer in m/s², AX6 gyroscope"
    )
    patterns = ("*.cwa",)

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        head = head_bytes(path, HEADER_BYTES + 4)
        if (
            len(head) >= HEADER_BYTES + 2
            and head[:4] == b"MD\xfc\x03"
            and head[HEADER_BYTES : HEADER_BYTES + 2] == b"AX"
        ):
            return 0.95
        return 0.3 if head[:2] == b"MD" and self.matches_name(path) else 0.0

    def import_into(
        self, path: Path, options: ImportOptions, begin: StartSession, progress: ProgressCallback | None
    ) -> None:
        budget = file_budget(path, "an Axivity .cwa")
        size = path.stat().st_size if path.is_file() else None
        state = BlockState()
        temps: list[np.ndarray] = []
        header: CwaHeader | None = None

        def describe(first_time: float) -> tuple[Metadata, float]:
            assert header is not None and state.origin is not None  # set before the first chunk
            start_local = datetime.fromtimestamp(state.origin + first_time, UTC).replace(tzinfo=None)
            placed = place_start(start_local, None, options)
            warnings.extend([placed.warning] if placed.warning else [])
            model = {0x64: "AX6"}.get(header.hardware, "AX3") if header.axes == 3 else "AX6"
            metadata = Metadata(
                participant_id=options.participant or "",
                devices=[DeviceInfo(name="axivity", model=f"Axivity {model}", address=str(header.device_id))],
                timezone=placed.zone,
                start_utc=placed.start_utc,
                provenance=provenance(self.name, [path]),
                extra={
                    "fs_nominal": f"{header.rate_hz:g}",
                    "t0_known": "true",
                    "t0_source": "first data block's timestamp (device clock)",
                    "device_id": str(header.device_id),
                    "session_id": str(header.session_id),
                    "acceleration_range_g": f"±{header.range_g:g}",
                    "source_unit": "g (converted to m/s^2)",
                },
            )
            return metadata, first_time  # the session starts at the first sample

        warnings: list[str] = []
        try:
            with open_binary(path) as f:
                head = f.read(HEADER_BYTES)
                budget.take(path, len(head), "an Axivity .cwa")
                header = parse_header(path, head)
                asm = AccelerometerAssembler(
                    path,
                    header.rate_hz,
                    device_limit(-header.range_g, header.range_g, "Axivity"),
                    begin,
                    describe,
                )
                for chunk in iter_blocks(path, f, header, state, budget, temps, chunk_bytes(options)):
                    asm.add(chunk)
                    if asm.started:  # block temperatures before the first sample wait for it
                        for block_time, celsius in temps:
                            asm.add_temperature(block_time, celsius)
                        temps.clear()
                    if progress and size:
                        progress(
                            0.8 * min(1.0, asm.n_samples * 4 / size),
                            f"{path.name}: {asm.n_samples:,} samples",
                        )
        except (OSError, EOFError) as exc:
            raise ImportFormatError(path, f"cannot read file: {exc}", expected="a readable .cwa") from exc
        if asm.n_samples == 0 and state.damaged:
            raise ImportFormatError(
                path,
                "every data block has a wrong checksum",
                offset=state.first_damaged,
                expected=_EXPECT_BLOCK,
            )
        if state.damaged:
            warnings.append(
                f"{path.name}: {counted(state.damaged, 'data block')} of {state.blocks:,} had a wrong checksum "
                f"(the first at byte {state.first_damaged}): skipped, their time kept as a gap, never filled"
            )
        if asm.n_samples == 0:
            raise ImportFormatError(
                path, "the recording holds no samples", offset=HEADER_BYTES, expected=_EXPECT_BLOCK
            )
        metadata = asm.finish()
        for warning in warnings:
            warn_metadata(metadata, warning)
