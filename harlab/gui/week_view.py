"""The week view: a participant's days at a glance, for people reviewing predicted timelines.

One row per local day: the date, an actogram (24 h across, coloured by the predicted class,
or the labels' when there is no prediction; non-wear greyed, not recorded left blank) and a
stacked bar of the day's minutes per class; under them the totals and the legend. A click
anywhere in a row asks the timeline to go there (:attr:`WeekView.time_clicked`, session
seconds): the clicked clock time in the actogram, the day's start elsewhere in the row.

The numbers come from :mod:`harlab.summary` (Qt-free); this module only lays them out and
paints them with one :class:`WeekLayout`, used both on screen and by :func:`render_summary_png`
(``harlab summary --png``), so the exported picture is the view.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from harlab.core.events import Event
from harlab.core.files import atomic_write
from harlab.core.quality_tracks import QualityTrack, nonwear_spans
from harlab.core.session import Session
from harlab.gui.background_job import BackgroundJob
from harlab.gui.paint_guard import never_raises
from harlab.labeling.commands import SetQualityTrack
from harlab.labeling.history import EditHistory
from harlab.signal.nonwear import NonwearError, detect_nonwear
from harlab.summary import NONWEAR_COLOR, WeekSummary, summarise_session, write_summary_csv

MARGIN = 12
TITLE_H = 40
AXIS_H = 18
ROW_H = 26
ROW_GAP = 5
LABEL_W = 118
GAP = 18
BAR_MIN_W = 200
LEGEND_ROW_H = 20


def hm(minutes: float) -> str:
    """Minutes as ``h:mm``."""
    m = int(round(minutes))
    return f"{m // 60}:{m % 60:02d}"


@dataclass(frozen=True)
class WeekLayout:
    """Where everything goes for a summary at a width: the one geometry of painting and clicking."""

    width: int
    n_days: int
    n_legend_rows: int

    @property
    def rows_top(self) -> float:
        return MARGIN + TITLE_H + AXIS_H

    @property
    def acto_x(self) -> float:
        return MARGIN + LABEL_W

    @property
    def bar_w(self) -> float:
        return max(BAR_MIN_W, 0.3 * (self.width - 2 * MARGIN - LABEL_W))

    @property
    def acto_w(self) -> float:
        return max(100.0, self.width - 2 * MARGIN - LABEL_W - GAP - self.bar_w)

    @property
    def bar_x(self) -> float:
        return self.acto_x + self.acto_w + GAP

    def row_y(self, i: int) -> float:
        return self.rows_top + i * (ROW_H + ROW_GAP)

    @property
    def rows_bottom(self) -> float:
        return self.row_y(self.n_days)

    @property
    def height(self) -> int:
        return int(self.rows_bottom + 30 + self.n_legend_rows * LEGEND_ROW_H + MARGIN)

    def hit(self, x: float, y: float) -> tuple[int, float | None] | None:
        """(day index, hour in the actogram or None elsewhere in the row) under a point."""
        if y < self.rows_top or y >= self.rows_bottom:
            return None
        i = int((y - self.rows_top) // (ROW_H + ROW_GAP))
        if not 0 <= i < self.n_days:
            return None
        if self.acto_x <= x <= self.acto_x + self.acto_w:
            return i, 24.0 * (x - self.acto_x) / self.acto_w
        return i, None


class WeekView(QWidget):
    """Paints a :class:`WeekSummary`; emits :attr:`time_clicked` with session seconds."""

    time_clicked = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary: WeekSummary | None = None
        self.background = QColor("#ffffff")
        self.foreground = QColor("#303030")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setMouseTracking(True)
        self.setToolTip("Click a day to show that time in the timeline")

    def set_summary(self, summary: WeekSummary | None) -> None:
        self.summary = summary
        self.updateGeometry()
        self.setMinimumHeight(self.layout_for(max(self.width(), 600)).height if summary else 80)
        self.update()

    def set_colors(self, background: str, foreground: str) -> None:
        self.background, self.foreground = QColor(background), QColor(foreground)
        self.update()

    def layout_for(self, width: int) -> WeekLayout:
        s = self.summary
        n_days = len(s.days) if s else 0
        n_items = (len(s.classes) + 1) if s else 0
        per_row = max(1, int((width - 2 * MARGIN) // 190))
        return WeekLayout(width, n_days, max(1, -(-n_items // per_row)))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(900, self.layout_for(900).height if self.summary else 120)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt's name
        if self.summary is not None:
            self.setMinimumHeight(self.layout_for(self.width()).height)
        super().resizeEvent(event)

    def time_at(self, x: float, y: float) -> float | None:
        """Session seconds a click at (x, y) goes to, None outside the rows."""
        s = self.summary
        if s is None:
            return None
        hit = self.layout_for(self.width()).hit(x, y)
        if hit is None:
            return None
        day, hour = hit
        if hour is None:  # the date or the bar: the day's first recorded moment
            d = s.days[day]
            first = s.seg_start[(s.seg_start >= d.start_s) & (s.seg_start < d.end_s)]
            return float(first.min()) if len(first) else d.start_s
        return s.time_at(day, hour)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            t = self.time_at(event.position().x(), event.position().y())
            if t is not None:
                self.time_clicked.emit(t)
                return
        super().mousePressEvent(event)

    @never_raises
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), self.background)
            self.paint(p, self.width())
        finally:
            p.end()

    # -- painting ------------------------------------------------------------------------
    def paint(self, p: QPainter, width: int) -> None:
        s = self.summary
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        fg = self.foreground
        if s is None:
            p.setPen(fg)
            p.drawText(MARGIN, MARGIN + 20, "No session")
            return
        lay = self.layout_for(width)
        font = QFont(self.font())
        bold = QFont(font)
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(fg)
        who = " · ".join(
            x for x in (s.participant and f"participant {s.participant}", s.session_id[:16]) if x
        )
        p.drawText(QPointF(MARGIN, MARGIN + 14), f"A week at a glance: {who}")
        p.setFont(font)
        what = (
            "no activity track" if s.source == "none" else s.source.replace("prediction", "predicted by", 1)
        )
        p.drawText(
            QPointF(MARGIN, MARGIN + 32),
            f"{what} · times in {s.timezone or 'UTC'} · grey: not worn ({hm(s.nonwear_total_min)})",
        )
        # hour axis
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        p.setFont(small)
        grid = QColor(fg)
        grid.setAlpha(60)
        for h in range(0, 25, 3):
            x = lay.acto_x + lay.acto_w * h / 24.0
            p.setPen(fg)
            p.drawText(
                QRectF(x - 20, lay.rows_top - AXIS_H, 40, AXIS_H - 2),
                Qt.AlignmentFlag.AlignCenter,
                f"{h:02d}",
            )
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(x, lay.rows_top), QPointF(x, lay.rows_bottom - ROW_GAP))
        p.setPen(fg)
        p.drawText(
            QRectF(lay.bar_x, lay.rows_top - AXIS_H, lay.bar_w, AXIS_H - 2),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            "minutes per activity (worn time, h:mm)",
        )
        colors = [QColor(s.colors.get(c, "#7f7f7f")) for c in s.classes]
        grey = QColor(NONWEAR_COLOR)
        empty = QColor(fg)
        empty.setAlpha(18)
        longest = max((d.end_s - d.start_s) / 60.0 for d in s.days) if s.days else 1440.0
        for i, d in enumerate(s.days):
            y = lay.row_y(i)
            p.setFont(font)
            p.setPen(fg)
            title = d.title if d.day is None else f"{d.day:%a} {d.title}"
            p.drawText(
                QRectF(MARGIN, y, LABEL_W - 6, ROW_H),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                title,
            )
            p.fillRect(QRectF(lay.acto_x, y, lay.acto_w, ROW_H), empty)
            here = (s.seg_end > d.start_s) & (s.seg_start < d.end_s)
            cls = s.seg_class[here]
            for x0, x1, k in zip(*_pieces(s, i, s.seg_start[here], s.seg_end[here]), strict=True):
                _span(p, lay, y, float(x0), float(x1), colors[int(cls[k])])
            nw = (s.nonwear_end > d.start_s) & (s.nonwear_start < d.end_s)
            a = np.maximum(s.nonwear_start[nw], d.start_s)
            b = np.minimum(s.nonwear_end[nw], d.end_s)
            for x0, x1, _k in zip(*_pieces(s, i, a, b), strict=True):
                _span(p, lay, y, float(x0), float(x1), grey)
            # stacked bar of the day's minutes, on one scale for every day
            x = lay.bar_x
            bw = lay.bar_w - 44
            for c, col in zip(s.classes, colors, strict=True):
                w = bw * d.minutes[c] / longest
                if w > 0:
                    p.fillRect(QRectF(x, y + 3, w, ROW_H - 6), col)
                    x += w
            if d.nonwear_min > 0:
                w = bw * d.nonwear_min / longest
                p.fillRect(QRectF(x, y + 3, w, ROW_H - 6), grey)
                x += w
            p.setFont(small)
            p.setPen(fg)
            p.drawText(
                QRectF(lay.bar_x + bw + 4, y, 40, ROW_H),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                hm(d.worn_min),
            )
        # totals and legend
        y = lay.rows_bottom + 4
        p.setFont(bold)
        p.setPen(fg)
        p.drawText(
            QPointF(MARGIN, y + 14),
            f"Totals over {len(s.days)} days: recorded {hm(s.recorded_total_min)}, "
            f"worn {hm(s.recorded_total_min - s.nonwear_total_min)}, unclassified {hm(s.unclassified_total_min)}",
        )
        p.setFont(font)
        per_row = max(1, int((width - 2 * MARGIN) // 190))
        items = [(c, col, s.totals.get(c, 0.0)) for c, col in zip(s.classes, colors, strict=True)]
        items.append(("not worn", grey, s.nonwear_total_min))
        for k, (name, col, minutes) in enumerate(items):
            r, q = divmod(k, per_row)
            lx = MARGIN + q * 190
            ly = y + 26 + r * LEGEND_ROW_H
            p.fillRect(QRectF(lx, ly + 3, 12, 12), col)
            p.setPen(fg)
            p.drawText(QPointF(lx + 18, ly + 14), f"{name} {hm(minutes)}")


def _span(p: QPainter, lay: WeekLayout, y: float, x0h: float, x1h: float, color: QColor) -> None:
    """Fill the actogram row at ``y`` from clock hour ``x0h`` to ``x1h``."""
    x0 = lay.acto_x + lay.acto_w * x0h / 24.0
    x1 = lay.acto_x + lay.acto_w * x1h / 24.0
    if x1 > x0:
        p.fillRect(QRectF(x0, y, max(1.0, x1 - x0), ROW_H), color)


def _pieces(
    s: WeekSummary, i: int, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spans ``[a, b)`` of day ``i`` as clock-hour pieces (cut at a daylight-saving change):
    (from, to, index of the span)."""
    d = s.days[i]
    idx = np.arange(len(a))
    if d.clock_change_s is not None:
        c = d.clock_change_s
        cut = (a < c) & (b > c)
        a = np.concatenate([a, np.full(int(cut.sum()), c)])
        b = np.concatenate([np.where(cut, c, b), b[cut]])
        idx = np.concatenate([idx, idx[cut]])
    return s.clock_hours(i, a), s.clock_hours(i, b), idx


