"""The segment table: every segment of one label track, sortable, filterable, editable.

Built for 50,000 rows: the model holds only a numpy array of segment ids in display order
and reads each cell from the track on demand (no per-row widgets or items). Sorting and
filtering run in numpy inside the model (``sort()`` is what QTableView calls on a header
click) rather than in a QSortFilterProxyModel, whose comparisons call back into Python
n·log n times — seconds for 50,000 rows, after every edit. Edits of class, times, note,
annotator and confidence go through commands on the window's :class:`EditHistory`, so they
are undoable and journaled like any other edit.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.core.events import Event
from harlab.core.labels import LabelTrack, Segment
from harlab.core.session import Session
from harlab.gui.timeaxis import format_time, parse_time
from harlab.labeling.commands import ModifySegment, RemoveSegments
from harlab.labeling.history import EditHistory

COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "Class"),
    ("start", "Start (s)"),
    ("end", "End (s)"),
    ("duration", "Duration (s)"),
    ("note", "Note"),
    ("annotator", "Annotator"),
    ("source", "Source"),
    ("confidence", "Confidence"),
    ("id", "Id"),
)
EDITABLE = {"label", "start", "end", "note", "annotator", "confidence"}
TIME_KEYS = ("start", "end")
ALL_CLASSES = "All classes"
CLASS_COLUMN_MAX = 240  #: px the Class column may grow to for long class names
SegmentRole = Qt.ItemDataRole.UserRole + 1  #: the Segment of a row


def weak_callback(method: Callable[[Event], Any]) -> Callable[[Event], Any]:
    """A callback for core EventEmitters that does not keep its widget alive (emitters hold
    callbacks strongly) and is a no-op once the widget's C++ side is gone."""
    ref = weakref.WeakMethod(method)

    def call(event: Event) -> None:
        m = ref()
        if m is not None and shiboken6.isValid(m.__self__):  # skip once the Qt object is deleted
            m(event)

    return call


