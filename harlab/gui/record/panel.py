"""The Record panel: pick devices, record with live plots and quality, label live or by protocol.

The panel is a thin view over :class:`harlab.recording.Recorder`, which (with the
sources) runs on its own threads. The GUI thread only polls ``status()`` and
``live()`` on a timer, draws, and forwards button and key presses; connecting and
finishing the file happen on worker threads so the window never freezes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.core.labels import LabelSchema
from harlab.core.metadata import Metadata
from harlab.devices.simlink import SimClock
from harlab.devices.source import Source
from harlab.gui.record.devices import Scanner, build_sources
from harlab.gui.record.labels_bar import LabelBar
from harlab.gui.record.live_plots import LivePlots
from harlab.gui.record.picker import DevicePicker
from harlab.gui.record.protocol_view import ProtocolView
from harlab.gui.record.quality import QualityTable, SourceChips, StreamRow
from harlab.gui.record.recovery import RecoveryBar
from harlab.gui.record.setup_form import SetupForm
from harlab.gui.record.worker import Worker
from harlab.gui.window_size import resize_within_screen
from harlab.labeling.class_keys import add_classes
from harlab.recording import Protocol, Recorder, RecorderStatus
from harlab.simulate.activity_table import canonical_name, label_schema

#: Panel states; "finished" is idle with a saved file on offer.
IDLE, CONNECTING, RECORDING, PAUSED, STOPPING, FINISHED = (
    "idle",
    "connecting",
    "recording",
    "paused",
    "stopping",
    "finished",
)

STATE_LOOK = {
    IDLE: ("Ready", "#6b6b6b"),
    CONNECTING: ("Connecting…", "#c77700"),
    RECORDING: ("● REC", "#d32f2f"),
    PAUSED: ("❚❚ PAUSED", "#c77700"),
    STOPPING: ("Saving…", "#1565c0"),
    FINISHED: ("✓ Saved", "#2e7d32"),
}


def fmt_elapsed(s: float) -> str:
    s = max(0, int(s))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class RecordPanel(QWidget):
    """Everything of a live recording in one widget.

    Signals: ``recording_started(path)``; ``recording_finished(path)`` once the file is
    written and closed; ``open_requested(path)`` when the user asks to open a finished (or
    recovered) recording in the workbench.

    ``speed`` > 1 runs the activity simulator (and the recorder's clock) faster than real
    time, for tests and demos; it applies only when every picked device is the simulator.
    ``scanner``/``ble_client_backend`` replace the real radio (tests, demo worlds);
    ``simulator_knobs`` (``drop_rate``, ``disconnect_every_s``, ``disconnect_s``, ``drift_ppm``)
    make the activity simulator misbehave like a real wearable, to demonstrate the quality view.
    """

    recording_started = Signal(str)
    recording_finished = Signal(str)
    open_requested = Signal(str)
    state_changed = Signal(str)
    #: (recording, general model): calibrate the model to the participant of a calibration protocol
    calibrate_requested = Signal(str, str)

    def __init__(
        self,
        output_dir: str | Path = "recordings",
        *,
        speed: float = 1.0,
        scanner: Scanner | None = None,
        scan_timeout: float = 5.0,
        auto_scan: bool = True,
        ble_client_backend: type | None = None,
        simulator_knobs: dict | None = None,
        refresh_hz: float = 20.0,
        window_s: float = 20.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.output_dir = Path(output_dir)
        self.speed = speed
        self.ble_client_backend = ble_client_backend
        self.simulator_knobs = dict(simulator_knobs or {})
        self.state = IDLE
        self.recorder: Recorder | None = None
        self.protocol: Protocol | None = None
        self.last_path: Path | None = None
        self.protocol_t0 = 0.0
        self.calibration_model: Path | None = None  #: the model the running protocol calibrates
        self._stop_elapsed = 0.0
        self._open_since: tuple[str, float] | None = None
        self._segments: list[tuple[float, float, str]] = []  #: (start, end, label) closed so far
        self._messages_seen = 0
        self._ticks = 0
        self._workers: set[Worker] = set()
        self._shortcuts: list[QShortcut] = []
        self._build(scanner, scan_timeout, window_s)
        # Class hotkeys are shortcuts of this panel: it takes the focus while recording (the
        # settings that had it are disabled then) and on a click anywhere in it.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.timer = QTimer(self)
        self.timer.setInterval(max(10, int(1000 / refresh_hz)))
        self.timer.timeout.connect(self.refresh)
        self._set_state(IDLE)
        self._schema_changed()
        if auto_scan:
            QTimer.singleShot(0, self.picker.start_scan)

    # -- layout -------------------------------------------------------------------------
    def _build(self, scanner: Scanner | None, scan_timeout: float, window_s: float) -> None:
        self.picker = DevicePicker(scanner, scan_timeout)
        self.setup = SetupForm(self.output_dir)
        self.setup.classes.currentIndexChanged.connect(self._schema_changed)
        dev_box = QGroupBox("Devices (select one or more)")
        QVBoxLayout(dev_box).addWidget(self.picker)
        set_box = QGroupBox("Session")
        QVBoxLayout(set_box).addWidget(self.setup)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        ll.addWidget(dev_box, 1)
        ll.addWidget(set_box)
        left.setMaximumWidth(460)
        self.left = left

        self.state_label = QLabel()
        self.state_label.setObjectName("recordState")
        self.elapsed = QLabel("00:00:00")
        self.elapsed.setObjectName("elapsed")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(22)
        mono.setBold(True)
        self.elapsed.setFont(mono)
        f = QFont()
        f.setPointSize(15)
        f.setBold(True)
        self.state_label.setFont(f)
        self.state_label.setMinimumWidth(110)
        self.chips = SourceChips()
        self.start_button = QPushButton("Start recording")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop and save")
        for b in (self.start_button, self.pause_button, self.stop_button):
            b.setMinimumHeight(36)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.start_button.setStyleSheet(
            "QPushButton:enabled { background: #2e7d32; color: white; font-weight: 600;"
            " padding: 0 14px; border-radius: 4px; }"
        )
        self.stop_button.setStyleSheet(
            "QPushButton:enabled { background: #c62828; color: white; font-weight: 600;"
            " padding: 0 14px; border-radius: 4px; }"
        )
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        top = QHBoxLayout()
        top.addWidget(self.state_label)
        top.addWidget(self.elapsed)
        top.addStretch(1)
        top.addWidget(self.start_button)
        top.addWidget(self.pause_button)
        top.addWidget(self.stop_button)

        self.protocol_view = ProtocolView()
        self.protocol_view.setVisible(False)
        self.labels = LabelBar(self.toggle_label, self.stop_label)
        self.plots = LivePlots(window_s)
        self.placeholder = QLabel(
            "Pick one or more devices on the left and press <b>Start recording</b>.<br>"
            "Live plots of every stream appear here."
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #8a8a8a; font-size: 15px;")
        self.plot_stack = QStackedWidget()
        self.plot_stack.addWidget(self.placeholder)
        self.plot_stack.addWidget(self.plots)
        self.quality = QualityTable()
        self.quality.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("recordMessage")
        self.finished_bar = QFrame()
        self.finished_bar.setObjectName("finishedBar")
        self.finished_bar.setStyleSheet(
            "QFrame#finishedBar { background: #e8f5e9; border: 1px solid #66bb6a;"
            " border-radius: 6px; } QFrame#finishedBar QLabel { color: #1b5e20; }"
        )
        self.finished_text = QLabel()
        self.open_button = QPushButton("Open in workbench")
        self.open_button.clicked.connect(
            lambda: self.last_path and self.open_requested.emit(str(self.last_path))
        )
        fb = QHBoxLayout(self.finished_bar)
        fb.setContentsMargins(10, 6, 10, 6)
        self.calibrate_button = QPushButton("Calibrate to this participant…")
        self.calibrate_button.setObjectName("calibrate_button")
        self.calibrate_button.clicked.connect(self._calibrate_clicked)
        self.calibrate_button.setVisible(False)
        fb.addWidget(self.finished_text, 1)
        fb.addWidget(self.calibrate_button)
        fb.addWidget(self.open_button)
        self.finished_bar.setVisible(False)
        self.recovery = RecoveryBar(self.output_dir)
        self.recovery.open_requested.connect(self.open_requested)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addWidget(self.recovery)
        rl.addLayout(top)
        rl.addWidget(self.chips)
        rl.addWidget(self.protocol_view)
        rl.addWidget(self.labels)
        rl.addWidget(self.plot_stack, 1)
        rl.addWidget(self.quality)
        rl.addWidget(self.message)
        rl.addWidget(self.finished_bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([360, 900])  # room for the device names when the window has it
        self.split = split
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.addWidget(split)

    # -- state --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a recording is being made (closing now would need a stop first)."""
        return self.state in (CONNECTING, RECORDING, PAUSED, STOPPING)

    def _set_state(self, state: str) -> None:
        self.state = state
        text, color = STATE_LOOK[state]
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"color: {color};")
        live = state in (RECORDING, PAUSED)
        self.start_button.setEnabled(state in (IDLE, FINISHED))
        self.pause_button.setEnabled(live)
        self.pause_button.setText("Resume" if state == PAUSED else "Pause")
        self.stop_button.setEnabled(live)
        self.left.setEnabled(state in (IDLE, FINISHED))
        labelling = live and self.protocol is None
        self.labels.set_active(labelling, "The protocol writes the labels." if live and self.protocol else "")
        for sc in self._shortcuts:
            sc.setEnabled(labelling)
        self.state_changed.emit(state)

    def _schema_changed(self) -> None:
        self._install_schema(self.setup.schema())

    def _install_schema(self, schema: LabelSchema) -> None:
        self.labels.set_schema(schema)
        for sc in self._shortcuts:
            sc.setEnabled(False)
            sc.deleteLater()
        self._shortcuts = []
        for c in schema:
            if c.hotkey:
                self._shortcuts.append(self._shortcut(c.hotkey, lambda name=c.name: self.toggle_label(name)))
        self._shortcuts.append(self._shortcut(QKeySequence(Qt.Key.Key_Escape), self.stop_label))
        labelling = self.state in (RECORDING, PAUSED) and self.protocol is None
        self.labels.set_active(labelling)
        for sc in self._shortcuts:
            sc.setEnabled(labelling)

    def _shortcut(self, key: str | QKeySequence, fn: Callable[[], None]) -> QShortcut:
        sc = QShortcut(QKeySequence(key), self)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(fn)
        return sc

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #b3261e; font-weight: 600;" if error else "")
        self.message.setText(text)

    # -- start ----------------------------------------------------------------------------
    def start(self) -> None:
        """Validate the settings, connect the picked devices (worker thread), then record."""
        if self.state not in (IDLE, FINISHED):
            return
        choices = self.picker.selected()
        if not choices:
            self._say("Pick at least one device to record from.", error=True)
            return
        try:
            protocol = self.setup.protocol()
        except HarlabError as exc:
            self._say(str(exc), error=True)
            return
        self.setup.refresh_default_output()
        path = self.setup.output_path()
        if path.exists():
            self._say(f"{path} already exists; choose another output file.", error=True)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._say(f"cannot create the folder {path.parent}: {exc.strerror}", error=True)
            return
        schema = self.setup.schema()
        if protocol is not None:  # each of its activities becomes a class with a key and a distinct colour
            add_classes(schema, (step.activity for step in protocol.steps), like=label_schema())
        self._install_schema(schema)
        self.finished_bar.setVisible(False)
        self.protocol = protocol
        preset = self.setup.preset
        self.calibration_model = preset.model_path if preset and protocol is preset.protocol else None
        # An accelerated clock only works when every source runs on it (the activity simulator);
        # BLE devices, even simulated ones, stream in real time.
        clock = (
            SimClock(self.speed) if self.speed != 1.0 and all(c.key == "simulated" for c in choices) else None
        )
        speed = self.speed if clock is not None else 1.0
        self._say(f"Connecting to {', '.join(c.title for c in choices)}…")
        self._set_state(CONNECTING)
        backend, knobs = self.ble_client_backend, self.simulator_knobs
        worker = Worker(
            lambda: build_sources(
                choices,
                clock=clock.now if clock else None,
                speed=speed,
                ble_client_backend=backend,
                simulator_knobs=knobs,
            )
        )
        worker.done.connect(lambda sources: self._begin(sources, path, schema, protocol, clock))
        worker.failed.connect(self._start_failed)
        self._run(worker)

    def _run(self, worker: Worker) -> None:
        self._workers.add(worker)
        worker.done.connect(lambda _r, w=worker: self._workers.discard(w))
        worker.failed.connect(lambda _m, w=worker: self._workers.discard(w))
        worker.start()

    def _start_failed(self, message: str) -> None:
        self.protocol = None
        self._set_state(IDLE)
        self._say(f"Could not start: {message}", error=True)

    def _begin(
        self,
        sources: list[Source],
        path: Path,
        schema: LabelSchema,
        protocol: Protocol | None,
        clock: SimClock | None,
    ) -> None:
        if self.state != CONNECTING:  # closed or cancelled meanwhile
            return
        md = Metadata(participant_id=self.setup.participant.text().strip())
        md.extra["recorded_with"] = "harlab Record panel"
        rec = Recorder(
            path,
            sources,
            metadata=md,
            schema=schema,
            placement=self.setup.placement.currentText().strip(),
            clock=clock.now if clock else time.time,
        )
        rec.events.connect(self._on_recorder_event)
        try:
            rec.start()
        except (HarlabError, OSError) as exc:
            for s in sources:
                s.stop(1.0)
            self._start_failed(str(exc))
            return
        self.recorder = rec
        self.last_path = path
        self._open_since = None
        self._segments = []
        self._messages_seen = 0
        if protocol is not None:
            rec.run_protocol(protocol)
            self.protocol_t0 = rec.now()
        self.protocol_view.set_protocol(protocol)
        self._layout_streams(rec)
        self._set_state(RECORDING)
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self._say(f"Recording to {path}")
        self._ticks = 0
        self.timer.start()
        self.recording_started.emit(str(path))

    def _layout_streams(self, rec: Recorder) -> None:
        streams, rows = [], []
        for (i, spec_name), name in rec.names.items():
            src = rec.sources[i]
            spec = next(s for s in src.streams if s.name == spec_name)
            units = list(dict.fromkeys(spec.units))
            streams.append((name, list(spec.channels), ", ".join(units)))
            rows.append(StreamRow(name, src.name, spec.rate_hz))
        self.plots.set_streams(streams)
        self.quality.set_streams(rows)
        self.quality.setVisible(True)
        self.chips.set_sources([s.name for s in rec.sources])
        self.plot_stack.setCurrentWidget(self.plots)

    def _on_recorder_event(self, event) -> None:  # noqa: ANN001 - core Event; any thread: no Qt here
        if event.kind == "label_started":
            self._open_since = (event.data["label"], float(event.data["start"]))
        elif event.kind == "label_stopped":
            self._open_since = None
            self._segments.append((float(event.data["start"]), float(event.data["end"]), event.data["label"]))

    def _open_segment(self, rec: Recorder, st: RecorderStatus | None = None) -> tuple[str, float] | None:
        """(label, start) of the open label: from the hotkey event, or from the protocol's clock."""
        label = rec.open_label
        if label is None:
            return None
        if (
            self.protocol is not None
            and st is not None
            and st.protocol_phase == "active"
            and st.protocol_step is not None
        ):
            step = self.protocol.steps[st.protocol_step]
            return label, st.elapsed_s - (step.duration_s - st.protocol_remaining_s)
        since = self._open_since
        return since if since is not None and since[0] == label else None

    def _band_segments(self, rec: Recorder, st: RecorderStatus) -> list[tuple[float, float, str]]:
        """Closed segments plus the open one (growing with time), coloured as their class."""
        schema = rec.schema
        out = [(a, b, schema.color(lab)) for a, b, lab in self._segments[-200:]]
        opened = self._open_segment(rec, st)
        if opened is not None:
            out.append((opened[1], max(opened[1], st.elapsed_s), schema.color(opened[0])))
        return out

    # -- labels ---------------------------------------------------------------------------
    def toggle_label(self, name: str) -> None:
        """A class key or button: start ``name`` or end it if it is the open label."""
        rec = self.recorder
        if rec is None or self.state not in (RECORDING, PAUSED) or self.protocol is not None:
            return
        rec.toggle_label(name)
        if rec.open_label == name:
            self._steer_simulator(rec, name)
        self._show_label(rec)

    def stop_label(self) -> None:
        rec = self.recorder
        if rec is None or self.state not in (RECORDING, PAUSED) or self.protocol is not None:
            return
        rec.stop_label()
        self._show_label(rec)

    @staticmethod
    def _steer_simulator(rec: Recorder, label: str) -> None:
        """In the simulated demo, the simulated wearer does what was just labelled."""
        try:
            activity = canonical_name(label)
        except HarlabError:
            return
        for src in rec.sources:
            src.set_activity(activity)  # a real device has nothing to do

    def _show_label(self, rec: Recorder, st: RecorderStatus | None = None) -> None:
        opened = self._open_segment(rec, st)
        now = st.elapsed_s if st is not None else rec.now()
        self.labels.show_open(rec.open_label, now - opened[1] if opened is not None else None)

    # -- pause / stop ---------------------------------------------------------------------
    def toggle_pause(self) -> None:
        rec = self.recorder
        if rec is None:
            return
        if self.state == RECORDING:
            rec.pause()
            self._set_state(PAUSED)
            self._say("Paused: samples are not kept; the pause will be a marked gap in every stream.")
        elif self.state == PAUSED:
            rec.resume()
            self._set_state(RECORDING)
            self._say(f"Recording to {rec.path}")

    def stop(self) -> None:
        """Stop the devices and finish the file on a worker thread; ``recording_finished`` follows."""
        rec = self.recorder
        if rec is None or self.state not in (RECORDING, PAUSED):
            return
        self.refresh(auto_stop=False)
        self.timer.stop()
        self._stop_elapsed = rec.now()
        self._set_state(STOPPING)
        self._say("Stopping the devices and writing the file…")
        worker = Worker(rec.stop, name="record-stop")
        worker.done.connect(self._stopped)
        worker.failed.connect(self._stop_failed)
        self._run(worker)

    def stop_blocking(self, timeout: float = 15.0) -> Path | None:
        """Stop now, on this thread (closing the window while recording)."""
        rec = self.recorder
        if self.state in (RECORDING, PAUSED) and rec is not None:
            self.timer.stop()
            self._stop_elapsed = rec.now()
            self._set_state(STOPPING)
            try:
                path = rec.stop()
            except HarlabError as exc:
                self._stop_failed(str(exc))
                return None
            self._stopped(path)
            return path
        if self.state == STOPPING:
            for w in list(self._workers):
                w.thread.join(timeout)
            QApplication.processEvents()  # deliver the worker's queued result
            return self.last_path
        return None

    def _stopped(self, path: object) -> None:
        rec = self.recorder
        self.last_path = Path(str(path))
        if rec is not None:
            self._update_status(rec, full=True)
        self.protocol = None
        self._set_state(FINISHED)
        secs = self._stop_elapsed
        n = sum(q.samples for q in rec.quality.values()) if rec is not None else 0
        self.finished_text.setText(f"Saved {fmt_elapsed(secs)} ({n:,} samples) to {self.last_path}")
        self.calibrate_button.setVisible(self.calibration_model is not None)
        self.finished_bar.setVisible(True)
        self._say("")
        self.setup.refresh_default_output()
        self.recording_finished.emit(str(self.last_path))

    def _calibrate_clicked(self) -> None:
        if self.last_path is not None and self.calibration_model is not None:
            self.calibrate_requested.emit(str(self.last_path), str(self.calibration_model))

    def _stop_failed(self, message: str) -> None:
        self._set_state(FINISHED)
        self._say(
            f"The recording could not be finished: {message}. Its journal is kept; reopen this window "
            "to recover it.",
            error=True,
        )

    # -- the timer ------------------------------------------------------------------------
    def refresh(self, auto_stop: bool = True) -> None:
        """One poll of the recorder: plots every tick, tables and texts a few times a second."""
        rec = self.recorder
        if rec is None or self.state not in (RECORDING, PAUSED):
            return
        self._ticks += 1
        st = self._update_status(rec, full=self._ticks % 5 == 1)
        live: dict[str, tuple[np.ndarray, np.ndarray]] = {name: rec.live(name) for name in rec.quality}
        self.plots.refresh(st.elapsed_s, live, self._band_segments(rec, st))
        if auto_stop:
            self._auto_stop(rec, st.elapsed_s)

    def _update_status(self, rec: Recorder, full: bool) -> RecorderStatus:
        st = rec.status()
        self.elapsed.setText(fmt_elapsed(st.elapsed_s))
        if self.protocol is not None:
            index = st.protocol_step if not rec.protocol_done else None
            self.protocol_view.show_state(
                index, st.protocol_phase, st.protocol_remaining_s, st.elapsed_s - self.protocol_t0
            )
        self._show_label(rec, st)
        self.chips.update_states(st.sources)  # every tick: a short reconnect must not go unseen
        if full:
            lost = {
                s.name: int(
                    getattr(getattr(s, "profile", None), "lost_packets", 0)
                    + s.stats.lost_packets
                    + getattr(s, "dropped_samples", 0)
                )
                for s in rec.sources
            }
            self.quality.update_quality(st.streams, lost, st.elapsed_s)
            n_msgs = len(rec.messages)
            if n_msgs > self._messages_seen and st.messages and self.state in (RECORDING, PAUSED):
                self._messages_seen = n_msgs  # a new device problem: say when it happened
                self._say(f"{fmt_elapsed(st.elapsed_s)}  {st.messages[-1]}", error=True)
            win = self.window()
            if win is not self:
                win.setWindowTitle(f"{STATE_LOOK[self.state][0]} {fmt_elapsed(st.elapsed_s)} — harlab Record")
        return st

    def _auto_stop(self, rec: Recorder, elapsed: float) -> None:
        limit = self.setup.duration.value()
        protocol_over = self.protocol is not None and rec.protocol_done and self.setup.auto_stop.isChecked()
        if protocol_over or (limit and elapsed >= limit):
            self.stop()

    def shutdown(self) -> None:
        """Finish any recording before the panel goes away (never leave devices streaming)."""
        if self.state == CONNECTING:
            self._set_state(IDLE)  # _begin will ignore the sources; stop them when they come
            for w in list(self._workers):
                w.done.connect(
                    lambda sources: [s.stop(1.0) for s in sources] if isinstance(sources, list) else None
                )
        else:
            self.stop_blocking()


