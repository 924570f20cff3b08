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

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from harlab.core.classnames import class_key, spelling_map
from harlab.core.colors import distinct_color
from harlab.core.errors import SessionError
from harlab.core.labels import (
    LabelClass,
    LabelSchema,
    LabelTrack,
    Segment,
    class_from_dict,
    class_to_dict,
    segment_from_dict,
    segment_to_dict,
    utcnow,
)
from harlab.core.metadata import DeviceInfo, check_timezone
from harlab.core.predictions import PredictionTrack
from harlab.core.quality_tracks import QualityTrack
from harlab.core.session import Session
from harlab.core.videos import VideoLink, VideoReference, VideoSync, check_roi

TrackRef = LabelTrack | str
EDITABLE_FIELDS = ("start", "end", "label", "annotator", "source", "confidence", "note")


# -- serialisation of values ----------------------------------------------------------------
def _array_to_text(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode(
        "ascii"
    )


def _array_from_text(text: str, dtype: str, shape: Sequence[int]) -> np.ndarray:
    return (
        np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy()
    )


def prediction_to_dict(t: PredictionTrack) -> dict[str, Any]:
    """A JSON-ready dict of a whole prediction track (arrays bit-exact, base64 little-endian),
    so the journal can bring back a track added, renamed or removed before a crash."""
    return {
        "name": t.name,
        "model_name": t.model_name,
        "model_version": t.model_version,
        "classes": list(t.classes),
        "created": t.created.isoformat(),
        "params": dict(t.params),
        "n": len(t),
        "window_start": _array_to_text(t.window_start),
        "window_end": _array_to_text(t.window_end),
        "probabilities": _array_to_text(t.probabilities),
        "segments": [segment_to_dict(s) for s in t.segments],
    }


def prediction_from_dict(d: dict[str, Any]) -> PredictionTrack:
    n, k = int(d["n"]), len(d["classes"])
    return PredictionTrack(
        str(d["name"]),
        str(d["model_name"]),
        str(d["model_version"]),
        [str(c) for c in d["classes"]],
        _array_from_text(d["window_start"], "f8", (n,)),
        _array_from_text(d["window_end"], "f8", (n,)),
        _array_from_text(d["probabilities"], "f4", (n, k)),
        [segment_from_dict(s) for s in d["segments"]],
        created=datetime.fromisoformat(d["created"]),
        params=dict(d.get("params") or {}),
    )


def same_prediction(a: PredictionTrack | None, b: PredictionTrack | None) -> bool:
    """Value equality of prediction tracks (their dataclass ``==`` cannot compare arrays)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return (
        (a.name, a.model_name, a.model_version, a.classes, a.created, a.params, a.segments)
        == (b.name, b.model_name, b.model_version, b.classes, b.created, b.params, b.segments)
        and np.array_equal(a.window_start, b.window_start)
        and np.array_equal(a.window_end, b.window_end)
        and np.array_equal(a.probabilities, b.probabilities)
    )


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


def _apply_values(
    track: LabelTrack, want: dict[int, Segment | None], expect: dict[int, Segment | None]
) -> None:
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


#: Metadata fields a command may change, as JSON-ready values (devices: a list of dicts).
METADATA_FIELDS = ("participant_id", "timezone", "notes", "devices")


def metadata_values(session: Session, names: Iterable[str] = METADATA_FIELDS) -> dict[str, Any]:
    """The current JSON-ready values of the named metadata fields."""
    md = session.metadata
    return {n: [asdict(d) for d in md.devices] if n == "devices" else getattr(md, n) for n in names}


def _set_metadata(session: Session, values: dict[str, Any]) -> None:
    md = session.metadata
    for n, v in values.items():
        setattr(md, n, [DeviceInfo(**d) for d in v] if n == "devices" else v)
    session.events.emit("metadata_changed", session, fields=sorted(values))


@dataclass
class Plan:
    """Everything a command changes, as values: tracks created, classes added, segment deltas,
    metadata fields and prediction tracks (by name; None = absent)."""

    tracks_created: list[tuple[str, str]] = field(default_factory=list)  # (name, policy)
    classes_added: list[LabelClass] = field(default_factory=list)
    deltas: list[TrackDelta] = field(default_factory=list)
    schema_before: list[LabelClass] | None = None  # whole-schema replacement (SetSchema)
    schema_after: list[LabelClass] | None = None
    metadata_before: dict[str, Any] = field(default_factory=dict)
    metadata_after: dict[str, Any] = field(default_factory=dict)
    predictions_before: dict[str, PredictionTrack | None] = field(default_factory=dict)
    predictions_after: dict[str, PredictionTrack | None] = field(default_factory=dict)
    videos_before: list[VideoLink] | None = None  # the whole ordered list of links (few, small)
    videos_after: list[VideoLink] | None = None
    quality_before: dict[str, QualityTrack | None] = field(default_factory=dict)
    quality_after: dict[str, QualityTrack | None] = field(default_factory=dict)
    #: who made each created track (absent: nobody recorded); the track carries it
    track_annotators: dict[str, str] = field(default_factory=dict)

    def apply(self, session: Session) -> None:
        """Apply all of it or, if any part does not fit the session, none of it."""
        for name, _ in self.tracks_created:
            if name in session.label_tracks:
                raise SessionError(f"label track {name!r} already exists")
        for c in self.classes_added:
            if c.name in session.schema:
                raise SessionError(f"class {c.name!r} is already in the schema")
        _check_metadata(session, self.metadata_before)
        _check_predictions(session, self.predictions_before)
        _check_videos(session, self.videos_before)
        _check_quality(session, self.quality_before)
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
                session.add_label_track(
                    LabelTrack(name, policy, annotator=self.track_annotators.get(name, ""))  # type: ignore[arg-type]
                )
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
        if self.metadata_after:
            _set_metadata(session, self.metadata_after)
        _set_predictions(session, self.predictions_after)
        if self.videos_after is not None:
            _set_videos(session, self.videos_after)
        _set_quality(session, self.quality_after)

    def revert(self, session: Session) -> None:
        _check_metadata(session, self.metadata_after)
        _check_predictions(session, self.predictions_after)
        _check_videos(session, self.videos_after)
        _check_quality(session, self.quality_after)
        _set_quality(session, self.quality_before)
        if self.videos_before is not None:
            _set_videos(session, self.videos_before)
        _set_predictions(session, self.predictions_before)
        if self.metadata_before:
            _set_metadata(session, self.metadata_before)
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
        enc = lambda m: [[n, None if t is None else prediction_to_dict(t)] for n, t in m.items()]  # noqa: E731
        return {
            "tracks_created": [list(t) for t in self.tracks_created],
            "classes_added": [class_to_dict(c) for c in self.classes_added],
            "deltas": [d.to_dict() for d in self.deltas],
            "schema_before": None
            if self.schema_before is None
            else [class_to_dict(c) for c in self.schema_before],
            "schema_after": None
            if self.schema_after is None
            else [class_to_dict(c) for c in self.schema_after],
            "metadata_before": self.metadata_before,
            "metadata_after": self.metadata_after,
            "predictions_before": enc(self.predictions_before),
            "predictions_after": enc(self.predictions_after),
            "videos_before": _links_to_list(self.videos_before),
            "videos_after": _links_to_list(self.videos_after),
            "quality_before": _quality_to_list(self.quality_before),
            "quality_after": _quality_to_list(self.quality_after),
            "track_annotators": dict(self.track_annotators),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        dec = lambda items: {str(n): None if t is None else prediction_from_dict(t) for n, t in items}  # noqa: E731
        return cls(
            [(str(a), str(b)) for a, b in d.get("tracks_created", [])],
            [class_from_dict(c) for c in d.get("classes_added", [])],
            [TrackDelta.from_dict(x) for x in d.get("deltas", [])],
            None if d.get("schema_before") is None else [class_from_dict(c) for c in d["schema_before"]],
            None if d.get("schema_after") is None else [class_from_dict(c) for c in d["schema_after"]],
            dict(d.get("metadata_before") or {}),
            dict(d.get("metadata_after") or {}),
            dec(d.get("predictions_before") or []),
            dec(d.get("predictions_after") or []),
            _links_from_list(d.get("videos_before")),
            _links_from_list(d.get("videos_after")),
            _quality_from_list(d.get("quality_before")),
            _quality_from_list(d.get("quality_after")),
            {str(k): str(v) for k, v in (d.get("track_annotators") or {}).items()},
        )


def _links_to_list(links: list[VideoLink] | None) -> list[dict[str, Any]] | None:
    return None if links is None else [link.to_dict() for link in links]


def _links_from_list(items: list[Any] | None) -> list[VideoLink] | None:
    return None if items is None else [VideoLink.from_dict(x, where="edit journal") for x in items]


def _check_videos(session: Session, expect: list[VideoLink] | None) -> None:
    if expect is not None and list(session.videos.values()) != expect:
        raise SessionError("the session's videos are not in the state this edit expects")


def _set_videos(session: Session, want: list[VideoLink]) -> None:
    """Make the session's links ``want`` (in that order) with one event per link that changes."""
    names = {link.name for link in want}
    for name in [n for n in session.videos if n not in names]:
        session.remove_video(name)
    for i, link in enumerate(want):
        current = session.videos.get(link.name)
        if current is None:
            session.add_video(link, i)
        elif current != link:
            session.replace_video(link)


def _check_metadata(session: Session, expect: dict[str, Any]) -> None:
    if expect and metadata_values(session, expect) != expect:
        raise SessionError("the session metadata is not in the state this edit expects")


def _check_predictions(session: Session, expect: dict[str, PredictionTrack | None]) -> None:
    for name, track in expect.items():
        if not same_prediction(session.prediction_tracks.get(name), track):
            raise SessionError(f"prediction track {name!r} is not in the state this edit expects")


def _set_predictions(session: Session, want: dict[str, PredictionTrack | None]) -> None:
    for name, track in want.items():
        if track is None and name in session.prediction_tracks:
            session.remove_prediction_track(name)
    for track in want.values():
        if track is not None:
            session.add_prediction_track(track, replace=True)


def _same_quality(a: QualityTrack | None, b: QualityTrack | None) -> bool:
    if a is None or b is None:
        return a is b
    return (
        (a.name, a.kind, a.method, a.params) == (b.name, b.kind, b.method, b.params)
        and np.array_equal(a.start, b.start)
        and np.array_equal(a.end, b.end)
    )


def _check_quality(session: Session, expect: dict[str, QualityTrack | None]) -> None:
    for name, track in expect.items():
        if not _same_quality(session.quality_tracks.get(name), track):
            raise SessionError(f"quality track {name!r} is not in the state this edit expects")


def _set_quality(session: Session, want: dict[str, QualityTrack | None]) -> None:
    for name, track in want.items():
        if track is None:
            if name in session.quality_tracks:
                session.remove_quality_track(name)
        else:
            session.set_quality_track(track)


def _quality_to_list(tracks: dict[str, QualityTrack | None]) -> list[list[Any]]:
    """Quality tracks for the journal: spans as float lists (repr of a float64 round-trips exactly)."""
    return [
        [
            n,
            None
            if t is None
            else {
                "kind": t.kind,
                "start": t.start.tolist(),
                "end": t.end.tolist(),
                "method": t.method,
                "params": dict(t.params),
            },
        ]
        for n, t in tracks.items()
    ]


def _quality_from_list(items: Any) -> dict[str, QualityTrack | None]:
    out: dict[str, QualityTrack | None] = {}
    for name, t in items or []:
        out[str(name)] = (
            None
            if t is None
            else QualityTrack(
                str(name),
                str(t["kind"]),
                np.asarray(t["start"], dtype=np.float64),
                np.asarray(t["end"], dtype=np.float64),
                str(t.get("method", "")),
                {str(k): str(v) for k, v in dict(t.get("params") or {}).items()},
            )
        )
    return out


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

    def track(self, name: str, policy: str = "exclusive", annotator: str = "") -> LabelTrack | None:
        """The existing track, or None after noting that the command creates it (made by
        ``annotator`` when one is given)."""
        t = self.session.label_tracks.get(name)
        if t is None and all(n != name for n, _ in self.plan.tracks_created):
            self.plan.tracks_created.append((name, policy))
            if annotator:
                self.plan.track_annotators[name] = annotator
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
            "track": self.track,
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "annotator": self.annotator,
            "source": self.source,
            "confidence": self.confidence,
            "note": self.note,
            "policy": self.policy,
        }

    def _plan(self, p: Planner) -> None:
        t = p.track(self.track, self.policy)
        now = utcnow()
        before: dict[int, Segment | None] = {}
        after: dict[int, Segment | None] = {}
        a, b = self.start, self.end
        if t is not None and t.policy == "exclusive":
            _make_room(p, t, a, b, now, before, after)
        new = Segment(
            a,
            b,
            self.label,
            self.annotator,
            self.source,
            self.confidence,
            self.note,
            created=now,
            modified=now,
            id=p.new_id(self.track),
        )
        before[new.id], after[new.id] = None, new
        p.change(self.track, before, after)


