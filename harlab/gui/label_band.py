"""Label tracks drawn as coloured bands, fast for tens of thousands of segments.

One :class:`LabelBandItem` paints *all* visible segments of a track in a single
``paint`` call straight from the track's sorted arrays (``LabelTrack.arrays``):
a binary search finds the visible slice, segments are mapped to device pixels
and at most one segment per pixel column is drawn, so the cost depends on the
plot's width, never on the number of segments (one graphics item per
annotation is what makes mne-qt-browser slow past 10,000, see its issue #161).

:class:`LabelViewBox` turns mouse gestures on a band into requests (create by
dragging on empty space, select by click, drag an edge, move a segment); the
timeline turns those into undoable commands.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from harlab.core.labels import LabelSchema, LabelTrack
from harlab.gui.paint_guard import never_raises

EDGE_TOLERANCE_PX = 6.0
SHADE_ALPHA = 46  #: how strongly a label tints the traces behind it


def _text_color(bg: QColor) -> QColor:
    """Black or white, whichever reads better on ``bg``."""
    lum = 0.299 * bg.redF() + 0.587 * bg.greenF() + 0.114 * bg.blueF()
    return QColor("#000000") if lum > 0.55 else QColor("#ffffff")


def view_rect_now(item: pg.GraphicsObject, old: QRectF) -> QRectF:
    """The item's view rectangle from its ViewBox's range.

    pyqtgraph announces a new range before it updates the view's transform, so
    ``viewRect()`` is still the old rectangle then; an item whose bounding rectangle is the
    view would keep the old one and Qt would never paint it where the view now is."""
    vb = item.getViewBox()
    if vb is None or not hasattr(vb, "viewRange"):
        vr = item.viewRect()
        new = QRectF(vr) if vr is not None else old
    else:
        (x0, x1), (y0, y1) = vb.viewRange()
        new = QRectF(x0, y0, x1 - x0, y1 - y0)
    if new != old:
        item.prepareGeometryChange()
    return new


class ViewCoveringItem(pg.GraphicsObject):
    """A graphics object that covers its view and repaints when the view changes; painted
    into a device pixmap, so a cursor move or an expose is a blit (label bands, prediction rows)."""

    def __init__(self) -> None:
        super().__init__()
        self._br = QRectF(0, 0, 1, 1)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._br

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        self._br = view_rect_now(self, self._br)
        self.update()

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        super().viewTransformChanged()  # forgets the cached viewRect()
        self.viewRangeChanged()


def label_codes(track: LabelTrack, ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Class of each segment in ``ids`` as small integers, and the names they stand for.

    Computed once per edit of the track (the arrays change then), so painting never looks
    segments up one by one."""
    cached = _CODES.get(track)
    if cached is not None and cached[0] is ids:
        return cached[1], cached[2]
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(track[i].label, len(index)) for i in ids.tolist()), np.int32, len(ids)
    )
    _CODES[track] = (ids, codes, list(index))
    return codes, list(index)


