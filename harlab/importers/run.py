"""Batch import: expand paths and folders, detect each format, read, save one .h5 per session.

This is what ``harlab import`` and the GUI's drag and drop share. Every input is
all-or-nothing: it is read and validated completely before anything is written,
each session is saved atomically by the storage layer, and if saving one of an
input's sessions fails, the ones already written for that input are removed. One
failing input never stops the batch; its reason lands in the per-file report.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harlab import __version__
from harlab.core import files
from harlab.core.errors import HarlabError, SessionFileError, quote_input
from harlab.core.files import same_file, special_kind
from harlab.core.labels import LabelSchema
from harlab.core.metadata import Metadata, SourceFile
from harlab.core.session import Session
from harlab.core.wording import counted
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    companion_of,
    companion_refusal,
    detect,
    get_importer,
    import_warnings,
    importers,
)
from harlab.labeling.class_keys import key_keyless_classes

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


def _key(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p.absolute()


def expand_inputs(paths: Sequence[Path], fmt: str | None = None) -> list[Path]:
    """The inputs named by ``paths``: files as given, folders opened up, companions joined.

    A folder that a directory importer (an account export) claims is one input and
    nothing inside it is read again; otherwise each importer lists the files it would
    read below the folder (by name pattern) and the union is imported, content
    deciding the format of each. With ``fmt`` only that importer is asked.

    A companion file (a gyroscope file, HAPT's labels.txt) is read with its main file:
    named beside it, it adds nothing (the two are one session, not two copies that
    would count a subject twice); named alone, its main file is imported in its place.
    A companion with no single main file stays in the list, and :func:`import_one`
    refuses it with the reason. The same file named twice (or spelled two ways) is
    imported once.
    """
    candidates = [get_importer(fmt)] if fmt else list(importers().values())
    named: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir() or special_kind(path):
            named.append(path)  # files, and what does not exist (reported by the driver)
            continue
        claimed: list[Path] = []
        for imp in candidates:
            if imp.accepts_directories:
                inputs, claims = imp.dataset_inputs(path)
                claimed.extend(claims)
                named.extend(inputs)
        files: set[Path] = set()
        for imp in candidates:
            if imp.accepts_directories:
                continue
            files.update(p for p in imp.expand(path) if not _under(p, claimed))
        named.extend(sorted(files))

    mains: dict[Path, list[Path] | None] = {}
    for p in named:
        found = companion_of(p, fmt) if p.is_file() else None
        mains[p] = found[1] if found else None
    out: list[Path] = []
    seen: set[Path] = set()
    wanted = {_key(p) for p, m in mains.items() if m is None or len(m) == 1}
    wanted |= {_key(m[0]) for m in mains.values() if m and len(m) == 1}
    for p in named:
        m = mains[p]
        if m is not None and len(m) == 1:
            p = m[0]
        elif m is not None and any(_key(x) in wanted for x in m):
            continue  # labels.txt named with recordings that read it
        k = _key(p)
        if k not in seen:
            seen.add(k)
            out.append(p)
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "session"


def output_names(path: Path, sessions: Sequence[Session | None]) -> list[str]:
    """File names for an input's sessions: ``<stem>.h5`` or ``<stem>_<part>.h5``."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    stem = _safe(Path(name).stem if not path.is_dir() else name)
    if len(sessions) == 1:
        return [f"{stem}.h5"]
    names = []
    for i, s in enumerate(sessions, start=1):
        part = (s.metadata.extra.get("import_part") if s is not None else "") or f"{i:03d}"
        names.append(f"{stem}_{_safe(part)}.h5")
    # keep names unique whatever the importers suggested
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            names[i] = f"{n[:-3]}_{i + 1:03d}.h5"
        seen[names[i]] = i
    return names


def _complete_metadata(md: Metadata, path: Path, importer: Importer, options: ImportOptions) -> None:
    """Fill in what an importer left empty: participant, importer name, version, source files."""
    if options.participant and not md.participant_id:
        md.participant_id = options.participant
    prov = md.provenance
    prov.importer = prov.importer or importer.name
    prov.harlab_version = prov.harlab_version or __version__
    if not prov.sources and path.is_file():
        prov.sources = [SourceFile.of(path)]


def participant_kept(sessions: Sequence[Session | Metadata], options: ImportOptions) -> str:
    """The report line saying ``--participant`` was not applied where the source names its subjects.

    Multi-subject data sets (a WISDM or UCI HAPT folder) name each session's subject;
    one id for all of them would make different people one participant and silently
    break held-out-participant validation, so their ids are kept. "" when nothing was kept.
    """
    if not options.participant:
        return ""
    ids = [s.metadata.participant_id if isinstance(s, Session) else s.participant_id for s in sessions]
    if all(i == options.participant for i in ids):
        return ""
    # the same words for every input, so a folder of many subjects gets one shared report line
    return (
        f"--participant {options.participant} not applied: the source names its subjects, whose ids "
        "are kept so different people stay different participants"
    )


class ImportCancelled(HarlabError):
    """Raised from a progress callback to stop a batch; the input being read writes nothing."""

    def __init__(self) -> None:
        super().__init__("import cancelled")


def _temp_beside(target: Path) -> Path:
    """A new empty file beside ``target`` named as a save's temporary file, which
    :func:`harlab.storage.codec.remove_stale_temps` cleans, so a killed import leaves
    nothing for long."""
    from harlab.storage.codec import TEMP_SUFFIX

    fd, name = files.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    return Path(name)


def _stage(session: Session, tmp: Path, target: Path) -> None:
    """Write ``session`` completely to ``tmp`` and fsync it.

    Through HDF5's in-memory driver, written out at close: with the default driver a
    write that fails (a full disk) crashes HDF5 2.0 when the file is closed, while the
    in-memory driver reports it as an error. An import holds its sessions in memory
    anyway, so this costs little.
    """
    import h5py

    from harlab.storage.codec import write_session

    try:
        with h5py.File(tmp, "w", driver="core", backing_store=True, track_order=True, locking=False) as f:
            write_session(f, session)
        files.fsync_path(tmp)
    except (OSError, RuntimeError) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else quote_input(str(exc))
        raise SessionFileError(target, f"could not save: {why}") from None


def save_all_or_nothing(sessions: Sequence[Session], targets: Sequence[Path]) -> list[Path]:
    """Save ``sessions`` to ``targets`` so that either all of them are new or all are as before.

    Every target is locked first (a file open in the workbench fails here, before
    anything is written) and checked for being a folder; each session is then written
    completely under a temporary name beside its target (a full disk fails here, with
    every target untouched); only then are the targets replaced by renames, the old
    files kept as hard links until all renames succeeded, and put back if one fails.
    """
    from harlab.storage import FileLock
    from harlab.storage.probe import trust
    from harlab.storage.session_file import remove_stale_temps

    locks: list[FileLock] = []
    staged: list[Path] = []
    backups: dict[Path, Path | None] = {}  # target -> its old file's link (None: there was none)
    try:
        for t in targets:
            if t.is_dir():
                raise HarlabError(f"{t} is a folder; cannot write a session file there")
            if t.exists() and not t.is_file():
                raise HarlabError(f"{t} is {special_kind(t) or 'not a regular file'}; cannot replace it")
            locks.append(FileLock(t).acquire())
            remove_stale_temps(t)
        for session, t in zip(sessions, targets, strict=True):
            tmp = _temp_beside(t)
            staged.append(tmp)
            _stage(session, tmp, t)
        for tmp, t in zip(staged, targets, strict=True):
            old = None
            if t.exists():
                old = _temp_beside(t)
                try:
                    old.unlink()  # the name stays reserved to this lock holder; the link takes it
                    os.link(t, old)
                except OSError:  # no hard links here: copy, so the old file survives a failure
                    shutil.copy2(t, old)
            backups[t] = old
            os.replace(tmp, t)
        for folder in {t.parent for t in targets}:
            files.fsync_dir(folder)
        for t in targets:
            trust(t)  # harlab wrote it: opening it needs no probe in a child process
    except BaseException:
        for t, old in backups.items():  # put every replaced target back as it was
            with contextlib.suppress(OSError):
                if old is None:
                    t.unlink()
                else:
                    os.replace(old, t)
        for tmp in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    finally:
        for old in backups.values():
            if old is not None:
                with contextlib.suppress(OSError):
                    old.unlink()
        for lock in locks:
            lock.release()
    return list(targets)


def _streaming_importer(path: Path, fmt: str | None) -> Importer | None:
    """The importer of ``path`` when it streams (:attr:`Importer.streaming`) and ``path`` is
    one plain file it reads alone; None otherwise (the in-memory path then decides)."""
    if not path.is_file() or special_kind(path):
        return None
    companion = companion_of(path, fmt)
    if companion is not None:
        return None
    try:
        importer = get_importer(fmt) if fmt else detect(path)
    except HarlabError:
        return None  # read_input says why
    return importer if importer.streaming else None


def read_input(
    path: Path,
    options: ImportOptions,
    fmt: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    report: FileReport | None = None,
) -> tuple[Importer, list[Session]]:
    """Detect and read one input (as :func:`expand_inputs` names it), refusing what cannot be one.

    What the command line and the workbench both do with a single input: special
    files are refused before anything opens them, a companion file without one main
    file is refused with the reason, and an input without sessions is an error.
    """
    kind = special_kind(path)
    if kind:
        raise HarlabError(f"{path}: is {kind}, not a regular file; harlab reads only regular files")
    companion = companion_of(path, fmt) if path.is_file() else None
    if companion is not None and len(companion[1]) != 1:
        raise companion_refusal(path, *companion)
    importer = get_importer(fmt) if fmt else detect(path)
    if report is not None:
        report.importer = importer.name
    if path.is_dir() and not importer.accepts_directories:
        raise HarlabError(f"{path}: format {importer.name!r} reads files, not folders")
    sessions = importer.read(path, options, progress)
    if not sessions:
        raise HarlabError(f"{path}: the importer found no sessions in it")
    for session in sessions:  # classes named by the file's label column: keyed, so they can be labelled
        key_keyless_classes(session.schema)
    return importer, sessions


def _check_targets(path: Path, targets: Sequence[Path], sources: Sequence[Path], overwrite: bool) -> None:
    """Refuse targets that are inputs of this import, or exist without ``overwrite``."""
    for t in targets:
        if t.exists() and any(same_file(t, src) for src in sources):
            raise HarlabError(f"{t} is also an input of this import; choose another output")
    if not overwrite:
        existing = [t for t in targets if t.exists() or t.is_symlink()]
        if existing:
            raise HarlabError(f"{existing[0]} already exists (pass --overwrite to replace it)")


def _import_streamed(
    path: Path,
    importer: Importer,
    target: Path,
    options: ImportOptions,
    overwrite: bool,
    progress: Callable[[float, str], None] | None,
    report: FileReport,
) -> None:
    """Import one input through :meth:`Importer.read_into`: samples go from the input to a
    temporary file block by block, which is renamed onto ``target`` only when the whole input
    was read and checked; any failure (a bad block, a cancel) removes it and leaves ``target``
    as it was."""
    from harlab.storage.session_writer import SessionWriter

    _check_targets(path, [target], [path], overwrite)
    if target.exists() and not target.is_file():
        raise HarlabError(f"{target} is {special_kind(target) or 'not a regular file'}; cannot replace it")
    writers: list[SessionWriter] = []

    def begin(metadata: Metadata, schema: LabelSchema) -> SessionWriter:
        if writers:
            raise HarlabError(f"{path}: the {importer.name} importer began a second session")
        writers.append(SessionWriter(target, metadata, schema))
        return writers[0]

    try:
        importer.read_into(path, options, begin, progress)
        if not writers:
            raise HarlabError(f"{path}: the importer found no sessions in it")
        w = writers[0]
        for track in w.label_tracks.values():  # the file's classes, keyed as read_input keys them
            for seg in track:
                w.schema.ensure(seg.label)
        key_keyless_classes(w.schema)
        _complete_metadata(w.metadata, path, importer, options)
        kept = participant_kept([w.metadata], options)
        if kept:
            report.warnings.append(kept)
        counts = {name: w.n_samples(name) for name in w.stream_names}
        segments = sum(len(t) for t in w.label_tracks.values())
        warnings = import_warnings(w.metadata)
        report.outputs = [w.close()]
    except BaseException:
        for w in writers:
            w.abort()
        raise
    report.stream_samples = counts
    report.samples = sum(counts.values())
    report.segments = segments
    report.warnings += [x for x in warnings if x not in report.warnings]


def import_one(
    path: Path,
    out_dir: Path,
    options: ImportOptions,
    fmt: str | None = None,
    overwrite: bool = False,
    progress: Callable[[float, str], None] | None = None,
    out_file: Path | None = None,
) -> FileReport:
    """Import one input; never raises for a bad input (the report says why), only
    :class:`ImportCancelled` when the progress callback stops it (nothing written).

    The input's sessions are saved all or nothing (:func:`save_all_or_nothing`): with
    ``overwrite``, a failure leaves every target file as it was. ``out_file`` names the
    one session file to write instead of a name in ``out_dir``; an input that yields
    several sessions is then refused before anything is written.
    """
    report = FileReport(path)
    try:
        if not path.exists():
            raise HarlabError(f"{path}: no such file or folder")
        importer = _streaming_importer(path, fmt)
        if importer is not None:
            report.importer = importer.name
            target = out_file if out_file is not None else out_dir / output_names(path, [None])[0]
            _import_streamed(path, importer, target, options, overwrite, progress, report)
            report.ok = True
            return report
        importer, sessions = read_input(path, options, fmt, progress, report)
        if out_file is not None:
            if len(sessions) != 1:
                raise HarlabError(
                    f"{path} holds {len(sessions)} sessions but -o names one file ({out_file}); "
                    "give a folder to write one file per session"
                )
            targets = [out_file]
        else:
            targets = [out_dir / n for n in output_names(path, sessions)]
        sources = [path, *(Path(x.path) for s in sessions for x in s.metadata.provenance.sources if x.path)]
        _check_targets(path, targets, sources, overwrite)
        for session in sessions:
            _complete_metadata(session.metadata, path, importer, options)
        kept = participant_kept(sessions, options)
        if kept:
            report.warnings.append(kept)
        report.outputs = save_all_or_nothing(sessions, targets)
        for session in sessions:
            for name, stream in session.streams.items():
                report.samples += stream.n_samples
                report.stream_samples[name] = report.stream_samples.get(name, 0) + stream.n_samples
            report.segments += sum(len(t) for t in session.label_tracks.values())
            for w in import_warnings(session):
                if w not in report.warnings:
                    report.warnings.append(w)
        report.ok = True
    except ImportCancelled:
        raise
    except HarlabError as exc:
        report.reason = str(exc)
    except (OSError, ValueError, MemoryError) as exc:  # a bug or the disk, still reported per file
        report.reason = quote_input(f"{path}: {type(exc).__name__}: {exc}")
    if not report.ok:
        report.outputs = []
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
    out_file: Path | str | None = None,
) -> list[FileReport]:
    """Import every input under ``paths`` into ``out_dir``; one report per input, in order.

    With ``out_file`` the single session of the single input is written to that file
    (``out_dir`` is ignored); more inputs are refused before anything is read.
    A progress callback may raise :class:`ImportCancelled` to stop: the reports of the
    inputs finished so far are returned and the one being read wrote nothing.
    """
    options = options or ImportOptions()
    inputs = expand_inputs([Path(p) for p in paths], fmt)
    target = Path(out_file) if out_file is not None else None
    if target is not None:
        if len(inputs) > 1:
            raise HarlabError(
                f"-o {target} names one session file but the paths hold {len(inputs)} inputs; "
                "give a folder to write one file per session"
            )
        out = target.parent
        if str(out) and not out.is_dir():
            out.mkdir(parents=True, exist_ok=True)
    else:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise HarlabError(
                f"-o {out} is a file, not a folder; name a folder (or one .h5 file for one session)"
            )
        out.mkdir(parents=True, exist_ok=True)
    reports = []
    for i, path in enumerate(inputs):
        if progress:
            try:
                progress(i, len(inputs), 0.0, path.name)
            except ImportCancelled:
                break

        def inner(frac: float, msg: str, i: int = i) -> None:
            if progress:
                progress(i, len(inputs), max(0.0, min(1.0, frac)), msg)

        try:
            reports.append(import_one(path, out, options, fmt, overwrite, inner, target))
        except ImportCancelled:
            break
    else:
        if progress:
            progress(len(inputs), len(inputs), 0.0, "done")
    return reports


