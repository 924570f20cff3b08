"""Geometry of the workbench at 1280×800: with many rows nothing collides, shrinks below its
minimum or covers the time axis; with few rows the rows fill the window without scrolling."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication

from harlab.core import Metadata, Segment, Session, Stream
from harlab.gui.traces import MIN_TRACE_HEIGHT
from tests.gui.gui_helpers import make_predictions, make_session, view_pos

pytestmark = pytest.mark.gui

CLASSES = ["walking", "sitting", "running"]
MANY_CLASSES = CLASSES + [
    "standing",
    "lying",
    "cycling",
    "stairs_up",
    "stairs_down",
    "jumping",
    "squat",
    "situp",
    "transition",
]


def six_row_session(classes: list[str] = CLASSES) -> Session:
    """accel, gyro, heart rate, two label tracks, two prediction tracks."""
    s = make_session(minutes=10, n_segments=20)
    s.add_segments("postactivity", [Segment(30, 90, "walking"), Segment(100, 200, "sitting")])
    make_predictions(s, name="activity-predicted", classes=classes)
    make_predictions(s, name="second-model", seed=1, classes=classes)
    return s


def open_at_1280x800(make_window, qtbot, session: Session, heatmap: bool = True):
    w = make_window()
    w.heatmap_action.setChecked(heatmap)
    w.resize(1280, 800)
    assert w.show_session(session, unsaved=False)
    w.timeline.set_range(60.0, 260.0)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    qtbot.waitUntil(lambda: w.timeline.time_axis.range[0] == pytest.approx(60.0))
    return w


def global_rect(widget) -> QRect:
    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())


def title_rects(tl) -> list[tuple[str, QRectF, QRectF]]:
    """(name, title rectangle, its row's rectangle) of every row title, in scene coordinates."""
    out = []
    for sp in tl.stream_plots:
        label = sp.plot.getAxis("left").label
        out.append((sp.stream.name, label.sceneBoundingRect(), sp.plot.sceneBoundingRect()))
    for b in tl.bands:
        out.append((b.name, b.title.sceneBoundingRect(), b.plot.sceneBoundingRect()))
    for r in tl.pred_rows:
        out.append((r.name, r.left_title.sceneBoundingRect(), r.plot.sceneBoundingRect()))
    return out


def axis_label_rects(tl) -> list[tuple[str, QRect]]:
    """The time axis' tick labels as drawn, in global screen coordinates."""
    axis = tl.time_axis
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    assert specs is not None
    view = tl.axis_view
    out = []
    for rect, _flags, text in specs[2]:
        scene = axis.mapRectToScene(QRectF(rect))
        local = view.mapFromScene(scene).boundingRect()
        out.append((text, QRect(view.viewport().mapToGlobal(local.topLeft()), local.size())))
    return out


def check_layout(w) -> None:
    tl = w.timeline
    # every row at least its minimum height; traces never squeezed to a sliver
    for kind, plot, least in tl.row_minimum_heights():
        assert plot.geometry().height() >= least - 0.5, (kind, plot.geometry().height(), least)
        if kind == "trace":
            assert least >= 0.7 * MIN_TRACE_HEIGHT
    # no two row titles overlap, and each stays inside its own row
    titles = title_rects(tl)
    for name, rect, row in titles:
        assert rect.height() > 5 and rect.width() > 5, name
        assert row.top() - 0.5 <= rect.top() and rect.bottom() <= row.bottom() + 0.5, (name, rect, row)
    for (n1, r1, _), (n2, r2, _) in combinations(titles, 2):
        inter = r1.intersected(r2)
        assert inter.width() <= 0.5 or inter.height() <= 0.5, f"titles of {n1} and {n2} overlap"
    # the time axis: its tick labels are whole, inside its widget, not under the overview or the rows
    labels = axis_label_rects(tl)
    assert len(labels) >= 3
    axis_area = global_rect(tl.axis_view.viewport())
    for text, rect in labels:
        assert axis_area.contains(rect), (text, rect, axis_area)
        assert not rect.intersects(global_rect(tl.overview)), text
        assert not rect.intersects(global_rect(tl.scroll)), text
    assert tl.axis_view.isVisible() and tl.overview.isVisible()
    # the time axis spans exactly the rows' time range and width
    master = tl.master.vb
    assert tl.time_axis.range == pytest.approx(list(master.viewRange()[0]))
    row_x = master.mapToScene(master.rect().topLeft()).x(), master.mapToScene(master.rect().topRight()).x()
    ax = tl.axis_plot.vb
    ax_x = ax.mapToScene(ax.rect().topLeft()).x(), ax.mapToScene(ax.rect().topRight()).x()
    assert ax_x == pytest.approx(row_x, abs=1.0)
    # the cursor readout is shown whole (it wraps rather than being cut off)
    ro = tl.readout
    assert ro.heightForWidth(ro.width()) <= ro.height()


def test_six_rows_at_1280x800_keep_their_heights_titles_and_time_axis(make_window, qtbot):
    w = open_at_1280x800(make_window, qtbot, six_row_session())
    tl = w.timeline
    assert len(tl.stream_plots) == 3 and len(tl.bands) == 2 and len(tl.pred_rows) == 2
    assert all(r.heat_plot is not None for r in tl.pred_rows)
    check_layout(w)
    for r in tl.pred_rows:  # a title beside the prediction band and a colour scale on the heatmap
        assert r.left_title.text().replace("\n", "").startswith(r.name[:6])
        assert r.legend is not None and r.legend.isVisible()
        legend = r.legend.sceneBoundingRect()
        assert r.heat_plot.vb.sceneBoundingRect().contains(legend)
    for b in tl.bands:  # a name too long for its row is shortened, and whole in the tooltip's first line
        assert b.title.toolTip().splitlines()[0] == b.name
    w.grab().save("/tmp/harlab_layout_six_rows.png")


def wheel(widget, pos: QPoint, dy: int = -120) -> None:
    ev = QWheelEvent(
        QPointF(pos),
        QPointF(widget.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, dy),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, ev)


def test_rows_that_do_not_fit_scroll_instead_of_shrinking(make_window, qtbot):
    w = open_at_1280x800(make_window, qtbot, six_row_session(MANY_CLASSES))
    tl = w.timeline
    bar = tl.scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.isVisible()
    check_layout(w)
    # the wheel over the data zooms time; over the title column it scrolls the rows
    on_trace = view_pos(tl.stream_plots[1].plot, 150.0)
    wheel(tl.glw.viewport(), on_trace)
    assert bar.value() == 0 and tl.view_range()[1] - tl.view_range()[0] > 200.0
    wheel(tl.glw.viewport(), QPoint(20, on_trace.y()))
    assert bar.value() > 0
    bar.setValue(bar.maximum())  # the last row scrolls into view, the axis stays where it is
    qtbot.waitUntil(
        lambda: (
            tl.scroll.viewport()
            .rect()
            .contains(tl.glw.mapTo(tl.scroll.viewport(), QPoint(0, tl.glw.height() - 1)))
        )
    )
    check_layout(w)
    w.grab().save("/tmp/harlab_layout_scrolled.png")


def test_few_rows_fill_the_window_without_scrolling(make_window, qtbot):
    s = make_session(minutes=10, n_segments=20)
    w = open_at_1280x800(make_window, qtbot, s, heatmap=False)
    tl = w.timeline
    assert tl.scroll.verticalScrollBar().maximum() == 0
    check_layout(w)
    assert tl.stream_plots[0].plot.geometry().height() > 1.5 * MIN_TRACE_HEIGHT  # the room goes to the traces
    w.grab().save("/tmp/harlab_layout_few_rows.png")


def test_metadata_fields_show_long_values_from_their_start(make_window, qtbot):
    s = make_session(minutes=10)
    dev = s.metadata.device
    dev.name, dev.model = "harlab simulator", "simulated wrist IMU + optical heart rate sensor, revision 2"
    w = open_at_1280x800(make_window, qtbot, s, heatmap=False)
    dock = w.meta_dock
    field = dock.device_model
    assert field.text() == dev.model and field.cursorPosition() == 0  # not scrolled to its tail
    assert field.toolTip() == dev.model
    visible = global_rect(dock)
    for widget in (dock.participant, dock.device_name, field, dock.placement, dock.timezone, dock.notes):
        assert visible.contains(global_rect(widget)), widget  # no field cut by the dock's edge


def test_si_units_are_not_rescaled_on_the_value_axis(make_window, qtbot):
    """A gyroscope at rest (±0.3 rad/s) reads "rad/s" with ticks of ±0.2, not "(x0.001)" and ±300."""
    rate = 50.0
    t = np.arange(int(120 * rate)) / rate
    gyro = 0.3 * np.stack([np.sin(t), np.cos(t), np.sin(t / 3)], axis=1)
    s = Session(Metadata(participant_id="P", timezone="UTC", start_utc=datetime(2024, 1, 1, tzinfo=UTC)))
    s.add_stream(Stream.from_arrays("wrist_gyro", t, gyro, ["x", "y", "z"], "rad/s", rate, kind="gyroscope"))
    w = make_window()
    assert w.show_session(s, unsaved=False)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    axis = w.timeline.stream_plots[0].plot.getAxis("left")
    lo, hi = w.timeline.stream_plots[0].vb.viewRange()[1]
    assert hi < 1.0  # the range where pyqtgraph would switch to milli-units
    assert axis.autoSIPrefixScale == 1.0
    assert "(x" not in axis.labelString() and "rad/s" in axis.labelString()
    values = [v for _spacing, vs in axis.tickValues(lo, hi, axis.height()) for v in vs]
    texts = axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, 0.1)
    assert all(abs(float(x)) < 1.0 for x in texts if x), texts
