"""The seed's Fitbit watch recordings: ``<Activity>_YYYYMMDDhhmmss.bin`` and ``sensor_*.bin``.

The "Activity Recorder" watch app writes one 130-byte batch per second: six planar
blocks of ten little-endian float16 values (ax, ay, az, gx, gy, gz, m/s² and rad/s)
and then ten uint8 activity codes, one per sample. The "GuessMe" app writes the
same without the codes (120 bytes). There are no timestamps: samples are 10 Hz
from the start time in the file name, which is the watch's naive local time, so
the zone comes from the user (``--timezone``) or is assumed UTC with a warning.
See ``shared/reference/fitbit-formats.md`` §2.1-2.3 and §2.7.

This module also holds what the seed's CSV importer shares with it: the activity
code table, the label schema and the builder of a seed session.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.labels import LabelSchema, Segment
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.plausibility import GRAVITY_ZERO, G, Limit, limit_for
from harlab.core.session import Session
from harlab.core.streams import FLAG_CLIPPED, FLAG_SUSPECT, Stream
from harlab.importers.import_support import (
    MarkedTally,
    ReadBudget,
    check_values,
    iter_blocks,
    provenance,
    read_at_most,
)
from harlab.importers.importer import (
    BeginSession,
    Importer,
    ImportOptions,
    ProgressCallback,
    head_bytes,
    register,
    resolve_timezone,
    warn,
    warn_metadata,
)
from harlab.labeling.schema_presets import FITBIT_ACTIVITIES, PRESETS

if TYPE_CHECKING:
    from harlab.storage.session_writer import SessionWriter

#: Activity codes of the seed apps, in code order (the preset's table). The author wrote "Squad"
#: for squat; harlab names the class "Squat" and accepts "Squad" in file names.
ACTIVITIES = FITBIT_ACTIVITIES
ALIASES = {"Squad": "Squat"}

SEED_RATE_HZ = 10.0
SAMPLES_PER_BATCH = 10
LABELLED_BATCH = 130  #: bytes per batch of the Activity Recorder format
UNLABELLED_BATCH = 120  #: bytes per batch of the GuessMe format
#: The seed's accelerometer reports exactly this at saturation (30 values in the real files).
SEED_ACCEL_CLIP = 38.75
#: The watch accelerometer's own range: ±4 g (the real files reach 38.875 m/s² at most, one
#: float16 step above the usual 38.75; the next steps are 0.03 apart). A reading past it is
#: a flipped bit (a 868 m/s² sample), marked by the rule of harlab.core.plausibility.
SEED_ACCEL_RANGE = Limit(
    ("accelerometer",),
    "m/s^2",
    -4 * G,
    4 * G,
    "±4 g, the range of the seed watch's accelerometer; " + GRAVITY_ZERO,
    zero_impossible=True,
)
#: Longest recording read: 24 h of 1-second batches. The Activity Recorder stops at 60 s; a
#: longer file (a 1 GB sparse file would be 89 days of zeros) is refused before it is read.
MAX_BATCHES = 24 * 3600

TRACK_DESCRIPTION = "per-sample activity codes recorded by the watch app"

_NAME_RE = re.compile(r"^(?P<prefix>[A-Za-z]+)_(?P<stamp>\d{14})\.bin$", re.IGNORECASE)


def seed_schema() -> LabelSchema:
    """The ten seed classes in code order, with hotkeys 0-9 matching the codes (the
    "fitbit-seed" preset, so imported and preset classes look and key the same)."""
    return PRESETS["fitbit-seed"].schema(dict(enumerate(ACTIVITIES)))


def activity_from_name(word: str) -> str | None:
    """The class an activity word in a file name stands for (case-insensitive), or None."""
    word = ALIASES.get(word.capitalize(), word.capitalize())
    return word if word in ACTIVITIES else None


def parse_name(path: Path) -> tuple[str, datetime] | None:
    """(prefix, naive local start) from ``<Prefix>_YYYYMMDDhhmmss.bin[.gz]``, or None."""
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    m = _NAME_RE.match(name)
    if not m:
        return None
    try:
        start = datetime.strptime(m["stamp"], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return m["prefix"], start


def code_runs(codes: np.ndarray) -> list[tuple[int, int, int]]:
    """(code, first index, end index exclusive) for each run of equal consecutive codes."""
    if len(codes) == 0:
        return []
    change = np.flatnonzero(np.diff(codes.astype(np.int16))) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(codes)]
    return [(int(codes[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def check_seed_values(
    path: Path, values: np.ndarray, locate: Callable[[int, int], dict[str, int]]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The seed's (N, 6) values with implausible readings marked (NaN), per-stream suspect rows
    (N, 2) for the accelerometer and gyroscope, and the report lines; refuses as
    :func:`~harlab.importers.import_support.check_values` does.

    The accelerometer is held to the watch's own ±4 g and can never read exactly 0 on all
    three axes; a sample whose six values are all exactly 0 (a zero-filled stretch) is
    marked in the gyroscope too. ``locate(row, column)`` says where a value is in the file.
    """
    acc = check_values(
        path,
        values[:, :3],
        stream="accelerometer",
        kind="accelerometer",
        units="m/s^2",
        locate=lambda row: locate(row, 0),
        limit=SEED_ACCEL_RANGE,
    )
    gyro = check_values(
        path,
        values[:, 3:],
        stream="gyroscope",
        kind="gyroscope",
        units="rad/s",
        locate=lambda row: locate(row, 3),
    )
    out = np.concatenate([acc.values, gyro.values], axis=1)
    hole = np.all(values == 0.0, axis=1)
    out[hole, 3:] = np.nan
    suspect = np.stack([acc.suspect, gyro.suspect | hole], axis=1)
    notes = [n for n in (acc.note, gyro.note) if n]
    if hole.any():
        notes.append(
            f"{path.name}: {int(hole.sum())} samples are exactly 0 in all six values (no data): "
            "set to NaN and flagged suspect in both streams"
        )
    return out, suspect, notes


