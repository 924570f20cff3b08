"""One plot row per stream: min/max envelopes of the visible range.

A :class:`StreamPlot` never holds a whole recording: it asks (through the
timeline's :class:`~harlab.gui.envelope_worker.EnvelopeFetcher`) for the
visible range plus a margin, at one bin per pixel column, and draws each bin as a
vertical stroke from its minimum to its maximum (:func:`strokes`), so a one-sample
spike is still visible in a day-long view.

Painting is what a frame costs, so it is kept small: curves get only the points near
the view (about one stroke per pixel column), drawn as separate line segments rather
than a path; the y-range changes only when the data leaves it (axis text is costly to
lay out); curves and axes are cached as pixmaps, so a repaint that changes nothing
else (cursor, readout) is a blit. The horizontal grid is a few lines drawn straight
(:class:`YGrid`), not part of the axis: pyqtgraph draws a grid into the axis, which
makes the axis' cached pixmap as large as the plot, so every new y-range filled and
every frame blended a plot-sized pixmap per row.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from harlab.core.streams import Envelope, Stream
from harlab.gui.label_band import ViewCoveringItem
from harlab.gui.paint_guard import never_raises
from harlab.gui.palette import PlotColors

UNIT_TEXT = {"m/s^2": "m/s²", "deg/s": "°/s", "rad/s": "rad/s", "bpm": "bpm", "g": "g"}
SHORT_NAME = {
    "accelerometer": "accel",
    "gyroscope": "gyro",
    "heart_rate": "heart rate",
    "magnetometer": "mag",
}
LEFT_AXIS_WIDTH = 78
MIN_TRACE_HEIGHT = 100  #: px a multi-channel trace keeps however many rows there are
BINS_PER_PIXEL = 1.0  #: min/max bins fetched per pixel column of the view


def unit_text(u: str) -> str:
    return UNIT_TEXT.get(u, u)


def cache_axes(plot: pg.PlotItem) -> None:
    """Keep each axis (ticks, tick labels, grid lines) as a pixmap between changes.

    pyqtgraph replays an axis' recorded QPicture, text layout included, on every repaint
    (several ms per axis); a cached axis is one blit until its range or style changes."""
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def strokes(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Interleaved (bottom, top) of one vertical stroke per min/max bin, drawn as separate
    line segments (``connect="pairs"``).

    Each stroke is stretched to meet its left neighbour (the signal passed through every
    value between the two bins), so the strokes join without gaps and without the diagonal
    connecting lines a polyline through lo/hi would add: half the pixels to fill, same picture."""
    lo = np.asarray(lo, dtype=np.float32)
    hi = np.asarray(hi, dtype=np.float32)
    bottom, top = lo.copy(), hi.copy()
    if len(lo) > 1:
        with np.errstate(invalid="ignore"):
            np.minimum(bottom[1:], hi[:-1], out=bottom[1:], where=np.isfinite(hi[:-1]))
            np.maximum(top[1:], lo[:-1], out=top[1:], where=np.isfinite(lo[:-1]))
    out = np.empty(2 * len(lo), dtype=np.float32)
    out[0::2] = bottom
    out[1::2] = top
    return out


