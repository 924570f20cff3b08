"""Label edits as command objects: the one way the GUI changes labels.

Every edit is an :class:`EditCommand` with ``do``/``undo`` on a :class:`~harlab.core.Session`
(SLEAP's split: whatever *asks* — a dialog, a drag — lives in the GUI; the command only
*does*). A command plans its effect the first time it runs, as exact before/after values of
the segments it touches (a :class:`TrackDelta`), and from then on ``do`` and ``undo`` just
apply those values. That is why:

* undo restores the exact previous state, ids and created/modified times included;
* redo (and crash-journal replay) reproduces exactly the state the user saw, with the same
  ids and timestamps, instead of re-running the logic at another time;
* a command applied to a session that is not in the state it was planned on (a stale
  journal, a second window) fails with a :class:`SessionError` instead of corrupting labels.

Applying a delta costs O(k log n) for k touched segments on an n-segment track
(:meth:`LabelTrack.replace_many`), so edits stay instant on 50,000-segment tracks.

Commands name tracks by name (not object) so they serialise to JSON (``to_dict`` /
:func:`command_from_dict`) for the crash journal. A command on a track that does not exist
yet creates it (and its undo removes it); a label that the schema lacks is added to the
schema as part of the command, so replaying the journal on a freshly opened file rebuilds
everything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, ClassVar

from harlab.core.classnames import class_key, spelling_map
from harlab.core.colors import distinct_color
from harlab.core.errors import SessionError
from harlab.core.labels import LabelClass, LabelSchema, LabelTrack, Segment, utcnow
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session

TrackRef = LabelTrack | str
EDITABLE_FIELDS = ("start", "end", "label", "annotator", "source", "confidence", "note")


# -- serialisation of values ----------------------------------------------------------------
def segment_to_dict(seg: Segment) -> dict[str, Any]:
    """A JSON-ready dict that :func:`segment_from_dict` turns back into an equal Segment."""
    d: dict[str, Any] = {}
    for f in fields(Segment):
        v = getattr(seg, f.name)
        d[f.name] = v.isoformat() if isinstance(v, datetime) else v
    return d


def segment_from_dict(d: dict[str, Any]) -> Segment:
    kw = dict(d)
    for key in ("created", "modified"):
        if isinstance(kw.get(key), str):
            kw[key] = datetime.fromisoformat(kw[key])
    return Segment(**kw)


def class_to_dict(c: LabelClass) -> dict[str, Any]:
    return {"name": c.name, "color": c.color, "hotkey": c.hotkey, "description": c.description}


def class_from_dict(d: dict[str, Any]) -> LabelClass:
    return LabelClass(str(d["name"]), str(d["color"]), d.get("hotkey") or None, str(d.get("description", "")))


def fmt_span(start: float, end: float) -> str:
    """'12.3–15.0 s' for menu texts."""
    return f"{start:.1f}–{end:.1f} s" if end != start else f"{start:.1f} s"


def _name(track: TrackRef) -> str:
    return track if isinstance(track, str) else track.name


# -- the planned effect of a command --------------------------------------------------------
@dataclass
class TrackDelta:
    """Exact values of the touched segments of one track before and after (None = absent)."""

    track: str
    before: dict[int, Segment | None] = field(default_factory=dict)
    after: dict[int, Segment | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        enc = lambda m: [[i, None if s is None else segment_to_dict(s)] for i, s in m.items()]  # noqa: E731
        return {"track": self.track, "before": enc(self.before), "after": enc(self.after)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrackDelta:
        dec = lambda items: {int(i): None if s is None else segment_from_dict(s) for i, s in items}  # noqa: E731
        return cls(str(d["track"]), dec(d["before"]), dec(d["after"]))


def _apply_values(track: LabelTrack, want: dict[int, Segment | None], expect: dict[int, Segment | None]) -> None:
    for i, seg in expect.items():
        cur = _lookup(track, i)
        if cur != seg:
            raise SessionError(
                f"track {track.name!r}: segment {i} is not in the state this edit expects "
                f"(found {cur!r}, expected {seg!r}); the edit does not belong to this session state"
            )
    track.replace_many(
        remove=[i for i, s in want.items() if s is None and i in track],
        put=[s for s in want.values() if s is not None],
    )


@dataclass
class Plan:
    """Everything a command changes, as values: tracks created, classes added, segment deltas."""

    tracks_created: list[tuple[str, str]] = field(default_factory=list)  # (name, policy)
    classes_added: list[LabelClass] = field(default_factory=list)
    deltas: list[TrackDelta] = field(default_factory=list)
    schema_before: list[LabelClass] | None = None  # whole-schema replacement (SetSchema)
    schema_after: list[LabelClass] | None = None

    def apply(self, session: Session) -> None:
        """Apply all of it or, if any part does not fit the session, none of it."""
        for name, _ in self.tracks_created:
            if name in session.label_tracks:
                raise SessionError(f"label track {name!r} already exists")
        for c in self.classes_added:
            if c.name in session.schema:
                raise SessionError(f"class {c.name!r} is already in the schema")
        created: list[str] = []
        added: list[str] = []
        applied: list[TrackDelta] = []
        schema_set = False
        try:
            if self.schema_after is not None:
                _check_schema(session, self.schema_before)
                _set_schema(session, self.schema_after)
                schema_set = True
            for name, policy in self.tracks_created:
                session.add_label_track(LabelTrack(name, policy))  # type: ignore[arg-type]
                created.append(name)
            for c in self.classes_added:
                session.schema.add(c)
                added.append(c.name)
            for d in self.deltas:
                if d.track not in session.label_tracks:
                    raise SessionError(f"no label track {d.track!r} in the session")
                _apply_values(session.label_tracks[d.track], d.after, d.before)
                applied.append(d)
        except Exception:
            for d in reversed(applied):
                _apply_values(session.label_tracks[d.track], d.before, d.after)
            for name in reversed(added):
                session.schema.remove(name)
            for name in reversed(created):
                session.remove_label_track(name)
            if schema_set:
                _set_schema(session, self.schema_before or [])
            raise

    def revert(self, session: Session) -> None:
        for d in reversed(self.deltas):
            _apply_values(session.label_tracks[d.track], d.before, d.after)
        for c in reversed(self.classes_added):
            session.schema.remove(c.name)
        for name, _ in reversed(self.tracks_created):
            session.remove_label_track(name)
        if self.schema_before is not None:
            _check_schema(session, self.schema_after)
            _set_schema(session, self.schema_before)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracks_created": [list(t) for t in self.tracks_created],
            "classes_added": [class_to_dict(c) for c in self.classes_added],
            "deltas": [d.to_dict() for d in self.deltas],
            "schema_before": None if self.schema_before is None else [class_to_dict(c) for c in self.schema_before],
            "schema_after": None if self.schema_after is None else [class_to_dict(c) for c in self.schema_after],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            [(str(a), str(b)) for a, b in d.get("tracks_created", [])],
            [class_from_dict(c) for c in d.get("classes_added", [])],
            [TrackDelta.from_dict(x) for x in d.get("deltas", [])],
            None if d.get("schema_before") is None else [class_from_dict(c) for c in d["schema_before"]],
            None if d.get("schema_after") is None else [class_from_dict(c) for c in d["schema_after"]],
        )


def _check_schema(session: Session, expect: list[LabelClass] | None) -> None:
    if expect is not None and list(session.schema) != expect:
        raise SessionError("the label schema is not in the state this edit expects")


def _set_schema(session: Session, classes: list[LabelClass]) -> None:
    """Replace the schema's classes in place (views hold the schema object)."""
    schema = session.schema
    with schema.events.blocked():
        for name in list(schema.names):
            schema.remove(name)
        for c in classes:
            schema.add(c)
    schema.events.emit("schema_changed", schema)


