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
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.labels import LabelSchema, Segment
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.plausibility import GRAVITY_ZERO, G, Limit, limit_for
from harlab.core.session import Session
from harlab.core.streams import FLAG_CLIPPED, FLAG_SUSPECT, Stream
from harlab.importers.import_support import check_values, provenance, read_at_most
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    ProgressCallback,
    head_bytes,
    register,
    resolve_timezone,
    warn,
)
from harlab.labeling.schema_presets import FITBIT_ACTIVITIES, PRESETS

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
        track.description = "per-sample activity codes recorded by the watch app"
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

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        data = read_at_most(
            path,
            MAX_BATCHES * LABELLED_BATCH,
            f"at most {MAX_BATCHES // 3600} h of 1-second batches (a watch app recording)",
        )
        size = len(data)
        forced = options.extra.get("batch_size")
        batch = (
            int(cast(str | int, forced))
            if forced
            else _layout_for(path, size, data if size % 130 == 0 else None)
        )
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
                f"file ends inside a batch: {size % batch} bytes after the last whole batch "
                f"({size} bytes in all)",
                offset=whole,
                expected=f"a size that is a multiple of {batch} bytes",
            )
        n_batches = size // batch
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
                f"{'axayazgxgygz'[2 * block : 2 * block + 2]} of sample {b * 10 + j} is {value!r}",
                offset=b * batch + block * 20 + j * 2,
                expected="a finite float16 sensor value",
            )
        if n_batches > MAX_BATCHES:  # 120-byte batches: more of them fit in the byte limit
            raise ImportFormatError(
                path,
                f"{n_batches} one-second batches",
                offset=MAX_BATCHES * batch,
                expected=f"at most {MAX_BATCHES} (24 h)",
            )
        values = planar.transpose(0, 2, 1).reshape(-1, 6).astype(np.float32)
        values, suspect, notes = check_seed_values(
            path,
            values,
            lambda i, col: {
                "offset": (i // SAMPLES_PER_BATCH) * batch + col * 20 + (i % SAMPLES_PER_BATCH) * 2
            },
        )
        codes: np.ndarray | None = None
        if batch == LABELLED_BATCH:
            codes = arr[:, 120:].reshape(-1)
            unknown = np.flatnonzero(codes > 9)
            if len(unknown):
                i = int(unknown[0])
                raise ImportFormatError(
                    path,
                    f"unknown activity code {int(codes[i])} for sample {i}",
                    offset=(i // 10) * batch + 120 + i % 10,
                    expected="an activity code 0-9 (Walking ... Situp)",
                )
        if progress:
            progress(0.8, f"{path.name}: {len(values)} samples")

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
            },
        )
        rate = float(options.rate_hz or SEED_RATE_HZ)
        session = build_seed_session(
            values,
            codes,
            rate_hz=rate,
            metadata=metadata,
            annotator=f"{app} (watch)",
            suspect=suspect,
            notes=notes,
        )
        if parsed is None:
            warn(session, "the file name has no <Activity>_YYYYMMDDhhmmss stamp: the start time is unknown")
        elif tz_warning:
            warn(session, tz_warning)
        if parsed is not None and codes is not None:
            named = activity_from_name(parsed[0])
            if named is None:
                warn(
                    session,
                    f"file name activity {parsed[0]!r} is not a seed activity; "
                    "the per-sample codes were used",
                )
            elif named != ACTIVITIES[int(codes[0])]:
                warn(
                    session,
                    f"file name says {parsed[0]!r} but the first sample's code is "
                    f"{ACTIVITIES[int(codes[0])]!r}; the per-sample codes were used",
                )
            metadata.extra["file_activity"] = parsed[0]
        if size % 1560 == 0 and batch == UNLABELLED_BATCH and parsed is None:
            warn(session, "size fits both 120- and 130-byte batches; read as 120-byte (unlabelled)")
        return [session]