def render_summary_image(summary: WeekSummary, width: int = 1000, dark: bool = False) -> QImage:
    """The view painted into an image (what ``harlab summary --png`` writes)."""
    view = WeekView()
    try:
        view.set_summary(summary)
        if dark:
            view.set_colors("#1e1f22", "#d8d8d8")
        lay = view.layout_for(width)
        image = QImage(width, lay.height, QImage.Format.Format_ARGB32)
        image.fill(view.background)
        p = QPainter(image)
        try:
            view.paint(p, width)
        finally:
            p.end()
        return image
    finally:
        view.deleteLater()


def render_summary_png(summary: WeekSummary, path: str | Path, width: int = 1000) -> Path:
    """Write the summary's picture as a PNG (atomically), starting an offscreen Qt if none runs."""
    if QApplication.instance() is None:  # the command line: no window, no display needed
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP.append(QApplication([]))
    image = render_summary_image(summary, width)

    def write(tmp: Path) -> None:
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"could not write the PNG {path}")

    return atomic_write(path, write, suffix=".png.tmp")


_APP: list[object] = []  #: the offscreen application render_summary_png started (kept alive)


class WeekDock(QDockWidget):
    """The week view in the workbench: recomputed (off the GUI thread) when the session's
    predictions, labels or non-wear change while it is shown; exports and non-wear detection.

    Non-wear found here is shown at once; "Store non-wear" puts it into the session as an
    undoable edit (:class:`~harlab.labeling.commands.SetQualityTrack`), which greys it on the
    timeline and keeps it out of training.
    """

    time_clicked = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Week", parent)
        self.setObjectName("week_dock")
        self.session: Session | None = None
        self.history: EditHistory | None = None
        self.path = ""
        self.detected: QualityTrack | None = None  #: non-wear detected here, not stored yet
        self.job: BackgroundJob | None = None
        self._stale = True
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.status = QLabel("")
        self.store_button = QPushButton("Store non-wear in the session")
        self.store_button.setToolTip("Save the detected non-wear with the session (undoable)")
        self.store_button.clicked.connect(self.store_nonwear)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.clicked.connect(lambda: self.export("png"))
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        bar.addWidget(self.status, 1)
        for b in (self.store_button, self.png_button, self.csv_button):
            bar.addWidget(b)
        box.addLayout(bar)
        self.view = WeekView()
        self.view.time_clicked.connect(self.time_clicked)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.view)
        box.addWidget(scroll, 1)
        self.setWidget(body)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.refresh)
        self.visibilityChanged.connect(lambda shown: shown and self._stale and self._timer.start())
        self._update_buttons()

    def set_document(
        self, session: Session | None, history: EditHistory | None, path: str | Path | None
    ) -> None:
        if self.session is not None:
            self.session.events.disconnect(self._session_event)
        self._timer.stop()
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.job.stop()  # the summary of the session going away is not wanted; no thread outlives it
        self.session, self.history, self.path = session, history, str(path or "")
        self.detected = None
        self._stale = True
        if session is not None:
            session.events.connect(self._session_event)
            if self.isVisible():
                self._timer.start()
        else:
            self.view.set_summary(None)
        self._update_buttons()

    def set_path(self, path: str | Path | None) -> None:
        """The session's file moved (Save As): exports are named after the new file and the
        summary, which names its file, is made again."""
        new = str(path or "")
        if new == self.path:
            return
        self.path = new
        if self.session is not None:
            self._stale = True
            if self.isVisible():
                self._timer.start()

    def _session_event(self, event: Event) -> None:
        if event.kind.startswith(("prediction_track", "quality_track", "segments_", "label_track")):
            if event.kind.startswith("quality_track"):
                self.detected = None
            self._stale = True
            if self.isVisible():
                self._timer.start()

    def refresh(self) -> None:
        """Recompute the summary in the background (non-wear detection reads the whole stream)."""
        session = self.session
        if session is None or (self.job is not None and self.job.running):
            if session is not None:
                self._timer.start()  # once the running job has ended
            return
        self._stale = False
        stored = nonwear_spans(session.quality_tracks)
        cached = self.detected

        def work(_progress: object, status: Callable[[str], None], _cancel: object) -> object:
            track = stored or cached
            if track is None:
                status("detecting non-wear…")
                try:
                    track = detect_nonwear(session)
                except NonwearError:
                    track = None
            return track, summarise_session(session, self.path, nonwear=track)

        self.status.setText("Summarising…")
        self.job = BackgroundJob(work, self, owner=self.window())  # closing the window stops it
        self.job.finished.connect(lambda result: self._show(result, stored is not None, session))
        self.job.failed.connect(lambda msg: self.status.setText(f"Could not summarise: {msg}"))
        self.job.start()

    def _show(self, result: tuple[QualityTrack | None, WeekSummary], stored: bool, session: Session) -> None:
        if session is not self.session:
            return  # a summary of a session no longer shown
        track, summary = result
        if not stored:
            self.detected = track
        self.view.set_summary(summary)
        nw = "non-wear stored with the session" if stored else "non-wear detected now, not stored"
        self.status.setText(
            f"{len(summary.days)} days · {summary.source} · {nw if track is not None else 'no accelerometer for non-wear'}"
        )
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.store_button.setEnabled(self.detected is not None and self.history is not None)
        has = self.view.summary is not None
        self.png_button.setEnabled(has)
        self.csv_button.setEnabled(has)

    def store_nonwear(self) -> None:
        if self.detected is None or self.history is None:
            return
        self.history.push(SetQualityTrack(self.detected))

    def export(self, kind: str) -> None:
        summary = self.view.summary
        if summary is None:
            return
        stem = Path(self.path).stem if self.path else "session"
        start = str(Path(self.path).with_name(f"{stem}.week.{kind}")) if self.path else f"{stem}.week.{kind}"
        flt = "PNG picture (*.png)" if kind == "png" else "CSV table (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export the week as {kind.upper()}", start, flt)
        if path:
            self.write(kind, Path(path))

    def write(self, kind: str, path: Path) -> Path:
        """Write the shown summary (the dialog's part is in :meth:`export`)."""
        summary = self.view.summary
        if summary is None:
            raise ValueError("no summary to write")
        if kind == "png":
            render_summary_png(summary, path)
        else:
            write_summary_csv(path, [summary])
        self.status.setText(f"Wrote {path}")
        return path