class RecordWindow(QMainWindow):
    """The Record panel in its own window; asks before closing over a running recording."""

    def __init__(
        self, parent: QWidget | None = None, output_dir: str | Path = "recordings", **panel_kwargs
    ) -> None:
        super().__init__(parent)
        if parent is not None:
            self.setWindowFlag(Qt.WindowType.Window, True)
        self.panel = RecordPanel(output_dir, **panel_kwargs)
        self.setCentralWidget(self.panel)
        self.setWindowTitle("harlab Record")
        resize_within_screen(self, 1320, 860)
        self.recording_finished = self.panel.recording_finished
        self.open_requested = self.panel.open_requested
        self.calibrate_requested = self.panel.calibrate_requested

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.panel.busy:
            answer = QMessageBox.question(
                self,
                "Recording in progress",
                "A recording is running. Stop it and save the file?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer != QMessageBox.StandardButton.Save:
                event.ignore()
                return
            self.panel.shutdown()
        event.accept()


def open_record_window(
    parent: QWidget | None = None, output_dir: str | Path = "recordings", **panel_kwargs
) -> RecordWindow:
    """Create, show and return a Record window (the start screen's Record button, File > Record…).

    Connect ``window.open_requested`` (str path) to open a recording in the workbench;
    ``window.recording_finished`` (str path) fires as soon as a file is written. The window
    deletes itself when closed (closing over a running recording asks first, then saves).
    """
    w = RecordWindow(parent, output_dir, **panel_kwargs)
    w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # a closed Record window frees its plots and recorder
    w.show()
    w.raise_()
    w.activateWindow()
    return w
