"""Metrics on a hand-made example, grouped folds, confusion PNG."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.ml.evaluate import format_report, plot_confusion
from harlab.ml.metrics import classification_report, confusion_matrix, grouped_kfold


def test_hand_made_confusion():
    # truth a a a a b b c c c c ; predictions a a a b b c c c c a
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    p = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])
    cm = confusion_matrix(y, p, 3)
    assert cm.tolist() == [[3, 1, 0], [0, 1, 1], [1, 0, 3]]
    rep = classification_report(y, p, ["a", "b", "c"], groups=np.array(list("xxxxxyyyyy")))
    assert rep["accuracy"] == pytest.approx(0.7)
    pa, ra = 3 / 4, 3 / 4
    pb, rb = 1 / 2, 1 / 2
    pc, rc = 3 / 4, 3 / 4
    f1 = [2 * pa * ra / (pa + ra), 2 * pb * rb / (pb + rb), 2 * pc * rc / (pc + rc)]
    assert rep["macro_f1"] == pytest.approx(np.mean(f1))
    assert rep["per_class"]["b"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # group x: truth a a a a b, pred a a a b b -> 4/5 ; group y: b c c c c vs c c c c a -> 3/5
    assert rep["per_group"]["x"]["accuracy"] == pytest.approx(0.8)
    assert rep["per_group"]["y"]["accuracy"] == pytest.approx(0.6)
    assert rep["group_spread"]["accuracy"]["min"] == pytest.approx(0.6)
    assert "macro-F1" in format_report(rep)


def test_absent_class_does_not_count_in_macro_f1():
    rep = classification_report(np.array([0, 0, 1]), np.array([0, 0, 1]), ["a", "b", "never"])
    assert rep["macro_f1"] == 1.0


def test_grouped_kfold_keeps_groups_whole_and_is_reproducible():
    groups = np.repeat(np.arange(7), [5, 9, 3, 8, 6, 4, 7])
    folds = list(grouped_kfold(groups, 3, seed=1))
    assert len(folds) == 3
    test_all = np.concatenate([te for _, te in folds])
    assert sorted(test_all.tolist()) == list(range(len(groups)))
    for tr, te in folds:
        assert set(groups[tr]).isdisjoint(groups[te])
    again = list(grouped_kfold(groups, 3, seed=1))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    with pytest.raises(ValueError):
        list(grouped_kfold(groups, 8))


def test_confusion_png(tmp_path):
    rep = classification_report(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"])
    path = plot_confusion(rep, tmp_path / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
