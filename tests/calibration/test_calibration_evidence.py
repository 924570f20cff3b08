"""How calibration judges itself: cross-fitted folds (every calibration window held out once,
from a fit that did not see it) and a bootstrap bar that follows how much was held out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.ml.calibration import (
    CalibrationConfig,
    bootstrap_gain,
    calibrate,
    calibrate_sessions,
    calibrate_variants,
    calibration_dataset,
    held_out_folds,
)
from harlab.ml.evaluate import evaluate_model
from harlab.ml.metrics import classification_report

from .conftest import UNUSUAL, activity_session

CFG = CalibrationConfig(threads=1)


def test_cross_fitting_holds_out_every_window_once_and_never_fits_beside_it(general_model):
    model, _ = general_model
    data = calibration_dataset(model, [activity_session(UNUSUAL, 100, seconds=30)])
    rows = np.arange(len(data))
    folds, _ = held_out_folds(data, rows, replace(CFG, folds=5))
    assert len(folds) == 5
    held = np.stack([v for _, v in folds])
    assert (held.sum(axis=0) == 1).all()  # each window held out by exactly one fold
    start, si, w = data.windows.start_s, data.windows.session_index, data.windows.window_s
    for train, val in folds:
        assert not (train & val).any() and len(np.unique(data.y[train])) >= 2
        same = si[train][:, None] == si[val][None, :]
        distance = np.abs(start[train][:, None] - start[val][None, :])
        assert not (same & (distance < w - 1e-9)).any()  # no fitted window shares samples with a held-out one
    # three folds: neighbouring time blocks together
    three, _ = held_out_folds(data, rows, replace(CFG, folds=3))
    assert len(three) == 3 and (np.stack([v for _, v in three]).sum(axis=0) == 1).all()


def test_cross_fitted_calibration_judges_on_every_window_and_still_improves(general_model):
    model, _ = general_model
    data = calibration_dataset(model, [activity_session(UNUSUAL, 100, seconds=30)])
    result = calibrate(model, data, replace(CFG, folds=5))
    assert result.n_held_out == result.n_windows == len(data)
    assert result.before is not None and result.before["n"] == len(data)
    assert "each of 5 folds" in result.held_out
    later = calibration_dataset(model, [activity_session(UNUSUAL, 101, bouts=10, shift=2)])
    general = evaluate_model(model, later)["macro_f1"]
    assert evaluate_model(result.model, later)["macro_f1"] > general + 0.15
    summary = result.model.info.calibration["members"]
    assert len(summary["lightgbm"]["fold_best_rounds"]) == 5


def test_weighted_macro_f1_is_the_reports():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 80)
    general = np.where(rng.random(80) < 0.7, y, rng.integers(0, 5, 80))
    chosen = y.copy()
    gains = bootstrap_gain(y, general, general, 5, 50, 0)
    assert np.all(gains == 0)  # the same predictions gain nothing on any resample
    # drawn once each, the gain is the reports' difference
    from harlab.ml.calibration import _macro_f1_weighted

    ones = np.ones((1, len(y)))
    for pred in (general, chosen):
        want = classification_report(y, pred, [str(i) for i in range(5)])["macro_f1"]
        assert _macro_f1_weighted(y, pred, 5, ones)[0] == pytest.approx(want)


def test_the_bootstrap_bar_follows_how_much_was_held_out():
    """One window put right among 60 is no evidence; fifteen are."""
    y = np.repeat(np.arange(6), 10)
    chosen = y.copy()
    one = y.copy()
    one[0] = 1
    fifteen = y.copy()
    fifteen[::4] = (y[::4] + 1) % 6
    low_one = np.quantile(bootstrap_gain(y, one, chosen, 6, 400, 0), 0.05)
    low_fifteen = np.quantile(bootstrap_gain(y, fifteen, chosen, 6, 400, 0), 0.05)
    assert low_one <= 0.0 < low_fifteen


def test_bootstrap_evidence_keeps_the_general_model_for_an_ordinary_participant(general_model):
    model, _ = general_model
    cfg = replace(CFG, evidence="bootstrap")
    ordinary = calibrate_sessions(model, [activity_session("P2", 100, seconds=30)], cfg)
    assert ordinary.model.info.calibration["blend"]["general_head"] == 1.0
    assert any("resamplings" in w for w in ordinary.warnings)
    unusual = calibrate_sessions(model, [activity_session(UNUSUAL, 100, seconds=30)], cfg)
    assert unusual.model.info.calibration["blend"]["general_head"] < 1.0


def test_config_refuses_unknown_folds_and_rules():
    with pytest.raises(HarlabError):
        CalibrationConfig(folds=0)
    with pytest.raises(HarlabError):
        CalibrationConfig(folds=6)
    with pytest.raises(HarlabError):
        CalibrationConfig(evidence="vibes")


def test_variants_that_only_choose_differently_share_one_fit_and_match_calibrate(general_model):
    model, _ = general_model
    data = calibration_dataset(model, [activity_session("P2", 100, seconds=30)])
    configs = [CFG, replace(CFG, weak_share=1.0, weak_trees=True), replace(CFG, evidence="bootstrap")]
    results = calibrate_variants(model, data, configs)
    for cfg, res in zip(configs, results, strict=True):
        alone = calibrate(model, data, cfg)
        assert res.model.info.calibration["blend"] == alone.model.info.calibration["blend"]
        np.testing.assert_allclose(
            res.model.predict_proba(data.X), alone.model.predict_proba(data.X), atol=1e-6
        )


def test_cross_fitting_with_a_bootstrap_bar_judges_every_window_by_its_noise(general_model):
    """The candidate measured in docs/ML.md ("Personal models"): cross-fitted, and a blend kept on
    a bootstrap bound above 0.05."""
    model, _ = general_model
    cfg = replace(CFG, folds=5, evidence="bootstrap", min_gain=0.05)
    result = calibrate_sessions(model, [activity_session(UNUSUAL, 100, seconds=30)], cfg)
    assert result.n_held_out == result.n_windows
    blend = result.model.info.calibration["blend"]
    assert blend["general_head"] < 1.0 and blend["evidence_bound"] > 0.05
    ordinary = calibrate_sessions(model, [activity_session("P2", 100, seconds=30)], cfg)
    assert ordinary.model.info.calibration["blend"]["general_head"] == 1.0
