"""Several annotators in the workbench: label-blind mode, the compared tracks with their
disagreement strip, walking disagreements, and the adjudication walk.

One object per main window holds what the user chose (which tracks are compared, whether
label-blind mode is on, the running adjudication) and drives the timeline, the agreement
panel and the status bar from it; the numbers come from the Qt-free core
(:mod:`harlab.agreement`), the edits are commands on the document's one history
(:mod:`harlab.labeling.commands`). Methods that would ask take the answers as arguments, so
tests and scripts call them directly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from harlab.core.errors import HarlabError
from harlab.core.events import Event
from harlab.core.session import Session
from harlab.gui import settings
from harlab.gui.adjudication_walk import AdjudicationWalk
from harlab.gui.annotator_view import BLIND_KEY, blind_hidden, current_annotator
from harlab.gui.disagreement_strip import DisagreementStrip
from harlab.gui.label_actions import push_reported
from harlab.gui.prediction_actions import show_stretch
from harlab.gui.prediction_view import step_spans
from harlab.gui.timeline import Timeline
from harlab.labeling.commands import AddTrackWithSegments, CopyLabels, EditCommand
from harlab.labeling.history import EditHistory

SPANS_DEBOUNCE_MS = 250  #: a burst of edits (a drag) recomputes the strip once


def disagreement_spans(session: Session, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of each stretch where the tracks ``names`` do not all give the same label
    (one labelled and another silent counts: the adjudicator has to decide it too); adjacent
    stretches are merged."""
    from harlab.agreement.intervals import elementary_intervals

    iv = elementary_intervals([session.label_tracks[n] for n in names])
    if not len(iv):
        return np.zeros(0), np.zeros(0)
    codes = iv.codes
    differ = (codes != codes[:, :1]).any(axis=1)
    d = np.diff(np.r_[0, differ.astype(np.int8), 0])
    firsts, lasts = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return iv.edges[firsts].astype(np.float64), iv.edges[lasts].astype(np.float64)


