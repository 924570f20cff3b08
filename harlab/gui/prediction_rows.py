"""Prediction tracks in the timeline: predicted segments, a confidence strip, a heatmap.

One :class:`PredictionRow` per prediction track sits under the label bands: the
smoothed segments as a hatched, paler band (a prediction must never look like a label a
person made) above a strip of the top-class probability (0..1) of each window. On demand
a second row shows every class' probability as a heatmap. All three draw only what is
visible, one value per pixel column (:func:`~harlab.gui.prediction_view.column_values`),
so a day of one-second windows costs what a screen of them costs. The row's name stands
beside its band, like a label track's; the heatmap carries its colour scale
(:class:`HeatmapLegend`) and is as tall as its class names need.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from harlab.core.labels import LabelSchema
from harlab.core.predictions import PredictionTrack
from harlab.gui.label_band import LabelBandItem, ViewCoveringItem
from harlab.gui.paint_guard import never_raises
from harlab.gui.prediction_view import column_values, display_track, own_intervals
from harlab.gui.row_title import RowTitle
from harlab.gui.traces import LEFT_AXIS_WIDTH, cache_axes

ROW_HEIGHT = 58  #: band (upper half) + confidence strip (lower half)
HEAT_CLASS_HEIGHT = 14  #: px per class row of the heatmap (a class name's height)
HEAT_HEIGHT = (48, 224)  #: the heatmap's least and most height in px
BAND_Y = (1.1, 1.95)
CONFIDENCE_COLOR = "#5b8fc7"
NAME_COLUMN_MAX = 132  #: widest the rows' name column grows for heatmap class names, in px
NAME_PAD = 12  #: room beside a heatmap class name for the tick and the axis line


def heat_name_width(names: list[str], font: QFont | None = None) -> float:
    """The name column's width that shows every class name of a heatmap whole."""
    metrics = QFontMetricsF(font or QFont())
    return max((metrics.horizontalAdvance(n) for n in names), default=0.0) + NAME_PAD


