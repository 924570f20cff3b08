"""The timeline: stacked, x-linked stream plots, label bands and the overview bar.

Every view here follows one :class:`~harlab.gui.timehub.TimeHub`. Plots read only
the visible range (plus a margin) through ``StreamData.envelope`` (on a worker
thread, or at once when the last read of that stream was cheap); a new range from the
keyboard, the overview or a script is shown together with its data, in one repaint.
Label bands and prediction rows paint only what is visible. Mouse gestures on a band are
emitted as requests (``create_requested``, ``edge_moved``, ``segment_moved``); the
main window turns them into undoable commands, so this widget never edits a
session itself.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from datetime import datetime

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPixmapCache
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from harlab.core.events import Event
from harlab.core.quality_tracks import nonwear_spans
from harlab.core.session import Session
from harlab.core.streams import Stream
from harlab.gui.annotator_view import describe_track, row_title
from harlab.gui.envelope_worker import EnvelopeFetcher, EnvelopeResult
from harlab.gui.label_band import LabelBandItem, LabelViewBox
from harlab.gui.nonwear_shade import NonwearShade
from harlab.gui.overview import OverviewBar
from harlab.gui.palette import PlotColors
from harlab.gui.prediction_rows import NAME_COLUMN_MAX, PredictionRow, heat_name_width
from harlab.gui.row_title import RowTitle
from harlab.gui.timeaxis import (
    MidnightLines,
    TimeAxisItem,
    day_spans,
    format_duration,
    format_time,
    local_start,
)
from harlab.gui.timehub import TimeHub
from harlab.gui.traces import LEFT_AXIS_WIDTH, MIN_TRACE_HEIGHT, StreamPlot, cache_axes, unit_text
from harlab.labeling.snapping import snap_to_samples

KIND_ORDER = {"accelerometer": 0, "gyroscope": 1, "magnetometer": 2, "heart_rate": 8}
BAND_HEIGHT = 34
AXIS_HEIGHT = 30
RIGHT_MARGIN = 8  #: px right of the plots (the time axis' last label needs room)
MIN_VIEW_S = 0.02
PIXMAP_CACHE_KB = 96 * 1024
DEFER_MS = 120  #: longest wait for a new range's envelopes before the range is shown with the old ones


class BandRow:
    """The plot of one label track."""

    def __init__(self, plot: pg.PlotItem, vb: LabelViewBox, band: LabelBandItem) -> None:
        self.plot, self.vb, self.band = plot, vb, band
        self.title = RowTitle(plot.getAxis("left"))

    @property
    def name(self) -> str:
        return self.band.track.name


class Timeline(QWidget):
    """Signals and label tracks of one session over a shared time axis.

    Every row has a minimum height (a trace at least ``MIN_TRACE_HEIGHT`` and its title's
    length, bands and prediction rows fixed); when the rows do not fit, the rows scroll
    (``scroll``) instead of shrinking. The time axis is a row of its own under the scroll
    area, so neither scrolling nor the overview bar ever hides it."""

    create_requested = Signal(str, float, float)  #: track, t0, t1 (snapped)
    edge_moved = Signal(str, int, str, float)  #: track, id, "start"|"end", new time
    segment_moved = Signal(str, int, float)  #: track, id, dt
    selection_changed = Signal()  #: the selected segments or the active track changed
    updated = Signal()  #: every requested envelope has been drawn
    time_mode_changed = (
        Signal()
    )  #: wall clock / from start toggled, or the session's start or timezone changed

    def __init__(self, colors: PlotColors, threaded: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colors = colors
        self.threaded = threaded
        self.hub = TimeHub(self)
        self.session: Session | None = None
        self.stream_plots: list[StreamPlot] = []
        self.bands: list[BandRow] = []
        self.pred_rows: list[PredictionRow] = []
        self.active_prediction: str | None = None  #: the prediction track review keys work on
        self.selected_prediction: int | None = None  #: display id of the selected predicted segment
        self.show_heatmap = False
        self.name_width: float = LEFT_AXIS_WIDTH  #: the rows' name column (wider for heatmap class names)
        self.shades: list[LabelBandItem] = []
        self.cursor_lines: list[pg.InfiniteLine] = []
        self.day_lines: list[MidnightLines] = []  #: the local midnights, one item per row
        self.regions: list[pg.LinearRegionItem] = []
        self.active_track: str | None = None
        self.hidden_tracks: set[str] = set()  #: label tracks not drawn (label-blind mode)
        self.hide_predictions = False  #: prediction tracks not drawn (label-blind mode)
        #: rows drawn under the label bands (the disagreement strip), asked for at every rebuild
        self.extra_rows: Callable[[Session], list[pg.PlotItem]] = lambda _session: []
        self.extra_plots: list[pg.PlotItem] = []
        self.selected_ids: set[int] = set()
        self.wall_clock = True
        self.new_label: callable = lambda: None  # the class a drag creates (set by the window)
        self.fetcher: EnvelopeFetcher | None = None
        self._start_local: datetime | None = None
        self._syncing = False
        self._asking = False  #: inside _request: answers wait to show a pending range
        self._mouse_t: float | None = None

        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setWordWrap(True)  # a second line rather than a cut-off one (see _show_readout)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.readout.setFont(mono)
        self.span_label = QLabel("")
        self.span_label.setFont(mono)
        self.summary_label = QLabel("")
        self.summary_label.setToolTip(
            "Each drawn point summarises this many samples by their "
            "minimum and maximum, so no spike is hidden"
        )
        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 6, 2)
        top.addWidget(self.readout, 1)
        top.addWidget(self.span_label)
        top.addSpacing(12)
        top.addWidget(self.summary_label)

        # Curves, bands and axes are cached as pixmaps (see traces.cache_axes); Qt's default
        # 10 MB pixmap cache cannot hold one screen's worth, so they would be evicted and
        # re-rendered on every repaint.
        if QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
            QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.ci.layout.setSpacing(0)
        self.glw.ci.setContentsMargins(2, 2, RIGHT_MARGIN, 2)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.glw)
        self.scroll.verticalScrollBar().setSingleStep(BAND_HEIGHT // 2)
        self.scroll.verticalScrollBar().rangeChanged.connect(lambda *_: self._align_axis())
        # the time axis: one plot row with no height of its own (for the rows' left margin)
        # that shows the rows' range; it follows them and never moves them
        self.time_axis = TimeAxisItem(None, self.wall_clock)
        self.axis_view = pg.GraphicsLayoutWidget()
        tick_font = self.time_axis.style.get("tickFont") or self.font()
        self.axis_view.setFixedHeight(
            max(AXIS_HEIGHT, QFontMetrics(tick_font).height() + 16)
        )  # large fonts too
        self.axis_view.ci.setContentsMargins(2, 0, RIGHT_MARGIN, 0)
        self.axis_plot = pg.PlotItem(axisItems={"bottom": self.time_axis})
        self.axis_plot.hideButtons()
        self.axis_plot.vb.setMouseEnabled(x=False, y=False)
        self.axis_plot.vb.setMenuEnabled(False)
        self.axis_plot.vb.disableAutoRange()
        axis_left = self.axis_plot.getAxis("left")
        axis_left.setWidth(LEFT_AXIS_WIDTH)
        axis_left.setStyle(showValues=False, tickLength=0)
        axis_left.setPen(pg.mkPen(None))
        cache_axes(self.axis_plot)
        self.axis_view.addItem(self.axis_plot)
        self.overview = OverviewBar(self.hub, colors)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.axis_view)
        lay.addWidget(self.overview)

        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(0)
        self._fetch_timer.timeout.connect(self._fetch_visible)
        # A range asked for by a key, the overview or a script waits (at most this long) for its
        # envelopes, then range and data are shown together: one repaint instead of two.
        self._pending_range: tuple[float, float] | None = None
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(DEFER_MS)
        self._deadline.timeout.connect(self._apply_pending_range)
        self._label_timer = QTimer(self)
        self._label_timer.setSingleShot(True)
        self._label_timer.setInterval(0)
        self._label_timer.timeout.connect(self.refresh_labels)
        self.hub.range_changed.connect(self._hub_range)
        self.hub.cursor_changed.connect(self._show_cursor)
        self.hub.selection_changed.connect(self._show_selection)
        self.glw.scene().sigMouseMoved.connect(self._mouse_moved)

    # -- building ----------------------------------------------------------------
    @property
    def master(self) -> pg.PlotItem | None:
        if self.stream_plots:
            return self.stream_plots[0].plot
        return self.bands[0].plot if self.bands else None

    def set_session(self, session: Session) -> None:
        """Show ``session`` (replacing whatever was shown)."""
        self.clear()
        self.session = session
        self._start_local = local_start(session.metadata.start_utc, session.metadata.timezone)
        self.fetcher = EnvelopeFetcher(session.streams, threaded=self.threaded, parent=self)
        self.fetcher.result.connect(self._on_result)
        t0, t1 = session.time_bounds()
        if t1 <= t0:
            t1 = t0 + 60.0
        self.hub.bounds = (t0, t1)
        streams = sorted(session.streams.values(), key=lambda s: KIND_ORDER.get(s.kind, 5))
        for s in streams:
            if s.n_samples:
                self._add_stream(s)
        tracks = [t for t in session.label_tracks.values() if t.name not in self.hidden_tracks]
        for track in tracks:
            self._add_band(track)
        if (self.active_track is None or self.active_track in self.hidden_tracks) and tracks:
            self.active_track = tracks[0].name
        for plot in self.extra_rows(session):
            self.glw.addItem(
                plot, row=len(self.stream_plots) + len(self.bands) + len(self.extra_plots), col=0
            )
            self._add_overlays(plot)
            self.extra_plots.append(plot)
        self.name_width = self._name_column_width(session)
        for pred in () if self.hide_predictions else session.prediction_tracks.values():
            self._add_prediction_row(pred)
        if not self.pred_rows:
            self.active_prediction = None
        elif self.active_prediction not in session.prediction_tracks:
            self.active_prediction = self.pred_rows[0].name
        # one time axis under all rows (self.axis_plot), none in the rows
        rows = self._all_plots()
        for plot in [*rows, self.axis_plot, self.overview.plot_item]:  # one name column for all
            plot.getAxis("left").setWidth(int(self.name_width))
        for i, plot in enumerate(rows):
            if i:
                plot.setXLink(rows[0])
            plot.setLimits(xMin=t0 - 0.05 * (t1 - t0), xMax=t1 + 0.05 * (t1 - t0), minXRange=MIN_VIEW_S)
        for plot in rows:
            plot.hideAxis("bottom")
            self._wheel_scrolls_rows(plot)
        self.time_axis.set_start(self._start_local, self.wall_clock)
        self._show_days()
        self._fit_rows()
        if self.master is not None:
            self.master.vb.sigXRangeChanged.connect(self._view_range)
        self._update_shades()
        nonwear = nonwear_spans(session.quality_tracks)
        for sp in self.stream_plots if nonwear is not None and len(nonwear) else ():
            sp.plot.addItem(NonwearShade(nonwear), ignoreBounds=True)
        self.overview.set_session(session, self.track, session.schema)
        self.overview.set_prediction(
            self.prediction_row.track if self.prediction_row else None, session.schema
        )
        session.events.connect(self._on_session_event)
        self.set_colors(self.colors)
        self.hub.set_selection(None)
        self.hub.set_cursor(t0)
        self.set_range(t0, t1)
        self.readout.setMinimumHeight(0)  # one line again, if this session's readout fits in one
        self._show_readout()
        self.time_mode_changed.emit()

    def _fit_rows(self) -> None:
        """Make the plot area at least as tall as its rows' minimum heights: when the
        window is shorter the rows scroll; they never shrink below their minimum."""
        need = self.glw.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height() if self._all_plots() else 0
        self.glw.setMinimumHeight(int(math.ceil(need)) + 2)
        self._align_axis()

    def _align_axis(self) -> None:
        """Keep the time axis as wide as the rows: the rows lose the width of the vertical
        scroll bar when it shows."""
        bar = self.scroll.verticalScrollBar()
        extra = bar.sizeHint().width() if bar.maximum() > 0 else 0
        self.axis_view.ci.setContentsMargins(2, 0, RIGHT_MARGIN + extra, 0)

    def _wheel_scrolls_rows(self, plot: pg.PlotItem) -> None:
        """The wheel over a row's title column scrolls the rows (over the data it zooms time),
        except on a trace in fixed y-scale mode, where it scales y as before."""
        axis = plot.getAxis("left")
        scale_y = axis.wheelEvent

        def wheel(ev) -> None:
            sp = next((s for s in self.stream_plots if s.plot is plot), None)
            if sp is not None and not sp.auto_y:
                scale_y(ev)
                return
            ev.accept()
            bar = self.scroll.verticalScrollBar()
            lines = QApplication.wheelScrollLines() * ev.delta() / 120.0
            bar.setValue(bar.value() - round(lines * bar.singleStep()))

        axis.wheelEvent = wheel

    def row_minimum_heights(self) -> list[tuple[str, pg.PlotItem, float]]:
        """(kind, plot, minimum height in px) of every row, top to bottom (tests, layout)."""
        rows = [("trace", sp.plot, sp.plot.minimumHeight()) for sp in self.stream_plots]
        rows += [("band", b.plot, BAND_HEIGHT) for b in self.bands]
        rows += [("strip", p, p.minimumHeight()) for p in self.extra_plots]
        for r in self.pred_rows:
            rows += [("prediction", p, p.minimumHeight()) for p in r.plots]
        return rows

    def _add_stream(self, stream: Stream) -> None:
        sp = StreamPlot(stream, self.colors)
        sp.vb.clicked.connect(self._trace_clicked)
        sp.vb.span_dragged.connect(self._span_dragged)
        self.glw.addItem(sp.plot, row=len(self.stream_plots), col=0)
        # tall enough for its rotated title (which would otherwise run into the next row's)
        sp.plot.setMinimumHeight(
            max(
                MIN_TRACE_HEIGHT if len(stream.channels) > 1 else MIN_TRACE_HEIGHT * 0.7,
                sp.title_length() + 12,
            )
        )
        if len(stream.channels) == 1:  # heart rate and other single traces need less height
            sp.plot.setMaximumHeight(max(150.0, sp.plot.minimumHeight()))
        self._add_overlays(sp.plot)
        self.stream_plots.append(sp)

    def _add_band(self, track) -> None:
        vb = LabelViewBox()
        plot = pg.PlotItem(viewBox=vb)
        plot.hideButtons()
        band = LabelBandItem(track, self.session.schema, mode="band", outline=self.colors.selected_outline)
        vb.band = band
        vb.snap = self.snap
        vb.new_label = lambda: self.new_label()
        plot.addItem(band, ignoreBounds=True)
        plot.setYRange(0, 1, padding=0)
        cache_axes(plot)
        plot.setFixedHeight(BAND_HEIGHT)
        left = plot.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setStyle(showValues=False, tickLength=0)
        vb.create_requested.connect(self.create_requested)
        vb.edge_moved.connect(self.edge_moved)
        vb.segment_moved.connect(self.segment_moved)
        vb.segment_clicked.connect(self._segment_clicked)
        vb.background_clicked.connect(self._band_background_clicked)
        self.glw.addItem(plot, row=len(self.stream_plots) + len(self.bands), col=0)
        self._add_overlays(plot)
        self.bands.append(BandRow(plot, vb, band))

    def _name_column_width(self, session: Session) -> float:
        """The rows' name column: wide enough for the heatmaps' class names (up to
        NAME_COLUMN_MAX, and at most a ninth of the window's width: the rows keep the room)
        when heatmaps show. The window, not this widget: hidden on the start screen its width is stale."""
        if not self.show_heatmap or not session.prediction_tracks:
            return LEFT_AXIS_WIDTH
        names = [c for p in session.prediction_tracks.values() for c in p.classes]
        room = max(LEFT_AXIS_WIDTH, min(NAME_COLUMN_MAX, self.window().width() / 9))
        return max(LEFT_AXIS_WIDTH, min(room, heat_name_width(names)))

    def _add_prediction_row(self, pred) -> None:
        row = PredictionRow(
            pred, self.session.schema, self.colors, heatmap=self.show_heatmap, name_width=self.name_width
        )
        row.vb.segment_clicked.connect(self._prediction_clicked)
        row.vb.background_clicked.connect(self._prediction_background_clicked)
        first = len(self.stream_plots) + len(self.bands) + len(self.extra_plots) + self._n_pred_plots()
        for i, plot in enumerate(row.plots):
            self.glw.addItem(plot, row=first + i, col=0)
            self._add_overlays(plot)
        self.pred_rows.append(row)

    def _n_pred_plots(self) -> int:
        return sum(len(r.plots) for r in self.pred_rows)

    def _add_overlays(self, plot: pg.PlotItem) -> None:
        days = MidnightLines(self.colors.foreground)
        plot.addItem(days, ignoreBounds=True)
        self.day_lines.append(days)
        line = pg.InfiniteLine(angle=90, movable=False)
        line.setZValue(30)
        plot.addItem(line, ignoreBounds=True)
        self.cursor_lines.append(line)
        region = pg.LinearRegionItem(movable=False)
        region.setZValue(25)
        region.setVisible(False)
        for ln in region.lines:
            ln.setPen(pg.mkPen(None))
        plot.addItem(region, ignoreBounds=True)
        self.regions.append(region)

    def _update_shades(self) -> None:
        for sp, shade in zip(self.stream_plots, self.shades, strict=False):
            sp.plot.removeItem(shade)
        self.shades = []
        track = self.track
        if track is None:
            return
        for sp in self.stream_plots:
            shade = LabelBandItem(track, self.session.schema, mode="shade")
            shade.shade_over = QColor(self.colors.background)
            shade.setZValue(-10)
            sp.plot.addItem(shade, ignoreBounds=True)
            self.shades.append(shade)

    def clear(self) -> None:
        """Forget the shown session and stop the worker thread."""
        if self.session is not None:
            self.session.events.disconnect(self._on_session_event)
        if self.master is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.master.vb.sigXRangeChanged.disconnect(self._view_range)
        if self.fetcher is not None:
            self.fetcher.shutdown()
            self.fetcher.deleteLater()
            self.fetcher = None
        self._pending_range = None
        self._deadline.stop()
        self.glw.clear()
        self.glw.setMinimumHeight(0)
        self.stream_plots, self.bands, self.shades, self.pred_rows = [], [], [], []
        self.extra_plots = []
        self.cursor_lines, self.regions, self.day_lines = [], [], []
        self.session = None
        self.active_track = None
        self.selected_ids = set()
        self.selected_prediction = None

    def shutdown(self) -> None:
        self.clear()

    # -- appearance --------------------------------------------------------------
    def set_colors(self, colors: PlotColors) -> None:
        self.colors = colors
        self.glw.setBackground(colors.background)
        self.axis_view.setBackground(colors.background)
        self.time_axis.setPen(pg.mkPen(colors.foreground))
        self.time_axis.setTextPen(pg.mkPen(colors.foreground))
        for sp in self.stream_plots:
            sp.set_colors(colors)
        for row in self.bands:
            row.band.outline = QColor(colors.selected_outline)
            for name in ("left", "bottom"):
                ax = row.plot.getAxis(name)
                ax.setPen(pg.mkPen(colors.foreground))
                ax.setTextPen(pg.mkPen(colors.foreground))
            row.vb.setBackgroundColor(colors.band_background)
            row.band.update()
        for shade in self.shades:
            shade.shade_over = QColor(colors.background)
            shade.refresh()
        for prow in self.pred_rows:
            prow.set_colors(colors)
        for line in self.cursor_lines:
            line.setPen(pg.mkPen(colors.cursor, width=1))
        for days in self.day_lines:
            days.set_color(colors.foreground)
        for region in self.regions:
            region.setBrush(pg.mkBrush(colors.selection))
        self.overview.set_colors(colors)
        self._update_band_titles()

    def _update_band_titles(self) -> None:
        for row in self.bands:
            active = row.name == self.active_track
            title = row_title(row.band.track)
            row.title.set_title(
                f"▶ {title}" if active else title,
                self.colors.foreground,
                bold=active,
                tooltip=describe_track(row.band.track),
            )

    @property
    def start_local(self) -> datetime | None:
        """The session's start in its own timezone (None: unknown; times show from the start)."""
        return self._start_local

    def set_wall_clock(self, on: bool) -> None:
        self.wall_clock = on
        self.time_axis.set_wall_clock(on)
        self._show_readout()
        self.time_mode_changed.emit()

    def refresh_timezone(self) -> None:
        """Re-read the session's start and timezone (after a metadata edit)."""
        if self.session is not None:
            md = self.session.metadata
            self._start_local = local_start(md.start_utc, md.timezone)
        self.time_axis.set_start(self._start_local, self.wall_clock)
        self._show_days()
        self._show_readout()
        self.time_mode_changed.emit()

    def _show_days(self) -> None:
        """Midnight lines on every row and the overview, in the session's timezone."""
        t0, t1 = self.hub.bounds
        for days in self.day_lines:
            days.set_days(self._start_local, t0, t1)
        self.overview.set_days(self._start_local, t0, t1)

    def days(self) -> list[tuple[float, float, datetime]]:
        """(start, end, local midnight) of each local day the recording touches, in the
        session's timezone; empty when its start (and so its clock) is unknown."""
        if self.session is None or self._start_local is None:
            return []
        return day_spans(self._start_local, *self.hub.bounds)

    def set_auto_y(self, on: bool) -> None:
        for sp in self.stream_plots:
            sp.auto_y = on
            sp.vb.setMouseEnabled(x=True, y=not on)
            sp.autoscale_y(force=True)

    def set_channel_visible(self, stream: str, index: int, visible: bool) -> None:
        for sp in self.stream_plots:
            if sp.stream.name == stream:
                sp.set_channel_visible(index, visible)

    def _all_plots(self) -> list[pg.PlotItem]:
        return (
            [sp.plot for sp in self.stream_plots]
            + [b.plot for b in self.bands]
            + self.extra_plots
            + [p for r in self.pred_rows for p in r.plots]
        )

    # -- labels and selection ----------------------------------------------------
    @property
    def track(self):
        if self.session is None or self.active_track is None:
            return None
        return self.session.label_tracks.get(self.active_track)

    def set_active_track(self, name: str) -> None:
        if self.session is None or name not in self.session.label_tracks or name in self.hidden_tracks:
            return
        if name != self.active_track:
            self.active_track = name
            self.selected_ids = set()
            self._update_shades()
            self.overview.set_track(self.track, self.session.schema)
            self._update_band_titles()
            self.refresh_labels()
            self.selection_changed.emit()

    def select(self, ids: set[int] | list[int], track: str | None = None) -> None:
        if track is not None:
            self.set_active_track(track)
        tr = self.track
        self.selected_ids = {i for i in ids if tr is not None and i in tr}
        self.refresh_labels()
        self.selection_changed.emit()

    def selected_segments(self) -> list:
        tr = self.track
        if tr is None:
            return []
        return sorted((tr[i] for i in self.selected_ids if i in tr), key=lambda s: s.start)

    def _segment_clicked(self, track: str, sid: int, modifiers) -> None:
        self.set_active_track(track)
        ids = set(self.selected_ids) ^ {sid} if modifiers & Qt.KeyboardModifier.ControlModifier else {sid}
        self.select(ids)

    def _band_background_clicked(self, track: str, t: float) -> None:
        self.set_active_track(track)
        self.select(set())
        self.hub.set_cursor(t)

    # -- predictions ---------------------------------------------------------------
    @property
    def prediction_row(self) -> PredictionRow | None:
        """The row of the active prediction track (the one review keys and accepting use)."""
        for row in self.pred_rows:
            if row.name == self.active_prediction:
                return row
        return self.pred_rows[0] if self.pred_rows else None

    def set_active_prediction(self, name: str) -> None:
        if name != self.active_prediction and any(r.name == name for r in self.pred_rows):
            self.active_prediction = name
            self.selected_prediction = None
            row = self.prediction_row
            self.overview.set_prediction(row.track if row else None, self.session.schema)
            self.refresh_labels()
            self.selection_changed.emit()

    def select_prediction(self, seg_id: int | None, track: str | None = None) -> None:
        """Select one predicted segment (display id) of ``track`` (default: the active one)."""
        if track is not None:
            self.set_active_prediction(track)
        row = self.prediction_row
        self.selected_prediction = seg_id if row is not None and seg_id in row.track else None
        self.refresh_labels()
        self.selection_changed.emit()

    def selected_predicted_segment(self):
        row = self.prediction_row
        if row is None or self.selected_prediction is None or self.selected_prediction not in row.track:
            return None
        return row.track[self.selected_prediction]

    def _prediction_clicked(self, track: str, seg_id: int, t: float) -> None:
        self.select_prediction(seg_id, track)
        self.hub.set_cursor(t)

    def _prediction_background_clicked(self, track: str, t: float) -> None:
        self.select_prediction(None, track)
        self.hub.set_cursor(t)

    def set_hidden(self, tracks: set[str], predictions: bool) -> None:
        """Draw every label track but ``tracks``, and no prediction track when ``predictions``
        (label-blind mode); the session is untouched, so showing them again brings all back."""
        if tracks != self.hidden_tracks or predictions != self.hide_predictions:
            self.hidden_tracks, self.hide_predictions = set(tracks), predictions
            self._rebuild()

    def set_extra_rows(self, provider: Callable[[Session], list[pg.PlotItem]]) -> None:
        """Draw the rows ``provider(session)`` makes under the label bands (the disagreement
        strip); asked again at every rebuild."""
        self.extra_rows = provider
        self._rebuild()

    def set_heatmap_visible(self, on: bool) -> None:
        """Show or hide the per-class probability rows (rebuilds the rows)."""
        if on != self.show_heatmap:
            self.show_heatmap = on
            if self.pred_rows:
                self._rebuild()

    def refresh_labels(self) -> None:
        for row in self.bands:
            row.band.selected = self.selected_ids if row.name == self.active_track else set()
            row.band.refresh()
            row.title.setToolTip(describe_track(row.band.track))  # its "modified" moves with edits
        for shade in self.shades:
            shade.refresh()
        for prow in self.pred_rows:
            prow.band.selected = (
                {self.selected_prediction}
                if prow.name == self.active_prediction and self.selected_prediction is not None
                else set()
            )
            prow.band.refresh()
        self.overview.refresh_labels()

    def _on_session_event(self, event: Event) -> None:
        if event.kind in (
            "label_track_added",
            "label_track_removed",
            "prediction_track_added",
            "prediction_track_removed",
            "quality_track_changed",
        ):
            QTimer.singleShot(0, self._rebuild)
            return
        if event.kind.startswith(("segments_", "class_")) or event.kind == "schema_changed":
            if event.kind == "segments_removed":
                tr = self.track
                self.selected_ids = {i for i in self.selected_ids if tr is not None and i in tr}
            self._label_timer.start()

    def _rebuild(self) -> None:
        if self.session is None:
            return
        session, rng, cursor, active = self.session, self.hub.range, self.hub.cursor, self.active_track
        pred, sel = self.active_prediction, self.selected_prediction
        self.set_session(session)
        if active in session.label_tracks:
            self.set_active_track(active)
        if pred in session.prediction_tracks:
            self.active_prediction = pred
            self.select_prediction(sel)
        self.set_range(*rng)
        self.hub.set_cursor(cursor)

    # -- time --------------------------------------------------------------------
    def snap(self, t: float) -> float:
        """``t`` moved to the nearest sample of the first stream (when one is near)."""
        if not self.stream_plots:
            return t
        return float(snap_to_samples(t, self.stream_plots[0].stream))

    def set_range(self, t0: float, t1: float) -> None:
        self.hub.set_range(t0, t1)
        self._hub_range(*self.hub.range)

    def view_range(self) -> tuple[float, float]:
        if self.master is None:
            return self.hub.range
        a, b = self.master.vb.viewRange()[0]
        return float(a), float(b)

    def _hub_range(self, t0: float, t1: float) -> None:
        """The hub's range changed (keys, overview, scripts): show it with its data.

        When the drawn envelopes do not serve the new range, the envelopes are requested
        first and the range is applied when they arrive (or after ``DEFER_MS``), so the
        plots repaint once, at the new range with the new data, instead of once with the
        old data and again when the new data lands."""
        if self._syncing or self.master is None:
            return
        if self._pending_range == (t0, t1):
            return
        a, b = self.view_range()
        if abs(a - t0) <= 1e-9 and abs(b - t1) <= 1e-9:
            self._pending_range = None
            self._fetch_timer.start()
            return
        if self.threaded:
            self._pending_range = (t0, t1)  # before asking: a cheap read may answer at once
            asked = self._request(t0, t1)
            if self._pending_range != (t0, t1):
                return  # answered (range and data shown) while asking
            if asked and self.fetcher is not None and self.fetcher.busy:
                if not self._deadline.isActive():
                    self._deadline.start()
                return
        self._pending_range = None
        self._apply_range(t0, t1)

    def _apply_range(self, t0: float, t1: float) -> None:
        self._syncing = True
        try:
            self.master.setXRange(t0, t1, padding=0)
        finally:
            self._syncing = False
        for sp in self.stream_plots:
            sp.show_range(t0, t1)
            if self.fetcher is None or not self.fetcher.is_waiting(sp.stream.name):
                sp.autoscale_y()  # before the paint: a later change would draw the curves twice
        self._fetch_timer.start()

    def _apply_pending_range(self) -> None:
        self._deadline.stop()
        if self._pending_range is None or self.master is None:
            self._pending_range = None
            return
        rng, self._pending_range = self._pending_range, None
        if rng == self.hub.range:
            self._apply_range(*rng)

    def _view_range(self, *args: object) -> None:
        a, b = self.view_range()
        self.axis_plot.vb.setXRange(a, b, padding=0)
        if not self._syncing:
            self._pending_range = None  # the mouse moved the view itself
            self._deadline.stop()
            self._syncing = True
            try:
                self.hub.set_range(a, b)
            finally:
                self._syncing = False
            for sp in self.stream_plots:
                sp.show_range(a, b)
        self._fetch_timer.start()

    def _show_cursor(self, t: float) -> None:
        for line in self.cursor_lines:
            line.setValue(t)
        if self._mouse_t is None:
            self._show_readout()

    def _show_selection(self, span) -> None:
        for region in self.regions:
            region.setVisible(span is not None)
            if span is not None:
                region.setRegion(span)
        self.span_label.setText(f"selection {format_duration(span[1] - span[0])}" if span else "")

    def _trace_clicked(self, t: float) -> None:
        self.hub.set_selection(None)
        if self.selected_ids:
            self.select(set())
        self.hub.set_cursor(t)

    def _span_dragged(self, t0: float, t1: float, finished: bool) -> None:
        self.hub.set_selection((self.snap(t0), self.snap(t1)) if finished else (t0, t1))

    # -- readout -----------------------------------------------------------------
    def format_time(self, t: float) -> str:
        return format_time(t, self._start_local, self.wall_clock)

    def _mouse_moved(self, pos) -> None:
        for plot in self._all_plots():
            if plot.vb.sceneBoundingRect().contains(pos):
                self._mouse_t = float(plot.vb.mapSceneToView(pos).x())
                self._show_readout()
                return
        self._mouse_t = None

    def _show_readout(self) -> None:
        t = self._mouse_t if self._mouse_t is not None else self.hub.cursor
        parts = [self.format_time(t)]
        for sp in self.stream_plots:
            v = sp.values_at(t)
            if v is None:
                continue
            unit = unit_text(sp.stream.units[0]) if sp.stream.units else ""
            if len(sp.channels) == 1:  # "heart rate: 97.3 bpm", not "heart rate: heart_rate=97.3 bpm"
                vals = " ".join(f"{float(x):.3g}" for x in v[:1] if math.isfinite(float(x)))
            else:
                vals = " ".join(
                    f"{name}={float(x):.3g}"
                    for name, x in zip(sp.channels, v, strict=False)
                    if math.isfinite(float(x))
                )
            parts.append(f"{sp.title}: {vals} {unit}".rstrip())
        tr = self.track
        if tr is not None:
            here = tr.at(t)
            if here:
                parts.append(f"[{here[-1].label}]")
        # wrap only between parts (non-breaking spaces inside one), and keep the height once
        # it took two lines: a readout that jumps between one and two lines as the mouse
        # moves would move every row with it
        text = "  ".join(p.replace(" ", "\u00a0") for p in parts)
        self.readout.setText(text)
        self.readout.setToolTip("  ".join(parts))
        if not self.readout.isVisible() or self.readout.width() < 200:
            return  # not laid out yet: its width says nothing
        need = self.readout.heightForWidth(self.readout.width())
        if need > self.readout.minimumHeight():
            self.readout.setMinimumHeight(need)

    # -- fetching ----------------------------------------------------------------
    def _request(self, v0: float, v1: float) -> bool:
        """Ask for the envelopes view [v0, v1] needs; True if any was requested."""
        if self.fetcher is None:
            return False
        asked = False
        self._asking = True
        try:
            for sp in self.stream_plots:
                need = sp.needed(v0, v1)
                if need is None:
                    continue
                t0, t1, bins = need
                sp.mark_requested(t0, t1, bins)
                self.fetcher.request(sp.stream.name, t0, t1, bins)
                asked = True
        finally:
            self._asking = False
        return asked

    def _fetch_visible(self) -> None:
        if self.fetcher is None:
            return
        v0, v1 = self.view_range()
        self._request(v0, v1)
        for sp in self.stream_plots:
            if sp.fetched is not None and not self.fetcher.is_waiting(sp.stream.name):
                sp.autoscale_y()
        if self.is_idle():
            self._update_summary()
            self.updated.emit()

    def _on_result(self, results: list[EnvelopeResult]) -> None:
        # not while the streams are still being asked: one answered at once (a cheap read) with
        # the next not yet asked would show the new range over that next stream's old envelope
        if self._pending_range is not None and not self.fetcher.busy and not self._asking:
            self._apply_pending_range()  # the range first: the data below is trimmed to it
        by_key = {res.request.key: res for res in results}
        for sp in self.stream_plots:
            res = by_key.get(sp.stream.name)
            if res is not None:
                sp.apply(res.envelope, res.error)
        if self.is_idle():
            self._update_summary()
            self.updated.emit()

    def is_idle(self) -> bool:
        """No envelope request outstanding, none scheduled and no range waiting to be shown."""
        return (
            self._pending_range is None
            and not self._fetch_timer.isActive()
            and (self.fetcher is None or not self.fetcher.busy)
        )

    def summarised_factor(self) -> int:
        """The largest samples-per-bin among the drawn envelopes (1: raw samples)."""
        f = [sp.envelope.samples_per_bin for sp in self.stream_plots if sp.envelope is not None]
        return max(f) if f else 1

    def _update_summary(self) -> None:
        errors = [f"{sp.stream.name}: {sp.error}" for sp in self.stream_plots if sp.error]
        n = self.summarised_factor()
        if errors:
            text, style = "read error: " + "; ".join(errors), "color: #d62728"
        elif n > 1:
            text, style = f"summarised ×{n} (min/max)", "color: #c06000; font-weight: bold"
        else:
            text, style = "raw samples", ""
        # only on a change: a style sheet restyles and re-lays out the top row, every frame otherwise
        if text != self.summary_label.text():
            self.summary_label.setText(text)
        if style != self.summary_label.styleSheet():
            self.summary_label.setStyleSheet(style)

    def summary_text(self) -> str:
        return self.summary_label.text()


def range_around(t: float, width: float) -> tuple[float, float]:
    return t - width / 2, t + width / 2


__all__ = ["Timeline", "range_around", "QObject"]
