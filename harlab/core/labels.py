"""Label schema, label segments and label tracks.

A :class:`LabelTrack` is one tier of annotation ("activity", "posture",
"context"). Segments are immutable values identified by an integer id that is
unique within the track; an edit replaces a segment with a new value under the
same id, which is what lets undo and the crash-recovery journal name a segment
unambiguously. Queries used by views (segments in a time range, next/previous
segment, unlabelled gaps) run on sorted numpy arrays so 50,000 segments stay fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from harlab.core.classnames import find_class
from harlab.core.colors import CLASS_COLORS, distinct_color
from harlab.core.errors import SessionError
from harlab.core.events import EventEmitter
from harlab.core.streams import MAX_NAME_CHARS, check_name_length

Policy = Literal["exclusive", "overlapping"]
SOURCES = ("manual", "imported", "accepted_prediction", "recorded", "prediction")

_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

#: Colours for classes created without one: the perceptually distinct class palette (see
#: :mod:`harlab.core.colors`); a new class takes the one least like those in its schema.
PALETTE = list(CLASS_COLORS)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LabelClass:
    """A class of the label schema. ``hotkey`` is a single key such as ``"w"`` or ``"3"``."""

    name: str
    color: str = "#7f7f7f"
    hotkey: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise SessionError("a label class needs a non-empty name")
        check_name_length(self.name, "class name")
        if not _COLOR_RE.match(self.color):
            raise SessionError(f"class {self.name!r}: colour {self.color!r} is not #rrggbb")


class LabelSchema:
    """The ordered set of classes a session's labels use."""

    def __init__(self, classes: Iterable[LabelClass] = ()) -> None:
        self.events = EventEmitter()
        self._classes: dict[str, LabelClass] = {}
        for c in classes:
            self.add(c)

    def __iter__(self) -> Iterator[LabelClass]:
        return iter(self._classes.values())

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __getitem__(self, name: str) -> LabelClass:
        return self._classes[name]

    def get(self, name: str) -> LabelClass | None:
        return self._classes.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._classes)

    def color(self, name: str) -> str:
        """The colour of class ``name``; a class spelt differently (a model's ``Walking`` for
        the schema's ``walking``, :mod:`harlab.core.classnames`) shows in the schema's colour,
        so a prediction and the label it agrees with look alike. An unknown name gets a
        palette colour that depends on the name only."""
        c = self._classes.get(name)
        if c is None:
            spelt = find_class(name, self._classes)
            c = self._classes[spelt] if spelt is not None else None
        if c is not None:
            return c.color
        return PALETTE[sum(map(ord, name)) % len(PALETTE)]

    def by_hotkey(self, key: str) -> LabelClass | None:
        for c in self._classes.values():
            if c.hotkey is not None and c.hotkey.lower() == key.lower():
                return c
        return None

    def add(self, cls: LabelClass | str) -> LabelClass:
        if isinstance(cls, str):
            n = len(self._classes)  # past the palette's length colours repeat: no O(n) scan per class
            colour = (
                distinct_color([c.color for c in self]) if n < len(PALETTE) else PALETTE[n % len(PALETTE)]
            )
            cls = LabelClass(cls, colour)
        if cls.name in self._classes:
            raise SessionError(f"class {cls.name!r} is already in the schema")
        if cls.hotkey and (other := self.by_hotkey(cls.hotkey)) is not None:
            raise SessionError(f"hotkey {cls.hotkey!r} already belongs to {other.name!r}")
        self._classes[cls.name] = cls
        self.events.emit("class_added", self, name=cls.name)
        return cls

    def ensure(self, name: str) -> LabelClass:
        """The class called ``name``, added with a palette colour if missing."""
        return self._classes.get(name) or self.add(name)

    def update(self, name: str, new: LabelClass) -> None:
        if name not in self._classes:
            raise SessionError(f"no class {name!r} in the schema")
        if new.name != name and new.name in self._classes:
            raise SessionError(f"class {new.name!r} is already in the schema")
        if new.hotkey and (other := self.by_hotkey(new.hotkey)) is not None and other.name != name:
            raise SessionError(f"hotkey {new.hotkey!r} already belongs to {other.name!r}")
        items = [(new.name, new) if k == name else (k, v) for k, v in self._classes.items()]
        self._classes = dict(items)
        self.events.emit("class_changed", self, name=name, new_name=new.name)

    def remove(self, name: str) -> LabelClass:
        cls = self._classes.pop(name)
        self.events.emit("class_removed", self, name=name)
        return cls

    def to_list(self) -> list[dict[str, Any]]:
        return [class_to_dict(c) for c in self]

    @classmethod
    def from_list(cls, items: Iterable[dict[str, Any]]) -> LabelSchema:
        return cls(class_from_dict(d) for d in items)