class Planner:
    """Helps a command build its :class:`Plan` against the session's current state."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.plan = Plan()
        self._next_ids: dict[str, int] = {}
        self._pending_classes: set[str] = set()

    def track(self, name: str, policy: str = "exclusive") -> LabelTrack | None:
        """The existing track, or None after noting that the command creates it."""
        t = self.session.label_tracks.get(name)
        if t is None and all(n != name for n, _ in self.plan.tracks_created):
            self.plan.tracks_created.append((name, policy))
        return t

    def new_id(self, name: str) -> int:
        t = self.session.label_tracks.get(name)
        nid = self._next_ids.get(name, t.next_id if t is not None else 1)
        self._next_ids[name] = nid + 1
        return nid

    def need_class(self, label: str) -> None:
        schema = self.session.schema
        if label in schema or label in self._pending_classes:
            return
        used = [c.color for c in schema] + [c.color for c in self.plan.classes_added]
        self.plan.classes_added.append(LabelClass(label, distinct_color(used)))
        self._pending_classes.add(label)

    def change(self, name: str, before: dict[int, Segment | None], after: dict[int, Segment | None]) -> None:
        for s in after.values():
            if s is not None:
                self.need_class(s.label)
        self.plan.deltas.append(TrackDelta(name, before, after))


# -- commands -------------------------------------------------------------------------------
_REGISTRY: dict[str, type[EditCommand]] = {}


class EditCommand:
    """Base of all label edits. Subclasses implement ``_plan`` and ``params``."""

    text: str = "Edit"
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.kind = cls.__name__
        _REGISTRY[cls.__name__] = cls

    def __init__(self) -> None:
        self._planned: Plan | None = None

    @property
    def plan(self) -> Plan | None:
        """The exact effect, once the command has run (None before)."""
        return self._planned

    def _plan(self, p: Planner) -> None:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The constructor arguments, JSON-ready."""
        raise NotImplementedError

    def do(self, session: Session) -> None:
        if self._planned is None:
            p = Planner(session)
            self._plan(p)
            self._planned = p.plan
        self._planned.apply(session)

    def undo(self, session: Session) -> None:
        if self._planned is None:
            raise SessionError(f"cannot undo {self.text!r}: it was never done")
        self._planned.revert(session)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "text": self.text,
            "params": self.params(),
            "plan": None if self._planned is None else self._planned.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EditCommand:
        return command_from_dict(d)

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(**params)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.text!r}>"


