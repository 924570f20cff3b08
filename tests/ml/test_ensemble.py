"""Ensemble weights: chosen on the validation participants, stored in the model file and applied."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.ml.dataset import build_dataset
from harlab.ml.ensemble import fit_member_weights, weighted_mean
from harlab.ml.modelfile import ActivityModel
from harlab.ml.training import TrainConfig, train

from .conftest import make_session

TINY = {"depth": 2, "width": 8, "max_width": 8}


def _one_hot(y: np.ndarray, k: int, sure: float) -> np.ndarray:
    p = np.full((len(y), k), (1 - sure) / (k - 1))
    p[np.arange(len(y)), y] = sure
    return p


def test_the_better_member_gets_the_larger_weight_in_either_order():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    good = _one_hot(y, 4, 0.7)
    wrong = np.where(rng.random(400) < 0.5, y, (y + 1) % 4)  # right half of the time, and sure of itself
    bad = _one_hot(wrong, 4, 0.97)
    w = fit_member_weights([good, bad], y)
    assert w[0] > 0.5 and sum(w) == pytest.approx(1.0)
    assert fit_member_weights([bad, good], y) == pytest.approx(w[::-1])
    # the same member twice: nothing to choose, so one half each
    assert fit_member_weights([good, good], y) == [0.5, 0.5]
    # more than two members, or no validation windows: equal weights
    assert fit_member_weights([good, bad, good], y) == pytest.approx([1 / 3] * 3)
    assert fit_member_weights([good, bad], y[:0]) == [0.5, 0.5]


def test_weighted_mean_checks_its_weights():
    p = [np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])]
    np.testing.assert_allclose(weighted_mean(p, [3, 1]), [[0.75, 0.25]])
    for bad in ([1.0], [0.0, 0.0], [-1.0, 2.0], [np.nan, 1.0]):
        with pytest.raises(HarlabError, match="one number >= 0 per member"):
            weighted_mean(p, bad)


def test_unknown_weighting_is_refused():
    with pytest.raises(HarlabError, match="unknown ensemble weighting 'best'; one of equal, fitted"):
        TrainConfig(ensemble_weights="best")


@pytest.fixture(scope="module")
def data():
    return build_dataset([make_session(f"P{i}", seed=i) for i in range(4)], "activity", 2.0, 1.0)


def test_fitted_weights_are_stored_in_the_file_and_used(tmp_path, data):
    """A CNN that has barely learned (one epoch at a tiny learning rate) beside a LightGBM that has:
    fitted weights lean on LightGBM, the file keeps them, and the loaded model applies them."""
    cfg = TrainConfig(
        preset="ensemble", epochs=1, lr=1e-6, arch=TINY, gbm_rounds=40, ensemble_weights="fitted", seed=3
    )
    model = train(data.X, data.y, data.groups, data.info, cfg)
    cnn_w, gbm_w = model.weights
    assert gbm_w > cnn_w and cnn_w + gbm_w == pytest.approx(1.0)
    assert model.info.metrics["ensemble_weights"] == {"cnn1d": cnn_w, "lightgbm": gbm_w}

    path = model.save(tmp_path / "m.harmodel")
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(z["__header__"].tobytes())
    assert header["weights"] == [cnn_w, gbm_w]
    loaded = ActivityModel.load(path)
    assert loaded.weights == [cnn_w, gbm_w]
    alone = [ActivityModel(loaded.info, [m]).predict_proba(data.X) for m in loaded.members]
    np.testing.assert_allclose(loaded.predict_proba(data.X), weighted_mean(alone, [cnn_w, gbm_w]), atol=1e-6)
    # and they matter: the equal-weight mean of the same members is another prediction
    assert not np.allclose(weighted_mean(alone, [1, 1]), weighted_mean(alone, [cnn_w, gbm_w]), atol=1e-3)

    equal = train(
        data.X, data.y, data.groups, data.info, TrainConfig(**{**vars(cfg), "ensemble_weights": "equal"})
    )
    assert equal.weights == [1.0, 1.0]
    assert equal.info.metrics["ensemble_weights"] == {"cnn1d": 1.0, "lightgbm": 1.0}