class AnnotationActions(QObject):
    """The annotator features of one main window (bound by shortcut name and menus)."""

    compared_changed = Signal()  #: the compared tracks or their disagreements changed
    blind_changed = Signal(bool)  #: the mode, or what it hides, changed
    progress_changed = Signal(str)  #: the adjudication's progress ("12 of 40 decided"; "" = none)

    def __init__(
        self,
        timeline: Timeline,
        history: Callable[[], EditHistory | None],
        report: Callable[[str], None],
        prediction_disagreement: Callable[[int], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self.hub = timeline.hub
        self._history = history
        self.report = report
        self._prediction_disagreement = prediction_disagreement
        self.compared: list[str] = []
        self.spans: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
        self.strip: DisagreementStrip | None = None
        self.blind = False
        self.walk: AdjudicationWalk | None = None
        self._session: Session | None = None
        #: the permanent part of the status bar: label-blind mode and adjudication progress
        self.status_label = QLabel("")
        self.status_label.setObjectName("annotation_status")
        self._spans_timer = QTimer(self)
        self._spans_timer.setSingleShot(True)
        self._spans_timer.setInterval(SPANS_DEBOUNCE_MS)
        self._spans_timer.timeout.connect(self._recompute_spans)
        timeline.set_extra_rows(self._strip_rows)

    # -- the session ----------------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self.timeline.session

    def set_session(self, session: Session | None) -> None:
        """Follow a newly opened session (None: closed): nothing compared, no walk; blind
        mode carries over from the settings."""
        if self._session is not None:
            self._session.events.disconnect(self._on_session_event)
        self._session = session
        self.compared, self.walk = [], None
        self.spans = (np.zeros(0), np.zeros(0))
        if session is not None:
            session.events.connect(self._on_session_event)
            self.set_blind(settings.get_bool(BLIND_KEY, False), quiet=not self.blind)
        self._update_status()
        self.compared_changed.emit()

    def _push(self, cmd: EditCommand) -> bool:
        return push_reported(self._history(), cmd, self.report)

    def _on_session_event(self, event: Event) -> None:
        if event.kind == "label_track_removed":
            QTimer.singleShot(0, self._track_removed)
            return
        if event.kind.startswith("segments_") or event.kind == "label_track_added":
            if self.compared:
                self._spans_timer.start()
            if self.walk is not None:
                QTimer.singleShot(0, self._update_status)
            if self.blind and event.kind == "label_track_added":
                QTimer.singleShot(0, self._apply_blind)

    def _track_removed(self) -> None:
        """A compared track is gone: stop comparing. The consensus track is gone (its building
        undone): the walk ends; redo brings the track back but not the walk (start it again)."""
        tracks = self.session.label_tracks if self.session is not None else {}
        if self.walk is not None and self.walk.target not in tracks:
            self.walk = None
        if any(n not in tracks for n in self.compared):
            self.compare([])
        self._update_status()

    # -- label-blind mode -----------------------------------------------------------------
    def toggle_label_blind(self) -> None:
        self.set_blind(not self.blind)

    def set_blind(self, on: bool, quiet: bool = False) -> None:
        """Hide (on) or show again (off) the other annotators' tracks and the predictions;
        the status bar says so unless ``quiet`` (a session opening with the mode off)."""
        self.blind = bool(on)
        settings.set_value(BLIND_KEY, self.blind)
        if self.blind and self.compared:
            self.compare([])  # the strip would show where the hidden tracks disagree
        self._apply_blind()
        if self.session is not None and not quiet:
            me = current_annotator() or "nobody set (Annotators > Set the annotator…)"
            self.report(
                f"Label blind ON for {me}: other annotators' tracks and predictions are hidden"
                if self.blind
                else "Label blind off: every track and prediction shows again"
            )

    def _apply_blind(self) -> None:
        session = self.session
        hidden = blind_hidden(session, current_annotator()) if self.blind and session is not None else set()
        self.timeline.set_hidden(hidden, self.blind)
        self._update_status()
        self.blind_changed.emit(self.blind)

    # -- comparing tracks -----------------------------------------------------------------
    def compare(self, names: list[str]) -> bool:
        """Compare the label tracks ``names`` (two or more; [] stops comparing): the strip
        shows where they disagree and "next disagreement" walks their disagreements."""
        session = self.session
        names = list(dict.fromkeys(names))
        if session is None:
            return False
        missing = [n for n in names if n not in session.label_tracks]
        if missing:
            self.report(f"No label track {missing[0]!r} in this session")
            return False
        if len(names) == 1:
            self.report("Compare two or more label tracks")
            return False
        self.compared = names
        if names:
            try:
                self.spans = disagreement_spans(session, names)
            except HarlabError as exc:
                self.compared, self.spans = [], (np.zeros(0), np.zeros(0))
                self.report(f"Cannot compare: {exc}")
                return False
        else:
            self.spans = (np.zeros(0), np.zeros(0))
        self.timeline.set_extra_rows(self._strip_rows)
        self.compared_changed.emit()
        return True

    def _recompute_spans(self) -> None:
        if not self.compared or self.session is None:
            return
        try:
            self.spans = disagreement_spans(self.session, self.compared)
        except HarlabError as exc:
            self.report(f"Disagreements not updated: {exc}")
            return
        if self.strip is not None:
            self.strip.set_spans(self.spans)
        self.compared_changed.emit()

    def _strip_rows(self, session: Session) -> list[pg.PlotItem]:
        if len(self.compared) < 2 or any(n not in session.label_tracks for n in self.compared):
            self.strip = None
            return []
        self.strip = DisagreementStrip(self.compared, self.spans)
        return [self.strip.plot]

    # -- walking disagreements ------------------------------------------------------------
    def _show_stretch(self, a: float, b: float) -> None:
        show_stretch(self.timeline, a, b, a)

    def next_disagreement(self) -> None:
        """The next disagreement after the cursor: between the compared label tracks when two
        or more are compared, else between the prediction and the active label track."""
        self._step_disagreement(1)

    def prev_disagreement(self) -> None:
        self._step_disagreement(-1)

    def _step_disagreement(self, step: int) -> None:
        if len(self.compared) < 2:
            self._prediction_disagreement(step)
            return
        hit = step_spans(self.spans, self.hub.cursor, step)
        if hit is None:
            where = "after" if step > 0 else "before"
            self.report(f"No disagreement between {', '.join(self.compared)} {where} the cursor")
            return
        a, b = hit
        self._show_stretch(a, b)
        k = int(np.searchsorted(self.spans[0], a, side="left"))
        self.report(
            f"Disagreement {k + 1} of {len(self.spans[0])}: {', '.join(self.compared)} differ for {b - a:.1f} s"
        )

    # -- adjudication -----------------------------------------------------------------------
    def start_adjudication(self, names: list[str], rule: str = "majority", name: str = "consensus") -> bool:
        """Build the consensus of the tracks ``names`` under ``rule`` ("unanimous", "majority",
        "annotator:TRACK") as a new label track ``name`` (one undoable edit), compare the tracks
        and go to the first item of the to-do list."""
        from harlab.agreement import consensus

        session = self.session
        if session is None:
            return False
        name = name.strip() or "consensus"
        if name in session.label_tracks:
            self.report(f"The session already has a track {name!r}: name the consensus track otherwise")
            return False
        missing = [n for n in names if n not in session.label_tracks]
        if len(names) < 2 or missing:
            self.report(
                f"No label track {missing[0]!r}" if missing else "Choose two or more tracks to adjudicate"
            )
            return False
        try:
            result = consensus([session.label_tracks[n] for n in names], rule, name=name)
        except HarlabError as exc:
            self.report(f"Cannot build a consensus: {exc}")
            return False
        if self.blind:  # the adjudicator sees every annotator's labels: that is the job
            self.set_blind(False)
        cmd = AddTrackWithSegments(name, list(result.track), "exclusive", result.track.annotator)
        cmd.text = f"Build consensus {name} ({result.rule}) of {', '.join(names)}"
        if not self._push(cmd):
            return False
        self.walk = AdjudicationWalk(session, name, list(names), list(result.todo), str(result.rule))
        self.compare(list(names))
        self.report(
            f"{name}: {len(result.track)} segments settled by {result.rule}, {len(result.todo)} to decide "
            "(Alt+Down: next, Alt+1/2/3: take a track's labels, or a class key)"
        )
        # the new track's row exists after the timeline's rebuild, queued by the track event
        QTimer.singleShot(0, lambda: self.next_todo() if self.walk is not None else None)
        self._update_status()
        return True

    def _need_walk(self) -> AdjudicationWalk | None:
        walk = self.walk
        if walk is None or self.session is None or walk.target not in self.session.label_tracks:
            self.report("No adjudication running: build a consensus in the agreement panel")
            return None
        return walk

    def next_todo(self) -> None:
        """The next undecided item of the to-do list (wrapping round)."""
        self._go_todo(1, open_only=True)

    def prev_todo(self) -> None:
        """The previous item, decided or not (to look at or redo a decision)."""
        self._go_todo(-1, open_only=False)

    def _go_todo(self, step: int, open_only: bool) -> None:
        walk = self._need_walk()
        if walk is None:
            return
        item = walk.step(step, open_only)
        if item is None:
            self.report(f"Every item is decided ({walk.progress_text()}): {walk.target} is complete")
            self._update_status()
            return
        self.timeline.set_active_track(walk.target)
        self._show_stretch(item.start, item.end)
        says = "; ".join(
            f"{k + 1} {track}: {label or 'nothing'}" for k, (track, label) in enumerate(item.labels)
        )
        state = "decided" if walk.decided(walk.index) else "open"
        self.report(
            f"Item {walk.index + 1} of {len(walk)} ({state}, {item.end - item.start:.1f} s): {says}. "
            f"{walk.progress_text()}"
        )
        self._update_status()

    def pick_annotator(self, k: int) -> bool:
        """Decide the current item with the labels of the ``k``-th compared track (1-based),
        as one undoable edit, and go to the next open item."""
        walk = self._need_walk()
        if walk is None:
            return False
        item = walk.current
        if item is None:
            self.report("Go to an item of the to-do list first (Alt+Down)")
            return False
        if not 1 <= k <= len(walk.sources):
            self.report(f"Only {len(walk.sources)} tracks are adjudicated: no track {k}")
            return False
        source = walk.sources[k - 1]
        cmd = CopyLabels(source, walk.target, item.start, item.end)
        if not self._push(cmd):
            return False
        self._update_status()
        if not walk.decided(walk.index):
            self.report(
                f"Took {source}'s labels; {source} leaves part of this item unlabelled, so it stays open "
                "(a class key labels it)"
            )
            return True
        if walk.n_decided() < len(walk):
            self.next_todo()
        else:
            self.report(f"Took {source}'s labels. Every item is decided: {walk.target} is complete")
        return True

    def pick_annotator_1(self) -> None:
        self.pick_annotator(1)

    def pick_annotator_2(self) -> None:
        self.pick_annotator(2)

    def pick_annotator_3(self) -> None:
        self.pick_annotator(3)

    # -- status ---------------------------------------------------------------------------
    def _update_status(self) -> None:
        parts = []
        if self.blind and self.session is not None:
            me = current_annotator() or "no annotator set"
            n = len(self.timeline.hidden_tracks)
            parts.append(f"LABEL BLIND ({me}): {n} other track{'s' if n != 1 else ''} and predictions hidden")
        if self.walk is not None:
            parts.append(f"Adjudication: {self.walk.progress_text()}")
        self.status_label.setText("  ·  ".join(parts))
        self.progress_changed.emit(self.walk.progress_text() if self.walk is not None else "")
        self.status_label.setStyleSheet("color: #d62728; font-weight: bold" if self.blind else "")