class YGrid(ViewCoveringItem):
    """Horizontal lines at the left axis' tick values across the view (the grid of a trace).

    Not cached: a handful of lines costs less to draw than a plot-sized pixmap costs to fill
    and to blend."""

    def __init__(self, axis: pg.AxisItem) -> None:
        super().__init__()
        self.axis = axis
        self.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        self.setZValue(-5)  # over the label shades (-10), under the curves (0)
        self.color = QColor("#808080")
        self.alpha = 0.2
        self._drawn: tuple[tuple, list[tuple[QPen, list[QLineF]]]] | None = None

    def set_color(self, color: str, alpha: float) -> None:
        self.color = QColor(color)
        self.alpha = max(0.0, min(1.0, alpha))
        self.update()

    def levels(self) -> list[tuple[float, list[float]]]:
        """(opacity, y values in view) per tick level, as pyqtgraph's own grid weighs them:
        finer levels fainter, and a level fainter the more lines it has (tests, painting)."""
        r = self._br
        lo, hi = sorted((r.top(), r.bottom()))
        h = float(self.axis.height() or 100.0)
        out = []
        for i, (_spacing, vals) in enumerate(self.axis.tickValues(lo, hi, h)):
            shown = [float(v) for v in vals if lo <= v <= hi]
            fade = min(1.0, max(0.0, 0.05 * h / (len(vals) + 1)))
            if shown and fade > 0:
                out.append((self.alpha / (i + 1) * fade, shown))
        return out

    def _lines(self) -> list[tuple[QPen, list[QLineF]]]:
        """What to draw, kept until the view, the axis size or the colour change: a frame that
        only moves the time range redraws the same lines, each level in one call."""
        r = self._br
        key = (r.left(), r.right(), r.top(), r.bottom(), self.axis.height(), self.color.rgba(), self.alpha)
        if self._drawn is None or self._drawn[0] != key:
            out = []
            for opacity, ys in self.levels():
                if opacity < 0.01:
                    continue  # invisible
                c = QColor(self.color)
                c.setAlphaF(opacity)
                pen = QPen(c, 1)
                pen.setCosmetic(True)
                out.append((pen, [QLineF(r.left(), y, r.right(), y) for y in ys]))
            self._drawn = (key, out)
        return self._drawn[1]

    @never_raises
    def paint(self, p: QPainter, *args: object) -> None:
        for pen, lines in self._lines():
            p.setPen(pen)
            p.drawLines(lines)


class TraceViewBox(pg.ViewBox):
    """x-only pan and zoom; a click sets the cursor; Shift+drag selects a span."""

    clicked = Signal(float)
    span_dragged = Signal(float, float, bool)  #: t0, t1, finished

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        # the timeline sets x and autoscale_y sets y; pyqtgraph's own auto-range would fit x
        # to whatever data arrived first and drag every linked plot with it
        self.disableAutoRange()

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(float(self.mapToView(ev.pos()).x()))
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            a = float(self.mapToView(ev.buttonDownPos()).x())
            b = float(self.mapToView(ev.pos()).x())
            self.span_dragged.emit(min(a, b), max(a, b), bool(ev.isFinish()))
            return
        super().mouseDragEvent(ev, axis)


