"""The exporter registry, export options and the helpers every output format shares.

Each output format is one module in :mod:`harlab.exporters` that defines a subclass
of :class:`Exporter` and decorates it with :func:`register`; adding a format is
adding one module. Exporters never leave half-written output behind: every file is
written under a temporary name next to its destination and renamed only once the
whole export succeeded (:class:`OutputFiles`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import numpy as np

from harlab.core import files
from harlab.core.errors import HarlabError, WindowingError
from harlab.core.events import ProgressCallback
from harlab.core.files import session_names
from harlab.core.labels import LabelTrack
from harlab.core.plugins import PluginRegistry
from harlab.core.session import Session
from harlab.core.videos import VideoLink


class ExportError(HarlabError):
    """An export cannot be done as asked (bad option, missing stream, existing output)."""


@dataclass
class ExportOptions:
    """Options of all formats; each format uses the fields it lists in ``Exporter.options``.

    ``names`` gives each session a short name for output file names and tables (the
    command line uses the session file's stem); without it a name is made from the
    participant and the session id.
    """

    names: list[str] | None = None
    tracks: list[str] | None = None  #: label tracks to export (default: all / the only one)
    streams: list[str] | None = None  #: streams (or ``stream.channel``) to export (default: all)
    rate_hz: float | None = None  #: common rate: merged CSV grid, or training-window rate
    window_s: float | None = None
    stride_s: float | None = None
    label_policy: str | None = None  #: majority | centre | pure
    classes: list[str] | None = None  #: fixed class order for training windows
    overwrite: bool = False
    chunk_samples: int = 200_000  #: rows per chunk when writing large CSVs
    video_times: str | None = None  #: a video's name: segments and windows carry their times in it
    #: each session's file, where known: media links (ELAN) are found relative to it
    session_paths: list[Path] | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def given(self) -> set[str]:
        """Names of the format options set to something other than their default."""
        defaults = ExportOptions()
        skip = {"names", "overwrite", "chunk_samples", "extra", "session_paths"}
        return {
            f.name
            for f in fields(self)
            if f.name not in skip and getattr(self, f.name) != getattr(defaults, f.name)
        }


#: command-line spelling of each ExportOptions field, for messages
OPTION_FLAGS = {
    "tracks": "--track",
    "streams": "--streams",
    "rate_hz": "--rate",
    "window_s": "--window",
    "stride_s": "--stride",
    "label_policy": "--label-policy",
    "classes": "--classes",
    "video_times": "--video-times",
}


@dataclass(frozen=True)
class ExportJob:
    """One export as a format's :meth:`Exporter.write` sees it."""

    sessions: Sequence[Session]
    names: list[str]  #: each session's short name, for file names and tables
    out_path: Path
    options: ExportOptions
    out: OutputFiles  #: where every output file is written (all appear at once, or none)
    progress: ProgressCallback | None


class Exporter:
    """Base class of one output format.

    ``name`` is what ``--to`` takes. ``suffixes`` are the file extensions a single
    output file of this format may have; ``options`` names the :class:`ExportOptions`
    fields the format understands (anything else given is an error, so a user who
    passes ``--window`` to a CSV export learns it had no effect).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[frozenset[str]] = frozenset()

    def export(
        self,
        sessions: Sequence[Session],
        out_path: str | Path,
        options: ExportOptions | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Path]:
        """Write ``sessions`` to ``out_path``; return the files written.

        What every format does around its own writing: refuse options it would ignore, give
        each session its short name, and make the outputs appear all at once or not at all
        (:class:`OutputFiles`). The format's :meth:`write` only asks ``out`` for its files.
        """
        options = options or ExportOptions()
        self.check_options(options)
        names = session_names(sessions, options.names)
        with OutputFiles(options.overwrite) as out:
            try:
                self.write(ExportJob(sessions, names, Path(out_path), options, out, progress))
            except WindowingError as exc:  # the windows asked for cannot be cut: an export problem
                raise ExportError(str(exc)) from exc
            return out.commit()

    def write(self, job: ExportJob) -> None:
        """Write this format's files, each to ``job.out.target(destination)``."""
        raise NotImplementedError

    def check_options(self, options: ExportOptions) -> None:
        """Refuse options this format would silently ignore."""
        unused = sorted(options.given() - self.options)
        if unused:
            flags = ", ".join(OPTION_FLAGS.get(u, u) for u in unused)
            raise ExportError(
                f"{flags} {'does' if len(unused) == 1 else 'do'} not apply to the {self.name!r} format "
                f"(it takes: {', '.join(OPTION_FLAGS[o] for o in sorted(self.options)) or 'no format options'})"
            )


_PLUGINS: PluginRegistry[Exporter] = PluginRegistry("exporter", "harlab.exporters")
register = _PLUGINS.register


def exporters() -> dict[str, Exporter]:
    """All registered exporters by name."""
    return {name: cls() for name, cls in _PLUGINS.classes().items()}


def get_exporter(name: str) -> Exporter:
    all_ = exporters()
    if name not in all_:
        raise ExportError(f"unknown export format {name!r}; known: {', '.join(all_)}")
    return all_[name]


# -- output files ------------------------------------------------------------------------


class OutputFiles:
    """Collects the files of one export and makes them appear all at once.

    ``target(path)`` returns a temporary path in the destination folder to write
    to; ``commit()`` renames every temporary file onto its destination. Leaving the
    ``with`` block with an exception removes the temporary files (and any output
    folder this object created), so a failed export leaves nothing behind.
    Existing destinations are refused unless ``overwrite``.
    """

    def __init__(self, overwrite: bool = False) -> None:
        self.overwrite = overwrite
        self._pending: list[tuple[Path, Path]] = []
        self._made_dirs: list[Path] = []
        self.written: list[Path] = []

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.discard()
        elif self._pending:
            self.commit()

    def make_dir(self, folder: Path) -> Path:
        if folder.exists() and not folder.is_dir():
            raise ExportError(f"{folder} exists and is not a folder")
        missing = []
        p = folder
        while not p.exists():
            missing.append(p)
            p = p.parent
        folder.mkdir(parents=True, exist_ok=True)
        self._made_dirs.extend(missing)  # deepest first, for removal
        return folder

    def target(self, path: Path) -> Path:
        path = Path(path)
        if any(final == path for final, _ in self._pending):
            raise ExportError(f"two outputs of this export would both be written to {path}")
        if path.exists() and not self.overwrite:
            raise ExportError(f"{path} already exists; choose another output or pass --force to overwrite")
        if path.exists() and path.is_dir():
            raise ExportError(f"{path} is a folder; cannot write a file there")
        self.make_dir(path.parent)
        fd, tmp = files.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        self._pending.append((path, Path(tmp)))
        return Path(tmp)

    def commit(self) -> list[Path]:
        """Rename every temporary file onto its destination, each fsynced first and the
        folders after, so what an export reports as written survives a power cut."""
        for _, tmp in self._pending:
            files.fsync_path(tmp)
        for final, tmp in self._pending:
            os.replace(tmp, final)
            self.written.append(final)
        for folder in dict.fromkeys(final.parent for final, _ in self._pending):
            files.fsync_dir(folder)
        self._pending.clear()
        return self.written

    def discard(self) -> None:
        for _, tmp in self._pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._pending.clear()
        for d in self._made_dirs:
            with contextlib.suppress(OSError):
                d.rmdir()  # only succeeds when empty
        self._made_dirs.clear()


def plan_outputs(
    out_path: Path, names: list[str], suffix: str, suffixes: tuple[str, ...], fmt: str
) -> list[Path]:
    """Destination of each of ``names`` (file names without suffix).

    ``out_path`` with one of the format's ``suffixes`` is a single file, allowed
    only when the export makes exactly one file; anything else is a folder that
    receives ``<name><suffix>`` for each output.
    """
    if out_path.suffix.lower() in suffixes:
        if len(names) != 1:
            raise ExportError(
                f"the {fmt!r} export writes {len(names)} files here ({', '.join(n + suffix for n in names[:4])}"
                f"{', ...' if len(names) > 4 else ''}); give a folder as the output instead of {out_path.name}"
            )
        return [out_path]
    if out_path.exists() and not out_path.is_dir():
        raise ExportError(
            f"{out_path} exists and is not a folder; the {fmt!r} export writes {suffix} files into a folder"
        )
    if not out_path.exists() and out_path.suffix.lower() in _FILE_SUFFIXES:
        raise ExportError(
            f"{out_path.name} looks like a file name, but the {fmt!r} export writes "
            f"{' or '.join(suffixes)} files; give such a file or a folder"
        )
    return [out_path / (n + suffix) for n in names]


#: suffixes that mark an output path as a file meant for another format
_FILE_SUFFIXES = frozenset(
    {".csv", ".tsv", ".txt", ".eaf", ".npz", ".h5", ".hdf5", ".json", ".xlsx", ".parquet"}
)


def pick_tracks(session: Session, wanted: Sequence[str] | None, what: str) -> list[LabelTrack]:
    """The label tracks to export: all of the session's, or those named (each must exist)."""
    if wanted is None:
        return list(session.label_tracks.values())
    missing = [t for t in wanted if t not in session.label_tracks]
    if missing:
        have = ", ".join(session.label_tracks) or "none"
        raise ExportError(f"{what} has no label track {missing[0]!r} (tracks: {have})")
    return [session.label_tracks[t] for t in wanted]


def tracks_per_session(job: ExportJob) -> list[tuple[Session, list[LabelTrack]]]:
    """Each session of ``job`` with the label tracks to export from it (the one-file-per-session
    label formats); refused when no session has any."""
    plan = [
        (s, pick_tracks(s, job.options.tracks, f"session {n}"))
        for s, n in zip(job.sessions, job.names, strict=True)
    ]
    if not any(tracks for _, tracks in plan):
        raise ExportError("nothing to export: the sessions have no label tracks")
    return plan


def pick_video(session: Session, name: str, what: str) -> VideoLink:
    """The session's video ``name`` (for ``--video-times``); a clear error when it has none of that name."""
    link = session.videos.get(name)
    if link is None:
        have = ", ".join(session.videos) or "none"
        raise ExportError(f"{what} has no video {name!r} (videos: {have})")
    return link


# -- time and labels -----------------------------------------------------------------------


def iso_utc(start_utc: datetime | None, t: float) -> str:
    """ISO 8601 UTC time of ``t`` seconds after ``start_utc`` (microseconds, ``Z``); "" if unknown."""
    if start_utc is None:
        return ""
    when = start_utc.astimezone(UTC) + timedelta(seconds=float(t))
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_utc_array(start_utc: datetime | None, t: np.ndarray) -> np.ndarray:
    """Vectorised :func:`iso_utc` for many times (same text, microsecond resolution)."""
    if start_utc is None:
        return np.full(len(t), "", dtype=object)
    base = np.datetime64(start_utc.astimezone(UTC).replace(tzinfo=None), "us")
    us = np.round(np.asarray(t, dtype=np.float64) * 1e6).astype(np.int64)
    text = np.datetime_as_string(base + us.astype("timedelta64[us]"), unit="us")
    return np.char.add(text, "Z")


def time_chunks(
    t_first: float, t_last: float, n_samples: int, chunk_samples: int
) -> Iterator[tuple[float, float | None]]:
    """Half-open time ranges [a, b) covering [t_first, t_last] in about ``chunk_samples``
    samples each (the last range is open-ended: b is None)."""
    n_chunks = max(1, -(-n_samples // max(1, chunk_samples)))
    if n_chunks == 1 or not t_last > t_first:
        yield (t_first, None)
        return
    edges = np.linspace(t_first, t_last, n_chunks + 1)
    for i in range(n_chunks):
        yield (float(edges[i]), None if i == n_chunks - 1 else float(edges[i + 1]))


def fmt_float(x: float | None) -> str:
    """Shortest text that reads back as exactly the same float64; "" for None."""
    return "" if x is None else repr(float(x))


def _decimals(x: float) -> int | None:
    text = repr(float(x))
    if "e" in text or "n" in text:  # exponent, nan, inf: no plain decimal places to go by
        return None
    return len(text.partition(".")[2])


#: At most this many decimals in a duration: a nanosecond is far below any sensor's sample
#: period, and digits past it are the float noise of the times themselves (a segment that
#: starts at 0.1 + 0.2 = 0.30000000000000004 s), not part of a length anybody measured.
DURATION_DECIMALS = 9


def fmt_difference(start: float, end: float) -> str:
    """``end - start`` as written by a person: no float noise (3.2, not 3.1999999999999993).

    The difference of two numbers written with at most d decimals has at most d
    decimals, and float64 subtraction is off by far less than half of the last one,
    so rounding to d decimals gives the exact decimal difference. Times that carry
    noise themselves (more decimals than :data:`DURATION_DECIMALS`, as times computed
    from sample indices do) give their difference to that many decimals.
    """
    ds = (_decimals(start), _decimals(end))
    d = DURATION_DECIMALS if None in ds else min(max(ds[0] or 0, ds[1] or 0), DURATION_DECIMALS)
    diff = float(end) - float(start)
    return fmt_float(round(diff, d) if np.isfinite(diff) else diff)