def _make_room(
    p: Planner,
    t: LabelTrack,
    a: float,
    b: float,
    now: datetime,
    before: dict[int, Segment | None],
    after: dict[int, Segment | None],
) -> None:
    """Plan clearing [a, b] of the exclusive track ``t``: segments inside are removed, partly
    overlapping ones trimmed, one spanning the range split in two around it."""
    for s in t.conflicts(a, b):
        before[s.id] = s
        if s.start >= a and s.end <= b:
            after[s.id] = None
        elif s.start < a and s.end > b:
            after[s.id] = replace(s, end=a, modified=now)
            right = replace(s, start=b, modified=now, id=p.new_id(t.name))
            before[right.id], after[right.id] = None, right
        elif s.start < a:
            after[s.id] = replace(s, end=a, modified=now)
        else:
            after[s.id] = replace(s, start=b, modified=now)


class CopyLabels(EditCommand):
    """Make [start, end] of the exclusive track ``target`` what track ``source`` has there:
    the target's labels in the range are cleared (trimmed or split at its edges) and the
    source's segments clipped to the range are copied in, keeping their label and annotator
    (a segment without one gets the source track's).
    Unlabelled time of the source stays unlabelled in the target.

    This is an adjudicator's "take annotator B's labels here": one undoable, journalled edit
    whatever the number of segments, planned against the tracks as they are when it first runs
    (redo and replay then reproduce exactly that, even if the source changed since)."""

    def __init__(self, source: TrackRef, target: TrackRef, start: float, end: float, note: str = "") -> None:
        super().__init__()
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise SessionError(f"cannot copy labels over {start}..{end}: the end must not precede the start")
        self.source, self.target = _name(source), _name(target)
        if self.source == self.target:
            raise SessionError(f"cannot copy labels of track {self.source!r} onto itself")
        self.start, self.end, self.note = float(start), float(end), note
        self.text = f"Take {self.source}'s labels {fmt_span(self.start, self.end)}"

    def params(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "start": self.start,
            "end": self.end,
            "note": self.note,
        }

    def _plan(self, p: Planner) -> None:
        src = _existing(p.session, self.source)
        if src.policy != "exclusive":
            raise SessionError(
                f"track {self.source!r} overlaps: only an exclusive track's labels can be taken"
            )
        t = p.track(self.target, "exclusive")
        if t is not None and t.policy != "exclusive":
            raise SessionError(
                f"track {self.target!r} overlaps: labels can only be copied onto an exclusive track"
            )
        now = utcnow()
        a, b = self.start, self.end
        before: dict[int, Segment | None] = {}
        after: dict[int, Segment | None] = {}
        if t is not None:
            _make_room(p, t, a, b, now, before, after)
        for s in src.in_range(a, b):
            lo, hi = max(s.start, a), min(s.end, b)
            if hi <= lo:
                continue  # touching the range, or a zero-length event at its edge
            new = Segment(
                lo,
                hi,
                s.label,
                s.annotator or src.annotator or self.source,
                s.source,
                s.confidence,
                self.note or s.note,
                created=now,
                modified=now,
                id=p.new_id(self.target),
            )
            before[new.id], after[new.id] = None, new
        p.change(self.target, before, after)


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
            raise SessionError(
                f"cannot edit the segment {'fields' if len(bad) > 1 else 'field'} {sorted(bad)}; editable: {EDITABLE_FIELDS}"
            )
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
        before: dict[int, Segment | None] = {s.id: s for s in segs}
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
    """Create an empty label track with an overlap policy, made by ``annotator`` ("" = not
    recorded)."""

    def __init__(self, track: str, policy: str = "exclusive", annotator: str = "") -> None:
        super().__init__()
        if policy not in ("exclusive", "overlapping"):
            raise SessionError(f"unknown overlap policy {policy!r}")
        self.track, self.policy, self.annotator = track, policy, annotator
        self.text = f"Add track {track} ({policy})"

    def params(self) -> dict[str, Any]:
        return {"track": self.track, "policy": self.policy, "annotator": self.annotator}

    def _plan(self, p: Planner) -> None:
        if self.track in p.session.label_tracks:
            raise SessionError(f"the session already has a label track {self.track!r}")
        LabelTrack(self.track, self.policy, annotator=self.annotator)  # type: ignore[arg-type]  # validates
        p.track(self.track, self.policy, self.annotator)