def build_seed_session(
    values: np.ndarray,
    codes: np.ndarray | None,
    *,
    rate_hz: float,
    metadata: Metadata,
    annotator: str,
    suspect: np.ndarray | None = None,
    notes: list[str] | None = None,
) -> Session:
    """A session with accelerometer and gyroscope streams and, given codes, an "activity" track.

    ``values`` is (N, 6): ax, ay, az in m/s², gx, gy, gz in rad/s, checked by
    :func:`check_seed_values`, whose ``suspect`` rows and report ``notes`` come along.
    Sample i is at i / rate_hz seconds; a label segment covers its samples' periods, so
    a run of n samples lasts n / rate_hz seconds.
    """
    n = len(values)
    time = np.arange(n, dtype=np.float64) / rate_hz
    device = metadata.device.name
    with np.errstate(invalid="ignore"):
        clipped = np.any(np.abs(values[:, :3]) >= SEED_ACCEL_CLIP, axis=1)
    if suspect is None:
        suspect = np.zeros((n, 2), dtype=bool)
    flags = np.where(clipped, FLAG_CLIPPED, 0).astype(np.uint8)
    flags[suspect[:, 0]] |= FLAG_SUSPECT
    gyro_flags = np.where(suspect[:, 1], FLAG_SUSPECT, 0).astype(np.uint8)
    session = Session(metadata, seed_schema())
    session.add_stream(
        Stream.from_arrays(
            "accelerometer",
            time,
            values[:, :3],
            ["x", "y", "z"],
            "m/s^2",
            rate_hz,
            flags=flags,
            kind="accelerometer",
            device=device,
        )
    )
    session.add_stream(
        Stream.from_arrays(
            "gyroscope",
            time,
            values[:, 3:],
            ["x", "y", "z"],
            "rad/s",
            rate_hz,
            flags=gyro_flags,
            kind="gyroscope",
            device=device,
        )
    )
    if int(clipped.sum()):
        warn(
            session,
            f"{int(clipped.sum())} accelerometer samples reach ±{SEED_ACCEL_CLIP} m/s² "
            "(the sensor's saturation) and are flagged as clipped",
        )
    for note in notes or []:
        warn(session, note)
    if codes is not None:
        track = session.label_track("activity", "exclusive")
        track.description = TRACK_DESCRIPTION
        segments = [
            Segment(s / rate_hz, e / rate_hz, ACTIVITIES[code], annotator=annotator, source="imported")
            for code, s, e in code_runs(codes)
        ]
        track.add_many(segments)
    return session


