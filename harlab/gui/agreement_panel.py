"""The agreement panel: how far two or more label tracks of the open session agree, and the
start of an adjudication.

The figures are the core's (:func:`harlab.agreement.compare_tracks`: per-sample or per-window
agreement, Cohen's kappa for two tracks, Fleiss' kappa and Krippendorff's alpha for any number,
per-class agreement, the confusion between two annotators, events matched within a
tolerance); this dock only chooses the tracks and shows the numbers. It recomputes when the
labels change, debounced (a drag is one recomputation), on a :class:`BackgroundJob` over a
copy of the tracks taken on the GUI thread, so the session is never read while it changes.

The confusion between two tracks is the train dialog's matrix view
(:class:`~harlab.gui.ml.confusion_view.ConfusionView`): it fits the panel's width with 18 and
more classes (numbered columns, cut row names, every cell's names and count in its tooltip) and
a click opens it large.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from harlab.agreement import DEFAULT_STEP_S, DEFAULT_TOLERANCE_S, SessionAgreement, compare_tracks
from harlab.agreement.reliability import PairAgreement
from harlab.core.events import Event
from harlab.core.labels import LabelTrack
from harlab.core.session import Session
from harlab.gui.annotator_view import row_title
from harlab.gui.background_job import BackgroundJob
from harlab.gui.ml.confusion_view import Axes, ConfusionDialog, ConfusionView

DEBOUNCE_MS = 400  #: labels changing in a burst (a drag, a run of class keys) recompute once
PANEL_WIDTH = 340


def fmt(value: float | None, digits: int = 3) -> str:
    """A statistic as the panel shows it ("—" where the core says it is undefined)."""
    return "—" if value is None else f"{value:.{digits}f}"


def snapshot(track: LabelTrack) -> LabelTrack:
    """A copy of ``track`` for a worker thread (segments are immutable values; the copy's index
    is its own, so edits on the GUI thread meanwhile cannot tear it)."""
    copy = LabelTrack(track.name, track.policy, track.description, annotator=track.annotator)
    copy.add_many(list(track), keep_ids=True)
    return copy


def _table(object_name: str, headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setObjectName(object_name)
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)  # compact: many classes
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)
    return t


#: the per-class table's headers, short to fit the panel's width, each with its full meaning
PER_CLASS_HEADERS = (
    ("Class", "The class (its full name in each cell's tooltip when it is cut short)"),
    (
        "Specific",
        "Specific agreement: of the ratings of this class in each pair of tracks, "
        "the share the other track agrees with",
    ),
    (
        "κ rest",
        'Fleiss\' κ of this class against the rest ("this class or not"), on the units every track labels',
    ),
    ("Ratings", "Ratings of this class: how often a track of a pair gives it, over all pairs"),
)


#: the events table's headers, short for the same reason
EVENT_HEADERS = (
    ("Pair", "The two tracks compared (in full in each cell's tooltip when cut short)"),
    ("Match", "Segments matched as events: both boundaries within the tolerance"),
    ("Rec.", "Recall: the share of the first track's segments the second matches"),
    ("Prec.", "Precision: the share of the second track's segments that match the first's"),
    ("F1", "F1 of recall and precision"),
    ("|Δ| s", "Median distance in seconds between matched boundaries"),
)


def _fit_to_width(table: QTableWidget, headers: tuple[tuple[str, str], ...]) -> None:
    """Headers with tooltips; the first column takes the room the figures leave (cut short
    rather than scrolling sideways: a dock is narrow), the figures' columns their contents."""
    for column, (text, tip) in enumerate(headers):
        item = QTableWidgetItem(text)
        item.setToolTip(tip)
        table.setHorizontalHeaderItem(column, item)
    header = table.horizontalHeader()
    header.setMinimumSectionSize(24)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # walking_up…stairs: both ends tell


def _fill(table: QTableWidget, rows: list[list[str]], row_headers: list[str] | None = None) -> None:
    table.setRowCount(len(rows))
    if row_headers is not None:
        table.verticalHeader().setVisible(True)
        table.setVerticalHeaderLabels(row_headers)
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            item = QTableWidgetItem(text)
            if j:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            else:
                item.setToolTip(text)  # in full where a narrow column cuts it short
            table.setItem(i, j, item)