class AddTrackWithSegments(EditCommand):
    """Create the label track ``track`` (made by ``annotator``) holding ``segments`` as they
    are (label, annotator, source, note; new ids): a computed track such as a consensus joins
    the session as ONE undoable, journalled edit."""

    def __init__(
        self, track: str, segments: Iterable[Segment], policy: str = "exclusive", annotator: str = ""
    ) -> None:
        super().__init__()
        if policy not in ("exclusive", "overlapping"):
            raise SessionError(f"unknown overlap policy {policy!r}")
        self.track, self.policy, self.annotator = track, policy, annotator
        self.segments = sorted(segments, key=lambda s: (s.start, s.end))
        self.text = f"Add track {track} with {len(self.segments)} segments"

    def params(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "segments": [segment_to_dict(s) for s in self.segments],
            "policy": self.policy,
            "annotator": self.annotator,
        }

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(
            params["track"],
            [segment_from_dict(d) for d in params["segments"]],
            params.get("policy", "exclusive"),
            params.get("annotator", ""),
        )

    def _plan(self, p: Planner) -> None:
        if self.track in p.session.label_tracks:
            raise SessionError(f"the session already has a label track {self.track!r}")
        probe = LabelTrack(self.track, self.policy, annotator=self.annotator)  # type: ignore[arg-type]
        probe.add_many(self.segments)  # refuses overlaps on an exclusive track, before any change
        p.track(self.track, self.policy, self.annotator)
        after: dict[int, Segment | None] = {}
        for s in self.segments:
            seg = replace(s, id=p.new_id(self.track))
            after[seg.id] = seg
        p.change(self.track, dict.fromkeys(after, None), after)


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
                p.plan.deltas.append(
                    TrackDelta(
                        name,
                        {s.id: s for s in segs},
                        {s.id: replace(s, label=self.renames[s.label], modified=now) for s in segs},
                    )
                )


