"""One plot row per stream: min/max envelopes of the visible range.

A :class:`StreamPlot` never holds a whole recording: it asks (through the
timeline's :class:`~harlab.gui.envelope_worker.EnvelopeFetcher`) for the
visible range plus a margin, at about two bins per pixel, and draws each bin as a
vertical stroke from its minimum to its maximum (one connected line through
interleaved lo/hi), so a one-sample spike is still visible in a day-long view.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from harlab.core.streams import Envelope, Stream
from harlab.gui.palette import PlotColors

UNIT_TEXT = {"m/s^2": "m/s²", "deg/s": "°/s", "rad/s": "rad/s", "bpm": "bpm", "g": "g"}
SHORT_NAME = {"accelerometer": "accel", "gyroscope": "gyro", "heart_rate": "heart rate",
              "magnetometer": "mag"}
LEFT_AXIS_WIDTH = 78


def unit_text(u: str) -> str:
    return UNIT_TEXT.get(u, u)


class TraceViewBox(pg.ViewBox):
    """x-only pan and zoom; a click sets the cursor; Shift+drag selects a span."""

    clicked = Signal(float)
    span_dragged = Signal(float, float, bool)  #: t0, t1, finished

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(float(self.mapToView(ev.pos()).x()))
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if (ev.button() == Qt.MouseButton.LeftButton
                and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier):
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
        self.plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        self.channels = list(stream.channels)
        self.has_magnitude = len(self.channels) == 3 and stream.kind in (
            "accelerometer", "gyroscope", "magnetometer")
        n = len(self.channels) + (1 if self.has_magnitude else 0)
        self.curves = [pg.PlotCurveItem(skipFiniteCheck=True) for _ in range(n)]
        self.shown = [True] * len(self.channels) + ([False] if self.has_magnitude else [])
        for c, shown in zip(self.curves, self.shown, strict=True):
            c.setVisible(shown)
            self.plot.addItem(c)
        self.auto_y = True
        self.fetched: tuple[float, float, float] | None = None  #: (t0, t1, bins per second)
        self.envelope: Envelope | None = None
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
        self.plot.showGrid(x=False, y=True, alpha=colors.grid_alpha)
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
        else:
            text = f"{html.escape(self.title)}{unit}"
        self.plot.getAxis("left").setLabel(text, color=self.colors.foreground)

    def set_channel_visible(self, index: int, visible: bool) -> None:
        self.shown[index] = visible
        self.curves[index].setVisible(visible)
        self._update_label()
        self.autoscale_y()

    # -- data --------------------------------------------------------------------
    def pixel_width(self) -> int:
        return max(100, int(self.vb.width()) or 800)

    def needed(self, v0: float, v1: float) -> tuple[float, float, int] | None:
        """The request to make for view [v0, v1], or None if what is drawn suffices."""
        width = v1 - v0
        if width <= 0 or not math.isfinite(width):
            return None
        want = 2.0 * self.pixel_width() / width  # bins per second
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
        self.error = error
        if env is None:
            return
        self.envelope = env
        n = len(env.time)
        x = env.time if env.samples_per_bin == 1 else np.repeat(env.time, 2)
        for i in range(len(self.channels)):
            if env.samples_per_bin == 1:
                y = env.lo[:, i]
            else:
                y = np.empty(2 * n, dtype=np.float32)
                y[0::2] = env.lo[:, i]
                y[1::2] = env.hi[:, i]
            self._set_curve(self.curves[i], x, y)
        if self.has_magnitude:
            lo, hi = env.lo[:, :3].astype(np.float64), env.hi[:, :3].astype(np.float64)
            top = np.sqrt(np.maximum(lo * lo, hi * hi).sum(axis=1))
            if env.samples_per_bin == 1:
                y = top
            else:
                near = np.where((lo < 0) & (hi > 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
                y = np.empty(2 * n)
                y[0::2] = np.sqrt((near * near).sum(axis=1))
                y[1::2] = top
            self._set_curve(self.curves[-1], x, y)
        self.autoscale_y()

    @staticmethod
    def _set_curve(curve: pg.PlotCurveItem, x: np.ndarray, y: np.ndarray) -> None:
        finite = bool(np.isfinite(y).all())
        curve.setData(x, y, connect="all" if finite else "finite", skipFiniteCheck=finite)

    def autoscale_y(self) -> None:
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
            b = max(b, float(np.sqrt(np.maximum(lo ** 2, hi ** 2).sum(axis=1)).max()) if len(cols) == 3 else b)
        if not (math.isfinite(a) and math.isfinite(b)):
            return
        if b - a < 1e-9:
            a, b = a - 0.5, b + 0.5
        pad = 0.06 * (b - a)
        self.vb.setYRange(a - pad, b + pad, padding=0)

    def values_at(self, t: float) -> np.ndarray | None:
        """The sample nearest ``t`` (within two sample periods), for the readout."""
        half = 2.0 / self.stream.rate_hz if self.stream.rate_hz else 5.0
        times, values = self.stream.data.read(t - half, t + half)
        if not len(times):
            return None
        return values[int(np.argmin(np.abs(times - t)))]
