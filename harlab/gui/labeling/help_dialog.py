"""The F1 help: THE shortcut table plus the schema's class hotkeys, grouped and searchable."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from harlab.core.labels import LabelSchema
from harlab.gui.window_size import resize_within_screen
from harlab.labeling.shortcuts import CLASS_GROUP, CLASS_KEY_HELP, SHORTCUTS, Shortcut, format_help


class HelpDialog(QDialog):
    """Renders :func:`format_help` rows as a tree: one branch per group, keys and action."""

    def __init__(
        self,
        schema: LabelSchema | None = None,
        parent: QWidget | None = None,
        shortcuts: Iterable[Shortcut] = SHORTCUTS,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("help_dialog")
        self.rows = format_help(shortcuts, schema)
        lay = QVBoxLayout(self)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search keys or actions…")
        self.search.setClearButtonEnabled(True)
        lay.addWidget(self.search)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Keys", "Action"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        bold = QFont(self.font())
        bold.setBold(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.groups: dict[str, QTreeWidgetItem] = {}
        for group, keys, description in self.rows:
            parent_item = self.groups.get(group)
            if parent_item is None:
                parent_item = QTreeWidgetItem(self.tree, [group])
                parent_item.setFont(0, bold)
                parent_item.setFirstColumnSpanned(True)
                self.groups[group] = parent_item
            item = QTreeWidgetItem(parent_item, [keys, description])
            item.setFont(0, mono)
            item.setToolTip(1, description)
            if group == CLASS_GROUP and schema is not None:
                self._class_row(item, schema, keys)
        if CLASS_GROUP in self.groups:
            # the explanation once, in the group's title: on every row it pushed the class
            # names' descriptions out of sight ("walking: press to start a segment at the …")
            self.groups[CLASS_GROUP].setText(0, f"{CLASS_GROUP}: {CLASS_KEY_HELP}")
        self.tree.expandAll()
        lay.addWidget(self.tree, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.search.textChanged.connect(self.filter)
        resize_within_screen(self, 620, 640)

    @staticmethod
    def _class_row(item: QTreeWidgetItem, schema: LabelSchema, key: str) -> None:
        """A class key's row: the class's colour, name and description."""
        cls = next((c for c in schema if c.hotkey and c.hotkey.upper() == key), None)
        if cls is None:
            return
        text = f"{cls.name} — {cls.description}" if cls.description else cls.name
        item.setText(1, text)
        item.setToolTip(1, f"{text}\n{CLASS_KEY_HELP}")
        swatch = QPixmap(12, 12)
        swatch.fill(QColor(cls.color))
        item.setIcon(1, QIcon(swatch))

    def filter(self, text: str) -> int:
        """Show rows whose keys or action contain ``text``; returns how many are visible."""
        needle = text.strip().lower()
        shown = 0
        for group in self.groups.values():
            visible = 0
            for i in range(group.childCount()):
                child = group.child(i)
                hit = not needle or needle in child.text(0).lower() or needle in child.text(1).lower()
                child.setHidden(not hit)
                visible += hit
            group.setHidden(visible == 0)
            shown += visible
        return shown
