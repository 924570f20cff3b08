"""Putting a label file's tracks onto a session: classes matched, conflicts reported, one edit.

:func:`plan_import` turns a :class:`~harlab.labelfiles.label_source.LabelFile` and the user's
choices (:class:`ImportRequest`) into an :class:`ImportPlan` without touching the session:

* **Classes** match the session's schema case- and separator-insensitively
  (:mod:`harlab.core.classnames`: ``Walking-Upstairs`` is the schema's ``walking_upstairs``) and
  take the schema's spelling. A class the schema lacks is *unknown*: it is listed, and the user
  either adds it to the schema (``add_unknown``) or maps it onto an existing class
  (``class_map``). Until every unknown class is settled the plan is not ready: nothing is ever
  dropped for its class.
* **Conflicts** are reported with the file, the place in it and what was found: a segment that
  ends before it starts, one that lies (partly) outside the recording (the span of its streams),
  and, on an exclusive track, one that overlaps an earlier one. ``on_conflict`` says what happens
  to each: ``clip`` cuts it to the recording or to where the earlier segment ends (a reversed
  segment cannot be cut and is skipped, and so is one with nothing left), ``skip`` leaves it out,
  ``refuse`` (the default) imports nothing. Every clip and skip is in the report: no time changes
  silently.

Planning looks each distinct class name up once (a file of 100 000 segments has a handful), and
takes an optional ``progress(done, total)`` called every :data:`PROGRESS_EVERY` segments: the
workbench plans on a background job and stops a stale plan by raising :class:`PlanCancelled`
from it.

:meth:`ImportPlan.command` is the edit: an :class:`~harlab.labeling.commands.AddSegments` per
track (in a :class:`~harlab.labeling.commands.Composite` when there are several), so in the
workbench an import is one undoable, journalled step, and :func:`import_into_file` applies the
same command to a session file through its write lock and atomic save, after every check, so a
refused import leaves the file as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harlab.core.classnames import class_key, find_class, spelling_map
from harlab.core.errors import HarlabError, ImportFormatError
from harlab.core.files import input_file
from harlab.core.labels import LabelTrack, Segment, utcnow
from harlab.core.session import Session
from harlab.core.wording import counted
from harlab.importers._csvspec import CsvSpec
from harlab.labelfiles.audacity_labels import looks_like_audacity, read_audacity
from harlab.labelfiles.eaf_reader import read_eaf
from harlab.labelfiles.label_csv import END_NAMES, LABEL_NAMES, START_NAMES, is_segment_table, read_label_csv
from harlab.labelfiles.label_source import FORMATS, LabelFile, SessionClock
from harlab.labelfiles.labelstudio_json import looks_like_labelstudio, read_labelstudio
from harlab.labeling.commands import AddSegments, Composite, EditCommand
from harlab.labeling.edit_journal import refuse_unsaved_edits
from harlab.storage import open_session

Policy = Literal["exclusive", "overlapping"]
OnConflict = Literal["clip", "skip", "refuse"]
ON_CONFLICT = ("clip", "skip", "refuse")
#: Two times closer than this are the same time (float residue of unit conversions, not a conflict).
_EPS = 1e-9
#: segments planned between two calls of :func:`plan_import`'s ``progress``
PROGRESS_EVERY = 5000


class LabelImportError(HarlabError):
    """The import cannot go ahead as asked; ``plan`` (when there is one) holds the full report."""

    def __init__(self, message: str, plan: ImportPlan | None = None) -> None:
        super().__init__(message)
        self.plan = plan


class PlanCancelled(LabelImportError):
    """Raised from :func:`plan_import`'s ``progress`` to stop planning (no plan results)."""

    def __init__(self) -> None:
        super().__init__("planning the import was cancelled")


