"""The slots behind the shortcut table: navigation and label edits on the timeline.

Every label edit is a command from :mod:`harlab.labeling.commands` pushed on the
window's :class:`~harlab.labeling.history.EditHistory` (so it is undoable and
journalled for crash recovery). Methods that would ask the user something take
the answer as an optional argument, so tests and scripts call them directly and
the dialog is only the asking part (SLEAP's ask/do split).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QWidget

from harlab.core.errors import SessionError
from harlab.core.labels import LabelTrack
from harlab.gui.timeaxis import day_label, parse_time
from harlab.gui.timeline import Timeline
from harlab.labeling import navigation
from harlab.labeling.commands import (
    ChangeClass,
    EditCommand,
    LabelRange,
    MergeSegments,
    ModifySegment,
    MoveSegment,
    RemoveSegments,
    SplitSegment,
    edge_limits,
)
from harlab.labeling.history import EditHistory
from harlab.labeling.hotkeys import HotkeyLabeler
from harlab.labeling.snapping import step_samples


def push_reported(history: EditHistory | None, cmd: EditCommand, report: Callable[[str], None]) -> bool:
    """Push ``cmd`` onto ``history`` and say what was done; a refused edit (overlap, stale
    segment) is reported, not raised. False when there is no history or the edit was refused."""
    if history is None:
        return False
    try:
        history.push(cmd)
    except SessionError as exc:
        report(f"Not done: {exc}")
        return False
    report(cmd.text)
    return True


class LabelActions:
    """Navigation and labeling slots for one window (bound by shortcut name)."""

    def __init__(
        self,
        timeline: Timeline,
        history: Callable[[], EditHistory | None],
        report: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        self.timeline = timeline
        self.hub = timeline.hub
        self._history = history
        self.report = report
        self.parent = parent
        self.hotkeys = HotkeyLabeler()
        self.current_class: str | None = None  #: the class a drag creates
        timeline.create_requested.connect(self.create)
        timeline.edge_moved.connect(self.move_edge)
        timeline.segment_moved.connect(self.move_segment)
        self.hub.cursor_changed.connect(self._cursor_moved)

    # -- helpers -------------------------------------------------------------------
    @property
    def history(self) -> EditHistory | None:
        return self._history()

    @property
    def track(self) -> LabelTrack | None:
        return self.timeline.track

    @property
    def stream(self):
        return self.timeline.stream_plots[0].stream if self.timeline.stream_plots else None

    def push(self, cmd: EditCommand) -> bool:
        """Push ``cmd``; a refused edit (overlap, stale segment) is reported, not raised."""
        return push_reported(self.history, cmd, self.report)

    def new_label(self) -> str | None:
        schema = self.timeline.session.schema if self.timeline.session else None
        if schema is None:
            return None
        if self.current_class in schema:
            return self.current_class
        return schema.names[0] if len(schema) else "label"

    def _select_covering(self, a: float, b: float) -> None:
        tr = self.track
        if tr is None:
            return
        mid = (a + b) / 2
        seg = navigation.segment_at(tr, mid)
        self.timeline.select({seg.id} if seg else set())

    def _one_selected(self):
        segs = self.timeline.selected_segments()
        if not segs:
            self.report("Select a segment first (click it, or Enter at the cursor)")
            return None
        return segs[0]

    def _sample_step(self, t: float, n: int) -> float:
        s = self.stream
        return t + n * 0.01 if s is None else float(step_samples(t, s, n))

    # -- mouse requests --------------------------------------------------------------
    def create(self, track: str, t0: float, t1: float) -> None:
        label = self.new_label()
        if label is None or t1 <= t0:
            return
        if self.push(LabelRange(track, t0, t1, label)):
            self._select_covering(t0, t1)

    def move_edge(self, track: str, sid: int, which: str, t: float) -> None:
        tr = self.timeline.session.label_tracks[track]
        if sid not in tr:
            return
        seg = tr[sid]
        lo, hi = edge_limits(tr, sid)
        if which == "start":
            t = min(max(t, lo), seg.end)
            if t != seg.start:
                self.push(ModifySegment(track, sid, start=t))
        else:
            t = max(min(t, hi), seg.start)
            if t != seg.end:
                self.push(ModifySegment(track, sid, end=t))

    def move_segment(self, track: str, sid: int, dt: float) -> None:
        if dt:
            self.push(MoveSegment(track, sid, dt))

    # -- class hotkeys -----------------------------------------------------------------
    def class_key(self, label: str) -> None:
        """A class hotkey: label the selected span, change the selected segments, or
        start/end a segment at the cursor."""
        tr = self.track
        if tr is None:
            return
        self.current_class = label
        span = self.hub.selection
        if span is None and self.hotkeys.pending is None and self.timeline.selected_ids:
            ids = sorted(self.timeline.selected_ids)
            if any(tr[i].label != label for i in ids if i in tr):
                self.push(ChangeClass(tr.name, ids, label))
            return
        cursor = self.timeline.snap(self.hub.cursor)
        cmd = self.hotkeys.press(tr.name, label, cursor, span)
        if cmd is not None and self.push(cmd):
            if span is not None:
                self.hub.set_selection(None)
            self._select_covering(cmd.start, cmd.end)
        elif cmd is None and self.hotkeys.pending is not None:
            cls = self.timeline.session.schema.get(label) if self.timeline.session is not None else None
            key = cls.hotkey.upper() if cls is not None and cls.hotkey else f"{label}'s key"
            self.report(
                f"{label} started at {self.timeline.format_time(cursor)}: "
                f"move the cursor and press {key} again to end it (Esc cancels)"
            )
        self._show_pending()

    def _show_pending(self) -> None:
        p = self.hotkeys.pending
        for row in self.timeline.bands:
            if p is not None and row.name == p.track:
                row.band.ghost = (p.start, self.hub.cursor)
                row.band.ghost_label = p.label
            elif row.band.ghost is not None and self.hotkeys is not None:
                row.band.ghost = None
            row.band.update()

    def _cursor_moved(self, t: float) -> None:
        if self.hotkeys.pending is not None:
            self._show_pending()

    # -- navigation ------------------------------------------------------------------
    def _width(self) -> float:
        a, b = self.hub.range
        return b - a

    def _pan(self, fraction: float) -> None:
        a, b = self.hub.range
        d = fraction * (b - a)
        self.timeline.set_range(a + d, b + d)

    def _move_cursor(self, t: float) -> None:
        lo, hi = self.hub.bounds
        self.hub.seek(min(max(t, lo), hi))

    def cursor_left(self) -> None:
        self._move_cursor(self.hub.cursor - 0.01 * self._width())

    def cursor_right(self) -> None:
        self._move_cursor(self.hub.cursor + 0.01 * self._width())

    def cursor_left_sample(self) -> None:
        self._move_cursor(self._sample_step(self.hub.cursor, -1))

    def cursor_right_sample(self) -> None:
        self._move_cursor(self._sample_step(self.hub.cursor, 1))

    def pan_left(self) -> None:
        self._pan(-0.5)

    def pan_right(self) -> None:
        self._pan(0.5)

    def page_left(self) -> None:
        self._pan(-1.0)

    def page_right(self) -> None:
        self._pan(1.0)

    def _zoom(self, factor: float) -> None:
        a, b = self.hub.range
        c = self.hub.cursor if a <= self.hub.cursor <= b else (a + b) / 2
        lo, hi = self.hub.bounds
        w = min(max((b - a) * factor, 0.05), 1.1 * (hi - lo) + 1)
        left = c - (c - a) * (w / (b - a))
        self.timeline.set_range(left, left + w)

    def zoom_in(self) -> None:
        self._zoom(0.5)

    def zoom_out(self) -> None:
        self._zoom(2.0)

    def zoom_all(self) -> None:
        lo, hi = self.hub.bounds
        self.timeline.set_range(lo, hi)

    def zoom_selection(self) -> None:
        segs = self.timeline.selected_segments()
        span = self.hub.selection or ((segs[0].start, segs[-1].end) if segs else None)
        if span is None:
            self.report("Nothing selected to zoom to")
            return
        a, b = span
        m = 0.1 * max(b - a, 0.5)
        self.timeline.set_range(a - m, b + m)

    def go_start(self) -> None:
        self._move_cursor(self.hub.bounds[0])

    def go_end(self) -> None:
        self._move_cursor(self.hub.bounds[1])

    def _jump_to_segment(self, seg) -> None:
        if seg is None:
            self.report("No more segments that way")
            return
        self.timeline.select({seg.id})
        self.hub.seek(seg.start)
        a, b = self.hub.range
        if seg.end > b:
            w = b - a
            self.timeline.set_range(seg.start - 0.1 * w, seg.start + 0.9 * w)

    def next_segment(self) -> None:
        if self.track is not None:
            self._jump_to_segment(navigation.next_segment(self.track, self.hub.cursor))

    def prev_segment(self) -> None:
        if self.track is not None:
            self._jump_to_segment(navigation.prev_segment(self.track, self.hub.cursor))

    def _jump_to_gap(self, gap) -> None:
        if gap is None:
            self.report("No unlabelled gap that way")
            return
        self.timeline.select(set())
        self.hub.seek(gap[0])
        self.hub.set_selection(gap)

    def next_gap(self) -> None:
        if self.track is not None:
            lo, hi = self.hub.bounds
            self._jump_to_gap(navigation.next_gap(self.track, self.hub.cursor, lo, hi))

    def prev_gap(self) -> None:
        if self.track is not None:
            lo, hi = self.hub.bounds
            self._jump_to_gap(navigation.prev_gap(self.track, self.hub.cursor, lo, hi))

    def go_to_prompt(self) -> str:
        """What Go to time asks for: a clock time only when the timeline shows one (a session
        with an unknown start has no clock, and 14:05:30 would be read as 14 h from the start)."""
        if self.timeline.wall_clock and self.timeline.start_local is not None:
            return "Clock time (14:05:30) or seconds from the start (90.5):"
        return "Time from the start (1:30:00, 2:05) or seconds (90.5):"

    def go_to_time(self, text: str | None = None) -> None:
        if text is None:
            text, ok = QInputDialog.getText(self.parent, "Go to time", self.go_to_prompt())
            if not ok:
                return
        try:
            # the reading the time axis and the segment table use: "2:05" is 2 min 5 s from
            # the start, as the axis writes it (this action alone read it as 2 h 5 min)
            t = parse_time(text, self.timeline.start_local, self.timeline.wall_clock, near=self.hub.cursor)
        except ValueError as exc:
            self.report(str(exc))
            return
        lo, hi = self.hub.bounds
        if not math.floor(lo) <= t <= math.ceil(hi):  # whole seconds: "10:00" is the end of 599.99 s
            fmt = self.timeline.format_time
            self.report(f"{text.strip()} is outside the recording ({fmt(lo)} – {fmt(hi)})")
            return
        a, b = self.hub.range
        w = b - a
        self.hub.set_cursor(t)
        self.timeline.set_range(t - w / 2, t + w / 2)

    def day_names(self) -> list[str]:
        """What Go to day lists: each local day the recording touches ("Mon 7 Dec 2026")."""
        return [day_label(d, year=True) for _, _, d in self.timeline.days()]

    def go_to_day(self, index: int | None = None) -> None:
        """Show day ``index`` of :meth:`day_names` from midnight to midnight (asks which when
        ``index`` is None); the cursor moves to the first moment of the day with data."""
        days = self.timeline.days()
        if not days:
            self.report("The session's start is unknown, so it has no days to go to")
            return
        if index is None:
            names = self.day_names()
            a, b = self.hub.range
            current = self._day_at((a + b) / 2, days)
            name, ok = QInputDialog.getItem(self.parent, "Go to day", "Day:", names, current, False)
            if not ok or name not in names:
                return
            index = names.index(name)
        if not 0 <= index < len(days):
            self.report(f"No day {index + 1}: the recording has {len(days)}")
            return
        self._show_day(days[index])

    def _show_day(self, day: tuple) -> None:
        t0, t1, _ = day
        lo, hi = self.hub.bounds
        self.hub.set_cursor(min(max(t0, lo), hi))
        self.timeline.set_range(t0, t1)

    @staticmethod
    def _day_at(t: float, days: list) -> int:
        """Index of the day holding ``t`` (the first or last day when outside them)."""
        for i, (_, end, _) in enumerate(days):
            if t < end:
                return i
        return len(days) - 1

    def _step_day(self, step: int) -> None:
        days = self.timeline.days()
        if not days:
            self.report("The session's start is unknown, so it has no days")
            return
        a, b = self.hub.range
        i = self._day_at((a + b) / 2, days)
        showing_day = abs(a - days[i][0]) < 1.0 and abs(b - days[i][1]) < 1.0
        j = i + step if showing_day else i  # first show the day in view, then step
        if not 0 <= j < len(days):
            self.report("No more days that way")
            return
        self._show_day(days[j])

    def next_day(self) -> None:
        self._step_day(1)

    def prev_day(self) -> None:
        self._step_day(-1)

    def _switch_track(self, step: int) -> None:
        names = [row.name for row in self.timeline.bands]
        if not names:
            return
        i = names.index(self.timeline.active_track) if self.timeline.active_track in names else 0
        self.timeline.set_active_track(names[(i + step) % len(names)])

    def next_track(self) -> None:
        self._switch_track(1)

    def prev_track(self) -> None:
        self._switch_track(-1)

    # -- labeling ------------------------------------------------------------------------
    def select_at_cursor(self) -> None:
        tr = self.track
        seg = navigation.segment_at(tr, self.hub.cursor) if tr is not None else None
        self.timeline.select({seg.id} if seg else set())

    def cancel(self) -> None:
        if self.hotkeys.cancel():
            self._show_pending()
            self.report("Segment abandoned")
        self.timeline.select(set())
        self.hub.set_selection(None)

    def _nudge(self, which: str, n: int) -> None:
        seg = self._one_selected()
        if seg is None:
            return
        t = self._sample_step(getattr(seg, which), n)
        self.move_edge(self.track.name, seg.id, which, t)

    def nudge_start_left(self) -> None:
        self._nudge("start", -1)

    def nudge_start_right(self) -> None:
        self._nudge("start", 1)

    def nudge_end_left(self) -> None:
        self._nudge("end", -1)

    def nudge_end_right(self) -> None:
        self._nudge("end", 1)

    def _move(self, n: int) -> None:
        seg = self._one_selected()
        if seg is None:
            return
        dt = self._sample_step(seg.start, n) - seg.start
        self.move_segment(self.track.name, seg.id, dt)

    def move_left(self) -> None:
        self._move(-1)

    def move_right(self) -> None:
        self._move(1)

    def split_at_cursor(self) -> None:
        tr = self.track
        if tr is None:
            return
        t = self.timeline.snap(self.hub.cursor)
        seg = navigation.segment_at(tr, t)
        if seg is None or not seg.start < t < seg.end:
            self.report("Put the cursor inside a segment to split it")
            return
        self.push(SplitSegment(tr.name, seg.id, t))

    def merge_with_next(self) -> None:
        seg = self._one_selected()
        if seg is None:
            return
        nxt = self.track.next_after(seg.start)
        if nxt is None:
            self.report("There is no next segment to merge with")
            return
        if self.push(MergeSegments(self.track.name, [seg.id, nxt.id])):
            self._select_covering(seg.start, seg.start)

    def delete_segment(self) -> None:
        ids = sorted(self.timeline.selected_ids)
        if not ids or self.track is None:
            self.report("Select a segment to delete")
            return
        if self.push(RemoveSegments(self.track.name, ids)):
            self.timeline.select(set())

    def change_class(self, label: str | None = None) -> None:
        ids = sorted(self.timeline.selected_ids)
        if not ids or self.track is None:
            self.report("Select the segments whose class to change")
            return
        if label is None:
            # pick from the schema (a typed name made an unknown, grey class), starting at the
            # class the segment has now
            names = self.timeline.session.schema.names
            now = self.track[ids[0]].label
            label, ok = QInputDialog.getItem(
                self.parent,
                "Change class",
                "New class:",
                names,
                names.index(now) if now in names else 0,
                False,
            )
            if not ok or not label:
                return
        self.push(ChangeClass(self.track.name, ids, label))

    def undo(self) -> None:
        h = self.history
        if h is not None and h.can_undo:
            text = h.undo_text
            h.undo()
            self.report(f"Undone: {text}")

    def redo(self) -> None:
        h = self.history
        if h is not None and h.can_redo:
            text = h.redo_text
            h.redo()
            self.report(f"Redone: {text}")