class EditMetadata(EditCommand):
    """Change session metadata fields (participant, timezone, notes, devices) as one edit.

    Values are JSON-ready (``devices``: a list of :class:`~harlab.core.metadata.DeviceInfo`
    dicts); a timezone that is not a valid IANA name is refused here, before anything changes."""

    def __init__(self, **changes: Any) -> None:
        super().__init__()
        bad = set(changes) - set(METADATA_FIELDS)
        if bad:
            raise SessionError(
                f"cannot edit the metadata {'fields' if len(bad) > 1 else 'field'} {sorted(bad)}; editable: {METADATA_FIELDS}"
            )
        if "timezone" in changes:
            changes["timezone"] = check_timezone(str(changes["timezone"]))
        if "devices" in changes:
            changes["devices"] = [asdict(DeviceInfo(**d)) for d in changes["devices"]]
        self.changes = changes
        self.text = "Edit " + ", ".join(n.replace("_", " ") for n in changes)

    def params(self) -> dict[str, Any]:
        return dict(self.changes)

    def _plan(self, p: Planner) -> None:
        before = metadata_values(p.session, self.changes)
        changed = {n: v for n, v in self.changes.items() if before[n] != v}
        p.plan.metadata_before = {n: before[n] for n in changed}
        p.plan.metadata_after = changed


