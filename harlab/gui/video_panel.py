"""The video dock: the frame at the time hub's cursor, playback, and the sync made by hand or found.

The panel is driven by the hub like every other view: a cursor move maps through the
chosen video's sync to a video time, and the frame covering it is requested from the
video's :class:`~harlab.gui.video_frames.FrameFeed` (decoded on its worker thread, handed
back by a signal). Where the cursor maps before, after or into a gap of the video the
panel says "no video here" at once (the frame index answers that without decoding).
Playing moves the hub's cursor (:class:`~harlab.gui.video_playback.Playback`); the panel
only follows it, so the timeline, the readouts and the labeling keys all see the time of
the frame on screen.

The sync is edited only through commands on the document's history
(:class:`~harlab.labeling.commands.SetVideoSync`): nudges, marked moments
(:func:`~harlab.video.fit_sync` over (video time, session time) pairs) and the automatic
estimate (run as a :class:`~harlab.gui.background_job.BackgroundJob`, asked about when
its confidence is low) are all undoable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.core.events import Event
from harlab.core.session import Session
from harlab.core.videos import VideoLink, VideoReference
from harlab.core.wording import counted
from harlab.gui.background_job import BackgroundJob
from harlab.gui.timehub import TimeHub
from harlab.gui.video_frames import FrameFeed
from harlab.gui.video_playback import SPEEDS, Playback
from harlab.gui.video_view import NO_VIDEO, VideoView
from harlab.labeling.commands import (
    AttachVideo,
    DetachVideo,
    EditCommand,
    RelinkVideo,
    SetVideoRoi,
    SetVideoSync,
)
from harlab.labeling.history import EditHistory
from harlab.video import VideoLocation, VideoStatus, VideoSync, fit_sync, probe_video, resolve_video
from harlab.video.auto_sync import SyncEstimate, estimate_sync, find_accelerometer
from harlab.video.frame_decoder import DecodedFrame, FrameIndex
from harlab.video.video_reference import same_file

#: the fine nudge (Shift with the nudge keys)
FINE_NUDGE_S = 0.010
#: seconds of accelerometer read around the cursor at once for the overlay (re-read when the cursor leaves it)
TRACE_CHUNK_S = 30.0


class VideoPanel(QDockWidget):
    """The dockable video player (see the module docstring).

    ``report(text)`` says what happened in the window's status bar; ``push(cmd)`` puts an
    edit on the document's history (False when refused). ``active_track()`` names the label
    track whose labels may move with a sync change.
    """

    frame_shown = Signal(object)  #: the DecodedFrame now on screen, or None ("no video here")
    attached = Signal(str)  #: a video was attached from this panel (the window shows the dock)

    def __init__(
        self,
        hub: TimeHub,
        push: Callable[[EditCommand], bool],
        report: Callable[[str], None],
        active_track: Callable[[], str | None] = lambda: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Video", parent)
        self.setObjectName("video_dock")
        self.hub = hub
        self.push = push
        self.report = report
        self.active_track = active_track
        self.session: Session | None = None
        self.history: EditHistory | None = None
        self.session_path: Path | None = None
        self.playback = Playback(hub, self)
        self.feed: FrameFeed | None = None
        self.location: VideoLocation | None = None
        self.shown: DecodedFrame | None = None  #: the frame on screen (None: none)
        self._requested: int | None = None
        self._opened_reference: VideoReference | None = None  #: the reference the shown file was resolved for
        self.marks: list[tuple[float, float]] = []  #: complete (video time, session time) pairs
        self.pending_video_mark: float | None = None
        self.pending_trace_mark: float | None = None
        self._trace_cache: tuple[float, float, np.ndarray, np.ndarray] | None = None
        self._jobs: list[BackgroundJob] = []
        self.last_estimates: list[SyncEstimate] = []
        self._build()
        hub.cursor_changed.connect(self._cursor_moved)
        self.playback.playing_changed.connect(self._playing_changed)
        self.visibilityChanged.connect(lambda visible: None if visible else self.playback.pause())

    # -- widgets -----------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(4, 4, 4, 4)
        col.setSpacing(4)
        top = QHBoxLayout()
        self.chooser = QComboBox()
        self.chooser.setObjectName("video_chooser")
        self.chooser.setToolTip("Which attached video to show")
        self.chooser.currentIndexChanged.connect(lambda _i: self._open_current())
        self.status = QLabel("")
        self.status.setObjectName("video_status")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.locate_button = QPushButton("Locate…")
        self.locate_button.setObjectName("video_locate")
        self.locate_button.clicked.connect(lambda: self.locate())
        self.locate_button.hide()
        top.addWidget(self.chooser)
        top.addWidget(self.status, 1)
        top.addWidget(self.locate_button)
        col.addLayout(top)
        self.view = VideoView()
        self.view.setToolTip("Drag over the wrist to mark the region the automatic sync looks at")
        self.view.region_dragged.connect(self.set_region)
        col.addWidget(self.view, 1)

        controls = QHBoxLayout()
        self.back_button = self._button("◀|", "One frame back (,)", lambda: self.step(-1))
        self.play_button = self._button("▶", "Play or pause (Space)", lambda: self.playback.toggle())
        self.play_button.setObjectName("video_play")
        self.forward_button = self._button("|▶", "One frame forward (.)", lambda: self.step(1))
        self.speed = QComboBox()
        self.speed.setObjectName("video_speed")
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed")
        self.speed.currentIndexChanged.connect(lambda i: self.playback.set_speed(SPEEDS[i]))
        self.time_label = QLabel("")
        self.time_label.setObjectName("video_time")
        # long readouts must not widen the dock (and push the window past the screen)
        self.time_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (self.back_button, self.play_button, self.forward_button, self.speed):
            controls.addWidget(w)
        controls.addWidget(self.time_label, 1)
        col.addLayout(controls)

        sync = QHBoxLayout()
        self.mark_video_button = self._button(
            "Mark video", "This frame shows the moment (a clap, a tap)", lambda: self.mark_video()
        )
        self.mark_trace_button = self._button(
            "Mark traces", "The cursor is on the same moment in the traces", lambda: self.mark_traces()
        )
        self.clear_marks_button = self._button("Clear marks", "Forget the marked moments", self.clear_marks)
        self.auto_button = self._button(
            "Find sync…",
            "Find the sync from the video's motion and the accelerometer",
            lambda: self.auto_sync(),
        )
        self.marks_label = QLabel("")
        self.marks_label.setObjectName("video_marks")
        self.marks_label.setWordWrap(True)
        self.marks_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (self.mark_video_button, self.mark_trace_button, self.clear_marks_button, self.auto_button):
            sync.addWidget(w)
        sync.addStretch(1)
        col.addLayout(sync)
        col.addWidget(self.marks_label)
        options = QHBoxLayout()
        self.overlay_box = QCheckBox("Trace over the video")
        self.overlay_box.setToolTip("Draw the accelerometer magnitude around the cursor over the picture")
        self.overlay_box.setChecked(True)
        self.overlay_box.toggled.connect(lambda _on: self._update_overlay(self.hub.cursor))
        self.move_labels_box = QCheckBox("Labels of the active track move with the sync")
        self.move_labels_box.setToolTip(
            "For labels made from this video: they keep their video times when the sync changes"
        )
        for box in (self.overlay_box, self.move_labels_box):
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            options.addWidget(box)
        options.addStretch(1)
        col.addLayout(options)
        for w in (self.chooser, self.speed, self.locate_button):
            w.setFocusPolicy(
                Qt.FocusPolicy.NoFocus
            )  # the window's keys (Space, class keys) stay the window's
        self.setWidget(body)
        self._update_marks_label()
        self._set_enabled(False)

    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(lambda _c=False: slot())
        return b

    def _set_enabled(self, on: bool) -> None:
        for w in (
            self.back_button,
            self.play_button,
            self.forward_button,
            self.speed,
            self.mark_video_button,
            self.mark_trace_button,
            self.auto_button,
        ):
            w.setEnabled(on)

    # -- the session -------------------------------------------------------------------
    def set_document(self, session: Session | None, history: EditHistory | None, path: Path | None) -> None:
        """Show ``session``'s videos (None: nothing open). The first video is chosen."""
        self.playback.pause()
        if self.session is not None:
            self.session.events.disconnect(self._session_event)
        self.session, self.history, self.session_path = session, history, path
        self._trace_cache = None
        self.clear_marks()
        if session is not None:
            session.events.connect(self._session_event)
        self._fill_chooser()

    def set_session_path(self, path: Path | None) -> None:
        """The session was saved elsewhere: relative video paths are resolved from there."""
        self.session_path = path

    @property
    def link(self) -> VideoLink | None:
        """The chosen video's link, or None."""
        name = self.chooser.currentData()
        if self.session is None or name is None:
            return None
        return self.session.videos.get(name)

    def _fill_chooser(self, keep: str | None = None) -> None:
        names = list(self.session.videos) if self.session is not None else []
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for n in names:
            self.chooser.addItem(n, n)
        if keep in names:
            self.chooser.setCurrentIndex(names.index(keep))
        self.chooser.blockSignals(False)
        self.chooser.setVisible(len(names) > 1)
        self._open_current()

    def choose(self, name: str) -> None:
        """Show the attached video called ``name``."""
        i = self.chooser.findData(name)
        if i >= 0:
            self.chooser.setCurrentIndex(i)

    def _session_event(self, event: Event) -> None:
        if event.kind in ("video_added", "video_removed"):
            added = event.data.get("name") if event.kind == "video_added" else None
            self._fill_chooser(keep=added or self.chooser.currentData())
        elif event.kind == "video_changed" and event.data.get("name") == self.chooser.currentData():
            link = self.link
            if link is not None and link.reference != self._opened_reference:
                self._open_current()  # relinked to another file
            else:
                self._sync_changed()

    def _close_feed(self) -> None:
        if self.feed is not None:
            self.feed.close()
            self.feed.deleteLater()
            self.feed = None
        self.shown, self._requested = None, None

    def _open_current(self) -> None:
        """Close the shown video's feed and open the chosen one's (resolving where its file is)."""
        self.playback.pause()
        self._close_feed()
        link = self.link
        self.locate_button.hide()
        self._set_enabled(False)
        if link is None:
            self.location = None
            self.status.setText("")
            self.view.show_message(
                "No video attached.\nVideo ▸ Attach video… or drop a video file on the window."
                if self.session is not None
                else ""
            )
            self.time_label.setText("")
            self.playback.end = None
            return
        self._opened_reference = link.reference
        loc = self.location = resolve_video(link.reference, self.session_path)
        if not loc.usable or loc.path is None:
            self.status.setText(
                f"{link.name}: missing"
                if loc.status is VideoStatus.MISSING
                else f"{link.name}: different file"
            )
            self.status.setToolTip(loc.message)
            self.locate_button.show()
            self.view.show_message(loc.message)
            self.mark_trace_button.setEnabled(False)
            return
        self.status.setText(
            link.name if loc.status is VideoStatus.FOUND else f"{link.name} (found beside the session)"
        )
        self.status.setToolTip(str(loc.path))
        self.view.show_message("opening…")
        feed = self.feed = FrameFeed(loc.path, self)
        feed.opened.connect(lambda f=feed: self._feed_opened(f))
        feed.failed.connect(lambda message, f=feed: self._feed_failed(f, message))
        feed.frame_ready.connect(lambda t, frame, image, f=feed: self._on_frame(f, t, frame, image))
        feed.open()

    def _feed_opened(self, feed: FrameFeed) -> None:
        if feed is not self.feed:
            return
        self._set_enabled(True)
        self._sync_changed()

    def _feed_failed(self, feed: FrameFeed, message: str) -> None:
        if feed is not self.feed:
            return
        self.view.show_message(f"Cannot show this video: {message}")
        self.status.setText(f"{self.link.name if self.link else ''}: cannot be read")
        self.report(message)

    def _sync_changed(self) -> None:
        """The chosen video's link changed (a command, an undo): where it ends, its region, the frame to show."""
        link = self.link
        if link is None:
            return
        self._show_region(link)
        self.playback.end = link.session_span[1]
        self._requested = None
        self._cursor_moved(self.hub.cursor)

    # -- following the cursor ------------------------------------------------------------
    @property
    def index(self) -> FrameIndex | None:
        """The chosen video's frame index (None until its file is open)."""
        return self.feed.index if self.feed is not None else None

    def frame_index_at(self, t: float) -> int | None:
        """Index of the frame the chosen video shows at session time ``t`` (None: no video there)."""
        link, index = self.link, self.index
        if link is None or index is None:
            return None
        return index.frame_at(float(link.sync.to_video(t)))

    def _cursor_moved(self, t: float) -> None:
        link, index = self.link, self.index
        if link is None or index is None or self.feed is None:
            return
        v = float(link.sync.to_video(t))
        i = index.frame_at(v)
        self._update_overlay(t)
        if i is None:
            self._requested = None
            if self.shown is not None or self.view.message != NO_VIDEO:
                self.shown = None
                self.view.show_message(NO_VIDEO)
                self.frame_shown.emit(None)
            self.time_label.setText(f"{v:.3f} s: no frame")
            return
        self.time_label.setText(f"{v:.3f} s · frame {i + 1}")
        self.time_label.setToolTip("Video time and frame number at the cursor")
        if (self.shown is None or self.shown.index != i) and self._requested != i:
            self._requested = i
            self.feed.request(v)

    def _on_frame(self, feed: FrameFeed, t: float, frame: object, image: object) -> None:
        """A decoded frame (GUI thread). Shown unless it comes from a feed closed since, or the cursor
        has since left the video; a frame that is not the cursor's any more (the cursor moved on
        while it decoded) is shown and the cursor's frame asked for again."""
        if feed is not self.feed:
            return
        want = self.frame_index_at(self.hub.cursor)
        if not isinstance(frame, DecodedFrame) or want is None or not isinstance(image, QImage):
            return
        self.shown = frame
        self.view.show_image(image)
        self.frame_shown.emit(frame)
        if frame.index != want and self._requested != want:
            link = self.link
            if link is not None and self.feed is not None:
                self._requested = want
                self.feed.request(float(link.sync.to_video(self.hub.cursor)))

    def shown_session_time(self) -> float | None:
        """Session time at which the frame on screen starts (None: no frame on screen)."""
        link = self.link
        if link is None or self.shown is None:
            return None
        return float(link.sync.to_session(self.shown.start_s))

    # -- playing and stepping -----------------------------------------------------------------
    def _playing_changed(self, playing: bool) -> None:
        self.play_button.setText("❚❚" if playing else "▶")

    def toggle_play(self) -> None:
        if self.feed is None or not self.feed.ready:
            self.report("Attach a video to play it (Video ▸ Attach video…)")
            return
        self.playback.toggle()

    def step(self, n: int) -> None:
        """Move the cursor to the start of the frame ``n`` frames after (before, n < 0) the one at the cursor."""
        link, index = self.link, self.index
        if link is None or index is None:
            return
        self.playback.pause()
        v = float(link.sync.to_video(self.hub.cursor))
        i = index.frame_at(v)
        if i is None:  # before, after or in a gap of the video: the first frame in the step's direction
            starts_before = int(np.searchsorted(index.starts, v, side="right"))
            j = starts_before + n - 1 if n > 0 else starts_before + n
        else:
            j = i + n
        j = min(max(j, 0), index.n_frames - 1)
        self.hub.seek(self._frame_session_time(link, index, j))

    @staticmethod
    def _frame_session_time(link: VideoLink, index: FrameIndex, j: int) -> float:
        """A session time that maps into frame ``j`` (its start, moved in by rounding's worth)."""
        start, end = float(index.starts[j]), float(index.ends[j])
        t = float(link.sync.to_session(start))
        if index.frame_at(float(link.sync.to_video(t))) != j:
            t = float(link.sync.to_session(start + min(1e-6, (end - start) / 2)))
        return t

    # -- the trace overlay -------------------------------------------------------------------
    def _update_overlay(self, t: float) -> None:
        if not self.overlay_box.isChecked() or self.session is None or self.link is None:
            if self.view.trace is not None:
                self.view.set_trace(None)
            return
        span = self.view.trace_span
        cache = self._trace_cache
        if cache is None or not (cache[0] <= t - span and t + span <= cache[1]):
            try:
                stream = self.session.streams[find_accelerometer(self.session)]
            except HarlabError:
                return
            a, b = t - TRACE_CHUNK_S / 2, t + TRACE_CHUNK_S / 2
            times, values = stream.read(a, b)
            mag = np.linalg.norm(np.asarray(values[:, :3], dtype=np.float64), axis=1) if len(times) else times
            cache = self._trace_cache = (a, b, times, mag)
        _, _, times, mag = cache
        lo, hi = np.searchsorted(times, [t - span, t + span])
        self.view.set_trace((times[lo:hi] - t, mag[lo:hi]))

    # -- sync by hand ----------------------------------------------------------------------
    def _move_labels(self) -> tuple[str, ...]:
        track = self.active_track() if self.move_labels_box.isChecked() else None
        return (track,) if track else ()

    def set_sync(self, sync: VideoSync) -> bool:
        """Give the chosen video ``sync`` (one undoable edit)."""
        link = self.link
        if link is None or sync == link.sync:
            return False
        return self.push(SetVideoSync(link.name, sync, self._move_labels()))

    def nudge(self, frames: int = 0, seconds: float = 0.0) -> bool:
        """Shift the video later in session time by ``frames`` frames plus ``seconds`` (negative: earlier)."""
        link, index = self.link, self.index
        if link is None:
            self.report("Attach a video to sync it")
            return False
        frame_s = index.nominal_frame_s if index is not None else 1.0 / max(link.reference.frame_rate, 1.0)
        return self.set_sync(link.sync.nudged(frames * frame_s + seconds))

    def mark_video(self) -> None:
        """The frame on screen shows the moment: remember its video time."""
        if self.shown is None:
            self.report("No frame on screen to mark: move the cursor into the video")
            return
        self.pending_video_mark = self.shown.start_s
        self._complete_mark()

    def mark_traces(self, t: float | None = None) -> None:
        """The cursor (or ``t``) is the same moment in the traces: remember its session time."""
        self.pending_trace_mark = self.hub.cursor if t is None else t
        self._complete_mark()

    def _complete_mark(self) -> None:
        if self.pending_video_mark is None or self.pending_trace_mark is None:
            self._update_marks_label()
            return
        pair = (self.pending_video_mark, self.pending_trace_mark)
        self.pending_video_mark = self.pending_trace_mark = None
        marks = [*self.marks, pair]
        try:
            sync = fit_sync(marks)
        except HarlabError as exc:
            self.report(f"Not done: {exc}")
            self._update_marks_label()
            return
        self.marks = marks
        self._update_marks_label()
        if self.set_sync(sync) or sync == (self.link.sync if self.link else None):
            what = "offset" if len(marks) == 1 else "offset and drift"
            self.report(
                f"Synced the {what} from {counted(len(marks), 'marked moment')}: "
                f"offset {sync.offset_s:+.3f} s, drift {sync.drift_ppm:+.1f} ppm"
            )

    def clear_marks(self) -> None:
        self.marks = []
        self.pending_video_mark = self.pending_trace_mark = None
        self._update_marks_label()

    def _update_marks_label(self) -> None:
        parts = [f"{counted(len(self.marks), 'pair')} marked"] if self.marks else []
        if self.pending_video_mark is not None:
            parts.append(
                f"video marked at {self.pending_video_mark:.3f} s: now put the cursor on it in the traces"
            )
        if self.pending_trace_mark is not None:
            parts.append("traces marked: now mark the video")
        self.marks_label.setText("; ".join(parts))

    # -- the region of interest -----------------------------------------------------------------
    def _show_region(self, link: VideoLink) -> None:
        """The link's region (video pixels) drawn on the picture (which may be scaled down)."""
        feed = self.feed
        if link.roi is None or feed is None or feed.decoder is None or not feed.source_size[0]:
            self.view.region = None
        else:
            f = feed.decoder.width / feed.source_size[0]
            x, y, w, h = link.roi
            self.view.region = QRect(round(x * f), round(y * f), round(w * f), round(h * f))
        self.view.update()

    def set_region(self, x: int, y: int, w: int, h: int) -> bool:
        """Set the chosen video's region from a rectangle in the picture's pixels (one undoable edit)."""
        link, feed = self.link, self.feed
        if link is None or feed is None or feed.decoder is None or not feed.decoder.width:
            return False
        f = feed.source_size[0] / feed.decoder.width
        sw, sh = feed.source_size
        x0, y0 = min(int(x * f), sw - 1), min(int(y * f), sh - 1)
        roi = (x0, y0, max(1, min(round(w * f), sw - x0)), max(1, min(round(h * f), sh - y0)))
        if self.push(SetVideoRoi(link.name, roi)):
            self.report(f"Region for the automatic sync: {roi[2]}x{roi[3]} at ({roi[0]}, {roi[1]})")
            return True
        return False

    def clear_region(self) -> bool:
        link = self.link
        return link is not None and link.roi is not None and self.push(SetVideoRoi(link.name, None))

    # -- sync found automatically ------------------------------------------------------------
    def auto_sync(self, ask: Callable[[SyncEstimate], bool] | None = None) -> BackgroundJob | None:
        """Estimate the sync in the background; apply a confident result, ask about a doubtful one.

        ``ask(estimate) -> bool`` decides about a low-confidence result (default: a question box).
        """
        link, loc, session = self.link, self.location, self.session
        if link is None or session is None or loc is None or loc.path is None or not loc.usable:
            self.report("Attach a video (and find its file) to sync it")
            return None
        try:
            times, xyz = session.streams[find_accelerometer(session)].read()
        except HarlabError as exc:
            self.report(f"Not done: {exc}")
            return None
        path, roi, name = loc.path, link.roi, link.name

        def work(
            _progress: Callable[[object], None], status: Callable[[str], None], _cancel: threading.Event
        ) -> object:
            status("Measuring the video's motion…")
            return estimate_sync(path, accel=(times, xyz), roi=roi)

        # owned by the window: closing the dock hides it, closing the window waits for the job
        owner = self.window()
        job = BackgroundJob(work, self, owner=owner, progress_label="Finding the sync…", cancellable=False)
        job.finished.connect(lambda result: self._auto_done(name, result, ask or self.ask_low_confidence))
        job.failed.connect(lambda message: self.report(f"Automatic sync failed: {message}"))
        job.ended.connect(lambda j=job: self._jobs.remove(j) if j in self._jobs else None)
        self._jobs.append(job)
        job.start()
        return job

    def _auto_done(self, name: str, result: object, ask: Callable[[SyncEstimate], bool]) -> None:
        estimates = [e for e in result if isinstance(e, SyncEstimate)] if isinstance(result, list) else []
        self.last_estimates = estimates
        if not estimates or self.session is None or name not in self.session.videos:
            self.report("Automatic sync found nothing")
            return
        best = estimates[0]
        if not best.confident and not ask(best):
            self.report(f"Automatic sync not applied: {best.message}")
            return
        self.choose(name)
        if self.set_sync(best.sync):
            self.report(f"Automatic sync applied (undo with Ctrl+Z): {best.message}")

    def ask_low_confidence(self, estimate: SyncEstimate) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Low-confidence sync",
            "The automatic sync is not sure of its result.",
            QMessageBox.StandardButton.Apply | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("low_confidence_prompt")
        box.setInformativeText(
            f"{estimate.message}\n\nApply it anyway? (Check it by watching a clear movement; it can be undone.)"
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        answer = box.exec()
        box.deleteLater()
        return QMessageBox.StandardButton(answer) == QMessageBox.StandardButton.Apply

    # -- attaching and locating ------------------------------------------------------------
    def attach(self, path: str | Path) -> BackgroundJob | None:
        """Probe ``path`` in the background and attach it (one undoable edit) under a free name."""
        if self.session is None:
            self.report("Open a session before attaching a video")
            return None
        p = Path(path)
        session_path = self.session_path

        def work(
            _progress: Callable[[object], None], _status: Callable[[str], None], _cancel: threading.Event
        ) -> object:
            return probe_video(p, session_path)

        job = BackgroundJob(work, self, owner=self.window())
        job.finished.connect(self._probed)
        job.failed.connect(lambda message: self.report(f"Cannot attach {p.name}: {message}"))
        job.ended.connect(lambda j=job: self._jobs.remove(j) if j in self._jobs else None)
        self._jobs.append(job)
        job.start()
        return job

    def _probed(self, ref: object) -> None:
        if self.session is None:
            return
        stem = Path(getattr(ref, "name", "video")).stem or "video"
        name, n = stem, 2
        while name in self.session.videos:
            name, n = f"{stem} {n}", n + 1
        link = VideoLink(name, ref)  # type: ignore[arg-type]
        if self.push(AttachVideo(link)):
            self.choose(name)
            self.attached.emit(name)

    def detach(self) -> bool:
        link = self.link
        return link is not None and self.push(DetachVideo(link.name))

    def locate(self, path: str | Path | None = None, *, accept_different: bool | None = None) -> bool:
        """Point the chosen video at a file (a moved or renamed video): one undoable edit.

        A file that is not the one the session refers to (size or fingerprint differ) is used
        only if the user agrees (``accept_different``; default: a question box)."""
        link = self.link
        if link is None:
            return False
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, f"Where is {link.reference.name}?", str(self.session_path or ""), VIDEO_FILTER
            )
            if not chosen:
                return False
            path = chosen
        p = Path(path)
        if not same_file(link.reference, p):
            if accept_different is None:
                answer = QMessageBox.question(
                    self,
                    "A different file",
                    f"{p.name} is not the video this session refers to ({link.reference.name}, "
                    f"{link.reference.size} bytes). Use it anyway? The sync may not fit it.",
                )
                accept_different = answer == QMessageBox.StandardButton.Yes
            if not accept_different:
                return False
        try:
            ref = probe_video(p, self.session_path)
        except HarlabError as exc:
            self.report(f"Cannot use {p.name}: {exc}")
            return False
        return self.push(RelinkVideo(link.name, ref))

    # -- closing --------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop playback, every job and the decoder's thread (the window is closing)."""
        self.playback.pause()
        for job in list(self._jobs):
            job.stop()
        self._jobs.clear()
        self._close_feed()
        if self.session is not None:
            self.session.events.disconnect(self._session_event)
            self.session = None


#: the file dialog's filter for videos (FFmpeg opens more; "All files" offers them)
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mts", ".mpg", ".mpeg", ".wmv")
VIDEO_FILTER = f"Videos ({' '.join('*' + s for s in VIDEO_SUFFIXES)});;All files (*)"


def is_video_file(path: Path) -> bool:
    """Whether a dropped file is taken for a video (by its suffix; FFmpeg decides when it is opened)."""
    return path.suffix.lower() in VIDEO_SUFFIXES
