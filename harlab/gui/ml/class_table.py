"""The class table of the train dialog: per class keep, ignore, or merge into another name.

Each row shows how much labelled time the class has in the chosen sessions, so a user
sees at a glance which classes are too rare to learn and merges or ignores them.
Rules survive a rebuild (another track, sessions added): they are kept by class name.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from harlab.ml.class_rules import ACTIONS, IGNORE, KEEP, MERGE, ClassRule


def fmt_duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ClassTable(QTableWidget):
    """Columns: class, labelled time, action, merge into. ``rules_changed`` on any edit."""

    rules_changed = Signal()
    COLUMNS = ("Class", "Labelled", "Use", "Merge into")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.verticalHeader().setVisible(False)
        h = self.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._names: list[str] = []
        self._rules: dict[str, ClassRule] = {}

    # -- contents ------------------------------------------------------------------------------
    def set_classes(self, seconds: dict[str, float]) -> None:
        """Show ``{class: labelled seconds}`` (in this order), keeping earlier rules by name."""
        for name in self._names:
            self._rules[name] = self.rule(name)
        self.blockSignals(True)
        self.setRowCount(0)
        self._names = list(seconds)
        self.setRowCount(len(self._names))
        for row, name in enumerate(self._names):
            item = QTableWidgetItem(name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.setItem(row, 0, item)
            t = QTableWidgetItem(fmt_duration(seconds[name]))
            t.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setFlags(Qt.ItemFlag.ItemIsEnabled)
            t.setToolTip(f"{seconds[name]:.1f} s labelled in the chosen sessions")
            self.setItem(row, 1, t)
            action = QComboBox()
            action.addItems(list(ACTIONS))
            target = QComboBox()
            target.setEditable(True)
            target.addItems([n for n in self._names if n != name])
            target.setToolTip("another class, or type a new name (e.g. 'stairs' for stairs up and down)")
            rule = self._rules.get(name, ClassRule())
            action.setCurrentText(rule.action)
            target.setCurrentText(rule.target)
            target.setEnabled(rule.action == MERGE)
            action.currentTextChanged.connect(lambda text, t=target: self._action_changed(text, t))
            target.currentTextChanged.connect(lambda _=None: self.rules_changed.emit())
            self.setCellWidget(row, 2, action)
            self.setCellWidget(row, 3, target)
        self.blockSignals(False)
        self.rules_changed.emit()

    def _action_changed(self, text: str, target: QComboBox) -> None:
        target.setEnabled(text == MERGE)
        if text == MERGE and not target.currentText():
            target.setCurrentIndex(0)
        self.rules_changed.emit()

    @property
    def class_names(self) -> list[str]:
        return list(self._names)

    def rule(self, name: str) -> ClassRule:
        row = self._names.index(name)
        action = self.cellWidget(row, 2).currentText()  # type: ignore[union-attr]
        target = self.cellWidget(row, 3).currentText().strip()  # type: ignore[union-attr]
        if action == MERGE and not target:
            return ClassRule(KEEP)
        return ClassRule(action, target if action == MERGE else "")

    def rules(self) -> dict[str, ClassRule]:
        return {n: self.rule(n) for n in self._names}

    def set_rule(self, name: str, action: str, target: str = "") -> None:
        """Set a row's action (keep / ignore / merge into) and merge target."""
        row = self._names.index(name)
        combo = self.cellWidget(row, 2)
        tgt = self.cellWidget(row, 3)
        tgt.setCurrentText(target)  # type: ignore[union-attr]
        combo.setCurrentText(action)  # type: ignore[union-attr]
        tgt.setCurrentText(target)  # type: ignore[union-attr]

    def summary(self) -> str:
        rules = self.rules()
        kept = sum(r.action == KEEP for r in rules.values())
        ignored = sum(r.action == IGNORE for r in rules.values())
        merged = sum(r.action == MERGE for r in rules.values())
        return f"{kept} kept, {merged} merged, {ignored} ignored"