# -- reading -------------------------------------------------------------------------------
def detect_format(path: Path) -> str:
    """``eaf``, ``labelstudio``, ``audacity`` or ``csv``, by suffix and, when unclear, by content."""
    suffix = path.suffix.lower()
    by_suffix = {".eaf": "eaf", ".json": "labelstudio", ".csv": "csv", ".tsv": "csv"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read: {exc.strerror}", expected="a label file") from exc
    stripped = head.lstrip()
    if stripped.startswith("<"):
        return "eaf"
    if looks_like_labelstudio(head):
        return "labelstudio"
    if looks_like_audacity(head):
        return "audacity"
    return "csv"


def is_label_file(path: Path) -> bool:
    """Whether a file dropped on an open session is labels for it rather than a recording: an
    ``.eaf``, a Label Studio export, an Audacity label file, or a table whose header has start,
    end and class columns (a recording's CSV has a time column and channels instead)."""
    suffix = path.suffix.lower()
    if suffix == ".eaf":
        return True
    if suffix not in (".json", ".txt", ".csv", ".tsv"):
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    if suffix == ".json":
        return looks_like_labelstudio(head)
    if suffix == ".txt" and looks_like_audacity(head):
        return True
    first = head.splitlines()[0] if head.strip() else ""
    cells = [c.strip().lower() for c in first.replace("\t", ",").split(",")]
    if is_segment_table(cells):
        return True
    return bool(
        set(cells) & set(START_NAMES) and set(cells) & set(END_NAMES) and set(cells) & set(LABEL_NAMES)
    )


def session_clock(session: Session) -> SessionClock:
    """The session's start, zone and sample rate (of its first stream with a rate)."""
    rate = next((s.rate_hz for s in session.streams.values() if s.rate_hz), None)
    return SessionClock(session.metadata.start_utc, session.metadata.timezone or "UTC", rate)


def read_label_file(
    path: str | Path,
    session: Session,
    fmt: str = "auto",
    spec: CsvSpec | None = None,
) -> LabelFile:
    """The tracks of a label file, times in seconds from ``session``'s start."""
    p = input_file(path, "a label file")
    if fmt == "auto":
        fmt = detect_format(p)
    if fmt not in FORMATS:
        raise LabelImportError(f"unknown label format {fmt!r}; one of {', '.join(FORMATS)}")
    if spec is not None and fmt != "csv":
        raise LabelImportError(f"a column spec describes a CSV table, but {p.name} is read as {fmt}")
    clock = session_clock(session)
    if fmt == "eaf":
        return read_eaf(p)
    if fmt == "audacity":
        return read_audacity(p)
    if fmt == "labelstudio":
        return read_labelstudio(p, clock)
    return read_label_csv(p, clock, spec, session.metadata.session_id)


# -- planning ------------------------------------------------------------------------------
@dataclass
class ImportRequest:
    """The user's choices. ``tracks``: which of the file's tracks (None: all); ``names``: the new
    name of a file track; ``track_name``: the new name of the one track imported (``--track``);
    ``annotator``: who made the labels (overrides what the file says)."""

    tracks: Sequence[str] | None = None
    names: dict[str, str] = field(default_factory=dict)
    track_name: str | None = None
    annotator: str = ""
    class_map: dict[str, str] = field(default_factory=dict)
    add_unknown: bool = False
    on_conflict: OnConflict = "refuse"
    policy: Policy = "exclusive"


@dataclass(frozen=True)
class Conflict:
    track: str  #: the new track's name
    where: str  #: the place in the file ("line 12", "tier T, annotation a3")
    found: str  #: what is wrong, with the times
    action: str  #: what the import does with it under the chosen policy

    def text(self, file: str) -> str:
        return f"{file}, {self.where}: {self.found} -> {self.action}"


@dataclass
class ImportPlan:
    file: LabelFile
    request: ImportRequest
    tracks: list[tuple[str, list[Segment]]]
    conflicts: list[Conflict]
    unknown: dict[str, int]  #: unsettled classes -> how many segments have them
    respelled: dict[str, str]  #: file spelling -> schema spelling (the same class, or mapped)
    added: list[str]  #: classes the import adds to the schema
    #: who made each new track (recorded on the track it creates, and on every segment)
    track_annotators: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.unknown and (not self.conflicts or self.request.on_conflict != "refuse")

    @property
    def n_segments(self) -> int:
        return sum(len(s) for _, s in self.tracks)

    def report(self) -> list[str]:
        """Lines for a person: what is imported, classes, every conflict and the notes."""
        name = self.file.path.name
        lines = [
            f"{name} ({self.file.format}): " + ", ".join(f"{t} ({len(s)} segments)" for t, s in self.tracks)
        ]
        lines += [f"note: {n}" for n in self.file.notes]
        mapped = {class_key(k) for k in self.request.class_map}
        for old, new in sorted(self.respelled.items()):
            how = "mapped to" if class_key(old) in mapped else "is the schema's"
            lines.append(f"class {old!r} {how} {new!r}")
        for c in self.added:
            lines.append(f"class {c!r} is added to the schema")
        if self.unknown:
            lines.append(
                "unknown classes (add them with --add-unknown or map them with --map OLD=NEW): "
                + ", ".join(f"{c} ({n})" for c, n in sorted(self.unknown.items()))
            )
        lines += [c.text(name) for c in self.conflicts]
        return lines

    def command(self) -> EditCommand:
        cmds: list[EditCommand] = [
            AddSegments(
                name,
                segs,
                self.request.policy,
                f"Import {name} from {self.file.path.name}",
                self.track_annotators.get(name, ""),
            )
            for name, segs in self.tracks
        ]
        if len(cmds) == 1:
            return cmds[0]
        return Composite(f"Import labels from {self.file.path.name}", cmds)


def unknown_classes(session: Session, file: LabelFile) -> dict[str, int]:
    """The file's classes the schema lacks (after case/separator matching), with their counts:
    what a user settles (add or map) before importing."""
    schema = session.schema.names
    counts: dict[str, int] = {}
    for t in file.tracks:
        for s in t.segments:
            counts[s.label] = counts.get(s.label, 0) + 1
    return {label: n for label, n in counts.items() if find_class(label, schema) is None}


def recording_span(session: Session) -> tuple[float, float] | None:
    """The span of the session's streams (None for a session of labels only)."""
    spans = [s.time_bounds() for s in session.streams.values() if s.n_samples]
    if not spans:
        return None
    return min(a for a, _ in spans), max(b for _, b in spans)


def _resolver(
    session: Session, request: ImportRequest, labels: Sequence[str]
) -> tuple[Callable[[str], str | None], dict[str, str], list[str]]:
    schema = session.schema.names
    mapped: dict[str, str] = {}
    for old, new in request.class_map.items():
        target = find_class(new, schema)
        if target is None:
            raise LabelImportError(
                f"--map {old}={new}: the schema has no class {new!r} (it has {', '.join(schema)})"
            )
        mapped[class_key(old)] = target
    distinct = list(dict.fromkeys(labels))  # in order: the first spelling of a new class wins
    adding = (
        spelling_map(lb for lb in distinct if find_class(lb, schema) is None and class_key(lb) not in mapped)
        if request.add_unknown
        else {}
    )
    respelled: dict[str, str] = {}
    known: dict[str, str | None] = {}  # each spelling is looked up once

    def resolve(label: str) -> str | None:
        if label in known:
            return known[label]
        key = class_key(label)
        target = mapped.get(key) or find_class(label, schema) or adding.get(key)
        if target is not None and target != label:
            respelled[label] = target
        known[label] = target
        return target

    return resolve, respelled, list(adding.values())


def plan_import(
    session: Session,
    file: LabelFile,
    request: ImportRequest,
    progress: Callable[[int, int], None] | None = None,
) -> ImportPlan:
    """What importing ``file`` with ``request`` would do to ``session`` (which is not changed).

    ``progress(done, total)`` (segments of the chosen tracks) is called every
    :data:`PROGRESS_EVERY` segments and at the end; whatever it raises stops the planning."""
    if request.on_conflict not in ON_CONFLICT:
        raise LabelImportError(f"on conflict {request.on_conflict!r}: one of {', '.join(ON_CONFLICT)}")
    found = {t.name: t for t in file.tracks}
    chosen = list(request.tracks) if request.tracks is not None else list(found)
    for name in chosen:
        if name not in found:
            raise LabelImportError(f"{file.path.name} has no track {name!r}; it has {', '.join(found)}")
    if not chosen:
        raise LabelImportError(f"no track of {file.path.name} is chosen")
    names = dict(request.names)
    if request.track_name:
        if len(chosen) != 1:
            raise LabelImportError(
                f"one new track name ({request.track_name!r}) for {len(chosen)} tracks of "
                f"{file.path.name} ({', '.join(chosen)}); choose one of them (--from TRACK)"
            )
        names[chosen[0]] = request.track_name
    new_names = [names.get(n, n) for n in chosen]
    for n in new_names:
        LabelTrack(n, request.policy)  # validates the name
        if n in session.label_tracks:
            raise LabelImportError(f"the session already has a label track {n!r}; name the new one (--track)")
    if len(set(new_names)) != len(new_names):
        raise LabelImportError(f"two imported tracks would be called the same: {', '.join(new_names)}")
    labels = [s.label for n in chosen for s in found[n].segments]
    resolve, respelled, added = _resolver(session, request, labels)
    span = recording_span(session)
    unknown: dict[str, int] = {}
    conflicts: list[Conflict] = []
    out: list[tuple[str, list[Segment]]] = []
    annotators: dict[str, str] = {}
    total, done = len(labels), 0
    file_name = file.path.name
    # one import, one time: the segments are made together (and 100 000 clock reads cost 0.4 s)
    made = utcnow()
    clip = request.on_conflict == "clip"
    act = {"clip": "clipped", "skip": "skipped", "refuse": "import refused"}[request.on_conflict]
    for name, new in zip(chosen, new_names, strict=True):
        track = found[name]
        who_default = request.annotator or track.annotator
        annotators[new] = who_default
        segs: list[Segment] = []
        last_end = -float("inf")
        for raw in sorted(track.segments, key=lambda s: (s.start, s.end)):
            done += 1
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
            label = resolve(raw.label)
            if label is None:
                unknown[raw.label] = unknown.get(raw.label, 0) + 1
                continue
            a, b = raw.start, raw.end
            if b < a - _EPS:
                conflicts.append(
                    Conflict(
                        new,
                        raw.where,
                        f"{raw.label!r} ends at {b:.3f} s before it starts at {a:.3f} s",
                        "skipped (cannot be clipped)" if clip else act,
                    )
                )
                continue
            b = max(a, b)
            if span is not None and (a < span[0] - _EPS or b > span[1] + _EPS):
                ca, cb = max(a, span[0]), min(b, span[1])
                gone = cb < ca or (cb - ca <= _EPS and b - a > _EPS)
                action = (
                    ("skipped (nothing inside the recording)" if gone else f"clipped to {ca:.3f}-{cb:.3f} s")
                    if clip
                    else act
                )
                conflicts.append(
                    Conflict(
                        new,
                        raw.where,
                        f"{raw.label!r} at {a:.3f}-{b:.3f} s lies outside the recording ({span[0]:.3f}-{span[1]:.3f} s)",
                        action,
                    )
                )
                if not clip or gone:
                    continue
                a, b = ca, cb
            if request.policy == "exclusive" and b - a > _EPS and a < last_end - _EPS:
                gone = b <= last_end + _EPS
                action = (
                    ("skipped (wholly covered)" if gone else f"clipped to {last_end:.3f}-{b:.3f} s")
                    if clip
                    else act
                )
                conflicts.append(
                    Conflict(
                        new,
                        raw.where,
                        f"{raw.label!r} at {a:.3f}-{b:.3f} s overlaps the segment before it (ends {last_end:.3f} s) on an exclusive track",
                        action,
                    )
                )
                if not clip or gone:
                    continue
                a = last_end
            if b - a > _EPS:
                last_end = max(last_end, b)
            segs.append(
                Segment(
                    a,
                    b,
                    label,
                    annotator=raw.annotator if not request.annotator and raw.annotator else who_default,
                    source="imported",
                    note=f"{file_name} {raw.where}",
                    created=made,
                    modified=made,
                )
            )
        out.append((new, segs))
    if progress is not None:
        progress(total, total)
    used = {s.label for _, segs in out for s in segs}
    added = [c for c in added if c in used]  # a class only skipped segments had is not added
    return ImportPlan(file, request, out, conflicts, unknown, respelled, added, annotators)


def import_into_file(
    session_path: str | Path,
    label_path: str | Path,
    request: ImportRequest,
    fmt: str = "auto",
    spec: CsvSpec | None = None,
) -> ImportPlan:
    """Import a label file into a session file: read, plan, and only if the plan is ready, apply
    its command and save atomically under the file's write lock. Refuses a file with a crashed
    workbench's unsaved edits (saving would strand them). Raises :class:`LabelImportError` with
    the plan when unknown classes or refused conflicts remain; the file is then unchanged."""
    path = input_file(session_path, "a session file")
    refuse_unsaved_edits(path)
    with open_session(path, writable=True) as sf:
        sf.require_sound()
        file = read_label_file(label_path, sf.session, fmt, spec)
        plan = plan_import(sf.session, file, request)
        if not plan.ready:
            why = "unknown classes" if plan.unknown else counted(len(plan.conflicts), "conflict")
            raise LabelImportError(f"nothing imported ({why}):\n  " + "\n  ".join(plan.report()), plan)
        if not plan.n_segments:
            raise LabelImportError(
                "nothing imported: no segment is left\n  " + "\n  ".join(plan.report()), plan
            )
        plan.command().do(sf.session)
        sf.save()
    return plan