class ClassNameAxis(pg.AxisItem):
    """The heatmap's class names; hovering one shows it whole as a tooltip (a name longer than
    the column is shortened with "…")."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("left")
        self.names = names

    def name_at(self, scene_pos: QPointF) -> str | None:
        """The class whose heatmap row is at ``scene_pos`` (its height)."""
        view = self.linkedView()
        if view is None:
            return None
        i = int(np.floor(view.mapSceneToView(scene_pos).y()))
        return self.names[i] if 0 <= i < len(self.names) else None

    def hoverEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        name = None if ev.isExit() else self.name_at(ev.scenePos())
        self.setToolTip(name or "")


def _visible_columns(item: pg.GraphicsObject, p: QPainter) -> tuple[float, float, int, float, float] | None:
    """(v0, v1, columns, sx, dx) for painting ``item`` one value per device pixel column."""
    vr = item.viewRect()
    if vr is None or vr.width() <= 0:
        return None
    tr = p.transform()
    sx, dx = tr.m11(), tr.dx()
    ncols = max(1, min(4000, int(round(abs(sx) * vr.width()))))
    return vr.left(), vr.right(), ncols, sx, dx


class ConfidenceItem(ViewCoveringItem):
    """The top-class probability of each window as a filled step curve between y = 0 and 1.

    Zoomed out, a pixel column shows the *least* confident window in it, so a single doubtful
    second still shows in a day-long view."""

    def __init__(self, pred: PredictionTrack, color: str = "#4c72b0") -> None:
        super().__init__()
        self.pred = pred
        self._a, self._b = own_intervals(pred)
        self._conf = pred.confidence.astype(np.float32)
        self.color = QColor(color)
        self.last_columns = 0  #: columns with a value in the last paint (tests)

    def set_color(self, color: str) -> None:
        self.color = QColor(color)
        self.update()

    @never_raises
    def paint(self, p: QPainter, *args: object) -> None:
        vis = _visible_columns(self, p)
        if vis is None or not len(self.pred):
            return
        v0, v1, ncols, sx, dx = vis
        vals = column_values(self._a, self._b, self._conf, v0, v1, ncols, how="min")[:, 0]
        ok = np.isfinite(vals)
        self.last_columns = int(ok.sum())
        if not ok.any():
            return
        tr = p.transform()
        sy, dy = tr.m22(), tr.dy()
        x_edges = (v0 + np.arange(ncols + 1) * (v1 - v0) / ncols) * sx + dx
        y0 = dy  # y = 0 in device pixels
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        fill = QColor(self.color)
        fill.setAlpha(110)
        p.setBrush(fill)
        p.setPen(QPen(self.color, 1))
        d = np.diff(np.r_[0, ok.astype(np.int8), 0])
        for i, j in zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True):
            ys = vals[i:j] * sy + dy
            xs = np.empty(2 * (j - i) + 2)
            yy = np.empty_like(xs)
            xs[1:-1:2], xs[2:-1:2] = x_edges[i:j], x_edges[i + 1 : j + 1]
            yy[1:-1:2], yy[2:-1:2] = ys, ys
            xs[0], xs[-1], yy[0], yy[-1] = x_edges[i], x_edges[j], y0, y0
            p.drawPolygon(pg.functions.arrayToQPolygonF(xs, yy))
        p.restore()


def _lut(name: str = "viridis") -> np.ndarray:
    cmap = pg.colormap.get(name)
    return cmap.getLookupTable(0.0, 1.0, 256, alpha=True).astype(np.uint8)


class HeatmapItem(ViewCoveringItem):
    """Every class' probability per pixel column (mean over the windows in it), class k in
    the row y = k..k+1; no windows, no colour."""

    def __init__(self, pred: PredictionTrack) -> None:
        super().__init__()
        self.pred = pred
        self._a, self._b = own_intervals(pred)
        self._lut = _lut()
        self.last_shape: tuple[int, int] = (0, 0)  #: (classes, columns) of the last image (tests)

    @never_raises
    def paint(self, p: QPainter, *args: object) -> None:
        vis = _visible_columns(self, p)
        if vis is None or not len(self.pred):
            return
        v0, v1, ncols, _sx, _dx = vis
        vals = column_values(self._a, self._b, self.pred.probabilities, v0, v1, ncols, how="mean")
        k = vals.shape[1]
        idx = np.clip(np.nan_to_num(vals, nan=0.0) * 255, 0, 255).astype(np.uint8)
        rgba = self._lut[idx]  # (ncols, k, 4)
        rgba[~np.isfinite(vals)] = 0
        # image row k is drawn over y = k..k+1 (the view's y axis points up, so class 0 is the bottom row)
        img = np.ascontiguousarray(rgba.transpose(1, 0, 2))
        qimg = QImage(img.data, ncols, k, 4 * ncols, QImage.Format.Format_RGBA8888)
        self.last_shape = (k, ncols)
        p.drawImage(QRectF(v0, 0.0, v1 - v0, float(k)), qimg)


class HeatmapLegend(QGraphicsItem):
    """The heatmap's colour scale: "probability 0 [viridis bar] 1" in the top right corner
    of the heatmap (in pixels, a child of its view box), so a colour reads as a number."""

    BAR = (64.0, 9.0)  #: width, height of the colour bar in px

    def __init__(self, lut: np.ndarray, parent: pg.ViewBox) -> None:
        super().__init__(parent)
        self.vb = parent
        self.setZValue(40)
        self.lut = lut
        self.font = QFont()
        self.font.setPointSizeF(7.5)
        self.fg, self.bg = QColor("black"), QColor("white")
        self.setToolTip("Heatmap colour: the class' probability in each window (mean over a pixel column)")
        parent.sigResized.connect(self.place)

    def set_colors(self, fg: str, bg: str) -> None:
        self.fg, self.bg = QColor(fg), QColor(bg)
        self.update()

    def _parts(self) -> tuple[QRectF, QRectF, QFontMetricsF]:
        m = QFontMetricsF(self.font)
        w = m.horizontalAdvance("probability 0 ") + self.BAR[0] + m.horizontalAdvance(" 1") + 8
        h = max(m.height(), self.BAR[1]) + 4
        outer = QRectF(0, 0, w, h)
        bar = QRectF(4 + m.horizontalAdvance("probability 0 "), (h - self.BAR[1]) / 2, *self.BAR)
        return outer, bar, m

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._parts()[0]

    def place(self, *args: object) -> None:
        self.setPos(self.vb.width() - self.boundingRect().width() - 2, 2)

    @never_raises
    def paint(self, p: QPainter, *args: object) -> None:
        outer, bar, m = self._parts()
        bg = QColor(self.bg)
        bg.setAlpha(225)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRect(outer)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(0, 256, 32):
            grad.setColorAt(i / 255, QColor(*[int(c) for c in self.lut[i]]))
        grad.setColorAt(1.0, QColor(*[int(c) for c in self.lut[255]]))
        p.setBrush(grad)
        p.setPen(QPen(self.fg, 0.5))
        p.drawRect(bar)
        p.setFont(self.font)
        p.setPen(self.fg)
        base = outer.height() / 2 + m.ascent() / 2 - 1
        p.drawText(QPointF(4, base), "probability 0")
        p.drawText(QPointF(bar.right() + m.horizontalAdvance(" "), base), "1")


class PredictionViewBox(pg.ViewBox):
    """x-only pan and zoom; a click selects the predicted segment under it."""

    segment_clicked = Signal(str, int, float)  #: prediction track, display-segment id, time clicked
    background_clicked = Signal(str, float)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        self.disableAutoRange()
        self.band: LabelBandItem | None = None

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() != Qt.MouseButton.LeftButton or self.band is None:
            super().mouseClickEvent(ev)
            return
        ev.accept()
        t = float(self.mapToView(ev.pos()).x())
        here = self.band.track.at(t)
        if here:
            self.segment_clicked.emit(self.name, here[-1].id, t)
        else:
            self.background_clicked.emit(self.name, t)


class PredictionRow:
    """The plot of one prediction track (and its heatmap plot when shown)."""

    def __init__(
        self,
        pred: PredictionTrack,
        schema: LabelSchema,
        colors,
        heatmap: bool = False,
        name_width: float = LEFT_AXIS_WIDTH,
    ) -> None:
        self.pred = pred
        self.track = display_track(pred)
        self.vb = PredictionViewBox(pred.name)
        self.plot = pg.PlotItem(viewBox=self.vb)
        self.plot.hideButtons()
        self.band = LabelBandItem(
            self.track, schema, mode="band", y_span=BAND_Y, outline=colors.selected_outline, hatch=True
        )
        self.vb.band = self.band
        self.confidence = ConfidenceItem(pred, CONFIDENCE_COLOR)
        # the name also sits inside the row, with the model and what the strip shows
        self.title = pg.TextItem(anchor=(1, 0), fill=pg.mkBrush(colors.band_background))
        self.title.setParentItem(self.vb)
        self.vb.sigResized.connect(self._place_title)
        self.plot.addItem(self.band, ignoreBounds=True)
        self.plot.addItem(self.confidence, ignoreBounds=True)
        self.plot.setYRange(0, 2, padding=0)
        self.plot.setFixedHeight(ROW_HEIGHT)
        left = self.plot.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setTicks([[(0.0, "0"), (1.0, "1")], []])
        # the track's name beside its band (upper half; the strip's 0/1 ticks are below)
        self.left_title = RowTitle(left, area=(0.0, 0.5))
        cache_axes(self.plot)
        self.heat_plot: pg.PlotItem | None = None
        self.heatmap: HeatmapItem | None = None
        self.legend: HeatmapLegend | None = None
        if heatmap:
            self.heatmap = HeatmapItem(pred)
            vb = pg.ViewBox()
            vb.setMouseEnabled(x=True, y=False)
            vb.setMenuEnabled(False)
            vb.disableAutoRange()
            self.heat_plot = pg.PlotItem(viewBox=vb, axisItems={"left": ClassNameAxis(list(pred.classes))})
            self.heat_plot.hideButtons()
            self.heat_plot.addItem(self.heatmap, ignoreBounds=True)
            k = len(pred.classes)
            self.heat_plot.setYRange(0, k, padding=0)
            height = int(min(HEAT_HEIGHT[1], max(HEAT_HEIGHT[0], HEAT_CLASS_HEIGHT * k)))
            self.heat_plot.setFixedHeight(height)
            hl = self.heat_plot.getAxis("left")
            hl.setWidth(int(name_width))
            step = max(1, int(np.ceil(HEAT_CLASS_HEIGHT * k / height)))  # no class name over another
            metrics = QFontMetricsF(hl.style.get("tickFont") or QFont())
            room = name_width - NAME_PAD

            def short(name: str) -> str:
                return metrics.elidedText(name, Qt.TextElideMode.ElideRight, room)

            hl.setTicks(
                [[(i + 0.5, short(name)) for i, name in enumerate(pred.classes) if i % step == 0], []]
            )
            cache_axes(self.heat_plot)
            self.legend = HeatmapLegend(_lut(), vb)
        self.set_colors(colors)

    def _place_title(self, *args: object) -> None:
        self.title.setPos(self.vb.width() - 2, self.vb.height() / 2 + 1)

    @property
    def name(self) -> str:
        return self.pred.name

    @property
    def plots(self) -> list[pg.PlotItem]:
        return [self.plot] + ([self.heat_plot] if self.heat_plot is not None else [])

    def set_colors(self, colors) -> None:
        self.band.outline = QColor(colors.selected_outline)
        self.band.shade_over = QColor(colors.band_background)
        self.band.refresh()
        for plot in self.plots:
            for name in ("left", "bottom"):
                ax = plot.getAxis(name)
                ax.setPen(pg.mkPen(colors.foreground))
                ax.setTextPen(pg.mkPen(colors.foreground))
            plot.vb.setBackgroundColor(colors.band_background)
        self.title.fill = pg.mkBrush(colors.band_background)
        if self.legend is not None:
            self.legend.set_colors(colors.foreground, colors.band_background)
        self.left_title.set_title(self.pred.name, colors.foreground)
        model = self.pred.model_name or "model"
        name = html.escape(self.pred.name) + ("" if model == self.pred.name else f" · {html.escape(model)}")
        self.title.setHtml(
            f'<span style="color:{colors.foreground}; font-size:8pt"><i>{name}</i>'
            " · top-class probability</span>"
        )
        self.band.update()

    def segment(self, seg_id: int):
        """The predicted segment shown as display id ``seg_id``."""
        return self.track[seg_id]