class StreamPlot:
    """The plot of one stream, its channel curves and the envelope it shows."""

    def __init__(self, stream: Stream, colors: PlotColors, axis_items: dict | None = None) -> None:
        self.stream = stream
        self.vb = TraceViewBox()
        self.plot = pg.PlotItem(viewBox=self.vb, axisItems=axis_items or {})
        self.plot.hideButtons()
        self.plot.setClipToView(False)
        left = self.plot.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        # the units in the title are SI already (rad/s, m/s², bpm): pyqtgraph would otherwise
        # rescale a small range to "(×0.001)" with ticks of ±300
        left.enableAutoSIPrefix(False)
        cache_axes(self.plot)
        self.grid = YGrid(left)
        self.plot.addItem(self.grid, ignoreBounds=True)
        self.channels = list(stream.channels)
        self.has_magnitude = len(self.channels) == 3 and stream.kind in (
            "accelerometer",
            "gyroscope",
            "magnetometer",
        )
        n = len(self.channels) + (1 if self.has_magnitude else 0)
        self.curves = [pg.PlotCurveItem(skipFiniteCheck=True) for _ in range(n)]
        self.shown = [True] * len(self.channels) + ([False] if self.has_magnitude else [])
        for c, shown in zip(self.curves, self.shown, strict=True):
            # a pixmap per curve: repaints that do not change it (cursor, readout, an expose,
            # another plot's update) are blits, not ~3000 strokes
            c.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            c.setVisible(shown)
            self.plot.addItem(c)
        self.auto_y = True
        self.fetched: tuple[float, float, float] | None = None  #: (t0, t1, bins per second)
        self.envelope: Envelope | None = None
        self._x = np.zeros(0)
        self._ys: list[np.ndarray] = []
        self._finite: list[bool] = []
        self._connect = "all"
        self._drawn_span: tuple[float, float] | None = None
        self.error = ""
        self.set_colors(colors)

    # -- appearance --------------------------------------------------------------
    @property
    def title(self) -> str:
        return SHORT_NAME.get(self.stream.kind, self.stream.name)

    def channel_names(self) -> list[str]:
        return self.channels + (["|xyz|"] if self.has_magnitude else [])

    def set_colors(self, colors: PlotColors) -> None:
        self.colors = colors
        for i, c in enumerate(self.curves):
            c.setPen(pg.mkPen(colors.channel[i % len(colors.channel)], width=1))
        for name in ("left", "bottom"):
            ax = self.plot.getAxis(name)
            ax.setPen(pg.mkPen(colors.foreground))
            ax.setTextPen(pg.mkPen(colors.foreground))
        # horizontal grid only: vertical lines repeat the time ticks and cost a full-height
        # blended line each per repaint
        self.grid.set_color(colors.foreground, colors.grid_alpha)
        self._update_label()

    def _update_label(self) -> None:
        units = sorted({unit_text(u) for u in self.stream.units if u})
        unit = f" ({', '.join(units)})" if units else ""
        if len(self.channels) > 1:
            parts = []
            for i, name in enumerate(self.channel_names()):
                if not self.shown[i]:
                    continue
                col = self.colors.channel[i % len(self.colors.channel)]
                parts.append(f'<span style="color:{col}">{html.escape(name)}</span>')
            chans = " ".join(parts)
            text = f"{html.escape(self.title)}{unit}<br>{chans}"
        else:  # the unit on a line of its own: "heart rate (bpm)" in one line needs ~110 px of height
            text = f"{html.escape(self.title)}<br>{unit.strip()}" if unit else html.escape(self.title)
        self.plot.getAxis("left").setLabel(text, color=self.colors.foreground)

    def title_length(self) -> float:
        """Length in px of the (rotated) axis title: the row must be at least this tall,
        or the title runs into the next row's."""
        return float(self.plot.getAxis("left").label.boundingRect().width())

    def set_channel_visible(self, index: int, visible: bool) -> None:
        self.shown[index] = visible
        self.curves[index].setVisible(visible)
        self._update_label()
        self.autoscale_y(force=True)

    # -- data --------------------------------------------------------------------
    def pixel_width(self) -> int:
        return max(100, int(self.vb.width()) or 800)

    def needed(self, v0: float, v1: float) -> tuple[float, float, int] | None:
        """The request to make for view [v0, v1], or None if what is drawn suffices.

        One min/max bin per pixel column (each drawn as a vertical stroke, so a spike of one
        sample still shows), over the view plus half a view each side, so pans of up to
        half a view and zooming out by two need no new read."""
        width = v1 - v0
        if width <= 0 or not math.isfinite(width):
            return None
        want = BINS_PER_PIXEL * self.pixel_width() / width  # bins per second
        if self.fetched is not None:
            f0, f1, have = self.fetched
            raw = self.envelope is not None and self.envelope.samples_per_bin == 1
            covers = f0 <= v0 and v1 <= f1
            if covers and (raw or want <= have <= 2.5 * want):
                return None
        t0, t1 = v0 - width / 2, v1 + width / 2
        return t0, t1, int(math.ceil(want * (t1 - t0)))

    def mark_requested(self, t0: float, t1: float, bins: int) -> None:
        self.fetched = (t0, t1, bins / (t1 - t0))

    def apply(self, env: Envelope | None, error: str = "") -> None:
        """Show a newly read envelope (trimmed to the visible range)."""
        self.error = error
        if env is None:
            return
        self.envelope = env
        raw = env.samples_per_bin == 1
        self._x = env.time if raw else np.repeat(env.time, 2)
        ys: list[np.ndarray] = []
        for i in range(len(self.channels)):
            if raw:
                ys.append(np.ascontiguousarray(env.lo[:, i]))
            else:
                ys.append(strokes(env.lo[:, i], env.hi[:, i]))
        if self.has_magnitude:
            lo, hi = env.lo[:, :3].astype(np.float64), env.hi[:, :3].astype(np.float64)
            top = np.sqrt(np.maximum(lo * lo, hi * hi).sum(axis=1))
            if raw:
                ys.append(top)
            else:
                near = np.where((lo < 0) & (hi > 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
                ys.append(strokes(np.sqrt((near * near).sum(axis=1)), top))
        self._ys = ys
        self._finite = [bool(np.isfinite(y).all()) for y in ys]
        self._connect = "all" if raw else "pairs"
        for curve in self.curves:
            # separate strokes: drawLines, not a path (pyqtgraph picks a path for thin pens)
            curve.setSegmentedLineMode("auto" if raw else "on")
        self._drawn_span = None
        v0, v1 = self.vb.viewRange()[0]
        self.show_range(v0, v1)
        self.autoscale_y()

    def show_range(self, v0: float, v1: float) -> None:
        """Give the curves only the points of [v0, v1] plus a quarter view each side.

        Points off screen still cost a path element each; trimming keeps a curve near one
        stroke per pixel column whatever was fetched. A pan inside the margin changes nothing."""
        if self.envelope is None or not len(self._x):
            return
        span = self._drawn_span
        width = v1 - v0
        if span is not None and span[0] <= v0 and v1 <= span[1] and (span[1] - span[0]) <= 3 * width:
            return
        a, b = v0 - width / 4, v1 + width / 4
        i0 = max(0, int(np.searchsorted(self._x, a, side="left")) - 2)
        i1 = min(len(self._x), int(np.searchsorted(self._x, b, side="right")) + 2)
        i0 -= i0 % 2  # keep lo/hi pairs together
        x = self._x[i0:i1]
        self._drawn_span = (
            float(self._x[i0]) if i0 > 0 else -math.inf,
            float(self._x[i1 - 1]) if i1 < len(self._x) else math.inf,
        )
        for curve, y, finite in zip(self.curves, self._ys, self._finite, strict=False):
            if self._connect == "pairs":
                curve.setData(x, y[i0:i1], connect="pairs", skipFiniteCheck=finite)
            else:
                curve.setData(x, y[i0:i1], connect="all" if finite else "finite", skipFiniteCheck=finite)

    def autoscale_y(self, force: bool = False) -> None:
        """Fit the y-range to the visible data, keeping it while the data still fits well.

        The range (and with it the axis ticks, which are costly to lay out) changes only when
        the data leaves it or fills less than half of it, so panning does not make the axis
        jitter and repaint."""
        env = self.envelope
        if not self.auto_y or env is None or not len(env.time):
            return
        v0, v1 = self.vb.viewRange()[0]
        i0 = max(0, int(np.searchsorted(env.time, v0)) - 1)
        i1 = int(np.searchsorted(env.time, v1)) + 1
        cols = [i for i in range(len(self.channels)) if self.shown[i]]
        if not cols or i1 <= i0:
            return
        lo = env.lo[i0:i1, cols]
        hi = env.hi[i0:i1, cols]
        if not lo.size:
            return
        with np.errstate(all="ignore"):
            a, b = float(np.nanmin(lo)), float(np.nanmax(hi))
        if self.has_magnitude and self.shown[-1]:
            b = max(b, float(np.sqrt(np.maximum(lo**2, hi**2).sum(axis=1)).max()) if len(cols) == 3 else b)
        if not (math.isfinite(a) and math.isfinite(b)):
            return
        if b - a < 1e-9:
            a, b = a - 0.5, b + 0.5
        c0, c1 = self.vb.viewRange()[1]
        if not force and c0 <= a and b <= c1 and (b - a) >= 0.5 * (c1 - c0):
            return
        pad = 0.06 * (b - a)
        self.vb.setYRange(a - pad, b + pad, padding=0)

    def values_at(self, t: float) -> np.ndarray | None:
        """The sample nearest ``t`` (within two sample periods), for the readout."""
        half = 2.0 / self.stream.rate_hz if self.stream.rate_hz else 5.0
        times, values = self.stream.data.read(t - half, t + half)
        if not len(times):
            return None
        return values[int(np.argmin(np.abs(times - t)))]