class SegmentTableModel(QAbstractTableModel):
    """Rows = segments of ``track`` in ``order`` (sorted and filtered ids)."""

    edit_failed = Signal(str)

    def __init__(
        self, session: Session, history: EditHistory, track: str | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.history = history
        self.track_name: str | None = None
        self._order = np.zeros(0, np.int64)
        self._sort_col = 1
        self._sort_desc = False
        self._text = ""
        self._label = ""
        #: None: seconds from the start; else (start_local, wall_clock) as the timeline shows time
        self._time_mode: tuple[datetime | None, bool] | None = None
        self.set_track(track if track is not None else next(iter(session.label_tracks), None))

    # -- state -------------------------------------------------------------------------------
    @property
    def track(self) -> LabelTrack | None:
        return self.session.label_tracks.get(self.track_name) if self.track_name else None

    @property
    def total(self) -> int:
        t = self.track
        return len(t) if t is not None else 0

    def set_track(self, name: str | None) -> None:
        self.track_name = name
        self.refresh(reset=True)

    def set_filter(self, text: str = "", label: str = "") -> None:
        """Show only segments whose class/note/annotator contains ``text`` (case-insensitive)
        and, when ``label`` is given, of that class."""
        self._text, self._label = text.strip().lower(), label
        self.refresh(reset=True)

    def set_time_mode(self, start_local: datetime | None, wall_clock: bool) -> None:
        """Show start and end as the timeline does: clock time of the session's timezone
        (``wall_clock``) or time from the start; typed times are read the same way."""
        self._time_mode = (start_local, wall_clock)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if len(self._order):
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._order) - 1, len(COLUMNS) - 1))

    @property
    def clock(self) -> bool:
        return self._time_mode is not None and self._time_mode[1] and self._time_mode[0] is not None

    def time_text(self, t: float) -> str:
        if self._time_mode is None:
            return f"{t:.3f}"
        return format_time(t, *self._time_mode, date=False)

    def parse_time(self, text: str, near: float) -> float:
        if self._time_mode is None:
            return float(text)
        return parse_time(str(text), *self._time_mode, near=near)

    def segment_id(self, row: int) -> int:
        """Id of the segment shown in ``row``."""
        return int(self._order[row])

    def segment(self, row: int) -> Segment:
        return self.track[self.segment_id(row)]  # type: ignore[index]

    def row_of(self, seg_id: int) -> int:
        """Row of a segment id, -1 when filtered out or absent (numpy scan, no Python loop)."""
        hit = np.flatnonzero(self._order == seg_id)
        return int(hit[0]) if len(hit) else -1

    def _compute_order(self) -> np.ndarray:
        t = self.track
        if t is None or not len(t):
            return np.zeros(0, np.int64)
        starts, ends, ids = t.arrays()
        keep = None
        if self._text or self._label:
            segs = [t[int(i)] for i in ids]
            text, label = self._text, self._label
            keep = np.fromiter(
                (
                    (not label or s.label == label)
                    and (
                        not text
                        or text in s.label.lower()
                        or text in s.note.lower()
                        or text in s.annotator.lower()
                    )
                    for s in segs
                ),
                bool,
                len(segs),
            )
        key_name = COLUMNS[self._sort_col][0]
        if key_name == "start":
            order = np.arange(len(ids))  # the track's own order: by start, then end
        elif key_name == "end":
            order = np.lexsort((starts, ends))
        elif key_name == "duration":
            order = np.lexsort((starts, ends - starts))
        elif key_name == "id":
            order = np.argsort(ids, kind="stable")
        elif key_name == "confidence":
            conf = np.fromiter(
                (np.nan if t[int(i)].confidence is None else t[int(i)].confidence for i in ids),
                float,
                len(ids),
            )
            order = np.lexsort((starts, np.nan_to_num(conf, nan=-1.0)))
        else:
            vals = np.array([str(getattr(t[int(i)], key_name)).lower() for i in ids], dtype=object)
            order = np.argsort(vals, kind="stable")
        if self._sort_desc:
            order = order[::-1]
        if keep is not None:
            order = order[keep[order]]
        return ids[order]

    def refresh(self, reset: bool = False) -> None:
        """Re-read the track: a layout change (keeps selection) when the row count is the
        same, a reset otherwise."""
        new = self._compute_order()
        if not reset and len(new) == len(self._order):
            if np.array_equal(new, self._order):
                if len(new):
                    self.dataChanged.emit(self.index(0, 0), self.index(len(new) - 1, len(COLUMNS) - 1))
                return
            self.layoutAboutToBeChanged.emit()
            old = self.persistentIndexList()
            ids = [int(self._order[i.row()]) for i in old]
            self._order = new
            pos = {int(i): r for r, i in enumerate(new)} if old else {}
            self.changePersistentIndexList(
                old, [self.index(pos.get(i, -1), p.column()) for i, p in zip(ids, old, strict=True)]
            )
            self.layoutChanged.emit()
            return
        self.beginResetModel()
        self._order = new
        self.endResetModel()

    # -- Qt model API ------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            key, title = COLUMNS[section]
            if key in TIME_KEYS and self._time_mode is not None:
                return f"{title.split(' ')[0]} ({'clock' if self.clock else 'from start'})"
            return title
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        f = super().flags(index)
        if index.isValid() and COLUMNS[index.column()][0] in EDITABLE:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._order):
            return None
        try:
            s = self.segment(index.row())
        except KeyError:  # removed since the last refresh (a refresh is queued)
            return None
        key = COLUMNS[index.column()][0]
        if role == SegmentRole:
            return s
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if key == "duration":
                v: Any = s.duration
            else:
                v = getattr(s, key)
            if key in TIME_KEYS and self._time_mode is not None:
                return self.time_text(float(v))
            if role == Qt.ItemDataRole.EditRole:
                return "" if v is None else v
            if isinstance(v, float):
                return f"{v:.3f}" if key != "confidence" else f"{v:.2f}"
            return "" if v is None else str(v)
        if role == Qt.ItemDataRole.DecorationRole and key == "label":
            return QColor(self.session.schema.color(s.label))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in (
            "start",
            "end",
            "duration",
            "confidence",
            "id",
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            unit = " s" if self._time_mode is None else ""
            return f"{s.label} {self.time_text(s.start)}–{self.time_text(s.end)}{unit}" + (
                f"\n{s.note}" if s.note else ""
            )
        return None

    def setData(
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or self.track_name is None:
            return False
        key = COLUMNS[index.column()][0]
        s = self.segment(index.row())
        try:
            if key in TIME_KEYS:
                value = self.parse_time(value, near=float(getattr(s, key)))
            elif key == "confidence":
                value = None if value in ("", None) else float(value)
            else:
                value = str(value).strip()
                if key == "label" and not value:
                    raise HarlabError("a segment needs a class")
            if getattr(s, key) == value:
                return False
            self.history.push(ModifySegment(self.track_name, s.id, **{key: value}))
        except (HarlabError, ValueError) as exc:
            self.edit_failed.emit(str(exc))
            return False
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_col = column
        self._sort_desc = order == Qt.SortOrder.DescendingOrder
        self.refresh()


class ClassDelegate(QStyledItemDelegate):
    """A combo box of the schema's classes (editable: a new name adds a class with the edit)."""

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session

    def createEditor(self, parent: QWidget, option: Any, index: QModelIndex) -> QWidget:  # noqa: N802
        if COLUMNS[index.column()][0] != "label":
            return super().createEditor(parent, option, index)
        box = QComboBox(parent)
        box.setEditable(True)
        for c in self.session.schema:
            box.addItem(c.name)
            box.setItemData(box.count() - 1, QColor(c.color), Qt.ItemDataRole.DecorationRole)
        return box

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:  # noqa: N802
        if isinstance(editor, QComboBox):
            editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole)))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex) -> None:  # noqa: N802
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)