class AddPredictionTrack(EditCommand):
    """Put a model's prediction track into the session, replacing one of the same name."""

    def __init__(self, track: PredictionTrack | None, name: str = "") -> None:
        super().__init__()
        self.track = track
        self.name = track.name if track is not None else name
        self.text = f"Add predictions {self.name}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name}  # the track itself is in the plan; twice would double the journal

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(None, str(params["name"]))

    def _plan(self, p: Planner) -> None:
        if self.track is None:
            raise SessionError(f"{self.text}: the journal entry lacks the track's values")
        p.plan.predictions_before = {self.name: p.session.prediction_tracks.get(self.name)}
        p.plan.predictions_after = {self.name: self.track}


class RenamePredictionTrack(EditCommand):
    """Give a prediction track another name (the name must be free)."""

    def __init__(self, name: str, new_name: str) -> None:
        super().__init__()
        self.name, self.new_name = name, new_name
        self.text = f"Rename predictions {name} to {new_name}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "new_name": self.new_name}

    def _plan(self, p: Planner) -> None:
        old = _existing_prediction(p.session, self.name)
        if self.new_name in p.session.prediction_tracks:
            raise SessionError(f"the session already has a prediction track {self.new_name!r}")
        new = replace(old, name=self.new_name)  # validates the name
        p.plan.predictions_before = {self.name: old, self.new_name: None}
        p.plan.predictions_after = {self.name: None, self.new_name: new}