class AgreementPanel(QDockWidget):
    """A dock: tracks to compare, units and tolerance, the figures, and "Build consensus"."""

    tracks_chosen = Signal(list)  #: the checked track names (compare them on the timeline)
    consensus_requested = Signal(list, str, str)  #: tracks, rule, name of the consensus track
    computed = Signal()  #: new figures are shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Agreement", parent)
        self.setObjectName("agreement_dock")
        self.session: Session | None = None
        self.result: SessionAgreement | None = None
        self._job: BackgroundJob | None = None
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.recompute)

        body = QWidget()
        lay = QVBoxLayout(body)
        self.track_list = QListWidget()
        self.track_list.setObjectName("agreement_tracks")
        self.track_list.setMaximumHeight(110)
        self.track_list.itemChanged.connect(lambda _item: self._choice_changed())
        lay.addWidget(QLabel("Compare these label tracks (two or more):"))
        lay.addWidget(self.track_list)
        form = QFormLayout()
        self.unit = QComboBox()
        self.unit.setObjectName("agreement_unit")
        self.unit.addItem("per sample (every step)", "sample")
        self.unit.addItem("per window (majority label)", "window")
        self.step = QDoubleSpinBox()
        self.step.setObjectName("agreement_step")
        self.step.setRange(0.01, 3600.0)
        self.step.setDecimals(2)
        self.step.setValue(DEFAULT_STEP_S)
        self.step.setSuffix(" s")
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setObjectName("agreement_tolerance")
        self.tolerance.setRange(0.0, 3600.0)
        self.tolerance.setDecimals(2)
        self.tolerance.setValue(DEFAULT_TOLERANCE_S)
        self.tolerance.setSuffix(" s")
        self.tolerance.setToolTip("Two segments match as events when both boundaries lie within this")
        form.addRow("Units", self.unit)
        form.addRow("Step / window", self.step)
        form.addRow("Event tolerance", self.tolerance)
        lay.addLayout(form)
        for w in (self.unit, self.step, self.tolerance):
            signal = w.currentIndexChanged if isinstance(w, QComboBox) else w.valueChanged
            signal.connect(lambda *_: self.schedule())
        self.state = QLabel("Check two or more tracks")
        self.state.setObjectName("agreement_state")
        self.state.setWordWrap(True)
        lay.addWidget(self.state)
        self.summary = _table("agreement_summary", ["Statistic", "Value"])
        lay.addWidget(self.summary)
        lay.addWidget(QLabel("Per class"))
        self.per_class = _table("agreement_per_class", [h for h, _ in PER_CLASS_HEADERS])
        _fit_to_width(self.per_class, PER_CLASS_HEADERS)
        lay.addWidget(self.per_class)
        pair_row = QHBoxLayout()
        pair_row.addWidget(QLabel("Confusion"))
        self.pair = QComboBox()
        self.pair.setObjectName("agreement_pair")
        self.pair.currentIndexChanged.connect(lambda _i: self._show_confusion())
        pair_row.addWidget(self.pair, 1)
        lay.addLayout(pair_row)
        self.confusion = ConfusionView()
        self.confusion.setObjectName("agreement_confusion")
        self.confusion.clicked_to_enlarge.connect(self.show_confusion_dialog)
        self.confusion.setVisible(False)
        self.confusion_dialog: ConfusionDialog | None = None
        lay.addWidget(self.confusion)
        lay.addWidget(QLabel("Events (boundaries within the tolerance)"))
        self.events = _table("agreement_events", [h for h, _ in EVENT_HEADERS])
        _fit_to_width(self.events, EVENT_HEADERS)
        lay.addWidget(self.events)

        box = QGroupBox("Adjudicate")
        bform = QFormLayout(box)
        self.rule = QComboBox()
        self.rule.setObjectName("consensus_rule")
        self.consensus_name = QLineEdit("consensus")
        self.consensus_name.setObjectName("consensus_name")
        self.build_button = QPushButton("Build consensus and walk the to-do list")
        self.build_button.setObjectName("consensus_build")
        self.build_button.clicked.connect(self._build)
        self.progress = QLabel("")
        self.progress.setObjectName("adjudication_progress")
        bform.addRow("Rule", self.rule)
        bform.addRow("New track", self.consensus_name)
        bform.addRow(self.build_button)
        bform.addRow(self.progress)
        lay.addWidget(box)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.setMinimumWidth(PANEL_WIDTH)
        self._fill_rules()

    # -- the session ------------------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        if self.session is not None:
            self.session.events.disconnect(self._on_event)
        self.session = session
        self.result = None
        if session is not None:
            session.events.connect(self._on_event)
        self._fill_tracks([])
        self._show()

    def _on_event(self, event: Event) -> None:
        if event.kind in ("label_track_added", "label_track_removed"):
            QTimer.singleShot(0, lambda: self._fill_tracks(self.chosen()))
        elif event.kind.startswith("segments_") and len(self.chosen()) >= 2:
            self.schedule()

    def _fill_tracks(self, checked: list[str]) -> None:
        self.track_list.blockSignals(True)
        self.track_list.clear()
        for name, track in (self.session.label_tracks if self.session is not None else {}).items():
            item = QListWidgetItem(row_title(track))
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in checked else Qt.CheckState.Unchecked)
            self.track_list.addItem(item)
        self.track_list.blockSignals(False)
        self._fill_rules()

    def chosen(self) -> list[str]:
        """The checked tracks, in the list's order."""
        out = []
        for i in range(self.track_list.count()):
            item = self.track_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def choose(self, names: list[str]) -> None:
        """Check exactly ``names`` (what a click on the list does, for scripts and tests)."""
        self._fill_tracks(names)
        self._choice_changed()

    def _choice_changed(self) -> None:
        self._fill_rules()
        self.tracks_chosen.emit(self.chosen())
        self.schedule()

    def _fill_rules(self) -> None:
        current = self.rule.currentData()
        self.rule.clear()
        self.rule.addItem("Majority (more than half agree)", "majority")
        self.rule.addItem("Unanimous (all agree)", "unanimous")
        for name in self.chosen():
            self.rule.addItem(f"{name} wins where it has a label", f"annotator:{name}")
        i = self.rule.findData(current)
        self.rule.setCurrentIndex(max(i, 0))

    def _build(self) -> None:
        self.consensus_requested.emit(
            self.chosen(), str(self.rule.currentData()), self.consensus_name.text().strip()
        )

    # -- computing --------------------------------------------------------------------------
    def schedule(self) -> None:
        """Recompute after the labels have been still for :data:`DEBOUNCE_MS`."""
        self._timer.start()

    def settings(self) -> tuple[float, float | None, float]:
        """(step, window or None, tolerance) as the controls say."""
        size = float(self.step.value())
        window = size if self.unit.currentData() == "window" else None
        return size, window, float(self.tolerance.value())

    def recompute(self) -> None:
        names = self.chosen()
        if self.session is None or len(names) < 2:
            self.result = None
            self._show()
            return
        if self._job is not None:
            self._again = True  # the running job's figures are stale: run once more after it
            return
        tracks = [snapshot(self.session.label_tracks[n]) for n in names if n in self.session.label_tracks]
        step, window, tolerance = self.settings()
        self.state.setText("Computing…")
        job = BackgroundJob(self._work(tracks, step, window, tolerance), self, cancel_errors=(), owner=self)
        job.connect_to(finished=self._done, failed=self._failed, ended=self._ended)
        self._job = job
        job.start()

    @staticmethod
    def _work(
        tracks: list[LabelTrack], step: float, window: float | None, tolerance: float
    ) -> Callable[[Callable[[object], None], Callable[[str], None], threading.Event], object]:
        def work(
            progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
        ) -> SessionAgreement:
            return compare_tracks(tracks, step=step, window=window, tolerance=tolerance)

        return work

    def _done(self, result: object) -> None:
        assert isinstance(result, SessionAgreement)
        if self.session is None or list(result.tracks) != self.chosen():
            self.result = None  # the choice changed meanwhile: _ended runs it again
            self._again = True
            return
        self.result = result
        self._show()
        self.computed.emit()

    def _failed(self, message: str) -> None:
        self.result = None
        self._show()
        self.state.setText(f"Cannot compare: {message}")

    def _ended(self) -> None:
        self._job = None
        if self._again:
            self._again = False
            self.recompute()

    def is_idle(self) -> bool:
        """No computation running or waiting (tests wait for it)."""
        return self._job is None and not self._timer.isActive()

    def shutdown(self) -> None:
        self._timer.stop()
        if self._job is not None:
            self._job.stop()

    # -- showing ----------------------------------------------------------------------------
    def _show(self) -> None:
        r = self.result
        if r is None:
            self.state.setText("Check two or more tracks" if len(self.chosen()) < 2 else "Computing…")
            for t in (self.summary, self.per_class, self.events):
                t.setRowCount(0)
            self.pair.clear()
            self._show_confusion()
            return
        rel = r.reliability
        unit = f"{rel.unit}s every {rel.step:g} s" if rel.unit == "sample" else f"windows of {rel.step:g} s"
        self.state.setText(f"{', '.join(r.tracks)}: {rel.units:,} {unit}")
        rows = [
            ["Agreement (both labelled)", fmt(rel.agreement)],
            ["Cohen's κ", fmt(rel.cohen_kappa)],
            ["Fleiss' κ", fmt(rel.fleiss_kappa)],
            ["Krippendorff's α", fmt(rel.krippendorff_alpha)],
            ["Units", f"{rel.units:,}"],
        ]
        rows += [[f"Coverage {name}", fmt(value)] for name, value in rel.coverage.items()]
        _fill(self.summary, rows)
        _fill(
            self.per_class,
            [
                [c.name, fmt(c.specific_agreement), fmt(c.kappa_vs_rest), f"{c.units:,}"]
                for c in rel.per_class
            ],
        )
        _fill(
            self.events,
            [
                [
                    f"{e.first} / {e.second}",
                    f"{e.matched}",
                    fmt(e.recall),
                    fmt(e.precision),
                    fmt(e.f1),
                    fmt(e.offset_stats().get("median"), 2),
                ]
                for e in r.events
            ],
        )
        current = self.pair.currentIndex()
        self.pair.blockSignals(True)
        self.pair.clear()
        for p in rel.pairs:
            self.pair.addItem(f"rows {p.first}, columns {p.second}")
        self.pair.setCurrentIndex(min(max(current, 0), len(rel.pairs) - 1))
        self.pair.blockSignals(False)
        self._show_confusion()

    def shown_pair(self) -> PairAgreement | None:
        """The pair of tracks whose confusion is shown."""
        r = self.result
        i = self.pair.currentIndex()
        return r.reliability.pairs[i] if r is not None and 0 <= i < len(r.reliability.pairs) else None

    def _axes(self, p: PairAgreement) -> Axes:
        assert self.result is not None
        rel = self.result.reliability
        unit = "samples" if rel.unit == "sample" else "windows"
        return Axes(
            f"{p.first} says",
            f"{p.second} says",
            unit,
            f"Rows: what {p.first} labelled. Columns: what {p.second} labelled. "
            f"Each cell: {unit} ({rel.step:g} s each), and their share of the row.",
        )

    def _show_confusion(self) -> None:
        p = self.shown_pair()
        if p is None or self.result is None:
            self.confusion.set_report(None)
            self.confusion.setVisible(False)
            return
        classes = list(self.result.reliability.classes)
        self.confusion.set_report({"confusion": p.confusion.tolist(), "classes": classes}, self._axes(p))
        # every row in view at the panel's width: the rows share the height, the columns the width
        row = self.confusion.fontMetrics().height() + 6  # the underscores of names stay in their row
        header = self.confusion.horizontalHeader().sizeHint().height()
        self.confusion.setFixedHeight(header + row * len(classes) + 2 * self.confusion.frameWidth())
        self.confusion.setVisible(True)

    def show_confusion_dialog(self) -> ConfusionDialog | None:
        """The shown pair's confusion, large, in its own window (a click on the small one)."""
        p = self.shown_pair()
        if p is None or self.confusion.report is None:
            return None
        kappa = fmt(p.cohen_kappa)
        dlg = ConfusionDialog(
            self.confusion.report, f"{p.first} vs {p.second}: Cohen's κ {kappa}", self, self._axes(p)
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        self.confusion_dialog = dlg
        return dlg