class SegmentTableDock(QDockWidget):
    """Dock with the segment table of one label track.

    Signals:
        jump_requested(float): the user clicked (or moved the current row to) a segment;
            the time is the segment's start. Connect it to the time hub's seek.
        segment_selected(str, int): track name and id of the segment made current.
        edit_failed(str): an edit typed into the table was refused (e.g. an overlap on an
            exclusive track); the message is also shown in the dock's status line.
    """

    jump_requested = Signal(float)
    segment_selected = Signal(str, int)
    edit_failed = Signal(str)

    def __init__(self, session: Session, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__("Segments", parent)
        self.setObjectName("segment_table_dock")
        self.session = session
        self.hidden: set[str] = set()  #: tracks left out of the list (label-blind mode)
        self.history = history
        self.model = SegmentTableModel(session, history, parent=self)
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.track_box = QComboBox(body)
        self.track_box.setToolTip("Label track shown in the table")
        self.filter_edit = QLineEdit(body)
        self.filter_edit.setPlaceholderText("Filter class, note, annotator…")
        self.filter_edit.setClearButtonEnabled(True)
        self.class_box = QComboBox(body)
        for box in (self.track_box, self.class_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        top.addWidget(self.track_box)
        top.addWidget(self.class_box)
        top.addWidget(self.filter_edit, 1)
        lay.addLayout(top)
        self.view = QTableView(body)
        self.view.setModel(self.model)
        self.view.setItemDelegate(ClassDelegate(session, self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row sizing
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(False)
        for col, width in enumerate((120, 96, 96, 80, 160, 80, 80, 70, 50)):  # 09:01:30.250 fits
            self.view.setColumnWidth(col, width)
        self._fit_headers()
        lay.addWidget(self.view, 1)
        self.status = QLabel(body)
        lay.addWidget(self.status)
        self.setWidget(body)

        self._emitted_row: int | None = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self._refresh)
        self._delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.view)
        self._delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        self._delete.activated.connect(self.delete_selected)

        self.track_box.currentTextChanged.connect(self._track_chosen)
        self.class_box.currentTextChanged.connect(lambda _t: self._filter_changed())
        self.filter_edit.textChanged.connect(lambda _t: self._filter_changed())
        self.view.clicked.connect(self._clicked)
        self.view.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._current_changed(cur))
        self.model.edit_failed.connect(self._edit_failed)
        self.model.modelReset.connect(self._update_status)
        self.model.layoutChanged.connect(self._update_status)
        self._listener = weak_callback(self._on_session_event)
        session.events.connect(self._listener)
        self.destroyed.connect(lambda *_: session.events.disconnect(self._listener))
        self._fill_tracks()
        self._fill_classes()
        self._update_status()

    # -- public --------------------------------------------------------------------------------
    @property
    def track_name(self) -> str | None:
        return self.model.track_name

    def set_track(self, name: str) -> None:
        self.track_box.setCurrentText(name)

    def set_hidden(self, names: set[str]) -> None:
        """Leave the tracks ``names`` out of the track list (label-blind mode hides other
        annotators' tracks here as on the timeline)."""
        self.hidden = set(names)
        self._fill_tracks()

    def set_time_mode(self, start_local: datetime | None, wall_clock: bool) -> None:
        """Follow the timeline's time mode (see :meth:`SegmentTableModel.set_time_mode`)."""
        self.model.set_time_mode(start_local, wall_clock)
        self._fit_headers()

    def _fit_headers(self) -> None:
        """Widen a column whose title (with its sort arrow) is wider than it: "Start (from
        start)" does not fit the 96 px a time needs."""
        hh = self.view.horizontalHeader()
        for col in range(self.model.columnCount()):
            need = hh.sectionSizeHint(col)
            if self.view.columnWidth(col) < need:
                self.view.setColumnWidth(col, need)

    def select_segment(self, seg_id: int) -> bool:
        """Make a segment current and scroll to it (without emitting jump_requested)."""
        row = self.model.row_of(seg_id)
        if row < 0:
            return False
        self.view.blockSignals(True)
        self.view.selectionModel().blockSignals(True)
        try:
            self.view.selectRow(row)
            self.view.setCurrentIndex(self.model.index(row, 0))
        finally:
            self.view.selectionModel().blockSignals(False)
            self.view.blockSignals(False)
        self.view.scrollTo(self.model.index(row, 0))
        return True

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.model.segment_id(r) for r in rows]

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids and self.track_name:
            self.history.push(RemoveSegments(self.track_name, ids))

    # -- internals ---------------------------------------------------------------------------
    def _fill_tracks(self) -> None:
        current = self.model.track_name
        self.track_box.blockSignals(True)
        self.track_box.clear()
        shown = [n for n in self.session.label_tracks if n not in self.hidden]
        self.track_box.addItems(shown)
        if current in shown:
            self.track_box.setCurrentText(current)
        self.track_box.blockSignals(False)
        if current not in shown:
            self._track_chosen(self.track_box.currentText())

    def _fill_classes(self) -> None:
        current = self.class_box.currentText()
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItem(ALL_CLASSES)
        for c in self.session.schema:
            self.class_box.addItem(c.name)
            self.class_box.setItemData(
                self.class_box.count() - 1, QColor(c.color), Qt.ItemDataRole.DecorationRole
            )
        self.class_box.setCurrentText(current if current in self.session.schema else ALL_CLASSES)
        self.class_box.blockSignals(False)
        # the Class column fits the longest class name (UCI HAPT's read "WALKING_D…"), up to a limit
        fm = self.view.fontMetrics()
        need = (
            max((fm.horizontalAdvance(c.name) for c in self.session.schema), default=0) + 44
        )  # swatch, margins
        if self.view.columnWidth(0) < need:
            self.view.setColumnWidth(0, min(need, CLASS_COLUMN_MAX))

    def _track_chosen(self, name: str) -> None:
        self.model.set_track(name or None)

    def _filter_changed(self) -> None:
        label = self.class_box.currentText()
        self.model.set_filter(self.filter_edit.text(), "" if label == ALL_CLASSES else label)

    def _on_session_event(self, event: Event) -> None:
        if event.kind in ("label_track_added", "label_track_removed"):
            self._fill_tracks()
        elif event.kind in ("class_added", "class_removed", "class_changed", "schema_changed"):
            self._fill_classes()
            self._refresh_timer.start()
        elif (
            event.kind.startswith("segments_")
            and getattr(event.source, "name", None) == self.model.track_name
        ):
            self._refresh_timer.start()  # coalesce a burst of events into one refresh

    def _refresh(self) -> None:
        current = self.view.currentIndex()
        seg_id = (
            self.model.segment_id(current.row())
            if current.isValid() and current.row() < self.model.rowCount()
            else None
        )
        before = self.model.rowCount()
        self.model.refresh()
        if self.model.rowCount() != before and seg_id is not None:
            self.select_segment(seg_id)
        self._update_status()

    def _update_status(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        self.status.setText(f"{shown:,} segments" if shown == total else f"{shown:,} of {total:,} segments")

    def _clicked(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        if self._emitted_row == index.row():  # the press already made it current and jumped
            self._emitted_row = None
            return
        self._emit_for(index.row())

    def _current_changed(self, index: QModelIndex) -> None:
        if index.isValid():
            self._emitted_row = index.row()
            self._emit_for(index.row())

    def _emit_for(self, row: int) -> None:
        try:
            s = self.model.segment(row)
        except (KeyError, IndexError):
            return
        self.jump_requested.emit(float(s.start))
        self.segment_selected.emit(self.model.track_name or "", s.id)

    def _edit_failed(self, message: str) -> None:
        self.status.setText(f"Not changed: {message}")
        self.edit_failed.emit(message)
