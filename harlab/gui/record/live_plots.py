"""Scrolling live plots of every recorded stream, fed by polling ``Recorder.live``.

Drawing more points than the plot has pixel columns wastes the GUI thread, so each
refresh reduces the visible window to a min/max pair per pixel column (peaks survive,
which matters for spotting clipping and impacts) before handing it to pyqtgraph.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QVBoxLayout, QWidget

from harlab.gui.palette import plot_colors
from harlab.gui.traces import unit_text


def minmax_decimate(
    t: np.ndarray, v: np.ndarray, t0: float, t1: float, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Samples in ``[t0, t1]`` reduced to at most ``2 * bins`` points (min and max per bin).

    ``v`` is (n, channels). Short inputs are returned as they are (sliced to the window).
    """
    lo, hi = np.searchsorted(t, [t0, t1], side="left")
    lo = max(0, lo - 1)  # one sample before the window, so the trace reaches the left edge
    t, v = t[lo : hi + 1], v[lo : hi + 1]
    if len(t) <= 2 * bins or bins < 1:
        return t, v
    col = np.clip(((t - t0) / (t1 - t0) * bins).astype(np.int64), 0, bins - 1)
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    vmin = np.minimum.reduceat(v, starts, axis=0)
    vmax = np.maximum.reduceat(v, starts, axis=0)
    ends = np.r_[starts[1:], len(t)] - 1
    tt = np.empty(2 * len(starts))
    tt[0::2], tt[1::2] = t[starts], t[ends]
    vv = np.empty((2 * len(starts), v.shape[1]), v.dtype)
    vv[0::2], vv[1::2] = vmin, vmax
    return tt, vv


def y_range(lo: float, hi: float) -> tuple[float, float]:
    """The y range for data spanning [lo, hi]: 8 % padding, and never narrower than 2 % of the
    level (at least 1 unit), so a flat heart rate is a flat line, not noise under a magnifier."""
    mid, span = (lo + hi) / 2, hi - lo
    span = max(span * 1.16, 0.02 * abs(mid), 1.0)
    return mid - span / 2, mid + span / 2


class ShortRowAxis(pg.AxisItem):
    """A left axis that labels no more ticks than fit its height.

    pyqtgraph always labels at least three major ticks; a live row of a small window is
    40-50 px tall, so five labels (0.4 … -0.4) were drawn over each other. Here the major
    spacing widens along 1-2-5 until every label has ``LABEL_PX`` of height."""

    LABEL_PX = 16

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 - pyqtgraph API
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels or size <= 0:
            return levels
        span = abs(maxVal - minVal)
        major = levels[0][0]
        while (span / major + 1) * self.LABEL_PX > size and major < span:
            exp = 10.0 ** np.floor(np.log10(major))
            major = exp * (2.0 if major / exp < 1.5 else 5.0 if major / exp < 3.5 else 10.0)
        return [(major, 0.0)] + [lv for lv in levels[1:] if lv[0] < major]


def _dark() -> bool:
    app = QApplication.instance()
    return bool(app) and app.palette().color(QPalette.ColorRole.Window).lightness() < 128  # type: ignore[union-attr]