class RemovePredictionTrack(EditCommand):
    """Delete a prediction track (undo brings it back)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.text = f"Remove predictions {name}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name}

    def _plan(self, p: Planner) -> None:
        p.plan.predictions_before = {self.name: _existing_prediction(p.session, self.name)}
        p.plan.predictions_after = {self.name: None}


class SetQualityTrack(EditCommand):
    """Store a quality track (non-wear found by :mod:`harlab.signal.nonwear`), replacing one of
    its name; undo brings the earlier one (or none) back."""

    def __init__(self, track: QualityTrack | None, name: str = "") -> None:
        super().__init__()
        self.track = track
        self.name = track.name if track is not None else name
        self.text = f"Store {self.name}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name}  # the spans are in the plan

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(None, str(params["name"]))

    def _plan(self, p: Planner) -> None:
        if self.track is None:
            raise SessionError(f"{self.text}: the journal entry lacks the track's spans")
        p.plan.quality_before = {self.name: p.session.quality_tracks.get(self.name)}
        p.plan.quality_after = {self.name: self.track}


class AttachVideo(EditCommand):
    """Link a video to the session (last in display order); its name must be free."""

    def __init__(self, link: VideoLink) -> None:
        super().__init__()
        self.link = link
        self.text = f"Attach video {link.name}"

    def params(self) -> dict[str, Any]:
        return {"link": self.link.to_dict()}

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(VideoLink.from_dict(params["link"], where="edit journal"))

    def _plan(self, p: Planner) -> None:
        if self.link.name in p.session.videos:
            raise SessionError(f"the session already has a video {self.link.name!r}")
        before = list(p.session.videos.values())
        p.plan.videos_before, p.plan.videos_after = before, [*before, self.link]


class DetachVideo(EditCommand):
    """Unlink a video (the file is untouched; undo links it again in its place)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.text = f"Detach video {name}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name}

    def _plan(self, p: Planner) -> None:
        _existing_video(p.session, self.name)
        before = list(p.session.videos.values())
        p.plan.videos_before = before
        p.plan.videos_after = [link for link in before if link.name != self.name]


