"""Explore: an interactive PCA scatter of the session's labelled windows.

Before training anything, a researcher wants to see whether the classes separate at
all and which windows sit in the wrong cloud. Each point is one labelled window
(hand-crafted features, standardised, projected on two principal components),
coloured by its class; clicking a point shows that window in the timeline.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.core.session import Session
from harlab.core.window_defaults import DEFAULT_WINDOW_S

AXES = ((0, 1), (0, 2), (1, 2))


class ExploreDialog(QDialog):
    """PCA of one session's windows; ``jump_requested(t0, t1)`` when a point is clicked."""

    jump_requested = Signal(float, float)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Explore: PCA of labelled windows")
        self.resize(760, 620)
        self.session = session
        self.track = QComboBox()
        self.track.addItems([n for n, t in session.label_tracks.items() if len(t)])
        self.window_s = QDoubleSpinBox()
        self.window_s.setRange(0.5, 60.0)
        self.window_s.setValue(DEFAULT_WINDOW_S)
        self.window_s.setSuffix(" s")
        self.axes = QComboBox()
        self.axes.addItems([f"PC{a + 1} × PC{b + 1}" for a, b in AXES])
        self.compute_button = QPushButton("Compute")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = QListWidget()  # beside the plot: a legend inside it would hide points
        self.legend.setMaximumWidth(190)
        form = QFormLayout()
        form.addRow("Label track", self.track)
        form.addRow("Window", self.window_s)
        row = QHBoxLayout()
        row.addLayout(form)
        row.addWidget(QLabel("Axes"))
        row.addWidget(self.axes)
        row.addWidget(self.compute_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        body = QHBoxLayout()
        body.addWidget(self.plot, 1)
        body.addWidget(self.legend)
        lay.addLayout(body, 1)
        lay.addWidget(self.status)
        self.compute_button.clicked.connect(self.compute)
        self.axes.currentIndexChanged.connect(lambda _i: self._draw())
        self.coords: np.ndarray | None = None
        self.labels: list[str] = []
        self.starts = np.zeros(0)
        self.explained = np.zeros(0)
        self.items: list[pg.ScatterPlotItem] = []
        if self.track.count():
            self.compute()
        else:
            self.status.setText("This session has no labelled track to explore.")

    def compute(self) -> None:
        """Cut windows, project them, draw; errors (too few windows, no motion streams) are shown."""
        from harlab.ml.dataset import build_dataset
        from harlab.ml.explore import pca_windows

        track = self.track.currentText()
        w = float(self.window_s.value())
        try:
            motion = [
                n for n, st in self.session.streams.items() if st.kind in ("accelerometer", "gyroscope")
            ]
            data = build_dataset([self.session], track, w, w / 2, channels=motion or None)
            proj = pca_windows(data.X, data.info.rate_hz, data.info.channels, data.info.units, 3)
        except HarlabError as exc:
            self.coords = None
            self.plot.clear()
            self.status.setText(f"Cannot compute the PCA: {exc}")
            return
        self.coords = proj.coords
        self.explained = proj.explained
        self.labels = [data.classes[i] for i in data.y]
        self.starts = np.asarray(data.windows.start_s, float)
        self.window = data.info.window_s  # whole samples: 2.56 s at 10 Hz is cut as 2.6 s
        self._draw()
        share = ", ".join(f"PC{i + 1} {v:.0%}" for i, v in enumerate(self.explained))
        self.status.setText(
            f"{len(self.labels)} windows of {self.window:g} s from track {track!r}; explained variance: "
            f"{share}. Click a point to show its window in the timeline."
            + "".join(f"\n{note}" for note in data.notes)
        )

    def _draw(self) -> None:
        self.plot.clear()
        self.legend.clear()
        self.items = []
        if self.coords is None:
            return
        a, b = AXES[self.axes.currentIndex()]
        if b >= self.coords.shape[1]:
            return
        labels = np.array(self.labels)
        for name in dict.fromkeys(self.labels):
            idx = np.flatnonzero(labels == name)
            color = pg.mkColor(self.session.schema.color(name))
            item = pg.ScatterPlotItem(
                self.coords[idx, a],
                self.coords[idx, b],
                data=idx,
                size=7,
                name=name,
                pen=pg.mkPen(None),
                brush=pg.mkBrush(color),
                hoverable=True,
                tip=lambda x, y, data, name=name: f"{name} at {self.starts[data]:.1f} s",
            )
            item.sigClicked.connect(self._clicked)
            self.plot.addItem(item)
            self.items.append(item)
            icon = QPixmap(12, 12)
            icon.fill(color)
            self.legend.addItem(QListWidgetItem(QIcon(icon), f"{name} ({len(idx)})"))
        self.plot.setLabel("bottom", f"PC{a + 1} ({self.explained[a]:.0%})")
        self.plot.setLabel("left", f"PC{b + 1} ({self.explained[b]:.0%})")

    def _clicked(self, _item: pg.ScatterPlotItem, points: list) -> None:
        if points:
            i = int(points[0].data())
            self.jump_requested.emit(float(self.starts[i]), float(self.starts[i] + self.window))