class LivePlots(QWidget):
    """One plot row per stream, x linked, showing the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 20.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_s = window_s
        self.colors = plot_colors(_dark())
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(self.colors.background)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        self.band: pg.PlotItem | None = None
        self._rects: list[QGraphicsRectItem] = []
        self.segments_drawn = 0  #: label segments visible in the band at the last refresh
        self.points_drawn = 0  #: points handed to pyqtgraph at the last refresh (all streams)

    def set_streams(self, streams: list[tuple[str, list[str], str]]) -> None:
        """(name, channel names, unit) per stream; rebuilds the plots."""
        self.view.clear()
        self.plots.clear()
        self.curves.clear()
        self._rects.clear()
        fg = self.colors.foreground
        # A strip of the labels marked so far, above the traces, on the same time axis.
        band = self.view.addPlot(row=0, col=0)
        band.setMenuEnabled(False)
        band.setMouseEnabled(x=False, y=False)
        band.hideButtons()
        band.hideAxis("bottom")
        band.setMaximumHeight(30)
        band.setYRange(0, 1, padding=0)
        band.getAxis("left").setWidth(52)
        band.getAxis("left").setTicks([[(0.5, "labels")]])
        band.getAxis("left").setTextPen(fg)
        band.getAxis("left").setPen(self.colors.band_background)
        band.vb.setBackgroundColor(self.colors.band_background)
        self.band = band
        first: pg.PlotItem = band
        for row, (name, channels, unit) in enumerate(streams, start=1):
            p = self.view.addPlot(row=row, col=0, axisItems={"left": ShortRowAxis("left")})
            p.setMenuEnabled(False)
            p.setMouseEnabled(x=False, y=False)
            p.hideButtons()
            # No grid: translucent grid lines repainted 20 times a second cost more CPU than the traces
            # (measured: 0.6 vs 0.36 of a core for one device).
            p.getAxis("left").enableAutoSIPrefix(False)  # keep the stream's own unit, no "x0.001"
            p.getAxis("left").setWidth(52)
            p.getAxis("left").setStyle(maxTextLevel=0)  # short rows: label the major ticks only
            for ax in ("left", "bottom"):
                p.getAxis(ax).setTextPen(fg)
                p.getAxis(ax).setPen(fg)
            # Channel names coloured as their traces, in the title: a legend box would sit exactly
            # where a scrolling plot draws its newest samples.
            keys = (
                "&nbsp;&nbsp;".join(
                    f"<span style='color:{self.colors.channel[i % len(self.colors.channel)]}'>&#9632;&nbsp;{ch}</span>"
                    for i, ch in enumerate(channels)
                )
                if len(channels) > 1
                else ""
            )
            p.setTitle(
                f"<span style='color:{fg}'>{name} <small>({unit_text(unit)})</small></span>&nbsp;&nbsp;&nbsp;{keys}",
                size="9pt",
            )
            p.disableAutoRange()  # refresh() sets the y range from the visible samples
            p.setDownsampling(auto=False)
            if row < len(streams):
                p.hideAxis("bottom")  # one time axis for all (axes are the costliest thing to repaint)
            else:
                p.setLabel("bottom", "time since start", units="s")
                p.getAxis("bottom").enableAutoSIPrefix(False)  # 3605 s, not 3.605 "ks" an hour in
            p.setXLink(first)
            curves = []
            for i, ch in enumerate(channels):
                pen = pg.mkPen(self.colors.channel[i % len(self.colors.channel)], width=1.3)
                c = p.plot([], [], pen=pen, name=ch)
                c.setClipToView(False)
                curves.append(c)
            self.plots[name] = p
            self.curves[name] = curves

    def refresh(
        self,
        now: float,
        live: dict[str, tuple[np.ndarray, np.ndarray]],
        segments: list[tuple[float, float, str]] = (),
    ) -> None:  # type: ignore[assignment]
        """Redraw from ``live[name] = (times, values)`` with the window ending at ``now``;
        ``segments`` are (start, end, colour) of the labels, drawn in the band above the traces."""
        t1 = max(now, self.window_s)  # the first seconds fill the window from the left
        t0 = t1 - self.window_s
        drawn = 0
        for name, (t, v) in live.items():
            p = self.plots.get(name)
            if p is None:
                continue
            bins = max(50, int(p.vb.width()) or 600)
            tt, vv = minmax_decimate(t, v.reshape(len(v), -1) if len(v) else v.reshape(0, 1), t0, t1, bins)
            for i, c in enumerate(self.curves[name]):
                if i < vv.shape[1]:
                    c.setData(tt, vv[:, i])
            drawn += len(tt) * vv.shape[1]
            if len(vv):
                lo, hi = float(np.nanmin(vv)), float(np.nanmax(vv))
                if np.isfinite(lo) and np.isfinite(hi):
                    p.setYRange(*y_range(lo, hi), padding=0)
        if self.band is not None:
            self._draw_segments([sg for sg in segments if sg[1] > t0 and sg[0] < t1])
            self.band.setXRange(t0, t1, padding=0)
        self.points_drawn = drawn

    def _draw_segments(self, visible: list[tuple[float, float, str]]) -> None:
        assert self.band is not None
        while len(self._rects) < len(visible):
            r = QGraphicsRectItem()
            r.setPen(Qt.PenStyle.NoPen)
            self.band.addItem(r)
            self._rects.append(r)
        for r, (a, b, color) in zip(self._rects, visible, strict=False):
            r.setRect(QRectF(a, 0.1, max(b - a, 1e-3), 0.8))
            r.setBrush(QBrush(QColor(color)))
            r.setVisible(True)
        for r in self._rects[len(visible) :]:
            r.setVisible(False)
        self.segments_drawn = len(visible)