def command_from_dict(d: dict[str, Any]) -> EditCommand:
    """Rebuild a command (with its recorded plan, so it re-applies exactly) from ``to_dict``."""
    try:
        cls = _REGISTRY[d["type"]]
    except KeyError as exc:
        raise SessionError(f"unknown edit command type {d.get('type')!r}") from exc
    cmd = cls._from_params(d.get("params") or {})
    if d.get("text"):
        cmd.text = str(d["text"])
    if d.get("plan") is not None:
        cmd._planned = Plan.from_dict(d["plan"])
    return cmd


class AddSegment(EditCommand):
    """Insert one segment. On an exclusive track an overlap raises :class:`SessionError`
    (use :class:`LabelRange` to overwrite instead)."""

    def __init__(self, track: TrackRef, segment: Segment, policy: str = "exclusive") -> None:
        super().__init__()
        self.track = _name(track)
        self.segment = segment
        self.policy = policy
        self.text = f"Add {segment.label} {fmt_span(segment.start, segment.end)}"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "segment": segment_to_dict(self.segment), "policy": self.policy}

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(params["track"], segment_from_dict(params["segment"]), params.get("policy", "exclusive"))

    def _plan(self, p: Planner) -> None:
        t = p.track(self.track, self.policy)
        if t is not None and t.policy == "exclusive":
            clash = t.conflicts(self.segment.start, self.segment.end)
            if clash:
                c = clash[0]
                raise SessionError(
                    f"track {self.track!r} is exclusive: {fmt_span(self.segment.start, self.segment.end)} "
                    f"overlaps {c.label!r} at {fmt_span(c.start, c.end)}"
                )
        seg = replace(self.segment, id=p.new_id(self.track))
        p.change(self.track, {seg.id: None}, {seg.id: seg})


class LabelRange(EditCommand):
    """Label [start, end] with ``label``. On an exclusive track whatever overlaps is made room
    for: segments inside the range are removed, partly overlapping ones trimmed, and one that
    spans the whole range is split in two around it; all one undoable edit. Zero-length events
    inside the range are kept (they never conflict)."""

    def __init__(
        self,
        track: TrackRef,
        start: float,
        end: float,
        label: str,
        annotator: str = "",
        source: str = "manual",
        confidence: float | None = None,
        note: str = "",
        policy: str = "exclusive",
    ) -> None:
        super().__init__()
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise SessionError(f"cannot label {start}..{end}: the end must not precede the start")
        self.track = _name(track)
        self.start, self.end, self.label = float(start), float(end), label
        self.annotator, self.source, self.confidence, self.note = annotator, source, confidence, note
        self.policy = policy
        self.text = f"Label {label} {fmt_span(self.start, self.end)}"

    def params(self) -> dict[str, Any]:
        return {
            "track": self.track, "start": self.start, "end": self.end, "label": self.label,
            "annotator": self.annotator, "source": self.source, "confidence": self.confidence,
            "note": self.note, "policy": self.policy,
        }

    def _plan(self, p: Planner) -> None:
        t = p.track(self.track, self.policy)
        now = utcnow()
        before: dict[int, Segment | None] = {}
        after: dict[int, Segment | None] = {}
        a, b = self.start, self.end
        if t is not None and t.policy == "exclusive":
            for s in t.conflicts(a, b):
                before[s.id] = s
                if s.start >= a and s.end <= b:
                    after[s.id] = None
                elif s.start < a and s.end > b:
                    after[s.id] = replace(s, end=a, modified=now)
                    right = replace(s, start=b, modified=now, id=p.new_id(self.track))
                    before[right.id], after[right.id] = None, right
                elif s.start < a:
                    after[s.id] = replace(s, end=a, modified=now)
                else:
                    after[s.id] = replace(s, start=b, modified=now)
        new = Segment(
            a, b, self.label, self.annotator, self.source, self.confidence, self.note,
            created=now, modified=now, id=p.new_id(self.track),
        )
        before[new.id], after[new.id] = None, new
        p.change(self.track, before, after)


