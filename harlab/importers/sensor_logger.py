"""Sensor Logger (Kelvin Choi's phone/watch app) exports: a zip or folder of per-sensor CSVs.

What was verified, from the app's own documentation (github.com/tszheichoi/awesome-sensor-logger,
README "Understanding Timestamps" and UNITS.md):

* every sensor CSV has ``time`` (UTC epoch **nanoseconds**) and ``seconds_elapsed``
  (seconds since the Start tap, may be negative for buffered samples) columns;
* Accelerometer ``x, y, z`` m/s^2 **without gravity** (user acceleration; iOS and
  Android); TotalAcceleration (Android) m/s^2 with gravity; Gravity m/s^2;
  Gyroscope rad/s; Magnetometer uT; Orientation ``qx qy qz qw`` and ``roll pitch yaw``
  in rad; HeartRate ``bpm``; WristMotion accelerations/gravity in g (m/s^2 when
  "Standardise Units & Frames" is on), rotation rates rad/s; Barometer ``pressure``
  mbar and ``relativeAltitude`` m; Annotation ``text`` and ``millisecond_press_duration``
  (how long the button was pressed, not a span);
* ``Metadata.csv`` holds the device name, platform, recording time and timezone
  (columns seen in third-party loaders: version, device name, recording epoch time,
  recording time, recording timezone, platform, appVersion, device id, sensors,
  sampleRateMs, standardisation, platform version).

Assumed (not verified on a real export here; no real export is in ../shared/data):
the column order ``time, seconds_elapsed, z, y, x`` (the importer goes by header
names, so order does not matter); the heart-rate file's name (``HeartRate.csv`` or
``WatchHeartRate.csv``, both accepted); that ``standardisation`` in Metadata.csv
reads true/false.

What the importer does: every CSV with a ``time`` column and numeric values becomes a
stream named after the file (``Accelerometer.csv`` -> ``accelerometer``,
``TotalAcceleration.csv`` -> ``total_acceleration``), channels in x, y, z order
whatever the file's order, units from the table above (the one table of
:mod:`harlab.core.phone_sensors`, which the live push receiver reads too; unknown
sensors keep their column names and an empty unit). Files with text columns (Location is numeric and
kept; Activity, Network, Battery state, Bluetooth are not) are skipped and listed in
``metadata.extra["skipped_files"]``. Time zero is the earliest ``time`` of all files,
which is also ``start_utc``; every stream keeps its own timestamps (the app samples
sensors independently). Rows are sorted by time and exact repeats dropped (the app's
docs warn about cached duplicates); the counts are in ``metadata.extra``. Annotations
become zero-length events on the ``annotations`` track, labelled by their text.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from harlab.core.errors import HarlabError, ImportFormatError
from harlab.core.labels import LabelTrack, Segment
from harlab.core.metadata import DeviceInfo, Metadata, SourceFile, check_timezone, sha256_of
from harlab.core.phone_sensors import SENSORS, sensor_key
from harlab.core.session import Session
from harlab.core.streams import FLAG_SUSPECT, Stream, median_period
from harlab.importers.import_support import (
    ReadBudget,
    check_values,
    check_width,
    gap_flags,
    line_of_row,
    nominal_rate,
    open_zip,
    provenance,
    read_all,
    read_member,
)
from harlab.importers.importer import Importer, ImportOptions, ProgressCallback, head_bytes, register, warn

#: sensors whose export must have every field (a partial file of these is a broken export)
COMPLETE = ("accelerometer", "gyroscope", "gravity", "totalacceleration", "heartrate")
TIME_COLUMNS = ("time", "seconds_elapsed")
_MAX_TIME_NS = 4_102_444_800 * 10**9  #: 2100-01-01 in epoch ns (int64 holds up to 2262)
SPECIAL = {"metadata", "annotation"}
_HEADER_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\"?time\"?,\"?seconds_elapsed\"?", re.IGNORECASE)


class _Source:
    """A folder, a zip, or a single CSV: name -> bytes, plus the files to cite."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.members: dict[str, bytes] = {}
        self.cite: list[Path] = []
        budget = ReadBudget()  # all CSVs of one folder or zip together
        if path.is_dir():
            for p in sorted(path.rglob("*.csv")):
                self.members[str(p.relative_to(path))] = read_all(p, budget)
            self.cite = sorted(path.rglob("*.csv"))
        elif zipfile.is_zipfile(path):
            with open_zip(path) as zf:
                for info in zf.infolist():
                    if info.is_dir() or not info.filename.lower().endswith(".csv"):
                        continue
                    if PurePosixPath(info.filename).name.startswith("._"):
                        continue  # macOS resource forks
                    self.members[info.filename] = read_member(
                        zf, info, Path(f"{path}!{info.filename}"), budget, expected="a Sensor Logger zip"
                    )
            self.cite = [path]
        else:
            self.members[path.name] = read_all(path, budget)
            self.cite = [path]

    def stem(self, name: str) -> str:
        return PurePosixPath(name.replace("\\", "/")).stem

    def where(self, name: str) -> Path:
        """A path for error messages: the member inside the zip or folder."""
        if self.path.is_dir():
            return self.path / name
        if len(self.members) == 1 and name == self.path.name:
            return self.path
        return Path(f"{self.path}!{name}")


