"""Fitbit account export / Google Takeout (folder or zip) and Web API intraday heart rate.

These exports hold **no raw motion data**: no accelerometer, no gyroscope. What they
do hold becomes low-rate context for a timeline (``shared/reference/fitbit-formats.md``
§5b, §5c):

* ``heart_rate-YYYY-MM-DD.json`` (``MM/DD/YY HH:MM:SS`` in UTC, one file per *local* day)
  and the newer ``heart_rate_YYYY-MM-DD.csv`` (ISO 8601 with ``Z``) → stream
  ``heart_rate`` (bpm; confidence 0 is flagged suspect);
* per-minute ``steps-*.json`` (UTC, the value is a string) → stream ``steps``;
* ``sleep-*.json`` stages (naive *local* ISO times: the zone comes from ``--timezone``,
  else UTC with a warning) and ``exercise-*.json`` logs (UTC) → label track
  ``context`` (policy "overlapping"), classes ``sleep: deep`` ..., ``exercise: Walk`` ...

One export becomes one session starting at its earliest time. The Web API intraday
heart-rate JSON (times of day in the user's profile zone) is a separate importer.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from harlab.core.errors import ImportFormatError
from harlab.core.labels import Segment
from harlab.core.metadata import DeviceInfo, Metadata, SourceFile, sha256_of
from harlab.core.session import Session
from harlab.core.streams import FLAG_SUSPECT, Stream
from harlab.importers.import_support import (
    Checked,
    ReadBudget,
    check_values,
    open_zip,
    provenance,
    read_all,
    read_member,
)
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    ProgressCallback,
    head_text,
    register,
    resolve_timezone,
    warn,
)

NO_MOTION = (
    "Fitbit account exports hold no raw motion data (no accelerometer or gyroscope): "
    "this session has only heart rate, steps, sleep stages and exercise logs"
)
_DAY = r"(\d{4}-\d{2}-\d{2})"
KINDS: dict[str, re.Pattern[str]] = {
    "hr_json": re.compile(rf"^heart_rate-{_DAY}\.json$"),
    "hr_csv": re.compile(rf"^heart_rate_{_DAY}\.csv$"),
    "steps": re.compile(rf"^steps-{_DAY}\.json$"),
    "sleep": re.compile(rf"^sleep-{_DAY}\.json$"),
    "exercise": re.compile(r"^exercise-\d+\.json$"),
}
LEGACY_TIME = "%m/%d/%y %H:%M:%S"
#: Longest exercise log or sleep stage read: a week (a longer one is a corrupt record).
MAX_LOG_S = 7 * 24 * 3600
#: Times read: 1970-2100. numpy's nanosecond times silently wrap past 292 years (year 1 becomes
#: 1754), so a corrupt year must be refused before any time is subtracted from another.
EARLIEST, LATEST = np.datetime64("1970-01-01", "ns"), np.datetime64("2100-01-01", "ns")


def kind_of(name: str) -> str | None:
    for kind, rx in KINDS.items():
        if rx.match(name):
            return kind
    return None


@dataclass
class Entry:
    """One file of an export, in a folder or a zip; ``label`` is what errors show."""

    name: str
    label: Path
    read: Callable[[], bytes]


def list_entries(path: Path) -> list[Entry]:
    """The export files (of the kinds above) in a folder, a zip or a single file, sorted by name.

    All files of one folder or zip share one :class:`ReadBudget`: together they may inflate
    to no more than the import limit per input. Other members (nested zips too) are never read.
    """
    out: list[Entry] = []
    budget = ReadBudget()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and kind_of(p.name):
                out.append(Entry(p.name, p, partial(read_all, p, budget)))
    elif zipfile.is_zipfile(path):

        def reader(info: zipfile.ZipInfo, label: Path) -> Callable[[], bytes]:
            def read() -> bytes:
                try:
                    with zipfile.ZipFile(path) as z:
                        return read_member(z, info, label, budget)
                except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                    raise ImportFormatError(
                        label, f"cannot read zip member: {exc}", expected="an intact zip archive"
                    ) from exc

            return read

        with open_zip(path) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                base = info.filename.rsplit("/", 1)[-1]
                if kind_of(base) and not info.is_dir():
                    label = Path(f"{path}:{info.filename}")
                    out.append(Entry(base, label, reader(info, label)))
    elif path.is_file() and kind_of(path.name):
        out.append(Entry(path.name, path, lambda: read_all(path)))
    return out


def _load_json(entry: Entry) -> tuple[object, str]:
    raw = entry.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            entry.label, "file is not UTF-8 text", offset=exc.start, expected="a JSON array"
        ) from exc
    if not text.strip():
        raise ImportFormatError(entry.label, "file is empty", line=1, expected="a JSON array")
    nul = re.search(r"\x00|\\u0000", text)
    if nul:  # no string harlab stores can hold a NUL character
        raise ImportFormatError(
            entry.label,
            "NUL character",
            line=text.count("\n", 0, nul.start()) + 1,
            expected="JSON text without NUL characters",
        )
    try:
        data = json.loads(text, parse_constant=lambda c: _reject_constant(entry, text, c))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            entry.label, f"invalid JSON: {exc.msg}", line=exc.lineno, expected="a JSON array of records"
        ) from exc
    except RecursionError:  # arrays nested thousands deep exhaust the decoder's stack
        raise ImportFormatError(
            entry.label, "JSON nested too deeply", line=1, expected="a JSON array of records"
        ) from None
    return data, text


def _reject_constant(entry: Entry, text: str, const: str) -> float:
    pos = text.find(const)
    raise ImportFormatError(
        entry.label,
        f"{const} is not a valid value",
        line=text.count("\n", 0, pos) + 1,
        expected="a finite number",
    )


def _line_of_item(text: str, key: str, k: int) -> int | None:
    """Line of the k-th (0-based) occurrence of ``"key"`` in ``text``: where record k starts."""
    for i, m in enumerate(re.finditer(re.escape(f'"{key}"'), text)):
        if i == k:
            return text.count("\n", 0, m.start()) + 1
    return None


def _as_list(entry: Entry, data: object) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise ImportFormatError(
            entry.label,
            f"top level is a JSON {type(data).__name__}",
            line=1,
            expected="a JSON array of records",
        )
    return data


def _fail(entry: Entry, text: str, key: str, k: int, problem: str, expected: str) -> ImportFormatError:
    return ImportFormatError(
        entry.label, f"record {k}: {problem}", line=_line_of_item(text, key, k), expected=expected
    )


def _utc_times(entry: Entry, text: str, stamps: list[object], fmt: str | None, key: str) -> np.ndarray:
    """datetime64[ns] UTC values of ``stamps``; an error naming the first unparseable one."""
    ser = pd.Series([s if isinstance(s, str) else None for s in stamps], dtype="object")
    parsed = pd.to_datetime(ser, format=fmt, utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        k = int(bad[0])
        raise _fail(
            entry,
            text,
            key,
            k,
            f"{key} {stamps[k]!r} is not a time",
            f"{key} as {'MM/DD/YY HH:MM:SS (UTC)' if fmt == LEGACY_TIME else 'ISO 8601 time'}",
        )
    times = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    outside = np.flatnonzero((times < EARLIEST) | (times >= LATEST))
    if len(outside):
        k = int(outside[0])
        raise _fail(
            entry, text, key, k, f"{key} {stamps[k]!r} is not between 1970 and 2100", "a time 1970-2100"
        )
    return times


def _number(
    entry: Entry,
    text: str,
    key: str,
    k: int,
    value: object,
    what: str,
    lo: float | None = None,
    hi: float | None = None,
) -> float:
    """``value`` as a finite number (within lo..hi when given), else an error at record k's line.

    Heart rate and steps are read with no range here: :func:`_checked` marks or refuses
    implausible ones by the table of :mod:`harlab.core.plausibility`.
    """
    expected = f"a number {lo:g}..{hi:g}" if lo is not None and hi is not None else "a number"
    try:
        if isinstance(value, bool) or value is None:
            raise ValueError
        v = float(cast(str | float, value))  # steps store their value as a string; others raise
    except (TypeError, ValueError, OverflowError):
        raise _fail(entry, text, key, k, f"{what} {value!r} is not a number", expected) from None
    if not np.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise _fail(entry, text, key, k, f"{what} is {value!r}", "a finite " + expected.removeprefix("a "))
    return v


def _checked(
    label: Path, values: np.ndarray, kind: str, unit: str, line_of: Callable[[int], int | None]
) -> Checked:
    """Heart rate or steps of one file after the plausibility check (NaN where marked)."""

    def locate(k: int) -> dict[str, int]:
        line = line_of(k)
        return {} if line is None else {"line": line}

    return check_values(label, values, stream=kind, kind=kind, units=unit, locate=locate)


@dataclass
class Collected:
    hr_t: list[np.ndarray] = field(default_factory=list)
    hr_v: list[np.ndarray] = field(default_factory=list)
    hr_conf: list[np.ndarray] = field(default_factory=list)
    steps_t: list[np.ndarray] = field(default_factory=list)
    steps_v: list[np.ndarray] = field(default_factory=list)
    segments: list[tuple[np.datetime64, np.datetime64, str, str]] = field(default_factory=list)
    hr_file_starts: list[tuple[date, np.datetime64]] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  #: what the plausibility check marked


def parse_hr_json(entry: Entry, out: Collected) -> None:
    items = _as_list(entry, (loaded := _load_json(entry))[0])
    text = loaded[1]
    stamps, bpm, conf = [], np.empty(len(items)), np.empty(len(items))
    for k, it in enumerate(items):
        if not isinstance(it, dict) or not isinstance(it.get("value"), dict):
            raise _fail(
                entry,
                text,
                "dateTime",
                k,
                "not a heart-rate record",
                '{"dateTime": "MM/DD/YY HH:MM:SS", "value": {"bpm": n, "confidence": c}}',
            )
        stamps.append(it.get("dateTime"))
        bpm[k] = _number(entry, text, "dateTime", k, it["value"].get("bpm"), "bpm")
        conf[k] = _number(entry, text, "dateTime", k, it["value"].get("confidence", -1), "confidence", -1, 3)
    t = _utc_times(entry, text, stamps, LEGACY_TIME, "dateTime")
    checked = _checked(entry.label, bpm, "heart_rate", "bpm", lambda k: _line_of_item(text, "dateTime", k))
    out.notes += [checked.note] if checked.note else []
    out.hr_t.append(t)
    out.hr_v.append(checked.values[:, 0].astype(np.float64))
    out.hr_conf.append(conf)
    m = KINDS["hr_json"].match(entry.name)
    if m and len(t):
        out.hr_file_starts.append((date.fromisoformat(m[1]), t.min()))


def parse_hr_csv(entry: Entry, out: Collected) -> None:
    raw = entry.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            entry.label, "file is not UTF-8 text", offset=exc.start, expected="CSV text"
        ) from exc
    lines = text.splitlines()
    header = [h.strip().lower() for h in lines[0].split(",")] if lines else []
    if header[:2] != ["timestamp", "beats per minute"] or len(header) > 3:
        raise ImportFormatError(
            entry.label,
            f"unexpected header {lines[0][:80] if lines else ''!r}",
            line=1,
            expected="'timestamp,beats per minute' or 'timestamp,beats per minute,data source'",
        )
    stamps, bpm, line_nos = [], [], []
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(header):
            raise ImportFormatError(
                entry.label,
                f"{len(fields)} fields",
                line=no,
                expected=f"{len(header)} fields like the header",
            )
        try:
            v = float(fields[1])
        except ValueError:
            raise ImportFormatError(
                entry.label,
                f"beats per minute {fields[1][:40]!r} is not a number",
                line=no,
                expected="a number",
            ) from None
        if not np.isfinite(v):
            raise ImportFormatError(
                entry.label, f"beats per minute is {fields[1]!r}", line=no, expected="a finite number"
            )
        ts = pd.to_datetime(fields[0].strip(), utc=True, errors="coerce", format="ISO8601")
        if pd.isna(ts) or not EARLIEST <= ts.tz_localize(None).to_datetime64() < LATEST:
            raise ImportFormatError(
                entry.label,
                f"timestamp {fields[0][:40]!r} is not a time",
                line=no,
                expected="ISO 8601 with Z from 1970 to 2100, e.g. 2024-10-27T00:00:04Z",
            )
        stamps.append(ts.tz_localize(None).to_datetime64())
        bpm.append(v)
        line_nos.append(no)
    checked = _checked(entry.label, np.asarray(bpm, float), "heart_rate", "bpm", lambda k: line_nos[k])
    out.notes += [checked.note] if checked.note else []
    out.hr_t.append(np.asarray(stamps, "datetime64[ns]"))
    out.hr_v.append(checked.values[:, 0].astype(np.float64))
    out.hr_conf.append(np.full(len(bpm), -1.0))


def parse_steps(entry: Entry, out: Collected) -> None:
    data, text = _load_json(entry)
    items = _as_list(entry, data)
    stamps, vals = [], np.empty(len(items))
    for k, it in enumerate(items):
        if not isinstance(it, dict):
            raise _fail(
                entry,
                text,
                "dateTime",
                k,
                "not a steps record",
                '{"dateTime": "MM/DD/YY HH:MM:SS", "value": "n"}',
            )
        stamps.append(it.get("dateTime"))
        vals[k] = _number(entry, text, "dateTime", k, it.get("value"), "steps")
    out.steps_t.append(_utc_times(entry, text, stamps, LEGACY_TIME, "dateTime"))
    checked = _checked(entry.label, vals, "steps", "steps/min", lambda k: _line_of_item(text, "dateTime", k))
    out.notes += [checked.note] if checked.note else []
    out.steps_v.append(checked.values[:, 0].astype(np.float64))


def _local_to_utc(value: object, tz: ZoneInfo) -> np.datetime64:
    naive = datetime.fromisoformat(str(value))
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=tz)
    if not 1970 <= naive.year < 2100:
        raise ValueError(f"{value!r} is not between 1970 and 2100")
    return np.datetime64(naive.astimezone(UTC).replace(tzinfo=None), "ns")


def parse_sleep(entry: Entry, out: Collected, tz: ZoneInfo) -> None:
    data, text = _load_json(entry)
    for k, log in enumerate(_as_list(entry, data)):
        try:
            start = _local_to_utc(log["startTime"], tz)
            end = _local_to_utc(log["endTime"], tz)
            levels = (log.get("levels") or {}).get("data") or []
            stages = []
            for d in levels:
                s = _local_to_utc(d["dateTime"], tz)
                secs = float(d["seconds"])
                if not np.isfinite(secs) or not 0 <= secs <= MAX_LOG_S:
                    raise ValueError(f"seconds {d['seconds']!r} (at most a week)")
                stages.append((s, s + np.timedelta64(int(round(secs * 1000)), "ms"), f"sleep: {d['level']}"))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise _fail(
                entry,
                text,
                "startTime",
                k,
                f"bad sleep log ({exc})",
                "startTime/endTime as local ISO times and levels.data [{dateTime, level, seconds}]",
            ) from None
        if end < start:
            raise _fail(entry, text, "startTime", k, "endTime is before startTime", "endTime ≥ startTime")
        note = f"logId {log.get('logId', '?')}, {log.get('type', '')}"
        if stages:
            out.segments.extend((s, e, label, note) for s, e, label in stages)
        else:
            out.segments.append((start, end, "sleep", note))


def parse_exercise(entry: Entry, out: Collected) -> None:
    data, text = _load_json(entry)
    for k, log in enumerate(_as_list(entry, data)):
        try:
            start = np.datetime64(datetime.strptime(log["startTime"], LEGACY_TIME), "ns")
            ms = float(log["duration"])
            if not np.isfinite(ms) or not 0 <= ms <= MAX_LOG_S * 1000:
                raise ValueError(f"duration {log['duration']!r} (at most a week)")
            name = str(log["activityName"]).strip() or "exercise"
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise _fail(
                entry,
                text,
                "startTime",
                k,
                f"bad exercise log ({exc})",
                "activityName, startTime 'MM/DD/YY HH:MM:SS' (UTC) and duration in ms",
            ) from None
        end = start + np.timedelta64(int(round(ms)), "ms")
        out.segments.append((start, end, f"exercise: {name}", f"logId {log.get('logId', '?')}"))


def offset_hint(out: Collected) -> timedelta | None:
    """The UTC offset implied by heart-rate files starting at local midnight, if files agree.

    Each legacy heart-rate file covers one local day, so its first sample is usually a
    few seconds after local midnight; the most common such offset is the user's zone.
    """
    offsets = []
    for day, first in out.hr_file_starts:
        midnight = np.datetime64(day, "ns")
        delta = (midnight - first) / np.timedelta64(1, "s")  # local = utc + offset
        q = round(delta / 900) * 900
        if abs(delta - q) < 120 and abs(q) <= 14 * 3600:
            offsets.append(q)
    if not offsets:
        return None
    values, counts = np.unique(offsets, return_counts=True)
    return timedelta(seconds=float(values[int(np.argmax(counts))]))


def _fmt_offset(td: timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _merge(
    ts: list[np.ndarray], vs: list[np.ndarray], cs: list[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    t = np.concatenate(ts) if ts else np.empty(0, "datetime64[ns]")
    v = np.concatenate(vs) if vs else np.empty(0)
    c = np.concatenate(cs) if cs else np.full(len(t), -1.0)
    order = np.argsort(t, kind="stable")
    t, v, c = t[order], v[order], c[order]
    keep = np.r_[True, t[1:] != t[:-1]] if len(t) else np.empty(0, bool)
    return t[keep], v[keep], c[keep], int((~keep).sum())


def build_context_session(
    out: Collected,
    path: Path,
    options: ImportOptions,
    importer: str,
    tz_name: str,
    sources: list[SourceFile],
) -> Session:
    hr_t, hr_v, hr_c, hr_dups = _merge(out.hr_t, out.hr_v, out.hr_conf)
    st_t, st_v, _, st_dups = _merge(out.steps_t, out.steps_v)
    firsts = [a[0] for a in (hr_t, st_t) if len(a)] + [s[0] for s in out.segments]
    t0 = min(firsts).astype("datetime64[s]")  # whole second: session times are offsets from it
    start = datetime.fromisoformat(str(t0)).replace(tzinfo=UTC)
    metadata = Metadata(
        participant_id=options.participant or "",
        devices=[DeviceInfo(name="fitbit", model="Fitbit (account export)", placement="wrist")],
        timezone=tz_name,
        start_utc=start,
        provenance=provenance(importer, []),
        extra={"raw_motion": "none", "files": json.dumps(out.files)},
    )
    metadata.provenance.sources = sources

    def rel(t: np.ndarray) -> np.ndarray:
        return (t - t0.astype("datetime64[ns]")) / np.timedelta64(1, "s")

    session = Session(metadata)
    if len(hr_t):
        flags = np.where((hr_c == 0) | np.isnan(hr_v), FLAG_SUSPECT, 0).astype(np.uint8)
        session.add_stream(
            Stream.from_arrays(
                "heart_rate",
                rel(hr_t),
                hr_v[:, None],
                ["bpm"],
                "bpm",
                None,
                flags=flags,
                kind="heart_rate",
                device="fitbit",
            )
        )
    if len(st_t):
        session.add_stream(
            Stream.from_arrays(
                "steps",
                rel(st_t),
                st_v[:, None],
                ["steps"],
                "steps/min",
                1 / 60,
                flags=np.where(np.isnan(st_v), FLAG_SUSPECT, 0).astype(np.uint8),
                kind="steps",
                device="fitbit",
            )
        )
    if out.segments:
        track = session.label_track("context", "overlapping")
        track.description = "sleep stages and exercise logs from the Fitbit account export"
        segs = sorted(out.segments, key=lambda s: (s[0], s[1]))
        for _, _, label, _ in segs:
            session.schema.ensure(label)
        track.add_many(
            [
                Segment(
                    float(rel(np.array([s]))[0]),
                    float(rel(np.array([e]))[0]),
                    label,
                    annotator="Fitbit",
                    source="imported",
                    note=note,
                )
                for s, e, label, note in segs
            ]
        )
    warn(session, NO_MOTION)
    for note in out.notes:
        warn(session, note)
    if hr_dups or st_dups:
        warn(
            session,
            f"dropped {hr_dups} heart-rate and {st_dups} steps samples that repeat a timestamp "
            "(the same data in two files of the export)",
        )
    return session


@register
class FitbitTakeoutImporter(Importer):
    """A Fitbit account archive or Google Takeout, as a folder or zip (no raw motion data)."""

    name = "fitbit_takeout"
    description = (
        "Fitbit account export / Google Takeout (folder or .zip): heart rate, steps, sleep "
        "stages and exercise logs as low-rate streams and a 'context' label track. "
        "Holds NO raw motion data"
    )
    patterns = (
        "*.zip",
        "heart_rate-*.json",
        "heart_rate_*.csv",
        "steps-*.json",
        "sleep-*.json",
        "exercise-*.json",
    )
    accepts_directories = True

    def sniff(self, path: Path) -> float:
        if path.is_dir() or zipfile.is_zipfile(path):
            try:
                return 0.9 if list_entries(path) else 0.0
            except ImportFormatError:
                return 0.0
        if kind_of(path.name):
            head = head_text(path, 64).lstrip("\ufeff \r\n\t")
            return 0.8 if head.startswith("[") or head.lower().startswith("timestamp,") else 0.3
        return 0.0

    def expand(self, path: Path) -> list[Path]:
        """Inputs below a folder: the export folder (the common ancestor of its export files) and zips.

        Claiming only the common ancestor leaves other recordings beside the export to
        their own importers.
        """
        found: list[Path] = []
        files = [p for p in path.rglob("*") if p.is_file() and kind_of(p.name)]
        if files:
            root = Path(os.path.commonpath([str(p.parent) for p in files]))
            found.append(root)
        for z in sorted(path.rglob("*.zip")):
            if z.is_file() and not any(r in z.parents for r in found) and self.sniff(z) > 0:
                found.append(z)
        return found

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        entries = list_entries(path)
        if not entries:
            raise ImportFormatError(
                path,
                "no Fitbit export files found",
                expected="heart_rate-*.json, heart_rate_*.csv, steps-*.json, sleep-*.json or exercise-*.json",
            )
        tz_name, tz_warning = resolve_timezone(options)
        tz = ZoneInfo(tz_name)
        out = Collected()
        for i, entry in enumerate(entries):
            kind = kind_of(entry.name)
            if kind == "hr_json":
                parse_hr_json(entry, out)
            elif kind == "hr_csv":
                parse_hr_csv(entry, out)
            elif kind == "steps":
                parse_steps(entry, out)
            elif kind == "sleep":
                parse_sleep(entry, out, tz)
            elif kind == "exercise":
                parse_exercise(entry, out)
            out.files[kind or "?"] = out.files.get(kind or "?", 0) + 1
            if progress:
                progress((i + 1) / len(entries), entry.name)
        if not (out.hr_t and sum(map(len, out.hr_t))) and not out.steps_t and not out.segments:
            raise ImportFormatError(
                path,
                "the export files hold no samples or logs",
                expected="at least one heart-rate, steps, sleep or exercise record",
            )
        if path.is_dir():
            sources = [SourceFile(str(e.label), sha256_of(e.label), e.label.stat().st_size) for e in entries]
        else:
            sources = [SourceFile.of(path)]
        session = build_context_session(out, path, options, self.name, tz_name, sources)
        hint = offset_hint(out)
        has_sleep = out.files.get("sleep", 0) > 0
        if tz_warning and has_sleep:
            msg = "no timezone given: sleep times (local in the export) were taken as UTC"
            if hint is not None:
                msg += f"; the heart-rate files start at local midnight of {_fmt_offset(hint)}"
            warn(session, msg + " (pass --timezone)")
        elif options.timezone and hint is not None and out.hr_file_starts:
            day = out.hr_file_starts[0][0]
            actual = datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset()
            if actual is not None and actual != hint:
                warn(
                    session,
                    f"--timezone {tz_name} is {_fmt_offset(actual)}, but the heart-rate files "
                    f"start at local midnight of {_fmt_offset(hint)}; check the timezone",
                )
        return [session]


def _iter_dataset(entry_label: Path, data: dict[str, Any]) -> Iterator[tuple[int, object, object]]:
    intraday = data.get("activities-heart-intraday")
    if not isinstance(intraday, dict) or not isinstance(intraday.get("dataset"), list):
        raise ImportFormatError(
            entry_label,
            "no activities-heart-intraday.dataset list",
            line=1,
            expected="a Web API intraday heart-rate response",
        )
    for k, item in enumerate(intraday["dataset"]):
        if not isinstance(item, dict):
            raise ImportFormatError(
                entry_label,
                f"dataset item {k} is not an object",
                expected='{"time": "HH:MM:SS", "value": bpm}',
            )
        yield k, item.get("time"), item.get("value")


@register
class FitbitWebApiHeartRateImporter(Importer):
    """The Fitbit Web API intraday heart-rate JSON (``activities-heart-intraday``)."""

    name = "fitbit_webapi_hr"
    description = (
        "Fitbit Web API intraday heart-rate JSON; times of day in the user's profile timezone "
        "(--timezone), date from activities-heart or the file name. No raw motion data"
    )
    patterns = ("*.json",)

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        head = head_text(path, 4096)
        return 0.95 if head.lstrip("\ufeff \r\n\t").startswith("{") and "activities-heart" in head else 0.0

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        entry = Entry(path.name, path, lambda: read_all(path))
        data, text = _load_json(entry)
        if not isinstance(data, dict):
            raise ImportFormatError(
                path,
                f"top level is a JSON {type(data).__name__}",
                line=1,
                expected="a JSON object with activities-heart-intraday",
            )
        day = self._date(path, data, options)
        tz_name, tz_warning = resolve_timezone(options)
        tz = ZoneInfo(tz_name)
        times: list[datetime] = []
        bpm: list[float] = []
        current = day
        previous: str | None = None
        for k, t, v in _iter_dataset(path, data):

            def bad(problem: str, expected: str, k: int = k) -> ImportFormatError:
                # the line is looked up only for the message: per item it would cost minutes on a day
                return ImportFormatError(
                    path,
                    f"dataset item {k}: {problem}",
                    line=_line_of_item(text, "time", k),
                    expected=expected,
                )

            if not isinstance(t, str) or not re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", t):
                raise bad(f"time {t!r}", "a time of day HH:MM:SS")
            try:
                if previous is not None and t < previous:
                    current += timedelta(days=1)  # the range crossed midnight
                previous = t
                local = datetime.combine(
                    current, datetime.strptime(t, "%H:%M:%S" if t.count(":") == 2 else "%H:%M").time(), tz
                )
            except (ValueError, OverflowError):
                raise bad(f"time {t!r}", "a valid time of day") from None
            try:
                if isinstance(v, bool):
                    raise TypeError
                value = float(v)  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                raise bad(f"value {v!r} is not a number", "heart rate in bpm") from None
            if not np.isfinite(value):
                raise bad(f"value {v!r}", "a finite heart rate in bpm")
            times.append(local.astimezone(UTC))
            bpm.append(value)
        if not times:
            raise ImportFormatError(
                path, "the intraday dataset is empty", line=1, expected="at least one {time, value} sample"
            )
        checked = _checked(
            path, np.asarray(bpm), "heart_rate", "bpm", lambda k: _line_of_item(text, "time", k)
        )
        start = times[0].replace(microsecond=0)
        rel = np.array([(t - start).total_seconds() for t in times])
        intraday = data["activities-heart-intraday"]
        rate = 1 / 60 if intraday.get("datasetType") == "minute" else None
        metadata = Metadata(
            participant_id=options.participant or "",
            devices=[DeviceInfo(name="fitbit", model="Fitbit (Web API)", placement="wrist")],
            timezone=tz_name,
            start_utc=start,
            provenance=provenance(self.name, [path]),
            extra={"raw_motion": "none", "date": day.isoformat()},
        )
        session = Session(metadata)
        session.add_stream(
            Stream.from_arrays(
                "heart_rate",
                rel,
                checked.values,
                ["bpm"],
                "bpm",
                rate,
                flags=checked.flags(),
                kind="heart_rate",
                device="fitbit",
            )
        )
        if checked.note:
            warn(session, checked.note)
        warn(session, "the Fitbit Web API holds no raw motion data: this session has heart rate only")
        if tz_warning:
            warn(
                session,
                "no timezone given: the times of day (the user's profile zone) were taken as UTC "
                "(pass --timezone)",
            )
        return [session]

    @staticmethod
    def _date(path: Path, data: dict[str, Any], options: ImportOptions) -> date:
        def day(text: str, where: str) -> date:
            try:
                found = date.fromisoformat(text)
            except ValueError:
                found = None
            if found is None or not 1970 <= found.year <= 2100:
                raise ImportFormatError(
                    path,
                    f"{where} {text[:40]!r} is not a date",
                    line=1,
                    expected="a date YYYY-MM-DD from 1970 to 2100",
                )
            return found

        given = options.extra.get("date")
        if given:
            return day(str(given), "the date option")
        summary = data.get("activities-heart")
        if isinstance(summary, list) and summary and isinstance(summary[0], dict):
            text = str(summary[0].get("dateTime", ""))
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return day(text, "activities-heart[0].dateTime")
        m = re.search(r"\d{4}-\d{2}-\d{2}", path.name)
        if m:
            return day(m[0], "the date in the file name")
        raise ImportFormatError(
            path,
            "the response does not say which day it covers",
            line=1,
            expected="activities-heart[0].dateTime as YYYY-MM-DD, a date in the file name, "
            "or options.extra['date']",
        )
