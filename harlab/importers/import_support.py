"""Small helpers shared by the text-table importers (WISDM, UCI HAPT, Sensor Logger, generic CSV).

They keep the importers' error messages uniform: every problem found in a file
becomes an :class:`~harlab.core.errors.ImportFormatError` that names the file,
the line (1-based, as an editor shows it) or byte offset, and what was expected.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
from isal import igzip  # ISA-L's gzip: ~3x faster to decompress than zlib, same output
from isal.isal_zlib import error as _isal_error

import harlab
from harlab.core.errors import HarlabError, ImportFormatError
from harlab.core.metadata import Provenance, SourceFile
from harlab.core.plausibility import FLOAT32_MAX, Limit, limit_for, too_many_marked
from harlab.core.streams import FLAG_GAP_BEFORE, FLAG_SUSPECT
from harlab.importers.importer import head_bytes


def provenance(importer: str, sources: Iterable[Path], notes: str = "") -> Provenance:
    """Provenance naming every file the session was built from (hashed, so results trace to bytes)."""
    return Provenance(
        importer=importer,
        harlab_version=harlab.__version__,
        sources=[SourceFile.of(p) for p in sources],
        notes=notes,
    )


# -- bounded reading: every importer reads its input through these ---------------------

#: Most bytes read from one input once decompressed: one file, or all files of one export zip or
#: folder together. Far above the largest public recordings (WISDM 2019: 130 MB of text), and
#: refused before it is read, so a gzip or zip bomb ends in an error instead of exhausting memory.
#: The environment variable named by :data:`LIMIT_ENV` replaces it (a positive number of bytes).
MAX_INPUT_BYTES = 4 * 2**30
LIMIT_ENV = "HARLAB_IMPORT_MAX_BYTES"
#: Largest decompressed/compressed ratio of a gzip file or zip member past :data:`RATIO_FLOOR`
#: bytes. Sensor text compresses 3-10x (UCI HAPT: 7x); deflate of a run of zeros reaches 1000x.
MAX_RATIO = 100
RATIO_FLOOR = 64 * 2**20
#: Most members a zip may list; the central directory is parsed whole, so it is counted first.
#: A Fitbit account export holds one file per kind and day: ~20,000 after ten years.
MAX_ZIP_MEMBERS = 200_000
_CHUNK = 4 * 2**20
_READ_ERRORS = (
    OSError,
    EOFError,
    zlib.error,
    cast(type[Exception], _isal_error),  # isal's stub declares the class as an instance
    gzip.BadGzipFile,
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
)  # RuntimeError: an encrypted zip member


def max_input_bytes() -> int:
    """The decompressed-size limit per input: :data:`MAX_INPUT_BYTES` unless :data:`LIMIT_ENV` is set."""
    env = os.environ.get(LIMIT_ENV, "").strip()
    if not env:
        return MAX_INPUT_BYTES
    try:
        value = int(env.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise HarlabError(f"{LIMIT_ENV}={env!r} is not a positive number of bytes")
    return value


class ReadBudget:
    """The decompressed bytes one input may still yield, shared by every file or member read from it.

    ``reason`` ends the refusal message: the per-input import limit by default, a format's
    own limit when :func:`read_at_most` passes one.
    """

    def __init__(self, limit: int | None = None, reason: str = "") -> None:
        self.limit = max_input_bytes() if limit is None else limit
        self.reason = reason or (f"the import limit per input (set {LIMIT_ENV} to change it)")
        self.used = 0

    def refuse(self, label: Path, expected: str = "", size: int | None = None) -> ImportFormatError:
        """The refusal of ``label``; ``size`` when known before reading (a plain file, a zip member's header)."""
        if size is None:
            problem = f"holds more than {self.limit:,} bytes once decompressed, {self.reason}"
        else:
            read = f" after {self.used:,} bytes of this input" if self.used else ""
            problem = f"is {size:,} bytes{read}, past {self.limit:,} bytes, {self.reason}"
        return ImportFormatError(label, problem, offset=self.limit, expected=expected or None)

    def take(self, label: Path, n: int, expected: str = "") -> None:
        """Count ``n`` more bytes of ``label``; refused past the limit."""
        self.used += n
        if self.used > self.limit:
            raise self.refuse(label, expected)


def _ratio_refusal(label: Path, n: int, compressed: int, declared: bool = False) -> ImportFormatError:
    what = f"declares {n:,} bytes" if declared else f"inflates to more than {n:,} bytes"
    return ImportFormatError(
        label,
        f"{what} from {compressed:,} compressed bytes, past the "
        f"{MAX_RATIO}:1 ratio an import accepts (a decompression bomb?)",
        offset=n,
        expected=f"at most {MAX_RATIO} decompressed bytes per compressed byte",
    )


def _drain(
    stream: IO[bytes], label: Path, budget: ReadBudget, compressed: int | None, expected: str
) -> bytes:
    """Everything ``stream`` yields, read in chunks and counted against ``budget`` and, when
    ``compressed`` is known, against :data:`MAX_RATIO`; refused before the chunk past a limit is kept."""
    out = io.BytesIO()
    n = 0
    ratio_limit = max(RATIO_FLOOR, MAX_RATIO * compressed) if compressed is not None else None
    while chunk := stream.read(_CHUNK):
        n += len(chunk)
        budget.take(label, len(chunk), expected)
        if ratio_limit is not None and n > ratio_limit:
            raise _ratio_refusal(label, ratio_limit, compressed or 0)
        out.write(chunk)
    return out.getvalue()  # shares the buffer: no second copy


#: Bytes a streaming importer reads at a time (:meth:`Importer.read_into`): large enough that
#: per-block costs vanish, small enough that a week-long input never sits in memory.
STREAM_BLOCK_BYTES = 16 * 2**20


def iter_blocks(
    path: Path, block: int = STREAM_BLOCK_BYTES, budget: ReadBudget | None = None, expected: str = ""
) -> Iterator[bytes]:
    """The file's (``.gz``-decompressed) bytes in blocks of ``block`` bytes (the last may be
    shorter), counted against the budget and :data:`MAX_RATIO` as :func:`read_all` counts them:
    the bounded read of a streaming importer."""
    budget = budget if budget is not None else ReadBudget()
    gz = path.name.endswith(".gz")
    try:
        size = path.stat().st_size if path.is_file() else None
        if not gz and size is not None and size > budget.limit - budget.used:
            raise budget.refuse(path, expected, size)
        ratio_limit = max(RATIO_FLOOR, MAX_RATIO * size) if gz and size is not None else None
        n = 0
        with igzip.open(path, "rb") if gz else open(path, "rb") as f:
            while chunk := f.read(block):
                n += len(chunk)
                budget.take(path, len(chunk), expected)
                if ratio_limit is not None and n > ratio_limit:
                    raise _ratio_refusal(path, ratio_limit, size or 0)
                yield chunk
    except _READ_ERRORS as exc:
        raise ImportFormatError(path, f"cannot read file: {exc}", expected="a readable (gzip) file") from exc


def read_all(path: Path, budget: ReadBudget | None = None, expected: str = "") -> bytes:
    """The file's bytes, ``.gz`` decompressed (with ISA-L), never more than the
    budget (one :class:`ReadBudget` per input; a fresh one by default) or :data:`MAX_RATIO`
    allows: the bounded read every importer goes through."""
    budget = budget if budget is not None else ReadBudget()
    try:
        gz = path.name.endswith(".gz")
        size = path.stat().st_size if path.is_file() else None
        if not gz and size is not None and size > budget.limit - budget.used:
            raise budget.refuse(path, expected, size)  # a sparse terabyte costs a stat, not a read
        if gz:
            with igzip.open(path, "rb") as f:
                return _drain(f, path, budget, size, expected)
        with open(path, "rb") as f:
            if size is None:  # a pipe or device: no size to trust
                return _drain(f, path, budget, None, expected)
            data = f.read(size)  # what stat promised, in one allocation and no copy
            budget.take(path, len(data), expected)
            grown = _drain(f, path, budget, None, expected)  # written to since the stat
            return data + grown if grown else data
    except _READ_ERRORS as exc:
        raise ImportFormatError(path, f"cannot read file: {exc}", expected="a readable (gzip) file") from exc


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole (decompressed) file as text, through the bounded :func:`read_all`."""
    data = read_all(path)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            path, "file is not text", offset=exc.start, expected=f"{encoding} text"
        ) from exc


def read_at_most(path: Path, limit: int, expected: str) -> bytes:
    """The file's (decompressed) bytes, refused before reading more than ``limit`` of them
    (a format's own limit, when lower than the per-input one)."""
    if limit >= max_input_bytes():
        return read_all(path, expected=expected)
    return read_all(path, ReadBudget(limit, "the limit of this format"), expected)


def _entries_declared(path: Path) -> int | None:
    """How many members the zip's end record declares (zip64 too), read before the
    central directory is parsed; None when there is no end record to read."""
    try:
        with open(path, "rb") as f:
            end = zipfile._EndRecData(f)  # type: ignore[attr-defined]  # stable since Python 2
    except (OSError, AttributeError, struct.error):
        return None
    return int(end[zipfile._ECD_ENTRIES_TOTAL]) if end else None  # type: ignore[attr-defined]


def open_zip(path: Path) -> zipfile.ZipFile:
    """``path`` as a zip, refused when it lists more than :data:`MAX_ZIP_MEMBERS` members or a
    member name that is absolute or climbs out with ``..`` (nothing is extracted to disk, but
    such a name marks a hostile archive and would mislead every message that shows it)."""
    count = _entries_declared(path)
    if count is not None and count > MAX_ZIP_MEMBERS:
        raise ImportFormatError(
            path,
            f"zip lists {count:,} members, more than the {MAX_ZIP_MEMBERS:,} an import reads",
            expected=f"at most {MAX_ZIP_MEMBERS:,} members",
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        what = f"not a readable zip: {exc}"
        if head_bytes(path, 4) == b"PK\x03\x04":  # it began as a zip: its directory at the end is gone
            what += "; it starts like a zip, so the file was probably cut short (copy it again)"
        raise ImportFormatError(path, what, expected="an intact zip archive") from exc
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:  # an end record that under-counts
        zf.close()
        raise ImportFormatError(
            path,
            f"zip lists {len(infos):,} members, more than the {MAX_ZIP_MEMBERS:,} an import reads",
            expected=f"at most {MAX_ZIP_MEMBERS:,} members",
        )
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in name.split("/"):
            zf.close()
            raise ImportFormatError(
                Path(f"{path}:{info.filename}"),
                "zip member name is absolute or climbs out of the archive with '..'",
                expected="relative member names",
            )
    return zf


def read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: Path, budget: ReadBudget, expected: str = ""
) -> bytes:
    """One zip member's bytes, refused by its declared size before reading and by the bytes
    actually inflated while reading (declared sizes can lie), against ``budget`` and :data:`MAX_RATIO`."""
    if info.file_size > budget.limit - budget.used:
        raise budget.refuse(label, expected, info.file_size)
    if info.file_size > max(RATIO_FLOOR, MAX_RATIO * info.compress_size):
        raise _ratio_refusal(label, info.file_size, info.compress_size, declared=True)
    try:
        with zf.open(info) as f:
            return _drain(f, label, budget, info.compress_size, expected)
    except _READ_ERRORS as exc:
        raise ImportFormatError(
            label, f"cannot read zip member: {exc}", expected="an intact zip archive"
        ) from exc


def line_of_offset(data: bytes, offset: int) -> int:
    """1-based line number of byte ``offset``."""
    return data.count(b"\n", 0, offset) + 1


def check_ascii(path: Path, data: bytes, what: str = "ASCII text") -> None:
    """Raise at the first byte that is not 7-bit ASCII (binary files, random bytes, wrong encodings)."""
    if data.isascii():
        return
    arr = np.frombuffer(data, dtype=np.uint8)
    off = int(np.flatnonzero(arr >= 0x80)[0])
    raise ImportFormatError(
        path,
        f"byte 0x{arr[off]:02x} at byte offset {off} (line {line_of_offset(data, off)}) is not text",
        offset=off,
        expected=what,
    )


def finite_number(
    path: Path, text: str, line: int, example: str = "", finite: str = "a finite decimal number"
) -> float:
    """``text`` as a finite float, or an :class:`ImportFormatError` naming the line (the
    line-by-line diagnosis after a fast parser refused a file)."""
    try:
        v = float(text)
    except ValueError:
        expected = f"a decimal number such as {example}" if example else "a decimal number"
        raise ImportFormatError(path, f"{text!r} is not a number", line=line, expected=expected) from None
    if not np.isfinite(v):
        raise ImportFormatError(path, f"{text!r} is not finite", line=line, expected=finite)
    return v


def first_nonfinite(values: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the first NaN or infinity in a 2-D array, or None."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    row = int(np.flatnonzero(bad.any(axis=1))[0])
    col = int(np.flatnonzero(bad[row])[0])
    return row, col


#: Where row ``i`` of an array came from in the file: ``{"line": n}`` or ``{"offset": byte}``
#: (the keyword arguments of :class:`ImportFormatError`).
Locate = Callable[[int], dict[str, int]]


def line_of_row(first_line: int) -> Locate:
    """Rows that are consecutive lines of a file, the first one on ``first_line``."""
    return lambda row: {"line": first_line + row}


def _place(where: dict[str, int]) -> str:
    if "line" in where:
        return f"; first at line {where['line']}"
    return f"; first at byte {where['offset']}" if "offset" in where else ""


@dataclass
class Checked:
    """Values after the plausibility check (see :mod:`harlab.core.plausibility`)."""

    values: np.ndarray  #: float32 (N, C); implausible entries are NaN
    suspect: np.ndarray  #: bool (N,): rows with a marked value (flag them FLAG_SUSPECT)
    note: str  #: the sentence for the import report, "" when nothing was marked

    @property
    def marked(self) -> int:
        return int(self.suspect.sum())

    def flags(self, flags: np.ndarray | None = None) -> np.ndarray:
        """``flags`` (or zeros) with FLAG_SUSPECT on the marked rows."""
        out = np.zeros(len(self.suspect), np.uint8) if flags is None else flags.astype(np.uint8, copy=True)
        out[self.suspect] |= FLAG_SUSPECT
        return out


def check_values(
    path: Path,
    values: np.ndarray,
    *,
    stream: str,
    kind: str,
    units: Sequence[str] | str,
    locate: Locate,
    limit: Limit | None = None,
    refuse_many: bool = True,
) -> Checked:
    """Refuse or mark implausible values of one stream, by the rule of :mod:`harlab.core.plausibility`.

    ``values`` (N, C) may be float64 text parsed by the importer; NaN entries stay NaN
    (a missing cell, never counted). Infinity and values past the float32 range raise an
    :class:`ImportFormatError` at the row's line or byte; finite values outside the
    range of ``limit`` (default: the table's row for ``kind`` and each channel's unit)
    become NaN and their rows suspect, unless there are too many of them, which
    raises too (unless ``refuse_many`` is False: a block of a streamed input, whose
    :class:`MarkedTally` applies that rule to the whole). ``stream`` names the stream in the
    messages.
    """
    v = np.asarray(values)
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    if v.ndim == 1:
        v = v[:, None]
    n, n_ch = v.shape
    unit_list = [units] * n_ch if isinstance(units, str) else list(units)
    with np.errstate(invalid="ignore"):
        huge = np.abs(v) > FLOAT32_MAX  # infinity too; NaN compares False
    if huge.any():
        row = int(np.flatnonzero(huge.any(axis=1))[0])
        col = int(np.flatnonzero(huge[row])[0])
        raise ImportFormatError(
            path,
            f"{stream} value {float(v[row, col])!r} (channel {col + 1}) is beyond the float32 range a stream stores",
            expected=f"a finite number within ±{FLOAT32_MAX:.4g}",
            **locate(row),
        )
    bad = np.zeros(v.shape, dtype=bool)
    limits = [limit or limit_for(kind, u) for u in unit_list]
    with np.errstate(invalid="ignore"):
        for c, lim in enumerate(limits):
            if lim is not None:
                bad[:, c] = (v[:, c] < lim.low) | (v[:, c] > lim.high)
    n_range = int(bad.any(axis=1).sum())
    zero = np.zeros(n, dtype=bool)
    if n_ch and all(lim is not None and lim.zero_impossible for lim in limits):
        zero = np.all(v == 0.0, axis=1)
        bad[zero] = True
    rows = cast(np.ndarray, bad.any(axis=1))  # one per row, never a scalar
    marked = int(rows.sum())
    reasons = []
    first_limit = next((lim for lim in limits if lim is not None), None)
    if n_range and first_limit is not None:
        ranges = sorted({lim.describe() for lim in limits if lim is not None})
        reasons.append(f"{n_range} outside {' or '.join(ranges)}")
    if zero.any():
        reasons.append(f"{int(zero.sum())} exactly 0 on every axis")
    if refuse_many and marked and too_many_marked(marked, n):
        row = int(np.flatnonzero(rows)[0])
        why = first_limit.why if first_limit is not None else ""
        raise ImportFormatError(
            path,
            f"{marked} of {n} {stream} samples are implausible ({', '.join(reasons)}; the first here): "
            + ("a zero-filled or sparse file" if 2 * int(zero.sum()) >= marked else "a wrong unit")
            + ", or not sensor data",
            expected=f"values within {first_limit.describe() if first_limit else 'range'} ({why})",
            **locate(row),
        )
    out = v.astype(np.float32, copy=False)
    if marked:
        if np.may_share_memory(out, values):
            out = out.copy()
        out[bad] = np.nan
    note = ""
    if marked:
        first = int(np.flatnonzero(rows)[0])
        note = (
            f"{path.name}: {marked} of {n} {stream} samples set to NaN and flagged suspect "
            f"({', '.join(reasons)}{_place(locate(first))})"
        )
    return Checked(out, rows, note)


class MarkedTally:
    """:func:`check_values` for one stream of an input read block by block (a streaming import).

    Each block is marked as :func:`check_values` marks it (implausible values NaN, rows
    suspect; infinity refused at once); whether too many were marked is decided on the whole
    input by :meth:`finish`, as reading it in one piece would decide it, so a zero-filled
    hour in a week is marked, not refused, while a file in the wrong unit is refused.
    """

    def __init__(
        self, path: Path, *, stream: str, kind: str, units: Sequence[str] | str, limit: Limit | None = None
    ) -> None:
        self.path, self.stream, self.kind, self.units, self.limit = path, stream, kind, units, limit
        self.rows = 0
        self.marked = 0
        self.first: dict[str, int] | None = None
        self.notes: list[str] = []

    def check(self, values: np.ndarray, locate: Locate) -> Checked:
        """One block (``locate`` maps its rows to places in the file)."""
        c = check_values(
            self.path,
            values,
            stream=self.stream,
            kind=self.kind,
            units=self.units,
            locate=locate,
            limit=self.limit,
            refuse_many=False,
        )
        if c.marked and self.first is None:
            self.first = locate(int(np.flatnonzero(c.suspect)[0]))
        self.rows += len(c.suspect)
        self.marked += c.marked
        if c.note:
            self.notes.append(c.note)
        return c

    def finish(self) -> str:
        """Refuse the input when too many of its samples were marked; else the report line
        ("" when nothing was marked)."""
        if too_many_marked(self.marked, self.rows):
            lim = self.limit or limit_for(
                self.kind, self.units if isinstance(self.units, str) else self.units[0]
            )
            raise ImportFormatError(
                self.path,
                f"{self.marked} of {self.rows} {self.stream} samples are implausible (the first here): "
                "a zero-filled or sparse file, a wrong unit, or not sensor data",
                expected=f"values within {lim.describe() if lim else 'range'}",
                **(self.first or {}),
            )
        if not self.marked:
            return ""
        return (
            f"{self.path.name}: {self.marked} of {self.rows} {self.stream} samples set to NaN and "
            f"flagged suspect{_place(self.first or {})}"
        )


def runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(first, last+1) index pairs of runs of equal consecutive values."""
    n = len(labels)
    if n == 0:
        return []
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, n]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def gap_flags(
    t: np.ndarray, period: float | None, factor: float = 1.5, before: float | None = None
) -> np.ndarray:
    """FLAG_GAP_BEFORE on each sample that follows a pause longer than ``factor`` periods;
    ``before`` is the time of the sample before ``t[0]`` (a block read after others), so a pause
    across the boundary between blocks is flagged too."""
    flags = np.zeros(len(t), dtype=np.uint8)
    if period and len(t):
        if len(t) > 1:
            flags[1:][np.diff(t) > factor * period] |= FLAG_GAP_BEFORE
        if before is not None and t[0] - before > factor * period:
            flags[0] |= FLAG_GAP_BEFORE
    return flags


def nominal_rate(period: float | None) -> float | None:
    """A rate rounded to 0.01 Hz from a measured median period (never hard-coded).

    A rate below 0.01 Hz (a sample every few minutes, or a clock that jumped by years) is
    kept unrounded: rounding would make it 0 Hz, which no stream can have.
    """
    if not period:
        return None
    rate = 1.0 / period
    return round(rate, 2) if rate >= 0.01 else rate


def distinct_names(path: Path, names: dict[Any, str], what: str) -> None:
    """Refuse a class-name file that (with the built-in names it completes) gives two codes one name:
    a label schema holds each class once."""
    seen: dict[str, object] = {}
    for code, name in names.items():
        if name in seen:
            raise ImportFormatError(
                path,
                f"{what}s {seen[name]} and {code} are both called {name!r}",
                expected=f"a different name for each {what}",
            )
        seen[name] = code


def claim_root(path: Path, files: list[Path], marker: str) -> Path:
    """The folder to claim as one dataset input: the deepest folder holding all ``files``,
    widened up to the one holding the dataset's ``marker`` file (its class names), never above ``path``.

    Claiming the whole folder keeps the batch driver from importing companion files
    (the gyroscope file of a pair, labels.txt, README.txt) again as inputs of their own.
    """
    common = Path(os.path.commonpath([str(f.parent) for f in files]))
    p = common
    while True:
        if (p / marker).is_file():
            return p
        if p == path or path not in p.parents:
            return common
        p = p.parent


#: Columns of one CSV table (a lab's CSV has tens): pandas takes seconds per ten thousand
#: columns, so a 2 MB file of 200 000 columns held an import for minutes.
MAX_COLUMNS = 4096


def check_width(path: Path, text: str, delimiter: str = ",", skip_rows: int = 0) -> None:
    """Refuse a first (header) line of more than :data:`MAX_COLUMNS` fields before pandas parses it."""
    start = 0
    for _ in range(skip_rows):
        start = text.find("\n", start) + 1
        if start == 0:
            return  # fewer lines than skip_rows: the parser says so
    end = text.find("\n", start)
    n = text.count(delimiter, start, end if end >= 0 else len(text)) + 1
    if n > MAX_COLUMNS:
        raise ImportFormatError(
            path, f"{n} columns", line=skip_rows + 1, expected=f"at most {MAX_COLUMNS} columns"
        )