def shared_warnings(reports: Sequence[FileReport]) -> dict[str, int]:
    """Warnings that more than one input got, with how many: said once, not once per file."""
    counts: dict[str, int] = {}
    for r in reports:
        for w in r.warnings if r.ok else ():
            counts[w] = counts.get(w, 0) + 1
    return {w: n for w, n in counts.items() if n > 1}


def names_of(reports: Sequence[FileReport], warning: str, n: int, most: int = 3) -> str:
    """': a.csv, b.csv' naming the few inputs that got a shared ``warning`` (so the person can
    find them), nothing when there are more than ``most``."""
    if n > most:
        return ""
    return ": " + ", ".join(Path(r.path).name for r in reports if r.ok and warning in r.warnings)


def report_lines(reports: Sequence[FileReport], out: Path | str) -> list[str]:
    """The per-file report that ``harlab import`` prints and the workbench shows, ending in a summary."""
    shared = shared_warnings(reports)
    lines: list[str] = []
    failed = 0
    for r in reports:
        if r.ok:
            streams = ", ".join(f"{k} {v}" for k, v in r.stream_samples.items()) or "no streams"
            lines.append(
                f"ok      {r.path}  [{r.importer}] {counted(r.sessions, 'session')}; samples: {streams}; "
                f"{counted(r.segments, 'label segment')}"
            )
            lines += [f"        -> {o}" for o in r.outputs]
            lines += [f"        warning: {w}" for w in r.warnings if w not in shared]
        else:
            failed += 1
            lines.append(f"FAILED  {r.path}" + (f"  [{r.importer}]" if r.importer else ""))
            lines.append(f"        reason: {r.reason}")
    lines += [f"warning ({n} inputs{names_of(reports, w, n)}): {w}" for w, n in shared.items()]
    total = sum(r.sessions for r in reports)
    lines.append(
        f"{len(reports) - failed} of {counted(len(reports), 'input')} imported, "
        f"{counted(total, 'session file')} written to {out}" + (f"; {failed} failed" if failed else "")
    )
    return lines