def _replace_link(p: Planner, link: VideoLink) -> None:
    before = list(p.session.videos.values())
    p.plan.videos_before = before
    p.plan.videos_after = [link if old.name == link.name else old for old in before]


class SetVideoSync(EditCommand):
    """Give a video another sync (offset and drift between its clock and the session's).

    Labels stay at their session times unless the user asks: the segments of the tracks
    named in ``move_labels`` (labels made from this video) keep their *video* times, i.e.
    each start and end moves from old session time to new session time, in the same edit."""

    def __init__(self, name: str, sync: VideoSync, move_labels: Sequence[str] = ()) -> None:
        super().__init__()
        if not isinstance(sync, VideoSync):
            raise SessionError(f"a video sync must be a VideoSync, not {type(sync).__name__}")
        self.name, self.sync = name, sync
        self.move_labels = tuple(dict.fromkeys(str(t) for t in move_labels))
        moved = f", moving {', '.join(self.move_labels)}" if self.move_labels else ""
        self.text = (
            f"Sync video {name}: offset {sync.offset_s:+.3f} s, drift {sync.drift_ppm:+.1f} ppm{moved}"
        )

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "sync": self.sync.to_dict(), "move_labels": list(self.move_labels)}

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(str(params["name"]), VideoSync.from_dict(params["sync"]), params.get("move_labels") or ())

    def _plan(self, p: Planner) -> None:
        old_link = _existing_video(p.session, self.name)
        old, new = old_link.sync, self.sync
        _replace_link(p, replace(old_link, sync=new))
        now = utcnow()
        for name in self.move_labels:
            track = _existing(p.session, name)
            segs = list(track)
            if not segs or old == new:
                continue
            starts = new.to_session(old.to_video(np.array([s.start for s in segs], dtype=np.float64)))
            ends = new.to_session(old.to_video(np.array([s.end for s in segs], dtype=np.float64)))
            p.change(
                name,
                {s.id: s for s in segs},
                {
                    s.id: replace(s, start=float(a), end=max(float(a), float(b)), modified=now)
                    for s, a, b in zip(segs, starts, ends, strict=True)
                },
            )


class RelinkVideo(EditCommand):
    """Point a video at another file (the user found the moved or missing one), keeping its sync and region."""

    def __init__(self, name: str, reference: VideoReference) -> None:
        super().__init__()
        self.name, self.reference = name, reference
        self.text = f"Relink video {name} to {reference.name}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "reference": self.reference.to_dict()}

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        return cls(str(params["name"]), VideoReference.from_dict(params["reference"], where="edit journal"))

    def _plan(self, p: Planner) -> None:
        _replace_link(p, replace(_existing_video(p.session, self.name), reference=self.reference))