class RemoveSegments(EditCommand):
    """Delete segments by id."""

    def __init__(self, track: TrackRef, ids: Iterable[int]) -> None:
        super().__init__()
        self.track = _name(track)
        self.ids = [int(i) for i in ids]
        n = len(self.ids)
        self.text = f"Delete {n} segment{'s' if n != 1 else ''}"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "ids": self.ids}

    def _plan(self, p: Planner) -> None:
        t = _existing(p.session, self.track)
        segs = [_get(t, i) for i in dict.fromkeys(self.ids)]
        if len(segs) == 1:
            self.text = f"Delete {segs[0].label} {fmt_span(segs[0].start, segs[0].end)}"
        p.change(self.track, {s.id: s for s in segs}, dict.fromkeys((s.id for s in segs), None))


class ModifySegment(EditCommand):
    """Change fields of one segment (start, end, label, annotator, source, confidence, note)."""

    def __init__(self, track: TrackRef, seg_id: int, **changes: Any) -> None:
        super().__init__()
        bad = set(changes) - set(EDITABLE_FIELDS)
        if bad:
            raise SessionError(f"cannot edit segment field(s) {sorted(bad)}; editable: {EDITABLE_FIELDS}")
        self.track = _name(track)
        self.seg_id = int(seg_id)
        self.changes = changes
        self.text = "Edit segment " + ", ".join(changes)

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "seg_id": self.seg_id, **self.changes}

    def _plan(self, p: Planner) -> None:
        t = _existing(p.session, self.track)
        old = _get(t, self.seg_id)
        new = replace(old, **self.changes, modified=utcnow())
        _check_fits(t, new)
        self.text = f"Edit {old.label} {fmt_span(old.start, old.end)}: " + ", ".join(self.changes)
        p.change(self.track, {old.id: old}, {old.id: new})


class MoveSegment(EditCommand):
    """Shift a segment in time by ``dt`` seconds."""

    def __init__(self, track: TrackRef, seg_id: int, dt: float) -> None:
        super().__init__()
        self.track, self.seg_id, self.dt = _name(track), int(seg_id), float(dt)
        self.text = f"Move segment by {dt:+.2f} s"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "seg_id": self.seg_id, "dt": self.dt}

    def _plan(self, p: Planner) -> None:
        t = _existing(p.session, self.track)
        old = _get(t, self.seg_id)
        new = replace(old, start=old.start + self.dt, end=old.end + self.dt, modified=utcnow())
        _check_fits(t, new)
        self.text = f"Move {old.label} by {self.dt:+.2f} s"
        p.change(self.track, {old.id: old}, {old.id: new})


class SplitSegment(EditCommand):
    """Cut a segment at time ``t`` (strictly inside it); the right part gets a new id."""

    def __init__(self, track: TrackRef, seg_id: int, t: float) -> None:
        super().__init__()
        self.track, self.seg_id, self.t = _name(track), int(seg_id), float(t)
        self.text = f"Split at {t:.2f} s"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "seg_id": self.seg_id, "t": self.t}

    def _plan(self, p: Planner) -> None:
        tr = _existing(p.session, self.track)
        old = _get(tr, self.seg_id)
        if not old.start < self.t < old.end:
            raise SessionError(
                f"cannot split {old.label} {fmt_span(old.start, old.end)} at {self.t:.3f} s: not inside it"
            )
        now = utcnow()
        left = replace(old, end=self.t, modified=now)
        right = replace(old, start=self.t, modified=now, id=p.new_id(self.track))
        self.text = f"Split {old.label} at {self.t:.2f} s"
        p.change(self.track, {old.id: old, right.id: None}, {old.id: left, right.id: right})


