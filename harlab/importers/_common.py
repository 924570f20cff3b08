"""Small helpers shared by the text-table importers (WISDM, UCI HAPT, Sensor Logger, generic CSV).

They keep the importers' error messages uniform: every problem found in a file
becomes an :class:`~harlab.core.errors.ImportFormatError` that names the file,
the line (1-based, as an editor shows it) or byte offset, and what was expected.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import harlab
from harlab.core.errors import ImportFormatError
from harlab.core.metadata import Provenance, SourceFile
from harlab.core.plausibility import FLOAT32_MAX, Limit, limit_for, too_many_marked
from harlab.core.streams import FLAG_GAP_BEFORE, FLAG_SUSPECT


def provenance(importer: str, sources: Iterable[Path], notes: str = "") -> Provenance:
    """Provenance naming every file the session was built from (hashed, so results trace to bytes)."""
    return Provenance(
        importer=importer,
        harlab_version=harlab.__version__,
        sources=[SourceFile.of(p) for p in sources],
        notes=notes,
    )


try:  # ISA-L's gzip is ~3x faster to decompress than zlib; optional, same output
    from isal import igzip as _gzip_impl
    from isal.isal_zlib import error as _isal_error
except ImportError:  # pragma: no cover - depends on the environment
    _gzip_impl = gzip  # type: ignore[assignment]
    _isal_error = zlib.error  # type: ignore[assignment,misc]


def read_all(path: Path) -> bytes:
    """The file's bytes, ``.gz`` decompressed in one call (with ISA-L when installed)."""
    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            return _gzip_impl.decompress(raw)
        return raw
    except (OSError, EOFError, zlib.error, _isal_error, gzip.BadGzipFile) as exc:
        raise ImportFormatError(path, f"cannot read file: {exc}", expected="a readable (gzip) file") from exc


def read_at_most(path: Path, limit: int, expected: str) -> bytes:
    """The file's (decompressed) bytes, refused before reading more than ``limit`` of them.

    A sparse 1 GB file costs a ``stat`` instead of a gigabyte of memory; a ``.gz`` is
    decompressed only up to one byte past the limit.
    """
    try:
        if not path.name.endswith(".gz") and path.is_file() and path.stat().st_size > limit:
            size = path.stat().st_size
            raise ImportFormatError(path, f"file is {size:,} bytes, past the {limit:,}-byte limit of this format",
                                    offset=limit, expected=expected)
        opener = _gzip_impl.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            data = f.read(limit + 1)
    except (OSError, EOFError, zlib.error, _isal_error, gzip.BadGzipFile) as exc:
        raise ImportFormatError(path, f"cannot read file: {exc}", expected="a readable (gzip) file") from exc
    if len(data) > limit:
        raise ImportFormatError(path, f"file holds more than {limit:,} bytes, the limit of this format",
                                offset=limit, expected=expected)
    return data


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


def finite_number(path: Path, text: str, line: int, example: str = "", finite: str = "a finite decimal number") -> float:
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
) -> Checked:
    """Refuse or mark implausible values of one stream, by the rule of :mod:`harlab.core.plausibility`.

    ``values`` (N, C) may be float64 text parsed by the importer; NaN entries stay NaN
    (a missing cell, never counted). Infinity and values past the float32 range raise an
    :class:`ImportFormatError` at the row's line or byte; finite values outside the
    range of ``limit`` (default: the table's row for ``kind`` and each channel's unit)
    become NaN and their rows suspect, unless there are too many of them, which
    raises too. ``stream`` names the stream in the messages.
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
    rows = bad.any(axis=1)
    marked = int(rows.sum())
    reasons = []
    first_limit = next((lim for lim in limits if lim is not None), None)
    if n_range and first_limit is not None:
        ranges = sorted({lim.describe() for lim in limits if lim is not None})
        reasons.append(f"{n_range} outside {' or '.join(ranges)}")
    if zero.any():
        reasons.append(f"{int(zero.sum())} exactly 0 on every axis")
    if marked and too_many_marked(marked, n):
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
        note = (f"{path.name}: {marked} of {n} {stream} samples set to NaN and flagged suspect "
                f"({', '.join(reasons)}{_place(locate(first))})")
    return Checked(out, rows, note)


def runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(first, last+1) index pairs of runs of equal consecutive values."""
    n = len(labels)
    if n == 0:
        return []
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, n]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def median_period(t: np.ndarray) -> float | None:
    """Median positive spacing of sorted times (seconds), None with fewer than two distinct times."""
    if len(t) < 2:
        return None
    dt = np.diff(t)
    dt = dt[dt > 0]
    return float(np.median(dt)) if len(dt) else None


def gap_flags(t: np.ndarray, period: float | None, factor: float = 1.5) -> np.ndarray:
    """FLAG_GAP_BEFORE on each sample that follows a pause longer than ``factor`` periods."""
    flags = np.zeros(len(t), dtype=np.uint8)
    if period and len(t) > 1:
        flags[1:][np.diff(t) > factor * period] |= FLAG_GAP_BEFORE
    return flags


def nominal_rate(period: float | None) -> float | None:
    """A rate rounded to 0.01 Hz from a measured median period (never hard-coded)."""
    if not period:
        return None
    return round(1.0 / period, 2)


def distinct_names(path: Path, names: dict, what: str) -> None:
    """Refuse a class-name file that (with the built-in names it completes) gives two codes one name:
    a label schema holds each class once."""
    seen: dict[str, object] = {}
    for code, name in names.items():
        if name in seen:
            raise ImportFormatError(path, f"{what}s {seen[name]} and {code} are both called {name!r}",
                                    expected=f"a different name for each {what}")
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