# one code array per track and edit, shared by its band, its shades and the overview strip
_CODES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class LabelBandItem(ViewCoveringItem):
    """Paints the visible segments of one track.

    ``mode`` is ``"band"`` (a label row with names), ``"shade"`` (faint colour
    behind signal traces) or ``"compact"`` (the overview bar's strip). ``hatch`` draws
    lighter, hatched fills with italic names: a model's predictions, which must never be
    mistaken for labels a person made.
    """

    def __init__(
        self,
        track: LabelTrack,
        schema: LabelSchema,
        mode: str = "band",
        y_span: tuple[float, float] = (0.06, 0.94),
        outline: str = "#000000",
        hatch: bool = False,
    ) -> None:
        super().__init__()
        self.hatch = hatch
        self.shade_over: QColor | None = None  #: the background a shade or hatched fill is mixed with
        self.track = track
        self.schema = schema
        self.mode = mode
        self.y_span = y_span
        self.outline = QColor(outline)
        self.selected: set[int] = set()
        self.ghost: tuple[float, float] | None = None  #: preview of a span being dragged
        self.ghost_label: str | None = None
        self._colors: dict[str, QColor] = {}
        self._maxlen_key: object = None
        self._maxlen = 0.0
        self._codes: np.ndarray | None = None
        self._code_names: list[str] = []
        self.font = QFont()
        self.font.setPointSizeF(8.5)
        self.font.setItalic(hatch)
        self._hatch_brush = QBrush(QColor(0, 0, 0, 70), Qt.BrushStyle.BDiagPattern)
        self.last_drawn = 0  #: rectangles drawn by the last paint (tests, benchmark)

    def refresh(self) -> None:
        """Call after the track or schema changed."""
        self._colors.clear()
        self._codes = None
        self.update()

    def color(self, label: str) -> QColor:
        c = self._colors.get(label)
        if c is None:
            c = QColor(self.schema.color(label))
            if self.mode == "shade" and self.shade_over is not None:
                # the faint tint pre-blended over the plot background: an opaque fill is a
                # fraction of the cost of alpha-blending a plot-sized rectangle, same picture
                b, a = self.shade_over, SHADE_ALPHA / 255
                c = QColor.fromRgbF(
                    a * c.redF() + (1 - a) * b.redF(),
                    a * c.greenF() + (1 - a) * b.greenF(),
                    a * c.blueF() + (1 - a) * b.blueF(),
                )
            elif self.mode == "shade":
                c.setAlpha(SHADE_ALPHA)
            elif self.hatch:
                # halfway to the background: paler than labels on light, dimmer on dark
                b = self.shade_over or QColor("#ffffff")
                c = QColor.fromRgbF(
                    0.5 * (c.redF() + b.redF()),
                    0.5 * (c.greenF() + b.greenF()),
                    0.5 * (c.blueF() + b.blueF()),
                )
            self._colors[label] = c
        return c

    # -- queries -----------------------------------------------------------------
    def visible_slice(self, t0: float, t1: float, with_codes: bool = False) -> tuple[np.ndarray, ...]:
        """Sorted starts, ends and ids (and class codes into ``_code_names`` when asked) of
        the segments intersecting [t0, t1]."""
        starts, ends, ids = self.track.arrays()
        if self._maxlen_key is not starts:
            self._maxlen_key = starts
            self._maxlen = float((ends - starts).max()) if len(starts) else 0.0
            self._codes = None
        if with_codes and self._codes is None:
            self._codes, self._code_names = label_codes(self.track, ids)
        if not len(starts):
            return (starts, ends, ids, np.zeros(0, np.int32)) if with_codes else (starts, ends, ids)
        lo = int(np.searchsorted(starts, t0 - self._maxlen, side="left"))
        hi = int(np.searchsorted(starts, t1, side="right"))
        s, e, i = starts[lo:hi], ends[lo:hi], ids[lo:hi]
        keep = e >= t0
        if with_codes:
            return s[keep], e[keep], i[keep], self._codes[lo:hi][keep]
        return s[keep], e[keep], i[keep]

    # -- drawing -----------------------------------------------------------------
    @never_raises
    def paint(self, p: QPainter, *args: object) -> None:
        vr = self.viewRect()
        if vr is None or vr.width() <= 0:
            return
        t0, t1 = vr.left(), vr.right()
        tr = p.transform()
        sx, dx = tr.m11(), tr.dx()
        if self.mode == "band" or self.mode == "compact":
            ya, yb = self.y_span
        else:
            ya, yb = vr.top(), vr.bottom()
        py0 = tr.m22() * ya + tr.dy()
        py1 = tr.m22() * yb + tr.dy()
        top, height = min(py0, py1), abs(py1 - py0)
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        starts, ends, ids, codes = self.visible_slice(t0, t1, with_codes=True)
        drawn = 0
        if self.mode == "shade" and len(ids) > max(8.0, abs(sx) * (t1 - t0) / 6):
            ids = ids[:0]  # too dense to read as shading (a grey wash); the band row shows them
        if len(ids):
            x0 = starts * sx + dx
            x1 = ends * sx + dx
            left_px = np.floor(x0)
            # one segment per pixel column: the one reaching furthest of those starting in it,
            # which the drawn rectangle spans. (The first one gave its class to the whole span:
            # a 3 s transition starting in the column of an hour of sitting showed an hour of
            # "transition" when zoomed out.)
            keep = np.ones(len(left_px), bool)
            keep[1:] = left_px[1:] > left_px[:-1]
            first = np.flatnonzero(keep)
            group = np.cumsum(keep) - 1
            reach_col = np.maximum.reduceat(x1, first)
            longest = np.flatnonzero(x1 == reach_col[group])
            pick = longest[np.unique(group[longest], return_index=True)[1]]
            x0, x1, kid, code = x0[first], reach_col, ids[pick], codes[pick]
            x1 = np.maximum(x1, x0 + 1.0)
            # merge runs of touching same-class rectangles (vectorised): fewer, larger fills
            reach = np.maximum.accumulate(x1)
            brk = np.ones(len(x0), bool)
            brk[1:] = (code[1:] != code[:-1]) | (x0[1:] > reach[:-1] + 0.5)
            rs = np.flatnonzero(brk)
            run_a, run_b, run_code = x0[rs], np.maximum.reduceat(x1, rs), code[rs]
            names = self._code_names
            p.setPen(Qt.PenStyle.NoPen)
            for c in np.unique(run_code).tolist():
                sel = run_code == c
                rects = [
                    QRectF(a, top, b - a, height)
                    for a, b in zip(run_a[sel].tolist(), run_b[sel].tolist(), strict=True)
                ]
                p.setBrush(self.color(names[c]))
                p.drawRects(rects)
                if self.hatch:
                    p.setBrush(self._hatch_brush)
                    p.drawRects(rects)
                drawn += len(rects)
            if self.mode == "band":
                wide_sel = (x1 - x0) > 3
                if wide_sel.any():
                    wide = [
                        (sid, QRectF(a, top, b - a, height))
                        for sid, a, b in zip(
                            kid[wide_sel].tolist(), x0[wide_sel].tolist(), x1[wide_sel].tolist(), strict=True
                        )
                    ]
                    self._paint_text_and_edges(p, wide, t0 * sx + dx, t1 * sx + dx)
        if self.mode != "shade":
            self._paint_selection(p, sx, dx, top, height)
            self._paint_ghost(p, sx, dx, top, height)
        p.restore()
        self.last_drawn = drawn

    def _paint_text_and_edges(
        self, p: QPainter, wide: list[tuple[int, QRectF]], vx0: float, vx1: float
    ) -> None:
        edge = QPen(QColor(0, 0, 0, 90))
        edge.setWidth(1)
        p.setFont(self.font)
        fm = QFontMetrics(self.font)
        for sid, r in wide:
            p.setPen(edge)
            p.drawLine(QPointF(r.left(), r.top()), QPointF(r.left(), r.bottom()))
            # the name goes in the visible part, so a segment wider than the view keeps it
            vis = QRectF(max(r.left(), vx0), r.top(), min(r.right(), vx1) - max(r.left(), vx0), r.height())
            if vis.width() > 24:
                label = self.track[sid].label
                text = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(vis.width() - 6))
                if text and text != "…":
                    p.setPen(_text_color(self.color(label)))
                    p.drawText(
                        vis.adjusted(3, 0, -3, 0),
                        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                        text,
                    )

    def _paint_selection(self, p: QPainter, sx: float, dx: float, top: float, height: float) -> None:
        if not self.selected:
            return
        pen = QPen(self.outline)
        pen.setWidth(2)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for sid in self.selected:
            if sid not in self.track:
                continue
            s = self.track[sid]
            a, b = s.start * sx + dx, s.end * sx + dx
            p.drawRect(QRectF(a, top + 1, max(b - a, 2.0), height - 2))

    def _paint_ghost(self, p: QPainter, sx: float, dx: float, top: float, height: float) -> None:
        if self.ghost is None:
            return
        a, b = sorted(self.ghost)
        c = QColor(self.color(self.ghost_label) if self.ghost_label else self.outline)
        c.setAlpha(110)
        pen = QPen(self.outline)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(c)
        xa, xb = a * sx + dx, b * sx + dx
        p.drawRect(QRectF(xa, top, max(xb - xa, 1.0), height))