def _looks_like_sensor_csv(data: bytes) -> bool:
    return bool(_HEADER_RE.match(data[:64]))


def _read_table(where: Path, data: bytes) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(where, "not UTF-8 text", offset=exc.start, expected="a CSV file") from exc
    if not text.strip():
        raise ImportFormatError(where, "file is empty", expected="a header time,seconds_elapsed,... and rows")
    if "\0" in text:
        raise ImportFormatError(
            where, "NUL character: this is a binary file", offset=data.index(b"\0"), expected="CSV text"
        )
    check_width(where, text)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ImportFormatError(
            where,
            f"not a consistent CSV table: {exc}",
            line=int(m.group(1)) if m else None,
            expected="comma-separated rows",
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _time_ns(where: Path, df: pd.DataFrame) -> np.ndarray:
    if "time" not in df.columns:
        raise ImportFormatError(
            where, "no 'time' column", line=1, expected="a header starting time,seconds_elapsed"
        )
    raw = df["time"].str.strip()
    t = pd.to_numeric(raw, errors="coerce")
    bad = t.isna().to_numpy() | ~raw.str.fullmatch(r"-?\d+(\.\d*)?").to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ImportFormatError(
            where,
            f"time {df['time'].iloc[row]!r} is not integer nanoseconds",
            line=row + 2,
            expected="UTC epoch nanoseconds such as 1698501144401773000",
        )
    as_float = t.to_numpy(dtype=np.float64)
    out_of_range = ~((as_float >= 0) & (as_float < _MAX_TIME_NS))
    if out_of_range.any():
        row = int(np.flatnonzero(out_of_range)[0])
        raise ImportFormatError(
            where,
            f"time {df['time'].iloc[row]!r} is not between 1970 and 2100",
            line=row + 2,
            expected="UTC epoch nanoseconds such as 1698501144401773000",
        )
    if pd.api.types.is_integer_dtype(t.dtype):
        return t.to_numpy().astype(np.int64)
    return np.round(as_float).astype(np.int64)


def _numbers(where: Path, df: pd.DataFrame, col: str) -> np.ndarray:
    raw = df[col].str.strip()
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(vals)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ImportFormatError(
            where,
            f"column {col!r}: {df[col].iloc[row]!r} is not a finite number",
            line=row + 2,
            expected="a finite decimal number",
        )
    return vals


def _is_numeric_column(s: pd.Series) -> bool:
    st = s.str.strip()
    st = st[st != ""]
    return bool(len(st)) and pd.to_numeric(st, errors="coerce").notna().all()


def _metadata(where: Path, data: bytes) -> dict[str, str]:
    df = _read_table(where, data)
    if len(df) == 0:
        return {}
    return {str(k): str(v).strip() for k, v in df.iloc[0].items()}


def _stream_name(stem: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem).lower().replace(" ", "_").replace("/", "_")


@register
class SensorLoggerImporter(Importer):
    name = "sensor_logger"
    description = "Sensor Logger app export (zip or folder of per-sensor CSVs, with annotations)"
    patterns = ("*.zip",)
    accepts_directories = True

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            csvs = list(path.glob("*.csv"))
            if any(p.name == "Metadata.csv" for p in csvs) or any(
                _looks_like_sensor_csv(head_bytes(p, 64)) for p in csvs[:20]
            ):
                return 0.85
            return 0.0
        if zipfile.is_zipfile(path):
            try:
                with open_zip(path) as zf:
                    names = [PurePosixPath(n).name for n in zf.namelist()]
            except ImportFormatError:
                return 0.0
            if "Metadata.csv" in names:
                return 0.9
            return (
                0.6
                if any(n in names for n in ("Accelerometer.csv", "Gyroscope.csv", "Annotation.csv"))
                else 0.0
            )
        head = head_bytes(path, 256)
        if _looks_like_sensor_csv(head):
            return 0.8
        return 0.0

    def expand(self, path: Path) -> list[Path]:
        """Zips below ``path`` and folders that hold a Metadata.csv (one recording each)."""
        out = [p for p in sorted(path.rglob("*.zip")) if self.sniff(p) > 0]
        out += sorted({p.parent for p in path.rglob("Metadata.csv")})
        return out

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        src = _Source(path)
        meta_raw: dict[str, str] = {}
        tables: list[tuple[str, str, pd.DataFrame]] = []  # (member, stem, table)
        skipped: list[str] = []
        names = sorted(src.members)
        for i, name in enumerate(names):
            data = src.members[name]
            stem = src.stem(name)
            where = src.where(name)
            if progress:
                progress(0.8 * i / max(1, len(names)), f"reading {stem}")
            if stem.lower() == "metadata":
                meta_raw = _metadata(where, data)
                continue
            if not _looks_like_sensor_csv(data):
                if len(src.members) == 1:
                    raise ImportFormatError(
                        where,
                        "the header does not start with time,seconds_elapsed",
                        line=1,
                        expected="a Sensor Logger CSV header",
                    )
                skipped.append(f"{name} (no time,seconds_elapsed header)")
                continue
            tables.append((name, stem, _read_table(where, data)))
        if not tables:
            raise ImportFormatError(
                path, "no sensor CSV files found", expected="Accelerometer.csv, Gyroscope.csv, ..."
            )

        times = {name: _time_ns(src.where(name), df) for name, _, df in tables if len(df)}
        if not times:
            raise ImportFormatError(
                path, "every sensor file is empty (header only)", expected="at least one row of data"
            )
        t0 = min(int(t.min()) for t in times.values())
        standardised = meta_raw.get("standardisation", "").strip().lower() in ("true", "1", "yes", "on")
        tz = options.timezone or meta_raw.get("recording timezone") or "UTC"
        try:
            check_timezone(tz)
        except HarlabError:
            tz = "UTC"
        device_name = meta_raw.get("device name", "") or "phone"
        meta = Metadata(
            participant_id=options.participant or "",
            devices=[
                DeviceInfo(
                    name=device_name,
                    model=meta_raw.get("platform", ""),
                    firmware=meta_raw.get("platform version", ""),
                )
            ],
            timezone=tz,
            start_utc=datetime.fromtimestamp(t0 // 1_000_000_000, UTC).replace(
                microsecond=(t0 % 1_000_000_000) // 1000
            ),
            notes=f"Sensor Logger export {path.name}",
            extra={f"sensorlogger_{k.replace(' ', '_')}": v for k, v in meta_raw.items()},
        )
        session = Session(meta)
        notes: list[str] = []  # what the plausibility check marked, for the import report
        annotations: list[Segment] = []
        for name, stem, df in tables:
            where = src.where(name)
            key = stem.lower()
            if key == "annotation":
                annotations += self._annotations(where, df, times.get(name), t0)
                continue
            if not len(df):
                skipped.append(f"{name} (no rows)")
                continue
            stream = self._stream(where, stem, df, times[name], t0, standardised, meta.extra, notes)
            if stream is None:
                skipped.append(f"{name} (text columns)")
                continue
            if stream.name in session.streams:
                stream.name = f"{stream.name}_{len(session.streams)}"
            session.add_stream(stream)
        if annotations:
            track = LabelTrack("annotations", "overlapping", description="Sensor Logger annotations")
            track.add_many(annotations)
            for a in annotations:
                session.schema.ensure(a.label)
            session.add_label_track(track)
        if not session.streams and not annotations:
            raise ImportFormatError(
                path,
                "no numeric sensor data or annotations found",
                expected="Accelerometer.csv, Gyroscope.csv, ... with rows",
            )
        meta.extra["skipped_files"] = "; ".join(skipped)
        for note in notes:
            warn(session, note)
        meta.provenance = provenance(self.name, [])
        meta.provenance.sources = self._sources(src)
        if progress:
            progress(1.0, "done")
        return [session]

    def _sources(self, src: _Source) -> list[SourceFile]:
        if src.path.is_dir():
            return [SourceFile.of(p) for p in src.cite]
        return [SourceFile(str(src.path), sha256_of(src.path), src.path.stat().st_size)]

    def _stream(
        self,
        where: Path,
        stem: str,
        df: pd.DataFrame,
        t_ns: np.ndarray,
        t0: int,
        standardised: bool,
        extra: dict[str, str],
        notes: list[str],
    ) -> Stream | None:
        key = sensor_key(stem)
        cols = [c for c in df.columns if c not in TIME_COLUMNS]
        sensor = SENSORS.get(key)
        if sensor is not None:
            name, kind = sensor.stream, sensor.kind
            channels = [c for c in sensor.channels if c in df.columns]
            missing = [c for c in sensor.channels if c not in df.columns]
            if not channels:
                raise ImportFormatError(
                    where,
                    f"none of the columns {', '.join(sensor.channels)}",
                    line=1,
                    expected=f"the {stem} columns of Sensor Logger",
                )
            if missing and key in COMPLETE:
                raise ImportFormatError(
                    where,
                    f"missing {'columns' if len(missing) > 1 else 'column'} {', '.join(missing)}",
                    line=1,
                    expected=", ".join(sensor.channels),
                )
            unit_list = [sensor.unit(c) for c in channels]
            if key == "wristmotion" and standardised:
                unit_list = ["m/s^2" if u == "g" else u for u in unit_list]
        else:
            name, kind = _stream_name(stem), ""
            channels = [c for c in cols if _is_numeric_column(df[c])]
            if len(channels) != len(cols) or not channels:
                return None
            unit_list = [""] * len(channels)
        watch = sensor.watch if sensor is not None else key.startswith(("watch", "wrist"))
        values = np.stack([_numbers(where, df, c) for c in channels], axis=1)
        checked = check_values(where, values, stream=name, kind=kind, units=unit_list, locate=line_of_row(2))
        if checked.note:
            notes.append(checked.note)
        order = np.argsort(t_ns, kind="stable")
        t_sorted, v_sorted = t_ns[order], checked.values[order]
        keep = np.ones(len(order), dtype=bool)
        same_t = np.flatnonzero(np.diff(t_sorted) == 0) + 1
        if len(same_t):
            keep[same_t] = ~np.all(v_sorted[same_t] == v_sorted[same_t - 1], axis=1)
        dropped = int((~keep).sum())
        if dropped:
            extra[f"duplicates_dropped_{name}"] = str(dropped)
        if not np.all(order[1:] > order[:-1]):
            extra[f"rows_reordered_{name}"] = "true"
        t = (t_sorted[keep] - t0).astype(np.float64) * 1e-9
        period = median_period(t)
        flags = gap_flags(t, period)
        flags[checked.suspect[order][keep]] |= FLAG_SUSPECT
        return Stream.from_arrays(
            name,
            t,
            v_sorted[keep],
            channels,
            unit_list,
            rate_hz=nominal_rate(period),
            flags=flags,
            kind=kind,
            device="watch" if watch else "",
            attrs={"source_file": PurePosixPath(str(where).split("!")[-1]).name},
        )

    def _annotations(self, where: Path, df: pd.DataFrame, t_ns: np.ndarray | None, t0: int) -> list[Segment]:
        if t_ns is None or not len(df):
            return []
        texts = (
            df["text"].to_numpy(dtype=object) if "text" in df.columns else np.full(len(df), "", dtype=object)
        )
        press = (
            df["millisecond_press_duration"].to_numpy(dtype=object)
            if "millisecond_press_duration" in df.columns
            else np.full(len(df), "", dtype=object)
        )
        segs = []
        for i in range(len(df)):
            t = (int(t_ns[i]) - t0) * 1e-9
            label = str(texts[i]).strip() or "annotation"
            note = f"pressed {press[i]} ms" if str(press[i]).strip() else ""
            segs.append(Segment(t, t, label, source="recorded", note=note))
        return segs


__all__ = ["SensorLoggerImporter"]