def check_plausible(values: np.ndarray) -> int | None:
    """Index (into the flat array) of the first value that is not finite or is past the table's
    accelerometer limit (±50 g), or None: for sniffing, where such bytes are no sensor data."""
    high = limit_for("accelerometer", "m/s^2").high  # type: ignore[union-attr]
    bad = ~np.isfinite(values) | (np.abs(values) > high)
    if not bad.any():
        return None
    return int(np.flatnonzero(bad.reshape(-1))[0])


def _layout_for(path: Path, size: int, data: bytes | None = None) -> int | None:
    """Batch size of ``path``: 130 or 120 from the name prefix, else from size and content."""
    parsed = parse_name(path)
    if parsed is not None:
        return UNLABELLED_BATCH if parsed[0].lower() == "sensor" else LABELLED_BATCH
    if data is not None and size and size % LABELLED_BATCH == 0:
        codes = np.frombuffer(data[:size], np.uint8).reshape(-1, LABELLED_BATCH)[:, 120:]
        if int(codes.max()) <= 9:
            return LABELLED_BATCH
    if size and size % UNLABELLED_BATCH == 0:
        return UNLABELLED_BATCH
    if size and size % LABELLED_BATCH == 0:
        return LABELLED_BATCH
    return None


@register
class FitbitBinImporter(Importer):
    """The seed watch apps' binary files (130-byte labelled and 120-byte unlabelled batches)."""

    name = "fitbit_bin"
    description = (
        "Fitbit watch recordings of the seed apps: <Activity>_YYYYMMDDhhmmss.bin (130-byte labelled "
        "batches) and sensor_YYYYMMDDhhmmss.bin (120-byte batches); 10 Hz, m/s² and rad/s"
    )
    patterns = ("*.bin",)

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        limit = 1 << 20
        data = head_bytes(path, limit)
        if not data:
            return 0.0
        size = (
            path.stat().st_size if not path.name.lower().endswith(".gz") and len(data) < limit else len(data)
        )
        parsed = parse_name(path)
        named = parsed is not None and (
            parsed[0].lower() == "sensor" or activity_from_name(parsed[0]) is not None
        )
        weak = 0.5 if named else 0.0  # a seed name with bad content: let read() say what is wrong
        batch = _layout_for(path, size, data if size % LABELLED_BATCH == 0 else None)
        if batch is None or size % batch or len(data) < batch:
            return weak
        arr = np.frombuffer(data[: len(data) - len(data) % batch], np.uint8).reshape(-1, batch)
        if check_plausible(arr[:, :120].copy().view("<f2").astype(np.float32)) is not None:
            return weak
        if batch == LABELLED_BATCH and int(arr[:, 120:].max()) > 9:
            return weak
        if named:
            return 0.95
        return 0.7 if batch == LABELLED_BATCH else 0.4

    streaming = True

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        data = read_at_most(
            path,
            MAX_BATCHES * LABELLED_BATCH,
            f"at most {MAX_BATCHES // 3600} h of 1-second batches (a watch app recording)",
        )
        size = len(data)
        codes_ok = size % LABELLED_BATCH == 0 and _codes_fit(data)
        batch = _check_layout(path, options, size, codes_ok)
        values, codes = _decode(path, data, batch, 0)
        values, suspect, notes = check_seed_values(
            path,
            values,
            lambda i, col: {
                "offset": (i // SAMPLES_PER_BATCH) * batch + col * 20 + (i % SAMPLES_PER_BATCH) * 2
            },
        )
        if progress:
            progress(0.8, f"{path.name}: {len(values)} samples")
        metadata, tz_warning = self._metadata(path, options, batch)
        rate = float(options.rate_hz or SEED_RATE_HZ)
        app = metadata.extra["app"]
        del metadata.extra["app"]
        session = build_seed_session(
            values,
            codes,
            rate_hz=rate,
            metadata=metadata,
            annotator=f"{app} (watch)",
            suspect=suspect,
            notes=notes,
        )
        first = int(codes[0]) if codes is not None and len(codes) else None
        for w in _name_warnings(path, metadata, first, batch, size, tz_warning):
            warn(session, w)
        return [session]

    def read_into(
        self,
        path: Path,
        options: ImportOptions,
        begin: BeginSession,
        progress: ProgressCallback | None = None,
    ) -> None:
        """:meth:`read` in blocks of an hour of batches; values, flags, labels and refusals as
        :meth:`read` gives them (implausible values judged on the whole file by
        :class:`~harlab.importers.import_support.MarkedTally`)."""
        expected = f"at most {MAX_BATCHES // 3600} h of 1-second batches (a watch app recording)"
        limit = MAX_BATCHES * LABELLED_BATCH

        def blocks() -> Iterator[bytes]:
            return iter_blocks(path, 1 << 20, ReadBudget(limit, "the limit of this format"), expected)

        plain = not path.name.endswith(".gz")
        if plain and parse_name(path) is not None:
            size, codes_ok = path.stat().st_size, True  # the name decides the layout
            if size > limit:
                next(blocks())  # refused by its size, before anything is read
        else:  # a first pass for what the layout needs: the size, and whether codes fit 130 bytes
            size, codes_ok, rest = 0, True, b""
            for raw in blocks():
                size += len(raw)
                whole = rest + raw
                cut = len(whole) - len(whole) % LABELLED_BATCH
                codes_ok = codes_ok and _codes_fit(whole[:cut])
                rest = whole[cut:]
        batch = _check_layout(path, options, size, codes_ok)
        metadata, tz_warning = self._metadata(path, options, batch)
        app = metadata.extra.pop("app")
        rate = float(options.rate_hz or SEED_RATE_HZ)
        w = begin(metadata, seed_schema())
        device = metadata.device.name
        for name, units in (("accelerometer", "m/s^2"), ("gyroscope", "rad/s")):
            w.add_stream(name, ["x", "y", "z"], units, rate, kind=name, device=device)
        acc = MarkedTally(
            path, stream="accelerometer", kind="accelerometer", units="m/s^2", limit=SEED_ACCEL_RANGE
        )
        gyro = MarkedTally(path, stream="gyroscope", kind="gyroscope", units="rad/s")
        clipped = holes = 0
        first_hole: int | None = None
        run: list[int] = []  # [code, first sample] of the label run still open
        first_code: int | None = None
        b0 = 0

        def feed(data: bytes) -> None:
            nonlocal b0, clipped, holes, first_hole, run, first_code
            values, codes = _decode(path, data, batch, b0)
            i0 = b0 * SAMPLES_PER_BATCH

            def locate(i: int, col: int) -> dict[str, int]:
                g = i0 + i
                return {"offset": (g // SAMPLES_PER_BATCH) * batch + col * 20 + (g % SAMPLES_PER_BATCH) * 2}

            a = acc.check(values[:, :3], lambda r: locate(r, 0))
            g = gyro.check(values[:, 3:], lambda r: locate(r, 3))
            hole = np.all(values == 0.0, axis=1)
            if hole.any() and first_hole is None:
                first_hole = i0 + int(np.flatnonzero(hole)[0])
            holes += int(hole.sum())
            gv = g.values.copy() if hole.any() else g.values
            gv[hole] = np.nan
            with np.errstate(invalid="ignore"):
                clip = np.any(np.abs(values[:, :3]) >= SEED_ACCEL_CLIP, axis=1)
            clipped += int(clip.sum())
            t = np.arange(i0, i0 + len(values), dtype=np.float64) / rate
            flags = np.where(clip, FLAG_CLIPPED, 0).astype(np.uint8)
            flags[a.suspect] |= FLAG_SUSPECT
            w.append("accelerometer", t, a.values, flags)
            w.append("gyroscope", t, gv, np.where(g.suspect | hole, FLAG_SUSPECT, 0).astype(np.uint8))
            if codes is not None:
                if first_code is None:
                    first_code = int(codes[0])
                for code, s0, _e0 in code_runs(codes):
                    if run and run[0] == code:
                        continue  # the open run goes on
                    if run:
                        _add_run(w, run, i0 + s0, rate, app)
                    run = [code, i0 + s0]
            b0 += len(values) // SAMPLES_PER_BATCH
            if progress:
                progress(0.9 * b0 * batch / max(size, 1), f"{path.name}: {b0 * SAMPLES_PER_BATCH} samples")

        per_block = 3600 * batch  # an hour of batches
        rest = b""
        for raw in blocks():
            whole = rest + raw
            cut = len(whole) - len(whole) % per_block
            rest = whole[cut:]
            if cut:
                feed(whole[:cut])
        if len(rest) % batch:  # the file changed since its size was taken
            raise ImportFormatError(
                path,
                f"file ends inside a batch: {len(rest) % batch} bytes after the last whole batch",
                offset=b0 * batch + len(rest) - len(rest) % batch,
                expected=f"a size that is a multiple of {batch} bytes",
            )
        if rest:
            feed(rest)
        if run:
            _add_run(w, run, b0 * SAMPLES_PER_BATCH, rate, app)
        notes = [acc.finish(), gyro.finish()]
        if holes:
            notes.append(
                f"{path.name}: {holes} samples are exactly 0 in all six values (no data): "
                "set to NaN and flagged suspect in both streams"
            )
        if clipped:
            warn_metadata(
                w.metadata,
                f"{clipped} accelerometer samples reach ±{SEED_ACCEL_CLIP} m/s² "
                "(the sensor's saturation) and are flagged as clipped",
            )
        for note in notes:
            if note:
                warn_metadata(w.metadata, note)
        for note in _name_warnings(path, w.metadata, first_code, batch, size, tz_warning):
            warn_metadata(w.metadata, note)

    def _metadata(self, path: Path, options: ImportOptions, batch: int) -> tuple[Metadata, str | None]:
        """The session's metadata (``extra["app"]`` names the watch app, for the caller to take
        out) and the timezone warning, if any."""
        tz, tz_warning = resolve_timezone(options)
        parsed = parse_name(path)
        start_utc = None
        if parsed is not None:
            start_utc = parsed[1].replace(tzinfo=ZoneInfo(tz))
        app = "Activity Recorder" if batch == LABELLED_BATCH else "GuessMe"
        metadata = Metadata(
            participant_id=options.participant or "",
            devices=[DeviceInfo(name="fitbit", model=f"Fitbit Versa ({app} app)", placement="wrist")],
            timezone=tz,
            start_utc=start_utc,
            provenance=provenance(self.name, [path]),
            extra={
                "fs_nominal": f"{SEED_RATE_HZ:g}",
                "t0_known": "true" if start_utc is not None else "false",
                "t0_source": "file name (watch local time at Play, 1 s resolution)" if start_utc else "",
                "bytes_per_batch": str(batch),
                "app": app,
            },
        )
        return metadata, tz_warning


def _codes_fit(data: bytes) -> bool:
    """Whether every code byte of ``data`` read as 130-byte batches is a seed code (0-9)."""
    if not data:
        return True
    return int(np.frombuffer(data, np.uint8).reshape(-1, LABELLED_BATCH)[:, 120:].max()) <= 9


def _check_layout(path: Path, options: ImportOptions, size: int, codes_ok: bool) -> int:
    """The batch size of a ``size``-byte file, refused when the file is empty, ends inside a
    batch, or holds more than :data:`MAX_BATCHES`."""
    forced = options.extra.get("batch_size")
    parsed = parse_name(path)
    if forced:
        batch: int | None = int(cast(str | int, forced))
    elif parsed is not None:
        batch = UNLABELLED_BATCH if parsed[0].lower() == "sensor" else LABELLED_BATCH
    elif size and size % LABELLED_BATCH == 0 and codes_ok:
        batch = LABELLED_BATCH
    elif size and size % UNLABELLED_BATCH == 0:
        batch = UNLABELLED_BATCH
    elif size and size % LABELLED_BATCH == 0:
        batch = LABELLED_BATCH
    else:
        batch = None
    if size == 0:
        raise ImportFormatError(
            path,
            "file is empty",
            offset=0,
            expected=f"{batch or LABELLED_BATCH}-byte batches of float16 samples",
        )
    if batch is None:
        batch = LABELLED_BATCH
    if batch not in (LABELLED_BATCH, UNLABELLED_BATCH):
        raise ImportFormatError(path, f"batch size {batch} is not supported", expected="130 or 120")
    if size % batch:
        whole = size - size % batch
        raise ImportFormatError(
            path,
            f"file ends inside a batch: {size % batch} bytes after the last whole batch ({size} bytes in all)",
            offset=whole,
            expected=f"a size that is a multiple of {batch} bytes",
        )
    if size // batch > MAX_BATCHES:  # 120-byte batches: more of them fit in the byte limit
        raise ImportFormatError(
            path,
            f"{size // batch} one-second batches",
            offset=MAX_BATCHES * batch,
            expected=f"at most {MAX_BATCHES} (24 h)",
        )
    return batch


def _decode(path: Path, data: bytes, batch: int, b0: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Whole batches ``data`` (the first is batch ``b0`` of the file) as (N, 6) float32 values and,
    for 130-byte batches, N activity codes; refused at the first value that is not finite or code
    that is no seed code, naming its byte in the file."""
    n_batches = len(data) // batch
    arr = np.frombuffer(data, np.uint8).reshape(n_batches, batch)
    planar = arr[:, :120].copy().view("<f2").reshape(n_batches, 6, SAMPLES_PER_BATCH)
    bad_f16 = np.flatnonzero(~np.isfinite(planar.reshape(-1)))
    if len(bad_f16):
        bad = int(bad_f16[0])
        b, rest = divmod(bad, 60)
        block, j = divmod(rest, SAMPLES_PER_BATCH)
        value = float(planar.reshape(-1)[bad])
        raise ImportFormatError(
            path,
            f"{'axayazgxgygz'[2 * block : 2 * block + 2]} of sample {(b0 + b) * 10 + j} is {value!r}",
            offset=(b0 + b) * batch + block * 20 + j * 2,
            expected="a finite float16 sensor value",
        )
    values = planar.transpose(0, 2, 1).reshape(-1, 6).astype(np.float32)
    if batch != LABELLED_BATCH:
        return values, None
    codes = arr[:, 120:].reshape(-1)
    unknown = np.flatnonzero(codes > 9)
    if len(unknown):
        i = int(unknown[0])
        g = b0 * SAMPLES_PER_BATCH + i
        raise ImportFormatError(
            path,
            f"unknown activity code {int(codes[i])} for sample {g}",
            offset=(g // 10) * batch + 120 + g % 10,
            expected="an activity code 0-9 (Walking ... Situp)",
        )
    return values, codes


def _add_run(w: SessionWriter, run: list[int], end: int, rate: float, app: str) -> None:
    """The label segment of a run of one code from sample ``run[1]`` to ``end``."""
    w.add_segment(
        "activity",
        Segment(run[1] / rate, end / rate, ACTIVITIES[run[0]], annotator=f"{app} (watch)", source="imported"),
        "exclusive",
        TRACK_DESCRIPTION,
    )


def _name_warnings(
    path: Path, metadata: Metadata, first_code: int | None, batch: int, size: int, tz_warning: str | None
) -> list[str]:
    """What the file name says that the import report should (and ``file_activity``, which
    goes into ``metadata``)."""
    out: list[str] = []
    parsed = parse_name(path)
    if parsed is None:
        out.append("the file name has no <Activity>_YYYYMMDDhhmmss stamp: the start time is unknown")
    elif tz_warning:
        out.append(tz_warning)
    if parsed is not None and first_code is not None:
        named = activity_from_name(parsed[0])
        if named is None:
            out.append(
                f"file name activity {parsed[0]!r} is not a seed activity; the per-sample codes were used"
            )
        elif named != ACTIVITIES[first_code]:
            out.append(
                f"file name says {parsed[0]!r} but the first sample's code is "
                f"{ACTIVITIES[first_code]!r}; the per-sample codes were used"
            )
        metadata.extra["file_activity"] = parsed[0]
    if size % 1560 == 0 and batch == UNLABELLED_BATCH and parsed is None:
        out.append("size fits both 120- and 130-byte batches; read as 120-byte (unlabelled)")
    return out