# -- JSON of classes and segments: the one encoding the edit journal, the recording journal
# -- and the session file's schema attribute share ------------------------------------------
def class_to_dict(c: LabelClass) -> dict[str, Any]:
    """A JSON-ready dict that :func:`class_from_dict` turns back into an equal LabelClass."""
    return {"name": c.name, "color": c.color, "hotkey": c.hotkey, "description": c.description}


def class_from_dict(d: dict[str, Any]) -> LabelClass:
    return LabelClass(
        str(d["name"]),
        str(d.get("color") or "#7f7f7f"),
        d.get("hotkey") or None,
        str(d.get("description") or ""),
    )


def _time_to_str(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def segment_to_dict(s: Segment) -> dict[str, Any]:
    """A JSON-ready dict that :func:`segment_from_dict` turns back into an equal Segment."""
    return {
        "id": s.id,
        "start": s.start,
        "end": s.end,
        "label": s.label,
        "annotator": s.annotator,
        "source": s.source,
        "confidence": s.confidence,
        "note": s.note,
        "created": _time_to_str(s.created),
        "modified": _time_to_str(s.modified),
    }


def segment_from_dict(d: dict[str, Any]) -> Segment:
    """The Segment of :func:`segment_to_dict` (extra keys, such as a track name, are ignored)."""
    confidence = d.get("confidence")
    times = {k: datetime.fromisoformat(d[k]) for k in ("created", "modified") if d.get(k)}
    return Segment(
        start=float(d["start"]),
        end=float(d["end"]),
        label=str(d["label"]),
        annotator=str(d.get("annotator") or ""),
        source=str(d.get("source") or "manual"),
        confidence=None if confidence is None else float(confidence),
        note=str(d.get("note") or ""),
        id=int(d.get("id", -1)),
        **times,
    )


@dataclass(frozen=True)
class Segment:
    """One labelled span [start, end] in seconds from the session start.

    ``start == end`` is a zero-length event. ``id`` is assigned by the track.
    """

    start: float
    end: float
    label: str
    annotator: str = ""
    source: str = "manual"
    confidence: float | None = None
    note: str = ""
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    id: int = -1

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start) and np.isfinite(self.end)):
            raise SessionError(f"segment times must be finite, got {self.start}..{self.end}")
        if self.end < self.start:
            raise SessionError(f"segment ends ({self.end}) before it starts ({self.start})")
        if not self.label:
            raise SessionError("a segment needs a class label")
        check_name_length(self.label, "segment label")
        check_name_length(self.annotator, "annotator")
        if self.source not in SOURCES:
            raise SessionError(f"unknown segment source {self.source!r}; one of {SOURCES}")
        if self.confidence is not None and not (0.0 <= self.confidence <= 1.0):
            raise SessionError(f"confidence {self.confidence} is outside 0..1")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def overlaps(self, start: float, end: float) -> bool:
        """Positive-length intersection with [start, end]; touching ends do not count."""
        return self.start < end and start < self.end


