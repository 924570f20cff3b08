"""Batch import: expand paths and folders, detect each format, read, save one .h5 per session.

This is what ``harlab import`` and the GUI's drag and drop share. Every input is
all-or-nothing: it is read and validated completely before anything is written,
each session is saved atomically by the storage layer, and if saving one of an
input's sessions fails, the ones already written for that input are removed. One
failing input never stops the batch; its reason lands in the per-file report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harlab import __version__
from harlab.core.errors import HarlabError
from harlab.core.metadata import SourceFile
from harlab.core.session import Session
from harlab.importers.base import Importer, ImportOptions, detect, get_importer, import_warnings, importers

#: (index of the input, number of inputs, fraction done within it, message)
BatchProgress = Callable[[int, int, float, str], None]


@dataclass
class FileReport:
    """What happened to one input."""

    path: Path
    importer: str = ""
    ok: bool = False
    outputs: list[Path] = field(default_factory=list)
    samples: int = 0  #: over all streams of all its sessions
    segments: int = 0
    stream_samples: dict[str, int] = field(default_factory=dict)  #: per stream name
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def sessions(self) -> int:
        return len(self.outputs)


def _under(p: Path, roots: Sequence[Path]) -> bool:
    return any(p == r or r in p.parents for r in roots)


def expand_inputs(paths: Sequence[Path], fmt: str | None = None) -> list[Path]:
    """The inputs named by ``paths``: files as given, folders opened up.

    A folder that a directory importer (an account export) claims is one input and
    nothing inside it is read again; otherwise each importer lists the files it would
    read below the folder (by name pattern) and the union is imported, content
    deciding the format of each. With ``fmt`` only that importer is asked.
    """
    candidates = [get_importer(fmt)] if fmt else list(importers().values())
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        if p not in seen:
            seen.add(p)
            out.append(p)

    for path in paths:
        path = Path(path)
        if not path.exists():
            add(path)  # reported as failed by the driver, with the reason
            continue
        if not path.is_dir():
            add(path)
            continue
        claimed: list[Path] = []
        for imp in candidates:
            if imp.accepts_directories:
                inputs, claims = imp.dataset_inputs(path)
                claimed.extend(claims)
                for p in inputs:
                    add(p)
        files: set[Path] = set()
        for imp in candidates:
            if imp.accepts_directories:
                continue
            files.update(p for p in imp.expand(path) if not _under(p, claimed))
        for p in sorted(files):
            add(p)
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "session"


def output_names(path: Path, sessions: list[Session]) -> list[str]:
    """File names for an input's sessions: ``<stem>.h5`` or ``<stem>_<part>.h5``."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    stem = _safe(Path(name).stem if not path.is_dir() else name)
    if len(sessions) == 1:
        return [f"{stem}.h5"]
    names = []
    for i, s in enumerate(sessions, start=1):
        part = s.metadata.extra.get("import_part") or f"{i:03d}"
        names.append(f"{stem}_{_safe(part)}.h5")
    # keep names unique whatever the importers suggested
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            names[i] = f"{n[:-3]}_{i + 1:03d}.h5"
        seen[names[i]] = i
    return names


def _complete_metadata(session: Session, path: Path, importer: Importer, options: ImportOptions) -> None:
    """Fill in what an importer left empty: participant, importer name, version, source files."""
    md = session.metadata
    if options.participant and not md.participant_id:
        md.participant_id = options.participant
    prov = md.provenance
    prov.importer = prov.importer or importer.name
    prov.harlab_version = prov.harlab_version or __version__
    if not prov.sources and path.is_file():
        prov.sources = [SourceFile.of(path)]


def import_one(
    path: Path,
    out_dir: Path,
    options: ImportOptions,
    fmt: str | None = None,
    overwrite: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> FileReport:
    """Import one input; never raises for a bad input (the report says why)."""
    from harlab.storage import save_session

    report = FileReport(path)
    written: list[Path] = []
    try:
        if not path.exists():
            raise HarlabError(f"{path}: no such file or folder")
        importer = get_importer(fmt) if fmt else detect(path)
        report.importer = importer.name
        if path.is_dir() and not importer.accepts_directories:
            raise HarlabError(f"{path}: format {importer.name!r} reads files, not folders")
        sessions = importer.read(path, options, progress)
        if not sessions:
            raise HarlabError(f"{path}: the importer found no sessions in it")
        targets = [out_dir / n for n in output_names(path, sessions)]
        if not overwrite:
            existing = [t for t in targets if t.exists()]
            if existing:
                raise HarlabError(f"{existing[0]} already exists (pass --overwrite to replace it)")
        for session, target in zip(sessions, targets, strict=True):
            _complete_metadata(session, path, importer, options)
            written.append(Path(save_session(session, target)))
            for name, stream in session.streams.items():
                report.samples += stream.n_samples
                report.stream_samples[name] = report.stream_samples.get(name, 0) + stream.n_samples
            report.segments += sum(len(t) for t in session.label_tracks.values())
            for w in import_warnings(session):
                if w not in report.warnings:
                    report.warnings.append(w)
        report.outputs = written
        report.ok = True
    except HarlabError as exc:
        report.reason = str(exc)
    except (OSError, ValueError, MemoryError) as exc:  # a bug or the disk, still reported per file
        report.reason = f"{path}: {type(exc).__name__}: {exc}"
    if not report.ok:
        for p in written:  # all-or-nothing per input
            p.unlink(missing_ok=True)
        report.samples = report.segments = 0
        report.stream_samples = {}
    return report


def import_paths(
    paths: Sequence[Path | str],
    out_dir: Path | str,
    options: ImportOptions | None = None,
    fmt: str | None = None,
    overwrite: bool = False,
    progress: BatchProgress | None = None,
) -> list[FileReport]:
    """Import every input under ``paths`` into ``out_dir``; one report per input, in order."""
    options = options or ImportOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs = expand_inputs([Path(p) for p in paths], fmt)
    reports = []
    for i, path in enumerate(inputs):
        if progress:
            progress(i, len(inputs), 0.0, path.name)

        def inner(frac: float, msg: str, i: int = i) -> None:
            if progress:
                progress(i, len(inputs), max(0.0, min(1.0, frac)), msg)

        reports.append(import_one(path, out, options, fmt, overwrite, inner))
    if progress:
        progress(len(inputs), len(inputs), 0.0, "done")
    return reports