class SetVideoRoi(EditCommand):
    """Set (or clear, with None) a video's region of interest: ``(x, y, width, height)`` in pixels."""

    def __init__(self, name: str, roi: Sequence[int] | None) -> None:
        super().__init__()
        self.name = name
        self.roi = None if roi is None else check_roi(tuple(roi), name)
        self.text = f"Clear region of video {name}" if roi is None else f"Set region of video {name}"

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "roi": None if self.roi is None else list(self.roi)}

    def _plan(self, p: Planner) -> None:
        _replace_link(p, replace(_existing_video(p.session, self.name), roi=self.roi))


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


def accept_predictions(
    prediction_track: PredictionTrack,
    label_track: TrackRef,
    t0: float,
    t1: float,
    threshold: float = 0.0,
    annotator: str = "",
    schema_names: Iterable[str] = (),
) -> Composite:
    """The prediction track's smoothed segments in [t0, t1] whose confidence reaches ``threshold``
    as labels (source ``accepted_prediction``), clipped to [t0, t1]: one :class:`Composite` edit
    of :class:`LabelRange` commands, so it journals and undoes like any other.
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
                label_track,
                a,
                b,
                spelling.get(class_key(s.label), s.label),
                annotator=annotator,
                source="accepted_prediction",
                confidence=s.confidence,
                note=f"{prediction_track.model_name} {prediction_track.model_version}",
            )
        )
    return Composite(f"Accept {len(cmds)} predictions of {prediction_track.name}", cmds)


# -- helpers --------------------------------------------------------------------------------
def _existing_video(session: Session, name: str) -> VideoLink:
    try:
        return session.videos[name]
    except KeyError as exc:
        raise SessionError(f"no video {name!r} in the session") from exc


def _existing_prediction(session: Session, name: str) -> PredictionTrack:
    try:
        return session.prediction_tracks[name]
    except KeyError as exc:
        raise SessionError(f"no prediction track {name!r} in the session") from exc


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


class AddSegments(EditCommand):
    """Insert many segments into one track (created with ``policy`` when missing) as one edit:
    importing a label file. The segments must fit the track (no overlaps on an exclusive track);
    the importer resolves conflicts before, with the user, so this never changes a time. Classes
    not in the schema are added with it, so one undo removes the track, the segments and them."""

    def __init__(
        self,
        track: str,
        segments: Iterable[Segment],
        policy: str = "exclusive",
        text: str = "",
        annotator: str = "",
    ) -> None:
        super().__init__()
        if policy not in ("exclusive", "overlapping"):
            raise SessionError(f"unknown overlap policy {policy!r}")
        self.track, self.policy, self.annotator = track, policy, annotator
        self.segments = list(segments)
        self.text = text or f"Add {len(self.segments)} segments to {track}"

    def params(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "segments": [segment_to_dict(s) for s in self.segments],
            "policy": self.policy,
            "text": self.text,
            "annotator": self.annotator,
        }

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> EditCommand:
        segs = [segment_from_dict(s) for s in params["segments"]]
        return cls(
            params["track"],
            segs,
            params.get("policy", "exclusive"),
            params.get("text", ""),
            str(params.get("annotator", "")),
        )

    def _plan(self, p: Planner) -> None:
        t = p.track(self.track, self.policy, self.annotator)  # a track it creates records who made it
        if t is None:
            LabelTrack(self.track, self.policy)  # type: ignore[arg-type]  # validates the name
        check = LabelTrack(self.track, t.policy if t is not None else self.policy)  # type: ignore[arg-type]
        if t is not None:
            check.add_many(t, keep_ids=True)
        check.add_many(self.segments)  # raises on an overlap of an exclusive track, nothing applied
        after: dict[int, Segment | None] = {}
        for s in self.segments:
            seg = replace(s, id=p.new_id(self.track))
            after[seg.id] = seg
        p.change(self.track, dict.fromkeys(after), after)