class LabelTrack:
    """A named tier of segments with an overlap policy.

    With ``policy="exclusive"`` no two segments may share a positive-length span
    (zero-length events never conflict); ``"overlapping"`` allows anything.
    """

    def __init__(
        self,
        name: str,
        policy: Policy = "exclusive",
        description: str = "",
        annotator: str = "",
        created: datetime | None = None,
        modified: datetime | None = None,
    ) -> None:
        if not name or "/" in name:
            raise SessionError(f"invalid track name {name[:MAX_NAME_CHARS]!r}")
        check_name_length(name, "track name")
        check_name_length(annotator, "annotator")
        if policy not in ("exclusive", "overlapping"):
            raise SessionError(f"unknown overlap policy {policy!r}")
        self.name = name
        self.policy: Policy = policy
        self.description = description
        #: Who made the track (a person, a model's name, "consensus"); "" = unknown. Agreement
        #: and consensus name tracks by it, so two people's tiers of one session stay apart.
        self.annotator = annotator
        #: When the track was made; None only for tracks read from files that predate it.
        self.created: datetime | None = created if created is not None else utcnow()
        #: When its segments last changed (any add, edit or removal sets it); None as ``created``.
        self.modified: datetime | None = modified if modified is not None else self.created
        self.events = EventEmitter()
        self._segments: dict[int, Segment] = {}
        self._next_id = 1
        self._index: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._max_len = 0.0

    # -- reading -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._segments)

    def __iter__(self) -> Iterator[Segment]:
        _, _, ids = self._sorted()
        return (self._segments[int(i)] for i in ids)

    def __getitem__(self, seg_id: int) -> Segment:
        return self._segments[seg_id]

    def __contains__(self, seg_id: object) -> bool:
        return seg_id in self._segments

    @property
    def next_id(self) -> int:
        return self._next_id

    def keep_ids_below(self, next_id: int) -> None:
        """Never hand out an id below ``next_id``: a track read from a file keeps the ids of its
        deleted segments used, so a journal or an undo never sees one id name two segments."""
        self._next_id = max(self._next_id, int(next_id))

    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._index is None:
            segs = self._segments.values()
            starts = np.fromiter((s.start for s in segs), float, len(self._segments))
            ends = np.fromiter((s.end for s in segs), float, len(self._segments))
            ids = np.fromiter((s.id for s in segs), np.int64, len(self._segments))
            order = np.lexsort((ends, starts))
            self._index = (starts[order], ends[order], ids[order])
            self._max_len = float((ends - starts).max()) if len(ids) else 0.0
        return self._index

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sorted (starts, ends, ids) for vectorised drawing; do not modify."""
        return self._sorted()

    def in_range(self, t0: float, t1: float) -> list[Segment]:
        """Segments that intersect [t0, t1] (including events inside it), by start."""
        starts, ends, ids = self._sorted()
        lo = int(np.searchsorted(starts, t0 - self._max_len, side="left"))
        hi = int(np.searchsorted(starts, t1, side="right"))
        sel = ids[lo:hi][ends[lo:hi] >= t0]
        return [self._segments[int(i)] for i in sel]

    def conflicts(self, start: float, end: float, ignore: Iterable[int] = ()) -> list[Segment]:
        """Segments that would overlap [start, end] under the exclusive policy."""
        if end <= start:
            return []
        skip = set(ignore)
        return [
            s
            for s in self.in_range(start, end)
            if s.id not in skip and s.end > s.start and s.overlaps(start, end)
        ]

    def at(self, t: float) -> list[Segment]:
        return [s for s in self.in_range(t, t) if s.start <= t <= s.end]

    def next_after(self, t: float) -> Segment | None:
        starts, _, ids = self._sorted()
        i = int(np.searchsorted(starts, t, side="right"))
        return self._segments[int(ids[i])] if i < len(ids) else None

    def previous_before(self, t: float) -> Segment | None:
        starts, _, ids = self._sorted()
        i = int(np.searchsorted(starts, t, side="left")) - 1
        return self._segments[int(ids[i])] if i >= 0 else None

    def unlabelled(self, t0: float, t1: float, min_len: float = 0.0) -> list[tuple[float, float]]:
        """Spans of [t0, t1] that no segment covers, longer than ``min_len``."""
        starts, ends, _ = self._sorted()
        gaps: list[tuple[float, float]] = []
        cursor = t0
        for s, e in zip(starts, ends, strict=True):
            if e <= cursor:
                continue
            if s >= t1:
                break
            if s > cursor and s - cursor > min_len:
                gaps.append((cursor, float(s)))
            cursor = max(cursor, float(e))
        if t1 - cursor > min_len:
            gaps.append((cursor, t1))
        return gaps

    # -- editing -----------------------------------------------------------------
    def _invalidate(self) -> None:
        self._index = None
        self.modified = utcnow()

    def _check(self, seg: Segment, ignore: Iterable[int] = ()) -> None:
        if self.policy == "exclusive":
            clash = self.conflicts(seg.start, seg.end, ignore)
            if clash:
                c = clash[0]
                raise SessionError(
                    f"track {self.name!r} is exclusive: {seg.start:.3f}-{seg.end:.3f} s overlaps "
                    f"{c.label!r} at {c.start:.3f}-{c.end:.3f} s"
                )

    def add(self, seg: Segment, *, keep_id: bool = False) -> Segment:
        """Insert ``seg`` and return it with its id (kept when ``keep_id``, e.g. undo)."""
        if keep_id and seg.id > 0:
            if seg.id in self._segments:
                raise SessionError(f"segment id {seg.id} already in track {self.name!r}")
            new = seg
        else:
            new = replace(seg, id=self._next_id)
        self._check(new)
        self._segments[new.id] = new
        self._next_id = max(self._next_id, new.id + 1)
        self._invalidate()
        self.events.emit("segments_added", self, ids=[new.id])
        return new

    def add_many(self, segs: Iterable[Segment], *, keep_ids: bool = False) -> list[Segment]:
        """Bulk insert (imports): one event, one overlap check over the sorted set.

        ``keep_ids`` keeps each segment's own positive id (loading a saved track), so ids
        stay stable across save and reopen; a duplicate or non-positive id is an error.
        """
        added: list[Segment] = []
        for seg in segs:
            if keep_ids:
                if seg.id <= 0 or seg.id in self._segments:
                    for a in added:
                        self._segments.pop(a.id, None)
                    self._index = None  # rolled back: nothing changed
                    raise SessionError(
                        f"track {self.name!r}: segment id {seg.id} is duplicate or not positive"
                    )
                new = seg
                self._next_id = max(self._next_id, seg.id + 1)
            else:
                new = replace(seg, id=self._next_id)
                self._next_id += 1
            self._segments[new.id] = new
            added.append(new)
        self._invalidate()
        if self.policy == "exclusive":
            starts, ends, ids = self._sorted()
            pos = ends > starts
            s, e, i = starts[pos], ends[pos], ids[pos]
            bad = np.flatnonzero(s[1:] < np.maximum.accumulate(e)[:-1])
            if len(bad):
                for a in added:
                    self._segments.pop(a.id, None)
                self._index = None  # rolled back: nothing changed
                j = int(bad[0]) + 1
                raise SessionError(
                    f"track {self.name!r} is exclusive: segment at {s[j]:.3f} s overlaps an "
                    f"earlier one ending at {np.maximum.accumulate(e)[j - 1]:.3f} s "
                    f"(id {int(i[j])})"
                )
        self.events.emit("segments_added", self, ids=[a.id for a in added])
        return added

    def update(self, seg_id: int, **changes: Any) -> tuple[Segment, Segment]:
        """Replace fields of a segment; returns (old, new)."""
        old = self._segments[seg_id]
        changes.setdefault("modified", utcnow())
        new = replace(old, **changes)
        self._check(new, ignore=[seg_id])
        self._segments[seg_id] = new
        self._invalidate()
        self.events.emit("segments_changed", self, ids=[seg_id])
        return old, new

    def put(self, seg: Segment) -> Segment:
        """Set the segment with ``seg.id`` to exactly ``seg`` (used by undo)."""
        if seg.id not in self._segments:
            return self.add(seg, keep_id=True)
        self._check(seg, ignore=[seg.id])
        self._segments[seg.id] = seg
        self._invalidate()
        self.events.emit("segments_changed", self, ids=[seg.id])
        return seg

    def replace_many(self, remove: Iterable[int] = (), put: Iterable[Segment] = ()) -> None:
        """Remove the segments ``remove`` and set each of ``put`` to exactly that value (ids kept),
        as one atomic change.

        Undo/redo and the edit commands use it: an edit touching k segments of an n-segment
        track costs O(k log n) plus one O(n) array copy in C, instead of k index rebuilds in
        Python. The exclusive policy is checked on the result; when it fails nothing changes.
        Emits at most one ``segments_removed``, ``segments_changed`` and ``segments_added``.
        """
        rm = [int(i) for i in remove]
        puts = sorted(put, key=lambda s: (s.start, s.end))
        for i in rm:
            if i not in self._segments:
                raise SessionError(f"no segment id {i} in track {self.name!r}")
        put_ids = [s.id for s in puts]
        if any(i <= 0 for i in put_ids) or len(set(put_ids)) != len(put_ids) or set(put_ids) & set(rm):
            raise SessionError(f"track {self.name!r}: put needs distinct positive ids not being removed")
        starts, ends, ids = self._sorted()
        touched = [self._segments[i] for i in (*rm, *put_ids) if i in self._segments]
        keep = np.ones(len(ids), bool)
        for seg in touched:
            lo = int(np.searchsorted(starts, seg.start, side="left"))
            hi = int(np.searchsorted(starts, seg.start, side="right"))
            keep[lo + int(np.flatnonzero(ids[lo:hi] == seg.id)[0])] = False
        s2, e2, i2 = starts[keep], ends[keep], ids[keep]
        ps = np.array([s.start for s in puts], float)
        pe = np.array([s.end for s in puts], float)
        los = np.searchsorted(s2, ps, side="left")
        his = np.searchsorted(s2, ps, side="right")
        at = [int(a) + int(np.searchsorted(e2[a:b], e)) for a, b, e in zip(los, his, pe, strict=True)]
        s3 = np.insert(s2, at, ps)
        e3 = np.insert(e2, at, pe)
        i3 = np.insert(i2, at, np.array(put_ids, np.int64))
        if self.policy == "exclusive" and len(puts):
            pos = e3 > s3
            sx, ex, ix = s3[pos], e3[pos], i3[pos]
            bad = (
                np.flatnonzero(sx[1:] < np.maximum.accumulate(ex)[:-1])
                if len(sx) > 1
                else np.zeros(0, np.intp)
            )
            if len(bad):
                j = int(bad[0]) + 1
                raise SessionError(
                    f"track {self.name!r} is exclusive: {sx[j]:.3f}-{ex[j]:.3f} s (id {int(ix[j])}) "
                    f"overlaps a segment ending at {np.maximum.accumulate(ex)[j - 1]:.3f} s"
                )
        existed = [i for i in put_ids if i in self._segments]
        added = [i for i in put_ids if i not in self._segments]
        for i in rm:
            del self._segments[i]
        for seg in puts:
            self._segments[seg.id] = seg
        if puts:
            self._next_id = max(self._next_id, max(put_ids) + 1)
            self._max_len = max(self._max_len, float((pe - ps).max()))
        self._index = (s3, e3, i3)
        self.modified = utcnow()
        if rm:
            self.events.emit("segments_removed", self, ids=rm)
        if existed:
            self.events.emit("segments_changed", self, ids=existed)
        if added:
            self.events.emit("segments_added", self, ids=added)

    def remove(self, seg_id: int) -> Segment:
        seg = self._segments.pop(seg_id)
        self._invalidate()
        self.events.emit("segments_removed", self, ids=[seg_id])
        return seg

    def clear(self) -> None:
        self._segments.clear()
        self._invalidate()
        self.events.emit("segments_cleared", self)
