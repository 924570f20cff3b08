"""The label schema editor: names, colours, hotkeys, descriptions; presets; JSON import/export.

The dialog edits a copy. OK applies it as ONE undoable :class:`SetSchema` edit on the
history (so it is journaled for crash recovery too); renaming a class relabels its segments
in the same edit. Cancel changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from harlab.core.colors import distinct_color
from harlab.core.errors import HarlabError
from harlab.core.labels import LabelClass, LabelSchema
from harlab.core.session import Session
from harlab.gui.window_size import resize_within_screen
from harlab.labeling.class_keys import assign_hotkeys, describe_repairs
from harlab.labeling.commands import SetSchema
from harlab.labeling.history import EditHistory
from harlab.labeling.schema_presets import PRESETS, export_schema, preset, read_schema
from harlab.labeling.shortcuts import class_hotkey_problem

NAME, COLOUR, HOTKEY, DESCRIPTION = range(4)
ORIGINAL = Qt.ItemDataRole.UserRole + 1  #: the class's name when the dialog opened ("" = new)


def _text_on(colour: str) -> QColor:
    c = QColor(colour)
    return (
        QColor("#000000")
        if 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() > 140
        else QColor("#ffffff")
    )


class SchemaEditorDialog(QDialog):
    """Edit the session's label classes.

    Signals:
        applied(): OK pushed a SetSchema edit (not emitted when nothing changed).
    Double-click a colour cell to pick a colour (or type #rrggbb); hotkeys are single keys
    that the shortcut table does not use.
    """

    applied = Signal()

    def __init__(self, session: Session, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label classes")
        self.setObjectName("schema_editor")
        self.session = session
        self.history = history
        lay = QVBoxLayout(self)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Name", "Colour", "Hotkey", "Description"])
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(NAME, 170)
        self.table.setColumnWidth(COLOUR, 90)
        self.table.setColumnWidth(HOTKEY, 60)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add", self)
        self.remove_button = QPushButton("Remove", self)
        self.up_button = QPushButton("Up", self)
        self.down_button = QPushButton("Down", self)
        self.preset_box = QComboBox(self)
        self.preset_box.addItem("Load preset…")
        for p in PRESETS.values():
            self.preset_box.addItem(p.title, p.name)
        self.import_button = QPushButton("Import…", self)
        self.export_button = QPushButton("Export…", self)
        for w in (self.add_button, self.remove_button, self.up_button, self.down_button):
            row.addWidget(w)
        row.addStretch(1)
        for w in (self.preset_box, self.import_button, self.export_button):
            row.addWidget(w)
        lay.addLayout(row)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setObjectName("schema_message")
        lay.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        lay.addWidget(self.buttons)

        self.add_button.clicked.connect(lambda: self.add_class())
        self.remove_button.clicked.connect(self.remove_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.preset_box.activated.connect(self._preset_chosen)
        self.import_button.clicked.connect(self._import_clicked)
        self.export_button.clicked.connect(self._export_clicked)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.itemChanged.connect(self._item_changed)
        self.set_classes(list(session.schema), keep_identity=True)
        # tall enough for every class (18 for WISDM; it opened showing 10), within the screen
        rows = max(len(session.schema), 8) + 1
        chrome = self.sizeHint().height() - self.table.sizeHint().height()
        table = (
            self.table.horizontalHeader().sizeHint().height()
            + rows * self.table.verticalHeader().defaultSectionSize()
        )
        resize_within_screen(self, 820, chrome + table + 2 * self.table.frameWidth())

    # -- rows --------------------------------------------------------------------------------
    def set_classes(self, classes: list[LabelClass], keep_identity: bool = False) -> None:
        """Fill the table. ``keep_identity`` marks rows as the session's existing classes
        (so editing a name renames); presets/imports replace the classes instead."""
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for c in classes:
            self._append(c, c.name if keep_identity else "")
        self.table.blockSignals(False)
        self.validate()

    def _append(self, c: LabelClass, original: str) -> int:
        r = self.table.rowCount()
        self.table.insertRow(r)
        name = QTableWidgetItem(c.name)
        name.setData(ORIGINAL, original)
        self.table.setItem(r, NAME, name)
        self.table.setItem(r, COLOUR, QTableWidgetItem(c.color))
        self._paint_colour(r)
        self.table.setItem(r, HOTKEY, QTableWidgetItem(c.hotkey or ""))
        self.table.setItem(r, DESCRIPTION, QTableWidgetItem(c.description))
        return r

    def _paint_colour(self, r: int) -> None:
        item = self.table.item(r, COLOUR)
        if item is not None and QColor.isValidColorName(item.text().strip()):
            item.setBackground(QColor(item.text().strip()))
            item.setForeground(_text_on(item.text().strip()))

    def add_class(self, name: str = "") -> int:
        names = set(self._names())
        if not name:
            n = 1
            while f"class {n}" in names:
                n += 1
            name = f"class {n}"
        rows = range(self.table.rowCount())
        colour = distinct_color([self._cell(r, COLOUR) for r in rows])
        hotkey = assign_hotkeys(1, (self._cell(r, HOTKEY) for r in rows))[0]
        self.table.blockSignals(True)
        r = self._append(LabelClass(name, colour, hotkey), "")
        self.table.blockSignals(False)
        self.table.setCurrentCell(r, NAME)
        self.validate()
        return r

    def remove_selected(self) -> None:
        rows = sorted(
            {i.row() for i in self.table.selectedIndexes()} or {self.table.currentRow()}, reverse=True
        )
        for r in rows:
            if r >= 0:
                self.table.removeRow(r)
        self.validate()

    def move_selected(self, step: int) -> None:
        r = self.table.currentRow()
        t = r + step
        if r < 0 or not 0 <= t < self.table.rowCount():
            return
        self.table.blockSignals(True)
        items = [self.table.takeItem(r, c) for c in range(4)]
        others = [self.table.takeItem(t, c) for c in range(4)]
        for c in range(4):
            self.table.setItem(t, c, items[c])
            self.table.setItem(r, c, others[c])
        self.table.blockSignals(False)
        self.table.setCurrentCell(t, self.table.currentColumn())

    def _cell(self, r: int, c: int) -> str:
        item = self.table.item(r, c)
        return item.text().strip() if item is not None else ""

    def _names(self) -> list[str]:
        return [self._cell(r, NAME) for r in range(self.table.rowCount())]

    # -- validation and result ---------------------------------------------------------------
    def classes(self) -> list[LabelClass]:
        """The classes as edited; raises HarlabError naming the row that is wrong."""
        out: list[LabelClass] = []
        for r in range(self.table.rowCount()):
            hotkey = self._cell(r, HOTKEY) or None
            where = f"row {r + 1}"
            if hotkey and (problem := class_hotkey_problem(hotkey)):
                raise HarlabError(f"{where}: {problem}")
            try:
                out.append(
                    LabelClass(self._cell(r, NAME), self._cell(r, COLOUR), hotkey, self._cell(r, DESCRIPTION))
                )
            except HarlabError as exc:
                raise HarlabError(f"{where}: {exc}") from None
        LabelSchema(out)  # duplicate names/hotkeys
        return out

    def renames(self) -> dict[str, str]:
        out = {}
        for r in range(self.table.rowCount()):
            item = self.table.item(r, NAME)
            orig = item.data(ORIGINAL) if item is not None else ""
            if orig and orig != self._cell(r, NAME):
                out[orig] = self._cell(r, NAME)
        return out

    def validate(self) -> bool:
        """Check the table, show the problem or a note, and enable OK accordingly."""
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            classes = self.classes()
        except HarlabError as exc:
            self.message.setStyleSheet("color: #d62728;")
            self.message.setText(str(exc))
            ok_button.setEnabled(False)
            return False
        self.message.setStyleSheet("")
        kept = {c.name for c in classes} | set(self.renames())
        used = (
            {s.label for t in self.session.label_tracks.values() for s in t}
            if len(self.session.label_tracks)
            else set()
        )
        orphans = sorted((used - kept) & set(self.session.schema.names))
        if orphans:
            self.message.setText(
                "Segments of "
                + ", ".join(repr(o) for o in orphans)
                + " keep their label without a class entry."
            )
        else:
            self.message.setText(f"{len(classes)} classes. OK applies the change as one undoable edit.")
        ok_button.setEnabled(True)
        return True

    def apply(self) -> bool:
        """Push the edit (if anything changed); False when the table is invalid."""
        if not self.validate():
            return False
        classes = self.classes()
        renames = self.renames()
        if classes != list(self.session.schema) or renames:
            self.history.push(SetSchema(classes, renames))
            self.applied.emit()
        return True

    def accept(self) -> None:
        if self.apply():
            super().accept()

    # -- presets, import, export -------------------------------------------------------------
    def load_preset(self, name: str) -> None:
        self.set_classes(list(preset(name)))

    def import_from(self, path: str | Path) -> bool:
        """Load the classes of a schema file; hotkeys it binds to the shortcut table's keys are
        moved to free keys (or cleared) and the message line says which."""
        try:
            schema, repairs = read_schema(path)
        except HarlabError as exc:
            self.message.setStyleSheet("color: #d62728;")
            self.message.setText(str(exc))
            return False
        self.set_classes(list(schema))
        if repairs:
            self.message.setStyleSheet("color: #c06000;")
            self.message.setText(describe_repairs(repairs, hint="; OK keeps them."))
        return True

    def export_to(self, path: str | Path) -> bool:
        try:
            export_schema(LabelSchema(self.classes()), path)
        except (HarlabError, OSError) as exc:
            self.message.setStyleSheet("color: #d62728;")
            self.message.setText(str(exc))
            return False
        self.message.setText(f"Exported {len(self._names())} classes to {path}")
        return True

    def _preset_chosen(self, index: int) -> None:
        name = self.preset_box.itemData(index)
        if name:
            self.load_preset(name)
        self.preset_box.setCurrentIndex(0)

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import label classes", "", "Label schema (*.json)")
        if path:
            self.import_from(path)

    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export label classes", "labels.json", "Label schema (*.json)"
        )
        if path:
            self.export_to(path)

    def _double_clicked(self, r: int, c: int) -> None:
        if c != COLOUR:
            return
        colour = QColorDialog.getColor(QColor(self._cell(r, COLOUR)), self, "Class colour")
        if colour.isValid():
            self.table.item(r, COLOUR).setText(colour.name())

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == COLOUR:
            self.table.blockSignals(True)
            self._paint_colour(item.row())
            self.table.blockSignals(False)
        self.validate()