class MergeSegments(EditCommand):
    """Join segments into the earliest one (its id and label), spanning all of them.

    Notes of the merged segments are joined. On an exclusive track the merged span must not
    cover other segments."""

    def __init__(self, track: TrackRef, ids: Iterable[int]) -> None:
        super().__init__()
        self.track = _name(track)
        self.ids = [int(i) for i in ids]
        self.text = f"Merge {len(self.ids)} segments"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "ids": self.ids}

    def _plan(self, p: Planner) -> None:
        t = _existing(p.session, self.track)
        segs = sorted((_get(t, i) for i in dict.fromkeys(self.ids)), key=lambda s: (s.start, s.end))
        if len(segs) < 2:
            raise SessionError("merging needs at least two segments")
        first = segs[0]
        notes = [s.note for s in segs if s.note]
        merged = replace(
            first,
            end=max(s.end for s in segs),
            note="; ".join(dict.fromkeys(notes)),
            modified=utcnow(),
        )
        _check_fits(t, merged, ignore=[s.id for s in segs])
        self.text = f"Merge {len(segs)} segments into {first.label} {fmt_span(merged.start, merged.end)}"
        before = {s.id: s for s in segs}
        after: dict[int, Segment | None] = {s.id: None for s in segs[1:]}
        after[first.id] = merged
        p.change(self.track, before, after)


class ChangeClass(EditCommand):
    """Give segments another class label."""

    def __init__(self, track: TrackRef, ids: Iterable[int], label: str) -> None:
        super().__init__()
        self.track = _name(track)
        self.ids = [int(i) for i in ids]
        self.label = label
        self.text = f"Change {len(self.ids)} segment{'s' if len(self.ids) != 1 else ''} to {label}"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "ids": self.ids, "label": self.label}

    def _plan(self, p: Planner) -> None:
        t = _existing(p.session, self.track)
        now = utcnow()
        segs = [_get(t, i) for i in dict.fromkeys(self.ids)]
        if len(segs) == 1:
            self.text = f"Change {segs[0].label} {fmt_span(segs[0].start, segs[0].end)} to {self.label}"
        p.change(
            self.track,
            {s.id: s for s in segs},
            {s.id: replace(s, label=self.label, modified=now) for s in segs},
        )


class AddLabelTrack(EditCommand):
    """Create an empty label track with an overlap policy."""

    def __init__(self, track: str, policy: str = "exclusive") -> None:
        super().__init__()
        if policy not in ("exclusive", "overlapping"):
            raise SessionError(f"unknown overlap policy {policy!r}")
        self.track, self.policy = track, policy
        self.text = f"Add track {track} ({policy})"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "policy": self.policy}

    def _plan(self, p: Planner) -> None:
        if self.track in p.session.label_tracks:
            raise SessionError(f"the session already has a label track {self.track!r}")
        LabelTrack(self.track, self.policy)  # type: ignore[arg-type]  # validates the name
        p.track(self.track, self.policy)


class SetSchema(EditCommand):
    """Replace the label schema (the schema editor's OK) as one undoable edit.

    ``renames`` maps old class names to new ones; segments of renamed classes in every track
    are relabelled in the same edit, so renaming "walk" to "Walking" keeps the labels attached.
    Segments whose class is removed keep their label (drawn with a fallback colour)."""

    def __init__(self, classes: Iterable[LabelClass], renames: dict[str, str] | None = None) -> None:
        super().__init__()
        self.classes = list(classes)
        self.renames = {k: v for k, v in (renames or {}).items() if k != v}
        LabelSchema(self.classes)  # validates names and hotkeys now, before anything changes
        self.text = "Edit label classes"

    def params(self) -> dict[str, Any]:
        return {"classes": [class_to_dict(c) for c in self.classes], "renames": self.renames}

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls([class_from_dict(c) for c in params["classes"]], params.get("renames"))

    def _plan(self, p: Planner) -> None:
        p.plan.schema_before = list(p.session.schema)
        p.plan.schema_after = list(self.classes)
        p._pending_classes.update(c.name for c in self.classes)
        if not self.renames:
            return
        now = utcnow()
        for name, track in p.session.label_tracks.items():
            segs = [s for s in track if s.label in self.renames]
            if segs:
                p.plan.deltas.append(TrackDelta(
                    name,
                    {s.id: s for s in segs},
                    {s.id: replace(s, label=self.renames[s.label], modified=now) for s in segs},
                ))


