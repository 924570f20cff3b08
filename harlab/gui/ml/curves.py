"""Live training curves: loss and accuracy per epoch, training solid, validation dashed.

One curve per (stage, metric): the ensemble preset trains a CNN (epochs) and then
LightGBM (boosting rounds, which report only the validation loss), and each gets
its own line, so nothing is drawn across the two x scales as if it were one run.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from harlab.ml.model_presets import DEFAULT_PRESET, preset

#: metric -> (plot, label, colour, dashed); LightGBM's curves go to their own plot (rounds, not epochs)
_STYLE = {
    "loss": ("loss", "training", "#1f77b4", False),
    "val_loss": ("loss", "validation", "#ff7f0e", True),
    "acc": ("acc", "training", "#1f77b4", False),
    "val_acc": ("acc", "validation", "#ff7f0e", True),
    "val_f1": ("acc", "validation macro-F1", "#2ca02c", True),
}
GBM_STAGE = "lightgbm"
REFIT_COLOUR = "#9467bd"


class TrainingCurves(QWidget):
    """Stacked plots: network loss and accuracy per epoch, and (for presets with LightGBM) its
    validation loss per boosting round. :meth:`add` takes one ``TrainProgress``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget()
        self.acc_plot = pg.PlotWidget()
        self.gbm_plot = pg.PlotWidget()
        for plot, title, ylabel, xlabel, legend_at in (
            (self.loss_plot, "Network loss", "cross-entropy", "epoch", (-10, 10)),
            (self.acc_plot, "Network accuracy", "fraction", "epoch", (-10, -10)),
            (self.gbm_plot, "LightGBM validation loss", "cross-entropy", "boosting round", (-10, 10)),
        ):
            plot.setBackground("w")
            plot.setTitle(title, color="#333", size="10pt")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("left", ylabel)
            plot.setLabel("bottom", xlabel)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            plot.addLegend(
                offset=legend_at, labelTextSize="8pt", colCount=2, brush=pg.mkBrush(255, 255, 255, 210)
            )
            plot.setMinimumHeight(120)
            layout.addWidget(plot)
        self.acc_plot.setYRange(0, 1.02)
        self._curves: dict[tuple[str, str], tuple[list[float], list[float], pg.PlotDataItem]] = {}
        self.show_for(DEFAULT_PRESET)

    def show_for(self, name: str) -> None:
        """Show the plots a preset fills: network curves, LightGBM rounds, or both."""
        spec = preset(name)
        self.loss_plot.setVisible(spec.network is not None)
        self.acc_plot.setVisible(spec.network is not None)
        self.gbm_plot.setVisible(spec.boosted)

    def clear(self, name: str | None = None) -> None:
        for plot in (self.loss_plot, self.acc_plot, self.gbm_plot):
            plot.clear()
            if plot.plotItem.legend is not None:
                plot.plotItem.legend.clear()
        self._curves.clear()
        self.acc_plot.setYRange(0, 1.02)
        if name is not None:
            self.show_for(name)

    def add(self, p: object) -> None:
        """Append the finite values of one progress report to their curves."""
        stage = str(getattr(p, "stage", ""))
        x = float(getattr(p, "epoch", 0))
        for metric in _STYLE:
            value = float(getattr(p, metric, math.nan))
            if not math.isfinite(value):
                continue
            xs, ys, item = self._curve(stage, metric)
            xs.append(x)
            ys.append(value)
            item.setData(xs, ys)

    def _curve(self, stage: str, metric: str) -> tuple[list[float], list[float], pg.PlotDataItem]:
        key = (stage, metric)
        if key not in self._curves:
            which, label, colour, dashed = _STYLE[metric]
            if stage == GBM_STAGE:
                plot = self.gbm_plot
                plot.setVisible(True)
            else:
                plot = self.loss_plot if which == "loss" else self.acc_plot
            if stage.endswith(" refit"):  # the second run, on everyone: its own colour beside the first
                colour = REFIT_COLOUR
            colour = pg.mkColor(colour)
            pen = pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            name = label if stage == GBM_STAGE else f"{label} ({stage})"
            item = plot.plot(
                [], [], pen=pen, name=name, symbol="o", symbolSize=4, symbolBrush=colour, symbolPen=None
            )
            self._curves[key] = ([], [], item)
        return self._curves[key]

    def points(self, stage: str, metric: str) -> list[tuple[float, float]]:
        """The (x, value) pairs drawn for ``stage``'s ``metric`` so far."""
        xs, ys, _ = self._curves.get((stage, metric), ([], [], None))
        return list(zip(xs, ys, strict=True))

    def stages(self) -> list[str]:
        return sorted({s for s, _ in self._curves})
