"""The overview bar: the whole recording, its labels, its days, and where the view is.

A coarse envelope of the first stream (one request at open time, from the file's
pyramid), a compact strip of the active label track, a thin line and the day's
name at each local midnight, the session's non-wear greyed as on the traces, and a
rectangle for the visible range. Clicking centres the view there; dragging the
rectangle pans it.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from harlab.core.labels import LabelSchema, LabelTrack
from harlab.core.quality_tracks import QualityTrack, nonwear_spans
from harlab.core.session import Session
from harlab.gui.label_band import LabelBandItem
from harlab.gui.nonwear_shade import NonwearShade
from harlab.gui.palette import PlotColors
from harlab.gui.timeaxis import MidnightLines
from harlab.gui.timehub import TimeHub
from harlab.gui.traces import LEFT_AXIS_WIDTH, cache_axes

OVERVIEW_BINS = 1500


class _OverviewViewBox(pg.ViewBox):
    navigate = Signal(float, bool)  #: centre time, finished

    def __init__(self) -> None:
        super().__init__(enableMouse=False, enableMenu=False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.navigate.emit(float(self.mapToView(ev.pos()).x()), True)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.navigate.emit(float(self.mapToView(ev.pos()).x()), bool(ev.isFinish()))

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802
        ev.ignore()


class OverviewBar(pg.PlotWidget):
    """Navigation over the whole recording; follows the :class:`TimeHub`."""

    def __init__(self, hub: TimeHub, colors: PlotColors, parent=None) -> None:
        self.ovb = _OverviewViewBox()
        super().__init__(parent=parent, viewBox=self.ovb)
        self.hub = hub
        self.setFixedHeight(64)
        self.plot_item = self.getPlotItem()
        self.plot_item.hideButtons()
        self.plot_item.hideAxis("bottom")
        left = self.plot_item.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setStyle(showValues=False)
        left.setLabel("overview")
        self.curve = pg.PlotCurveItem(skipFiniteCheck=True)
        # the whole recording never moves: curve, strip and axis are pixmaps between changes,
        # so following the view costs one blit each plus the rectangle
        self.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plot_item.addItem(self.curve)
        cache_axes(self.plot_item)
        self.band: LabelBandItem | None = None
        self.pred_band: LabelBandItem | None = None  #: predictions, a thin strip under the labels
        self._track: LabelTrack | None = None  #: the label track the band shows
        self.nonwear: NonwearShade | None = None  #: the session's non-wear, greyed
        self.day_lines = MidnightLines(colors.foreground, labels=True)
        self.plot_item.addItem(self.day_lines, ignoreBounds=True)
        self.view_rect = QGraphicsRectItem()
        self.view_rect.setZValue(20)
        self.plot_item.addItem(self.view_rect, ignoreBounds=True)
        self.ovb.navigate.connect(self._navigate)
        hub.range_changed.connect(self._show_range)
        self.set_colors(colors)

    def set_colors(self, colors: PlotColors) -> None:
        self.colors = colors
        self.setBackground(colors.background)
        self.curve.setPen(pg.mkPen(colors.foreground, width=1))
        c = QColor(colors.highlight)  # neutral: the cursor's red looked like an error
        self.view_rect.setPen(pg.mkPen(c, width=2, cosmetic=True))
        c.setAlpha(45)
        self.view_rect.setBrush(c)
        self.day_lines.set_color(colors.foreground)
        ax = self.plot_item.getAxis("left")
        ax.setPen(pg.mkPen(colors.foreground))
        ax.setTextPen(pg.mkPen(colors.foreground))
        if self.band is not None:
            self.band.outline = QColor(colors.selected_outline)
        if self.pred_band is not None:
            self.pred_band.shade_over = QColor(colors.background)
            self.pred_band.refresh()

    def set_session(self, session: Session, track: LabelTrack | None, schema: LabelSchema) -> None:
        t0, t1 = self.hub.bounds
        self.curve.clear()
        stream = next((s for s in session.streams.values() if s.n_samples), None)
        if stream is not None and t1 > t0:
            env = stream.data.envelope(t0, t1 + 1e-9, OVERVIEW_BINS)
            if len(env.time):
                lo = env.lo.astype(np.float64)
                hi = env.hi.astype(np.float64)
                if lo.shape[1] >= 3:
                    top = np.sqrt(np.maximum(lo[:, :3] ** 2, hi[:, :3] ** 2).sum(axis=1))
                else:
                    top = hi[:, 0]
                top = np.nan_to_num(top, nan=0.0)
                scale = np.percentile(top, 99.5) or 1.0
                y = 0.35 + 0.6 * np.clip(top / scale, 0, 1)
                self.curve.setData(env.time, y)
        self.set_track(track, schema)
        self.set_nonwear(nonwear_spans(session.quality_tracks))
        self.plot_item.setXRange(t0, t1 if t1 > t0 else t0 + 1, padding=0)
        self.plot_item.setYRange(0, 1, padding=0)
        self._show_range(*self.hub.range)

    def set_days(self, start_local: datetime | None, t0: float, t1: float) -> None:
        """Mark the local midnights of the recording [t0, t1]."""
        self.day_lines.set_days(start_local, t0, t1)

    def set_track(self, track: LabelTrack | None, schema: LabelSchema) -> None:
        self._track, self._schema = track, schema
        if self.band is not None:
            self.plot_item.removeItem(self.band)
            self.band = None
        if track is not None:
            span = (0.15, 0.34) if self.pred_band is not None else (0.0, 0.3)
            self.band = LabelBandItem(
                track, schema, mode="compact", y_span=span, outline=self.colors.selected_outline
            )
            self.band.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plot_item.addItem(self.band, ignoreBounds=True)

    def set_nonwear(self, track: QualityTrack | None) -> None:
        """Grey ``track``'s spans (the session's non-wear) over the whole height, under the
        view rectangle; None or an empty track shows none."""
        if self.nonwear is not None:
            self.plot_item.removeItem(self.nonwear)
            self.nonwear = None
        if track is not None and len(track):
            self.nonwear = NonwearShade(track)
            self.nonwear.setZValue(15)  # over the curve and the strips, under the view rectangle (20)
            self.plot_item.addItem(self.nonwear, ignoreBounds=True)

    def set_prediction(self, track: LabelTrack | None, schema: LabelSchema) -> None:
        """Show a prediction track's segments (its display track) in a thin strip below the labels."""
        if self.pred_band is not None:
            self.plot_item.removeItem(self.pred_band)
            self.pred_band = None
        if track is not None:
            self.pred_band = LabelBandItem(track, schema, mode="compact", y_span=(0.02, 0.13), hatch=True)
            self.pred_band.shade_over = QColor(self.colors.background)
            self.pred_band.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plot_item.addItem(self.pred_band, ignoreBounds=True)
        self.set_track(self._track, schema)

    def refresh_labels(self) -> None:
        if self.band is not None:
            self.band.refresh()
        if self.pred_band is not None:
            self.pred_band.refresh()

    def _show_range(self, t0: float, t1: float) -> None:
        # keep the rectangle visible even when the view is narrower than a pixel
        px = self.ovb.viewPixelSize()[0]
        w = max(t1 - t0, 3 * px)
        c = (t0 + t1) / 2
        self.view_rect.setRect(QRectF(c - w / 2, 0.0, w, 1.0))

    def _navigate(self, t: float, finished: bool) -> None:
        a, b = self.hub.range
        w = b - a
        self.hub.set_range(t - w / 2, t + w / 2)
