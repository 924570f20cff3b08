"""Small helpers shared by the text-table importers (WISDM, UCI HAPT, Sensor Logger, generic CSV).

They keep the importers' error messages uniform: every problem found in a file
becomes an :class:`~harlab.core.errors.ImportFormatError` that names the file,
the line (1-based, as an editor shows it) or byte offset, and what was expected.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

import harlab
from harlab.core.errors import ImportFormatError
from harlab.core.metadata import Provenance, SourceFile
from harlab.core.streams import FLAG_GAP_BEFORE


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