class LabelViewBox(pg.ViewBox):
    """The view of one label band; turns mouse gestures into edit requests.

    Signals (track name first):
      ``create_requested(track, t0, t1)``: a drag over empty space (times already snapped);
      ``segment_clicked(track, id, modifiers)``; ``background_clicked(track, t)``;
      ``edge_moved(track, id, which, t)`` with which = "start" | "end";
      ``segment_moved(track, id, dt)``.
    """

    create_requested = Signal(str, float, float)
    segment_clicked = Signal(str, int, object)
    background_clicked = Signal(str, float)
    edge_moved = Signal(str, int, str, float)
    segment_moved = Signal(str, int, float)

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        self.disableAutoRange()
        self.band: LabelBandItem | None = None
        self.snap: Callable[[float], float] = lambda t: t
        self.new_label: Callable[[], str | None] = lambda: None
        self._drag: tuple[str, int, float] | None = None  # (mode, id, t at press)

    @property
    def track(self) -> LabelTrack:
        assert self.band is not None
        return self.band.track

    def tolerance(self) -> float:
        return EDGE_TOLERANCE_PX * self.viewPixelSize()[0]

    def hit(self, t: float) -> tuple[str, int] | None:
        """("start"|"end"|"inside", id) for the segment under ``t``; edges win when near."""
        tol = self.tolerance()
        cands = self.track.in_range(t - tol, t + tol)
        if self.band is not None and self.band.selected:
            cands.sort(key=lambda s: s.id not in self.band.selected)  # selected first
        for s in cands:
            if abs(t - s.end) <= tol and (s.end - s.start) > tol:
                return ("end", s.id)
            if abs(t - s.start) <= tol:
                return ("start", s.id)
        for s in reversed(self.track.at(t)):
            return ("inside", s.id)
        return None

    def _t(self, pos: QPointF) -> float:
        return float(self.mapToView(pos).x())

    def hoverEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.isExit() or self.band is None:
            self.unsetCursor()
            return
        h = self.hit(self._t(ev.pos()))
        if h and h[0] in ("start", "end"):
            self.setCursor(Qt.CursorShape.SizeHorCursor)
        elif h:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.setCursor(Qt.CursorShape.IBeamCursor)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton or self.band is None:
            super().mouseClickEvent(ev)
            return
        ev.accept()
        t = self._t(ev.pos())
        h = self.hit(t)
        if h is not None:
            self.segment_clicked.emit(self.track.name, h[1], ev.modifiers())
        else:
            self.background_clicked.emit(self.track.name, t)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton or self.band is None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        band = self.band
        t_press = self._t(ev.buttonDownPos())
        t_now = self._t(ev.pos())
        if ev.isStart():
            h = self.hit(t_press)
            if h is None:
                self._drag = ("create", -1, t_press)
            elif h[0] == "inside":
                self._drag = ("move", h[1], t_press)
            else:
                self._drag = (h[0], h[1], t_press)
            if self._drag[1] > 0:
                band.selected = {self._drag[1]}
        if self._drag is None:
            return
        mode, sid, t_start = self._drag
        if mode == "create":
            a, b = sorted((self.snap(t_start), self.snap(t_now)))
            band.ghost, band.ghost_label = (a, b), self.new_label()
        elif sid in self.track:
            seg = self.track[sid]
            band.ghost_label = seg.label
            if mode == "move":
                dt = self._snap_dt(seg.start, t_now - t_start)
                band.ghost = (seg.start + dt, seg.end + dt)
            elif mode == "start":
                band.ghost = (min(self.snap(t_now), seg.end), seg.end)
            else:
                band.ghost = (seg.start, max(self.snap(t_now), seg.start))
        band.update()
        if ev.isFinish():
            ghost = band.ghost
            band.ghost = None
            band.update()
            self._drag = None
            if ghost is None:
                return
            if mode == "create":
                if ghost[1] > ghost[0]:
                    self.create_requested.emit(self.track.name, ghost[0], ghost[1])
            elif sid in self.track:
                seg = self.track[sid]
                if mode == "move" and ghost[0] != seg.start:
                    self.segment_moved.emit(self.track.name, sid, ghost[0] - seg.start)
                elif mode == "start" and ghost[0] != seg.start:
                    self.edge_moved.emit(self.track.name, sid, "start", ghost[0])
                elif mode == "end" and ghost[1] != seg.end:
                    self.edge_moved.emit(self.track.name, sid, "end", ghost[1])

    def _snap_dt(self, start: float, dt: float) -> float:
        return self.snap(start + dt) - start
