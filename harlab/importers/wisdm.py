"""WISDM 2019 raw files: ``data_<subject>_<accel|gyro>_<watch|phone>.txt[.gz]``.

Format (``../shared/reference/datasets.md`` section 4.1, measured on the real files):
``1600,A,90426708196641,7.091625,-0.5916671,8.195502;`` - subject, activity letter
(A-S without N), integer nanoseconds of *device uptime* (not Unix time, whatever the
dataset README says), x, y, z as Java float text (``-5.1665324E-4``), every line ending
in ``;``. Blocks are sorted by activity letter, not by time.

What the importer makes of it, and why:

* One session per subject and device. The accelerometer and gyroscope files are
  found as partners of each other and become two streams on **one clock** (the
  uptime of the first sample of the session is time zero). The gyroscope ticks are a
  subset of the accelerometer ticks (checked, and reported in ``metadata.extra``), so a
  joined 6-channel view is an exact inner join on time; nothing is resampled.
* Rows are sorted by time, so the session is the real recording order.
* ``start_utc`` stays ``None``: an uptime clock cannot be turned into a date.
* Each activity block (a run of one letter in the file) becomes one segment on the
  ``activity`` track, from its first sample to its last sample plus the stream's median
  sample period, so segments cover their samples half-open.
* Subject 1649's error (the last 1 160 rows of block M are exact copies, timestamps
  and values, of the first rows of block O): rows that repeat exactly across blocks
  are kept once: in the block they join without a pause (under 1 s; a copy that sits
  after a jump in time is the misfiled one); if that holds for both (1649), in the
  block they *open*, because a block that ends with another block's opening rows is a
  recording that ran over into the next one. So 1649 keeps them in O ("catch"),
  which gets its 180 s back, and M ("kicking") loses its 58 s tail (it keeps its real
  56.7 s gap). Exact repeats inside one block are kept once. The counts go into
  ``metadata.extra`` (``duplicates_dropped_<stream>``) and an import warning. Equal
  times with different values are kept and flagged ``FLAG_DUPLICATE``.
* The rate is measured (median spacing), never assumed: 20 Hz nominal, with 101 Hz
  bursts and gaps marked ``FLAG_GAP_BEFORE``; subject 1637's gyroscope runs at 24.8 Hz.
* Units: accelerometer m/s^2 including gravity, gyroscope rad/s (datasets.md 4.1.10).

Lines without the trailing ``;`` and CRLF endings (a re-saved copy circulates) are read
too. The fast path decompresses in one call (ISA-L) and hands the text to
pyarrow's multi-threaded CSV reader (pandas' C parser when pyarrow is absent) with strict
dtypes; only a file that fails is walked line by line to name the line.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from harlab.core.errors import ImportFormatError
from harlab.core.labels import LabelTrack, Segment
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.session import Session
from harlab.core.streams import FLAG_DUPLICATE, FLAG_SUSPECT, Stream, median_period
from harlab.importers.import_support import (
    check_ascii,
    check_values,
    claim_root,
    distinct_names,
    finite_number,
    gap_flags,
    line_of_row,
    nominal_rate,
    provenance,
    read_all,
)
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    ProgressCallback,
    head_bytes,
    register,
    warn,
)
from harlab.labeling.schema_presets import PRESETS

NAME_RE = re.compile(r"^data_(\d+)_(accel|gyro)_(watch|phone)\.txt(\.gz)?$")
LINE_RE = re.compile(rb"^\d+,[A-Z],-?\d+,[-+0-9.eE]+,[-+0-9.eE]+,[-+0-9.eE]+;?\r?$")

CODES = "ABCDEFGHIJKLMOPQRS"  #: 18 activity letters, N is not used
#: activity_key.txt of the dataset, used when that file is not found near the data
BUILTIN_NAMES = {
    "A": "walking",
    "B": "jogging",
    "C": "stairs",
    "D": "sitting",
    "E": "standing",
    "F": "typing",
    "G": "teeth",
    "H": "soup",
    "I": "chips",
    "J": "pasta",
    "K": "drinking",
    "L": "sandwich",
    "M": "kicking",
    "O": "catch",
    "P": "dribbling",
    "Q": "writing",
    "R": "clapping",
    "S": "folding",
}
SENSORS = {
    "accel": ("accelerometer", "accelerometer", "m/s^2"),
    "gyro": ("gyroscope", "gyroscope", "rad/s"),
}
DEVICES = {
    "watch": DeviceInfo(name="watch", model="LG G Watch (Android Wear 1.5)", placement="dominant wrist"),
    "phone": DeviceInfo(name="phone", model="Android phone (WISDM 2019)", placement="trouser pocket"),
}
_COLS = ["subject", "activity", "t", "x", "y", "z"]
_DTYPES = {
    "subject": np.int64,
    "activity": "category",
    "t": np.int64,
    "x": np.float64,
    "y": np.float64,
    "z": np.float64,
}


@dataclass
class WisdmFile:
    """One parsed, validated file: arrays in file order."""

    path: Path
    sensor: str  # "accel" or "gyro"
    subject: int
    t: np.ndarray  # int64 ns of uptime
    code: np.ndarray  # uint8 index into CODES
    xyz: np.ndarray  # (N, 3) float32, implausible values NaN
    suspect: np.ndarray  # (N,) bool: rows with a value marked implausible
    note: str = ""  # what was marked, for the import report


# -- parsing ---------------------------------------------------------------------------


def _columns_arrow(
    data: bytes,
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, list[np.ndarray]] | None:
    """(subject, activity codes, activity letters, t, [x, y, z]) with pyarrow's multi-threaded
    CSV reader, or None when pyarrow refuses the text (then pandas decides)."""
    import pyarrow as pa  # imported here: only WISDM reads need it, and it takes a while to load
    import pyarrow.csv as pacsv

    types = {
        "subject": pa.int64(),
        "activity": pa.dictionary(pa.int32(), pa.string()),
        "t": pa.int64(),
        "x": pa.float64(),
        "y": pa.float64(),
        "z": pa.float64(),
    }
    try:
        tab = pacsv.read_csv(
            pa.py_buffer(data.replace(b";", b"")),  # the line terminator ';' is no value of its own
            read_options=pacsv.ReadOptions(column_names=_COLS),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=False,
                null_values=[],
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    if tab.num_rows == 0 or any(tab.column(c).null_count for c in _COLS):
        return None
    act = tab.column("activity").combine_chunks()
    letters = [str(v) for v in act.dictionary.to_pylist()]
    codes = act.indices.to_numpy(zero_copy_only=False)
    return (
        tab.column("subject").to_numpy(),
        codes,
        letters,
        tab.column("t").to_numpy(),
        [tab.column(c).to_numpy() for c in ("x", "y", "z")],
    )


def _columns_pandas(
    path: Path, data: bytes
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, list[np.ndarray]]:
    try:
        with warnings.catch_warnings():
            # a non-integer in an integer column warns before it raises; the raise is what counts
            warnings.simplefilter("ignore", RuntimeWarning)
            df = pd.read_csv(
                io.BytesIO(data),
                header=None,
                names=_COLS,
                dtype=_DTYPES,
                comment=";",
                skip_blank_lines=False,
                engine="c",
                na_filter=False,  # "NaN" text fails here, then named
                low_memory=False,  # one pass over the whole text: ~10 % faster for these sizes
            )
    except (ValueError, pd.errors.ParserError, OverflowError, UnicodeDecodeError) as exc:
        _diagnose(path, data, str(exc))
    if len(df) == 0:
        _diagnose(path, data, "no rows")
    if df["activity"].isna().any():
        _diagnose(path, data, "missing activity code")
    cat = df["activity"].cat
    return (
        df["subject"].to_numpy(),
        cat.codes.to_numpy(),
        [str(c) for c in cat.categories],
        df["t"].to_numpy(),
        [df[c].to_numpy() for c in ("x", "y", "z")],
    )


def parse_file(path: Path, sensor: str) -> WisdmFile:
    """Read and validate one raw file with a fast columnar parser and strict dtypes (pyarrow's
    multi-threaded reader, else pandas' C parser); only when something is wrong is the text
    walked line by line to say where and what."""
    data = read_all(path)
    cols_ = _columns_arrow(data) or _columns_pandas(path, data)
    subject, act_codes, letters, t, cols = cols_
    if not all(np.isfinite(c).all() for c in cols):  # NaN, inf or a missing field: say which
        _diagnose(path, data, "x, y or z is not a finite number")
    xyz = np.empty((len(t), 3), dtype=np.float32)  # what the stream stores; half the copying
    with np.errstate(over="ignore"):  # overflow becomes inf, reported just below
        for j, c in enumerate(cols):
            xyz[:, j] = c
    if not np.isfinite(xyz).all():
        row = int(np.flatnonzero(~np.isfinite(xyz).all(axis=1))[0])
        raise ImportFormatError(
            path, "a value is beyond the float32 range", line=row + 1, expected="|value| < 3.4e38"
        )
    unknown = [c for c in letters if c not in CODES]
    if unknown:
        bad = np.isin(act_codes, [letters.index(c) for c in unknown])
        row = int(np.flatnonzero(bad)[0])
        raise ImportFormatError(
            path,
            f"unknown activity code {letters[act_codes[row]]!r}",
            line=row + 1,
            expected="one of the letters A-S except N",
        )
    lut = np.array([CODES.index(c) for c in letters], dtype=np.uint8)
    code = lut[act_codes]
    if np.any(subject != subject[0]):
        row = int(np.flatnonzero(subject != subject[0])[0])
        raise ImportFormatError(
            path,
            f"subject {subject[row]} in a file of subject {subject[0]}",
            line=row + 1,
            expected="one subject per file",
        )
    if np.any(t < 0):
        row = int(np.flatnonzero(t < 0)[0])
        raise ImportFormatError(path, "negative timestamp", line=row + 1, expected="uptime nanoseconds >= 0")
    name, kind, unit = SENSORS[sensor]
    checked = check_values(path, xyz, stream=name, kind=kind, units=unit, locate=line_of_row(1))
    return WisdmFile(path, sensor, int(subject[0]), t, code, checked.values, checked.suspect, checked.note)


def _diagnose(path: Path, data: bytes, why: str) -> None:
    """Find the first bad line after the fast parser refused the file; always raises."""
    if not data or (len(data) < 4096 and not data.strip()):
        raise ImportFormatError(path, "file is empty", expected="subject,activity,timestamp,x,y,z; lines")
    check_ascii(path, data)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r")
        if not line.strip():
            raise ImportFormatError(path, "empty line", line=i, expected="subject,activity,timestamp,x,y,z;")
        fields = line.rstrip(b";").split(b",")
        if len(fields) != 6:
            raise ImportFormatError(
                path,
                f"{len(fields)} comma-separated fields",
                line=i,
                expected="6 fields: subject,activity,timestamp,x,y,z",
            )
        sub, act, ts, *vals = (f.decode("ascii", "replace").strip() for f in fields)
        if not sub.isdigit():
            raise ImportFormatError(
                path,
                f"subject {sub!r} is not an integer",
                line=i,
                expected="an integer subject id such as 1600",
            )
        if act not in CODES:
            raise ImportFormatError(
                path, f"unknown activity code {act!r}", line=i, expected="one of the letters A-S except N"
            )
        if not ts.lstrip("-").isdigit():
            raise ImportFormatError(
                path, f"timestamp {ts!r} is not an integer", line=i, expected="integer nanoseconds of uptime"
            )
        for what, number in (("subject", sub), ("timestamp", ts)):
            if abs(int(number)) >= 2**63:
                raise ImportFormatError(
                    path,
                    f"{what} {number[:40]} is too large",
                    line=i,
                    expected="an integer below 2^63 (int64)",
                )
        for v in vals:
            finite_number(path, v, i, example="-5.1665324E-4", finite="finite decimal numbers")
    raise ImportFormatError(
        path, f"cannot parse the file ({why})", offset=0, expected="subject,activity,timestamp,x,y,z; lines"
    )


# -- cleaning --------------------------------------------------------------------------


@dataclass
class CleanStream:
    t: np.ndarray  # int64 ns, sorted
    code: np.ndarray
    block: np.ndarray  # block index (run in file order) of each sample
    xyz: np.ndarray
    flags: np.ndarray
    dropped: int  # exact duplicate rows removed
    same_time: int  # samples sharing a time with different values (kept, flagged)
    period_s: float  # median sample spacing


def clean(f: WisdmFile) -> CleanStream:
    """Sort by time, drop exact repeats (keeping each in the block it belongs to), flag the rest."""
    n = len(f.t)
    change = np.flatnonzero(f.code[1:] != f.code[:-1]) + 1
    block = np.zeros(n, dtype=np.int32)
    block[change] = 1
    block = np.cumsum(block, dtype=np.int32)
    order = np.argsort(f.t, kind="stable")
    t = f.t[order]
    dt = np.diff(t)
    dropped = same_time = 0
    if np.any(dt == 0):  # rare (1649): the slow, careful path
        keep, same = _resolve_ties(f, order, t, block)
        order, t = order[keep], t[keep]
        dropped, same = int((~keep).sum()), same[keep]
        same_time = int(same.sum())
    period_ns = median_period(t) or 0.0
    flags = gap_flags(t, period_ns)
    if same_time:
        flags[same] |= FLAG_DUPLICATE
    flags[f.suspect[order]] |= FLAG_SUSPECT
    return CleanStream(
        t, f.code[order], block[order], f.xyz[order], flags, dropped, same_time, period_ns * 1e-9
    )


def _resolve_ties(
    f: WisdmFile, order: np.ndarray, t: np.ndarray, block: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """keep (sorted order) for rows that exactly repeat another row, and 'same time, other values'."""
    df = pd.DataFrame(
        {
            "t": t,
            "x": f.xyz[order, 0],
            "y": f.xyz[order, 1],
            "z": f.xyz[order, 2],
            "block": block[order],
            "row": order,
        }
    )
    dup = df.duplicated(["t", "x", "y", "z"], keep=False).to_numpy()
    keep = np.ones(len(df), dtype=bool)
    if dup.any():
        dist = _block_distance(f.t, block, dup_rows=set(df["row"].to_numpy()[dup].tolist()))
        sub = df[dup].copy()
        sub["dist"] = sub["block"].map(lambda b: dist[b][0]).astype(float)
        sub["apart"] = sub["dist"] > _CONTIGUOUS_NS
        sub["closes"] = sub["block"].map(lambda b: dist[b][1]).astype(bool)
        sub = sub.sort_values(["t", "apart", "closes", "dist", "row"], kind="stable")
        winners = sub.drop_duplicates(["t", "x", "y", "z"], keep="first").index
        keep[sub.index.to_numpy()] = False
        keep[winners.to_numpy()] = True
    kt = t[keep]
    same_k = np.zeros(len(kt), dtype=bool)
    eq = np.flatnonzero(np.diff(kt) == 0)
    same_k[eq] = True
    same_k[eq + 1] = True
    same = np.zeros(len(df), dtype=bool)
    same[np.flatnonzero(keep)] = same_k
    return keep, same


_CONTIGUOUS_NS = 1e9  #: repeated rows within 1 s of a block's other rows continue that block


def _block_distance(t: np.ndarray, block: np.ndarray, dup_rows: set[int]) -> dict[int, tuple[float, bool]]:
    """For each block with repeated rows: how far (ns) those rows sit from the block's other
    rows, and whether the block does *not* start with them.

    A repeated stretch that continues its block without a pause (distance ~ one sample)
    belongs there; one separated by a jump in time is the misfiled copy.
    """
    out: dict[int, tuple[float, bool]] = {}
    is_dup = np.zeros(len(t), dtype=bool)
    is_dup[list(dup_rows)] = True
    for b in np.unique(block[is_dup]):
        rows = np.flatnonzero(block == b)
        tb = t[rows]
        d = is_dup[rows]
        if d.all():
            out[int(b)] = (float("inf"), True)
            continue
        order = np.argsort(tb, kind="stable")
        tb, d = tb[order], d[order]
        # pauses at the boundaries between duplicated and original samples
        edge = np.flatnonzero(d[1:] != d[:-1])
        gap = float(np.min(np.abs(tb[edge + 1] - tb[edge]))) if len(edge) else float("inf")
        out[int(b)] = (gap, not bool(d[0]))
    return out


# -- activity names ----------------------------------------------------------------------


def find_activity_key(path: Path, levels: int = 5) -> Path | None:
    for parent in list(path.parents)[:levels]:
        cand = parent / "activity_key.txt"
        if cand.is_file():
            return cand
    return None


def read_activity_key(path: Path) -> dict[str, str]:
    """``walking = A`` lines; the file ends with an empty line."""
    text = read_all(path).decode("latin-1")
    names: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, code = line.partition("=")
        code, name = code.strip(), name.strip()
        if not sep or code not in CODES or not name or not name.isprintable():
            raise ImportFormatError(
                path, f"cannot read {line.strip()!r}", line=i, expected="'<name> = <letter A-S>'"
            )
        names[code] = name
    return names


# -- the importer ------------------------------------------------------------------------


def split_name(path: Path) -> tuple[int, str, str] | None:
    m = NAME_RE.match(path.name)
    return (int(m.group(1)), m.group(2), m.group(3)) if m else None


def partner_of(path: Path) -> Path | None:
    """The gyroscope file of an accelerometer file and vice versa: same folder or the sibling folder."""
    parts = split_name(path)
    if parts is None:
        return None
    sid, sensor, device = parts
    other = "gyro" if sensor == "accel" else "accel"
    stem = f"data_{sid}_{other}_{device}.txt"
    folders = [path.parent]
    if path.parent.name == sensor:
        folders.append(path.parent.parent / other)
    for folder in folders:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("data_*") if p.is_file() and NAME_RE.match(p.name))


@register
class WisdmImporter(Importer):
    name = "wisdm"
    description = "WISDM 2019 raw accelerometer/gyroscope files (data_<subject>_<accel|gyro>_<device>.txt)"
    patterns = ("data_*_accel_*.txt", "data_*_gyro_*.txt")
    accepts_directories = True

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.9 if _data_files(path) else 0.0
        head = head_bytes(path, 2048)
        first = head.split(b"\n", 1)[0]
        if not LINE_RE.match(first):
            return 0.0
        return 0.95 if self.matches_name(path) else 0.7

    def expand(self, path: Path) -> list[Path]:
        """The dataset folder below ``path`` as one input (read gives one session per subject and
        device), so the partner files and the dataset's README are not imported again on their own."""
        files = _data_files(path)
        return [claim_root(path, files, "activity_key.txt")] if files else []

    def dataset_inputs(self, folder: Path) -> tuple[list[Path], list[Path]]:
        return self.pair_inputs(folder), self.expand(folder)

    def main_files(self, path: Path) -> list[Path] | None:
        """A gyroscope file whose accelerometer partner exists is read with it (one session)."""
        parts = split_name(path)
        partner = partner_of(path) if parts is not None and parts[1] == "gyro" else None
        return [partner] if partner is not None else None

    def pair_inputs(self, path: Path) -> list[Path]:
        """One file per subject and device below ``path``: the accelerometer file, or the gyroscope
        file when it is alone."""
        chosen: dict[tuple[int, str], Path] = {}
        for p in _data_files(path):
            sid, sensor, device = split_name(p)  # type: ignore[misc]
            key = (sid, device)
            if key not in chosen or sensor == "accel":
                chosen[key] = p
        return [chosen[k] for k in sorted(chosen)]

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        if path.is_dir():
            inputs = self.pair_inputs(path)
            if not inputs:
                raise ImportFormatError(
                    path,
                    "no WISDM data files in this folder",
                    expected="data_<subject>_<accel|gyro>_<device>.txt[.gz]",
                )
            sessions: list[Session] = []
            for i, p in enumerate(inputs):
                sub = _scaled(progress, i / len(inputs), 1 / len(inputs))
                sessions.extend(self.read(p, options, sub))
            return sessions
        return [self._read_pair(path, options, progress)]

    def _read_pair(self, path: Path, options: ImportOptions, progress: ProgressCallback | None) -> Session:
        parts = split_name(path)
        if parts is not None:
            sid_name, sensor, device = parts
        else:  # a renamed file: the folder may still say which sensor it is
            sid_name, device = None, "watch"
            sensor = "gyro" if path.parent.name == "gyro" else "accel"
        files = {sensor: path}
        partner = partner_of(path)
        if partner is not None:
            files["gyro" if sensor == "accel" else "accel"] = partner
        parsed: dict[str, WisdmFile] = {}
        for k, (s, p) in enumerate(sorted(files.items())):
            if progress:
                progress(k / (len(files) + 1), f"reading {p.name}")
            parsed[s] = parse_file(p, s)
        subjects = {f.subject for f in parsed.values()}
        if len(subjects) != 1:
            other = parsed["gyro"]
            raise ImportFormatError(
                other.path,
                f"subject {other.subject} but its partner file holds subject {parsed['accel'].subject}",
                line=1,
                expected="the same subject in both files",
            )
        subject = subjects.pop()
        if sid_name is not None and sid_name != subject:
            raise ImportFormatError(
                path,
                f"the name says subject {sid_name}, the rows say {subject}",
                line=1,
                expected="the subject in the file name",
            )
        if progress:
            progress(len(files) / (len(files) + 1), "building session")
        names = dict(BUILTIN_NAMES)
        key_file = find_activity_key(path)
        if key_file is not None:
            names.update(read_activity_key(key_file))
            distinct_names(key_file, names, "activity letter")
        session = self._build(parsed, subject, device, names, options, key_file)
        if progress:
            progress(1.0, "done")
        return session

    def _build(
        self,
        parsed: dict[str, WisdmFile],
        subject: int,
        device: str,
        names: dict[str, str],
        options: ImportOptions,
        key_file: Path | None,
    ) -> Session:
        cleaned = {s: clean(f) for s, f in parsed.items()}
        t0 = min(int(c.t[0]) for c in cleaned.values())
        extra: dict[str, str] = {
            "dataset": "WISDM 2019",
            "subject": str(subject),
            "device": device,
            "clock": "device uptime (Android SensorEvent.timestamp), not wall time",
            "t0_uptime_ns": str(t0),
            "import_part": f"{subject}_{device}",
        }
        schema = PRESETS["wisdm"].schema({i: names[c] for i, c in enumerate(CODES)})
        meta = Metadata(
            participant_id=str(subject),  # the source's subject; --participant never renames it
            devices=[DeviceInfo(**vars(DEVICES.get(device, DeviceInfo(name=device))))],
            timezone=options.timezone or "UTC",
            start_utc=None,
            notes=f"WISDM 2019 subject {subject}, {device}; times are seconds after the first sample.",
            extra=extra,
        )
        session = Session(meta, schema)
        for s in ("accel", "gyro"):
            if s not in cleaned:
                continue
            c = cleaned[s]
            name, kind, unit = SENSORS[s]
            t = (c.t - t0).astype(np.float64) * 1e-9
            session.add_stream(
                Stream.from_arrays(
                    name,
                    t,
                    c.xyz,
                    ["x", "y", "z"],
                    unit,
                    rate_hz=nominal_rate(c.period_s),
                    flags=c.flags,
                    kind=kind,
                    device=device,
                    attrs={"source_file": parsed[s].path.name},
                )
            )
            if parsed[s].note:
                warn(session, parsed[s].note)
            if c.dropped:
                warn(
                    session,
                    f"{parsed[s].path.name}: {c.dropped} rows repeat other rows exactly "
                    "(same time and values, under another activity block); kept once",
                )
            if c.same_time:
                warn(
                    session,
                    f"{parsed[s].path.name}: {c.same_time} samples share a timestamp with "
                    "different values; kept and flagged duplicate",
                )
            extra[f"rows_{name}"] = str(len(parsed[s].t))
            extra[f"duplicates_dropped_{name}"] = str(c.dropped)
            extra[f"same_time_other_values_{name}"] = str(c.same_time)
        if "accel" in cleaned and "gyro" in cleaned:
            ta, tg = cleaned["accel"].t, cleaned["gyro"].t  # both sorted: a binary search, no hashing
            pos = np.minimum(np.searchsorted(ta, tg), len(ta) - 1)
            extra["gyro_ticks_not_in_accel"] = str(int(np.count_nonzero(ta[pos] != tg)))
            session.streams["gyroscope"].attrs["shares_clock_with"] = "accelerometer"
        primary = cleaned["accel"] if "accel" in cleaned else cleaned["gyro"]
        track = LabelTrack("activity", "exclusive", description="WISDM activity blocks")
        segs = _block_segments(primary, t0, names)
        if _overlapping(segs):
            track = LabelTrack(
                "activity",
                "overlapping",
                description="WISDM activity blocks (blocks overlap in time in this file)",
            )
            extra["blocks_overlap"] = "true"
        track.add_many(segs)  # fill before adding: Session.label_track() treats an empty track as missing
        session.add_label_track(track)
        sources = [parsed[s].path for s in sorted(parsed)] + ([key_file] if key_file else [])
        meta.provenance = provenance(self.name, sources)
        return session


def _block_segments(c: CleanStream, t0: int, names: dict[str, str]) -> list[Segment]:
    """One segment per block: first sample to last sample plus the stream's median period."""
    period = c.period_s
    edges = np.flatnonzero(c.block[1:] != c.block[:-1]) + 1
    first = np.r_[0, edges]
    if len(np.unique(c.block[first])) == len(first):  # each block is one run in time (usual)
        last = np.r_[edges - 1, len(c.block) - 1]
        counts = last - first + 1
    else:  # blocks interleave in time (a broken file): first and last sample of each
        blocks, first = np.unique(c.block, return_index=True)
        last = len(c.block) - 1 - np.unique(c.block[::-1], return_index=True)[1]
        counts = np.bincount(c.block)[blocks]
    segs = []
    for i0, i1, n in zip(first, last, counts, strict=True):
        code = CODES[int(c.code[i0])]
        start = (int(c.t[i0]) - t0) * 1e-9
        end = (int(c.t[i1]) - t0) * 1e-9 + period
        segs.append(
            Segment(start, end, names[code], source="imported", note=f"WISDM block {code}, {n} samples")
        )
    segs.sort(key=lambda s: s.start)
    # the trailing period must not run into the next block
    for i in range(len(segs) - 1):
        if segs[i].end > segs[i + 1].start >= segs[i].start:
            segs[i] = replace(segs[i], end=max(segs[i].start, segs[i + 1].start))
    return segs


def _overlapping(segs: list[Segment]) -> bool:
    ends = -np.inf
    for s in segs:
        if s.start < ends and s.end > s.start:
            return True
        ends = max(ends, s.end)
    return False


def _scaled(progress: ProgressCallback | None, offset: float, scale: float) -> ProgressCallback | None:
    if progress is None:
        return None
    cb: Callable[[float, str], None] = progress
    return lambda f, msg: cb(offset + f * scale, msg)


__all__ = ["BUILTIN_NAMES", "CODES", "WisdmImporter", "clean", "parse_file", "partner_of"]
