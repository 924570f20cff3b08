"""One confusion picture for a model (``harlab evaluate``) and for two annotators (the agreement
report): the same look from both users, readable with 18 classes, an empty matrix said in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib import colormaps  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from harlab.agreement.agreement_report import plot_pair_confusion  # noqa: E402
from harlab.agreement.reliability import PairAgreement  # noqa: E402
from harlab.core.confusion_plot import CMAP, plot_confusion_matrix, row_shares  # noqa: E402
from harlab.ml.evaluate import plot_confusion  # noqa: E402

CLASSES = ("sitting", "walking", "running")
#: one row all on its diagonal (share 1: the darkest shade), one split, one light
CM = np.array([[40, 0, 0], [10, 30, 0], [2, 3, 35]])


def colours(path: Path) -> set[tuple[int, int, int]]:
    img = imread(str(path))
    return {tuple(int(round(v * 255)) for v in px[:3]) for px in img.reshape(-1, img.shape[-1])}


def shade(share: float) -> tuple[int, int, int]:
    return tuple(int(round(v * 255)) for v in colormaps[CMAP](share)[:3])


def near(colour: tuple[int, int, int], seen: set[tuple[int, int, int]], tol: int = 2) -> bool:
    return any(max(abs(a - b) for a, b in zip(colour, c, strict=True)) <= tol for c in seen)


def test_row_shares():
    np.testing.assert_allclose(row_shares(np.array([[1, 3], [0, 0]])), [[0.25, 0.75], [0.0, 0.0]])


def test_a_model_and_a_pair_of_annotators_get_the_same_picture(tmp_path):
    report = {"confusion": CM.tolist(), "classes": list(CLASSES), "accuracy": 0.875, "macro_f1": 0.87}
    model_png = plot_confusion(report, tmp_path / "model.png")
    pair = PairAgreement("ann", "bob", int(CM.sum()), 0.875, 0.81, CM)
    pair_png = plot_pair_confusion(pair, CLASSES, tmp_path / "pair.png")
    model, annotators = colours(model_png), colours(pair_png)
    assert imread(str(model_png)).shape == imread(str(pair_png)).shape  # same size for the same classes
    for share in (1.0, 0.75, 0.25):  # the cells' shades, shares of their row, in both
        assert near(shade(share), model) and near(shade(share), annotators), share
    greens = tuple(int(round(v * 255)) for v in colormaps["Greens"](1.0)[:3])
    assert not near(greens, annotators)  # the agreement report's own green picture is gone


def test_eighteen_classes_grow_the_figure_and_nothing_says_so(tmp_path):
    k = 18
    cm = np.diag(np.arange(1, k + 1)) + 1
    names = [f"activity_number_{i}" for i in range(k)]
    big = plot_confusion_matrix(cm, names, tmp_path / "big.png", title="18", rows="true", columns="predicted")
    small = plot_confusion_matrix(
        CM, CLASSES, tmp_path / "small.png", title="3", rows="true", columns="predicted"
    )
    assert imread(str(big)).shape[0] > 1.5 * imread(str(small)).shape[0]
    empty = plot_pair_confusion(
        PairAgreement("ann", "bob", 0, None, None, np.zeros((3, 3), np.int64)), CLASSES, tmp_path / "e.png"
    )
    assert not near(shade(1.0), colours(empty))  # words, no grid of shades
