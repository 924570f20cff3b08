"""Light and dark palettes for the widgets and the plots.

Both palettes are built explicitly (Fusion style plus a full QPalette) rather than
inherited from the platform, so text stays readable on every desktop and in the
offscreen screenshots. :class:`PlotColors` carries the colours pyqtgraph needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class PlotColors:
    background: str
    foreground: str  #: axes, tick labels
    grid_alpha: float
    cursor: str
    selection: str  #: rgba of the selected span
    channel: tuple[str, ...]  #: trace colours by channel index (x, y, z, magnitude...)
    band_background: str
    selected_outline: str
    #: the widgets' selection colour (QPalette.Highlight); the overview's "in view" box uses it,
    #: since the cursor's red there read as an error
    highlight: str


LIGHT = PlotColors(
    background="#ffffff",
    foreground="#303030",
    grid_alpha=0.18,
    cursor="#d0021b",
    selection="#3d7eff40",
    channel=("#d62728", "#2ca02c", "#1f77b4", "#6a3d9a", "#ff7f0e", "#17becf"),
    band_background="#f2f2f2",
    selected_outline="#000000",
    highlight="#2f6fde",
)

DARK = PlotColors(
    background="#1e1f22",
    foreground="#d8d8d8",
    grid_alpha=0.14,
    cursor="#ff5c5c",
    selection="#6fa0ff50",
    channel=("#ff6b6b", "#7bd88f", "#6cb6ff", "#c39bff", "#ffb454", "#5fd7d7"),
    band_background="#2a2b2f",
    selected_outline="#ffffff",
    highlight="#3d7eff",
)


def plot_colors(dark: bool) -> PlotColors:
    return DARK if dark else LIGHT


def _qpalette(dark: bool) -> QPalette:
    p = QPalette()
    if dark:
        base, window, text, button = "#25262a", "#2d2e33", "#e6e6e6", "#35363b"
        disabled = "#808080"
        link = "#6cb6ff"
    else:
        base, window, text, button = "#ffffff", "#f0f0f0", "#1a1a1a", "#e6e6e6"
        disabled = "#9a9a9a"
        link = "#0b57d0"
    highlight = plot_colors(dark).highlight
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, window),
        (role.WindowText, text),
        (role.Base, base),
        (role.AlternateBase, button),
        (role.ToolTipBase, base),
        (role.ToolTipText, text),
        (role.Text, text),
        (role.Button, button),
        (role.ButtonText, text),
        (role.Highlight, highlight),
        (role.HighlightedText, "#ffffff"),
        (role.Link, link),
        (role.PlaceholderText, disabled),
        (role.BrightText, "#ff5050"),
    ):
        p.setColor(r, QColor(c))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(disabled))
    return p


def apply_palette(app: QApplication, dark: bool) -> None:
    """Switch the whole application to the light or dark palette."""
    app.setStyle("Fusion")
    app.setPalette(_qpalette(dark))
    app.setProperty("harlab_dark", dark)


def is_dark(app: QApplication | None = None) -> bool:
    app = app or QApplication.instance()
    return bool(app is not None and app.property("harlab_dark"))
