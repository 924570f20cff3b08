"""Drivers for GUI tests: real mouse and key events on the timeline, sessions to open."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QKeySequence, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from harlab.core import LabelClass, LabelSchema, Session
from harlab.labeling.shortcuts import by_name
from harlab.simulate import synthetic_session

RATE = 100.0


def make_session(minutes: float = 10.0, n_segments: int = 0, seed: int = 0) -> Session:
    """A small wrist recording: accelerometer, gyroscope (100 Hz) and heart rate (1 Hz) from the simulator;
    ``n_segments`` labelled walking/sitting/running segments, each 80 % of its slot, which the wearer does.
    Without segments the wearer sits throughout: gravity on z, x and y small (the y-range tests rely on it)."""
    schema = LabelSchema(
        [
            LabelClass("walking", "#2ca02c", "1", "walking at any pace"),
            LabelClass("sitting", "#1f77b4", "2"),
            LabelClass("running", "#d62728", "3"),
        ]
    )
    span = minutes * 60 / max(n_segments, 1)
    segments = [(i * span, i * span + 0.8 * span, schema.names[i % 3]) for i in range(n_segments)]
    return synthetic_session(
        minutes * 60,
        rate_hz=RATE,
        streams={"accel": "wrist_accel", "gyro": "wrist_gyro", "heart_rate": "heart_rate"},
        classes=schema,
        segments=segments,
        plan=None if n_segments else [("sitting", minutes * 60)],
        participant="P01",
        seed=seed,
        start_utc=datetime(2024, 5, 1, 7, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
    )


def view_pos(plot_item, t: float, y: float | None = None) -> QPoint:
    """Viewport pixel of data point (t, y) in a pyqtgraph PlotItem (y: middle of the view)."""
    vb = plot_item.vb
    if y is None:
        y0, y1 = vb.viewRange()[1]
        y = (y0 + y1) / 2
    scene = vb.mapViewToScene(QPointF(t, y))
    view = vb.scene().views()[0]
    return view.mapFromScene(scene)


def _send_move(widget, pos: QPoint, buttons, modifiers) -> None:
    ev = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(pos),
        QPointF(widget.mapToGlobal(pos)),
        Qt.MouseButton.NoButton,
        buttons,
        modifiers,
    )
    QApplication.sendEvent(widget, ev)


def drag(widget, p0: QPoint, p1: QPoint, modifiers=Qt.KeyboardModifier.NoModifier, steps: int = 8) -> None:
    """Press at ``p0``, move in steps with the left button held, release at ``p1``."""
    _send_move(widget, p0, Qt.MouseButton.NoButton, modifiers)  # hover first, as a hand would
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, modifiers, p0)
    for i in range(1, steps + 1):
        p = QPoint(
            round(p0.x() + (p1.x() - p0.x()) * i / steps), round(p0.y() + (p1.y() - p0.y()) * i / steps)
        )
        _send_move(widget, p, Qt.MouseButton.LeftButton, modifiers)
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, modifiers, p1)


def click(widget, pos: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    _send_move(widget, pos, Qt.MouseButton.NoButton, modifiers)
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, modifiers, pos)


def _focus(qtbot, window):
    """Window shortcuts need an active window (a closed dialog may have taken activation)."""
    if QApplication.activeWindow() is not window:
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return window.timeline.glw.viewport()


def press_shortcut(qtbot, window, name: str) -> None:
    """Press the first key combination the shortcut table gives ``name``."""
    press_key(qtbot, window, by_name(name).keys[0])


def press_key(qtbot, window, key: str) -> None:
    combo = QKeySequence(key)[0]
    qtbot.keyClick(_focus(qtbot, window), combo.key(), combo.keyboardModifiers())


def answer_next_dialog(qtbot, button_text: str) -> None:
    """Click ``button_text`` in the next modal dialog (for prompts that block in exec())."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QAbstractButton, QMessageBox

    def attempt(tries: int = 200) -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            for b in box.findChildren(QAbstractButton):
                if b.text().replace("&", "") == button_text:
                    b.click()
                    return
        if tries:
            QTimer.singleShot(10, lambda: attempt(tries - 1))

    QTimer.singleShot(0, attempt)


def labels_of(session, track: str = "activity") -> list[tuple[float, float, str]]:
    return [(round(s.start, 6), round(s.end, 6), s.label) for s in session.label_tracks[track]]


def make_predictions(
    session,
    name: str = "activity-predicted",
    seed: int = 0,
    stride: float = 1.0,
    window: float = 2.0,
    noise: float = 0.5,
    doubt: tuple[float, float] | None = None,
    wrong: tuple[float, float, str] | None = None,
    classes: list[str] | None = None,
):
    """A prediction track that mostly agrees with the session's labels (no model needed):
    per-window probabilities leaning to the labelled class, ``doubt`` = (t0, t1) where the
    model is unsure (flat probabilities), ``wrong`` = (t0, t1, class) where it confidently
    names another class. Segments smoothed as ``predict_session`` does."""
    from harlab.core import PredictionTrack
    from harlab.ml.smoothing import segments_from_windows

    classes = classes or ["walking", "sitting", "running"]
    rng = np.random.default_rng(seed)
    t0, t1 = session.time_bounds()
    start = np.arange(t0, t1 - window + 1e-9, stride)
    end = start + window
    centre = (start + end) / 2
    track = session.label_tracks["activity"]
    truth = np.array(
        [
            classes.index(h[-1].label) if (h := track.at(float(c))) and h[-1].label in classes else 1
            for c in centre
        ]
    )
    probs = rng.dirichlet(np.ones(len(classes)), len(start)) * noise
    probs[np.arange(len(start)), truth] += 1.0 - noise
    if doubt is not None:
        m = (centre >= doubt[0]) & (centre < doubt[1])
        probs[m] = np.linspace(1.2, 0.8, len(classes)) / len(classes)
    if wrong is not None:
        m = (centre >= wrong[0]) & (centre < wrong[1])
        probs[m] = 0.02
        probs[m, classes.index(wrong[2])] = 0.96
    probs /= probs.sum(1, keepdims=True)
    segs = segments_from_windows(probs.argmax(1), probs, start, end, stride, classes, annotator="test-model")
    pred = PredictionTrack(name, "test-model", "1", classes, start, end, probs.astype(np.float32), segs)
    session.add_prediction_track(pred, replace=True)
    return pred


def global_rect(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())


def assert_whole(widget: QWidget, window: QWidget) -> None:
    """Shown, inside the window, and at least as wide as its text needs."""
    assert widget.isVisible(), widget
    assert global_rect(window).contains(global_rect(widget)), (widget, global_rect(widget))
    need = widget.minimumSizeHint().width() if isinstance(widget, QLabel) else widget.sizeHint().width()
    assert widget.width() >= need, (getattr(widget, "text", lambda: "")(), widget.width(), need)


def open_window(make_window, qtbot, path):
    """A workbench window (from the ``make_window`` fixture) with ``path`` open and drawn."""
    w = make_window()
    assert w.open_path(path)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    return w
