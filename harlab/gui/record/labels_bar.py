"""Live labels: one button per class (with its hotkey) and the open label, shown large.

The participant or researcher marks activities as they happen; pressing a class's key
starts a segment, pressing it again (or another class's key, or Esc) ends it. The
Recorder writes the segment; this widget only shows and forwards.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from harlab.core.labels import LabelSchema
from harlab.labeling.schema_presets import PRESETS
from harlab.simulate.activity_table import label_schema

#: The default classes: what the activity simulator can perform, so pressing a key in the
#: simulated demo also changes what the simulated wearer does.
EVERYDAY = (
    "walking",
    "running",
    "stairs_up",
    "stairs_down",
    "sitting",
    "standing",
    "lying",
    "cycling",
    "jumping",
)


def everyday_schema() -> LabelSchema:
    """The demo's classes with the demo's colours and keys (W walking, R running, ...): one key
    scheme, so a class has the same key here as in the workbench on the demo or this recording."""
    demo = label_schema()
    return LabelSchema(demo[n] for n in EVERYDAY)


def schema_choices() -> dict[str, tuple[str, Callable[[], LabelSchema]]]:
    """Key -> (title, factory) for the preset combo box; the first is the default."""
    out: dict[str, tuple[str, Callable[[], LabelSchema]]] = {
        "everyday": ("Everyday activities (the demo's keys)", everyday_schema),
    }
    for key, p in PRESETS.items():
        out[key] = (p.title, p.schema)
    return out


def text_color_for(bg: str) -> str:
    c = QColor(bg)
    return "#000000" if (0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()) > 150 else "#ffffff"


class ButtonGrid(QWidget):
    """Class buttons in as many columns as fit its width (at most ``max_per_row``).

    A fixed 5 per row made the Record window at least 1092 px wide, wider than a 1024 px
    screen; here the buttons wrap to more rows instead, so the grid asks for no width of its own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        self.buttons: list[QPushButton] = []
        self.max_per_row = 5
        self.columns = 0  # columns of the current arrangement
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)

    def set_buttons(self, buttons: list[QPushButton], max_per_row: int) -> None:
        self.buttons, self.max_per_row = buttons, max_per_row
        self.reflow()

    def per_row(self) -> int:
        """How many buttons fit side by side in the current width."""
        if not self.buttons:
            return 1
        widest = max(b.sizeHint().width() for b in self.buttons) + self.grid.spacing()
        return max(1, min(self.max_per_row, (self.width() + self.grid.spacing()) // widest))

    def reflow(self) -> None:
        n = self.columns = self.per_row()
        for b in self.buttons:
            self.grid.removeWidget(b)
        for i, b in enumerate(self.buttons):
            self.grid.addWidget(b, i // n, i % n)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < n else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.per_row() != self.columns:
            self.reflow()


class LabelBar(QWidget):
    """Class buttons plus a large "now labelling" display."""

    def __init__(
        self, on_toggle: Callable[[str], None], on_stop: Callable[[], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._on_toggle = on_toggle
        self._on_stop = on_stop
        self.schema = LabelSchema()
        self.buttons: dict[str, QPushButton] = {}
        self.current = QLabel("No label")
        self.current.setObjectName("currentLabel")
        self.current.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.current.setMinimumWidth(170)
        self.current.setMinimumHeight(58)
        f = QFont()
        f.setPointSize(18)
        f.setBold(True)
        self.current.setFont(f)
        self.stop_button = QPushButton("End label (Esc)")
        self.stop_button.clicked.connect(lambda: self._on_stop())
        self.hint = QLabel("Press a class key to start a segment; press it again (or Esc) to end it.")
        self.hint.setWordWrap(True)
        self.grid = ButtonGrid()
        left = QVBoxLayout()
        left.addWidget(self.current)
        left.addWidget(self.stop_button)
        right = QVBoxLayout()
        right.addWidget(self.grid)
        right.addWidget(self.hint)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(left)
        lay.addLayout(right, 1)
        self.show_open(None)

    def set_schema(self, schema: LabelSchema) -> None:
        self.schema = schema
        for b in self.buttons.values():
            b.deleteLater()
        self.buttons.clear()
        per_row = 5 if len(schema) <= 10 else 6
        for c in schema:
            text = c.name.replace("_", " ")
            b = QPushButton(f"{c.hotkey.upper()}  {text}" if c.hotkey else text)
            b.setCheckable(True)
            b.setMinimumHeight(30)
            b.setToolTip(
                f"Start/stop a '{c.name}' segment" + (f" (key {c.hotkey.upper()})" if c.hotkey else "")
            )
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the panel's hotkeys
            b.setStyleSheet(
                f"QPushButton {{ border-left: 6px solid {c.color}; padding: 3px 8px; text-align: left; }}"
                f"QPushButton:checked {{ background: {c.color}; color: {text_color_for(c.color)}; font-weight: 600; }}"
            )
            b.clicked.connect(lambda _=False, name=c.name: self._on_toggle(name))
            self.buttons[c.name] = b
        self.grid.set_buttons(list(self.buttons.values()), per_row)

    def set_active(self, enabled: bool, reason: str = "") -> None:
        """Enable the buttons (recording) or grey them out (idle, or a protocol is labelling)."""
        for b in self.buttons.values():
            b.setEnabled(enabled)
        self.stop_button.setEnabled(enabled)
        if reason:
            self.hint.setText(reason)
        else:
            self.hint.setText("Press a class key to start a segment; press it again (or Esc) to end it.")

    def show_open(self, label: str | None, since_s: float | None = None) -> None:
        for name, b in self.buttons.items():
            b.setChecked(name == label)
        if label is None:
            self.current.setText("No label")
            self.current.setStyleSheet(
                "QLabel#currentLabel { border: 2px dashed #8a8a8a; border-radius: 8px; color: #8a8a8a; }"
            )
            return
        color = self.schema.color(label) if label in self.schema else "#7f7f7f"
        dur = f"  {since_s:.0f} s" if since_s is not None else ""
        self.current.setText(f"{label.replace('_', ' ')}{dur}")
        self.current.setStyleSheet(
            f"QLabel#currentLabel {{ background: {color}; color: {text_color_for(color)};"
            " border-radius: 8px; }"
        )
