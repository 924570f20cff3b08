"""One picture of a confusion matrix, for a model against the truth (``harlab evaluate
--confusion``, the train dialog, tracked runs) and for one annotator against another (the
agreement report's PNG per pair of tracks).

Both used to draw their own (blue shares of the true class with a colour bar; green square roots
of the overall share without one), so the same kind of table read differently in a paper
depending on where it came from. Here: each cell shaded by its share of its row (recall for a
model; "of what the first annotator called X, how much the second called Y" for a pair), the
count printed in it, class names on both axes (the columns' turned so 18 and more still fit), a
colour bar for the share, and the figure grows with the number of classes. A matrix with
nothing in it says so instead of drawing an empty grid.

Matplotlib draws on its Agg canvas through ``Figure`` (no pyplot, no display, no global state,
safe in worker threads) and is imported only when a picture is drawn. The PNG is written whole
or not at all (:func:`harlab.core.files.atomic_write`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harlab.core import files

#: the colour map of every confusion picture (light: a small share of the row, dark: all of it)
CMAP = "Blues"
DPI = 120
#: a cell's share of its row above which its count is written in white
WHITE_TEXT_ABOVE = 0.6


def row_shares(confusion: np.ndarray) -> np.ndarray:
    """Each cell's share of its row (a row with nothing in it stays 0)."""
    cm = np.asarray(confusion, float)
    return cm / np.maximum(cm.sum(1, keepdims=True), 1.0)


def plot_confusion_matrix(
    confusion: np.ndarray | Sequence[Sequence[float]],
    classes: Sequence[str],
    path: str | Path,
    *,
    title: str,
    rows: str,
    columns: str,
    empty: str = "nothing to compare",
) -> Path:
    """PNG of ``confusion`` (rows: ``rows``, e.g. "true"; columns: ``columns``) at ``path``;
    ``empty`` is written instead when the matrix holds nothing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cm = np.asarray(confusion, float)
    k = len(classes)
    size = max(4.0, 0.45 * k + 2.5)
    fig = Figure(figsize=(size + 1, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if not cm.sum():
        ax.set_axis_off()
        ax.text(0.5, 0.5, empty, ha="center", va="center")
    else:
        share = row_shares(cm)
        im = ax.imshow(share, cmap=CMAP, vmin=0, vmax=1)
        ax.set_xticks(range(k), classes, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(k), classes, fontsize=8)
        ax.set_xlabel(columns)
        ax.set_ylabel(rows)
        for i, j in zip(*np.nonzero(cm), strict=True):
            ax.text(
                j,
                i,
                f"{int(cm[i, j])}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if share[i, j] > WHITE_TEXT_ABOVE else "black",
            )
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the row")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return files.atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"), durable=False)