class Composite(EditCommand):
    """Several commands as one undo step (e.g. accepting a model's predictions)."""

    def __init__(self, text: str, commands: Sequence[EditCommand]) -> None:
        super().__init__()
        self.text = text
        self.commands = list(commands)

    def params(self) -> dict[str, Any]:
        return {"text": self.text, "commands": [c.to_dict() for c in self.commands]}

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(params["text"], [command_from_dict(c) for c in params["commands"]])

    @property
    def plan(self) -> Plan | None:
        plans = [c.plan for c in self.commands]
        if any(p is None for p in plans):
            return None
        return Plan(
            [t for p in plans for t in p.tracks_created],  # type: ignore[union-attr]
            [c for p in plans for c in p.classes_added],  # type: ignore[union-attr]
            [d for p in plans for d in p.deltas],  # type: ignore[union-attr]
        )

    def do(self, session: Session) -> None:
        done: list[EditCommand] = []
        try:
            for c in self.commands:
                c.do(session)
                done.append(c)
        except Exception:
            for c in reversed(done):
                c.undo(session)
            raise

    def undo(self, session: Session) -> None:
        for c in reversed(self.commands):
            c.undo(session)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "text": self.text, "params": self.params(), "plan": None}


def AcceptPredictions(  # noqa: N802  (a command factory, named like the commands it builds)
    prediction_track: PredictionTrack,
    label_track: TrackRef,
    t0: float,
    t1: float,
    threshold: float = 0.0,
    annotator: str = "",
    schema_names: Iterable[str] = (),
) -> Composite:
    """Turn the prediction track's smoothed segments in [t0, t1] whose confidence reaches
    ``threshold`` into labels (source ``accepted_prediction``), clipped to [t0, t1], as one edit.
    Segments without a confidence count as certain. A predicted class that ``schema_names``
    spells differently (``Walking`` for ``walking``, see :mod:`harlab.core.classnames`) gets
    the schema's spelling, so accepting never adds a second class for the same activity."""
    spelling = spelling_map(schema_names)
    cmds: list[EditCommand] = []
    for s in prediction_track.segments:
        a, b = max(s.start, t0), min(s.end, t1)
        if b <= a or (s.confidence is not None and s.confidence < threshold):
            continue
        cmds.append(
            LabelRange(
                label_track, a, b, spelling.get(class_key(s.label), s.label), annotator=annotator,
                source="accepted_prediction",
                confidence=s.confidence, note=f"{prediction_track.model_name} {prediction_track.model_version}",
            )
        )
    return Composite(f"Accept {len(cmds)} predictions of {prediction_track.name}", cmds)


# -- helpers --------------------------------------------------------------------------------
def _existing(session: Session, name: str) -> LabelTrack:
    try:
        return session.label_tracks[name]
    except KeyError as exc:
        raise SessionError(f"no label track {name!r} in the session") from exc


def _lookup(track: LabelTrack, seg_id: int) -> Segment | None:
    try:
        return track[seg_id]
    except KeyError:
        return None


def _get(track: LabelTrack, seg_id: int) -> Segment:
    if seg_id not in track:
        raise SessionError(f"no segment id {seg_id} in track {track.name!r}")
    return track[seg_id]


def _check_fits(track: LabelTrack, seg: Segment, ignore: Iterable[int] = ()) -> None:
    if track.policy != "exclusive":
        return
    clash = track.conflicts(seg.start, seg.end, ignore=[seg.id, *ignore])
    if clash:
        c = clash[0]
        raise SessionError(
            f"track {track.name!r} is exclusive: {seg.label} {fmt_span(seg.start, seg.end)} would overlap "
            f"{c.label} {fmt_span(c.start, c.end)}"
        )


def edge_limits(track: LabelTrack, seg_id: int) -> tuple[float, float]:
    """How far the segment's start may move left and its end right without overlapping a
    neighbour on an exclusive track (-inf/inf when free); for clamping edge drags and nudges.
    Vectorised over the track's sorted arrays (no Python loop over segments)."""
    seg = _get(track, seg_id)
    if track.policy != "exclusive":
        return (-math.inf, math.inf)
    starts, ends, ids = track.arrays()
    other = (ends > starts) & (ids != seg.id)
    left = other & (ends <= seg.start)
    right = other & (starts >= seg.end)
    lo = float(ends[left].max()) if left.any() else -math.inf
    hi = float(starts[right].min()) if right.any() else math.inf
    return (lo, hi)
