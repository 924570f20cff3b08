"""Kappa and alpha against published values, through harlab's own path (label codes -> units ->
statsmodels / krippendorff), and the per-class and missing-label behaviour."""

from __future__ import annotations

import importlib

import krippendorff
import numpy as np
import pytest

from harlab.agreement import MISSING, Units, reliability
from harlab.agreement.reliability import confusion

# Fleiss (1971), "Measuring nominal scale agreement among many raters", Psychological Bulletin 76(5),
# Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses; the paper reports kappa = .430 (the same
# table is in statsmodels' own tests, from which these rows were taken).
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ]
)  # fmt: skip

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg School for
# Communication, section C (nominal data, 4 observers, 12 units, missing values): alpha = 0.743.
# NaN = the observer did not code the unit. The krippendorff package's own documentation uses it.
NAN = np.nan
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)

# Wikipedia, "Krippendorff's alpha", a computational example (3 coders, 15 units): nominal 0.691.
WIKIPEDIA_ALPHA = np.array(
    [
        [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
        [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
        [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
    ]
)


def units_from(rows: np.ndarray, names: list[str] | None = None) -> Units:
    """Coders x units values (NaN = missing) as harlab units, values coded by first appearance."""
    data = np.asarray(rows, float).T
    values = sorted({v for v in data.ravel() if not np.isnan(v)})
    code = {v: i for i, v in enumerate(values)}
    codes = np.array([[MISSING if np.isnan(v) else code[v] for v in row] for row in data], np.int64)
    tracks = tuple(names or [f"r{i}" for i in range(data.shape[1])])
    return Units(codes, tuple(str(v) for v in values), tracks, "sample", 1.0)


def cohen_units(table: np.ndarray) -> Units:
    """Two raters' units reproducing a contingency table (rows: first rater's class)."""
    pairs = [(i, j) for i in range(len(table)) for j in range(len(table)) for _ in range(int(table[i, j]))]
    return Units(
        np.array(pairs, np.int64), tuple(f"c{i}" for i in range(len(table))), ("A", "B"), "sample", 1.0
    )


def test_fleiss_1971_table_gives_the_published_kappa():
    r = reliability(units_from(FLEISS_1971.T))
    assert r.fleiss_units == 30
    assert round(r.fleiss_kappa, 3) == 0.430


def test_cohen_kappa_of_fleiss_levin_paik_table_18_1():
    """Fleiss, Levin & Paik (2003), Statistical Methods for Rates and Proportions, 3rd ed., Table 18.1:
    two psychiatrists' diagnoses (psychotic, neurotic, organic) of 100 patients; kappa = 0.676
    (p_o = 0.89, p_e = 0.66)."""
    table = np.array([[75, 1, 4], [5, 4, 1], [0, 0, 10]])
    r = reliability(cohen_units(table))
    assert round(r.cohen_kappa, 3) == 0.676
    assert r.agreement == pytest.approx(0.89)
    np.testing.assert_array_equal(r.pairs[0].confusion, table)


def test_cohen_kappa_of_a_two_by_two_example():
    """Wikipedia, "Cohen's kappa", simple example: 50 grant proposals, yes/yes 20, yes/no 5,
    no/yes 10, no/no 15; p_o = 0.7, p_e = 0.5, kappa = 0.4."""
    r = reliability(cohen_units(np.array([[20, 5], [10, 15]])))
    assert r.cohen_kappa == pytest.approx(0.4)


def test_krippendorff_2011_example_with_missing_values():
    r = reliability(units_from(KRIPPENDORFF_2011))
    assert round(r.krippendorff_alpha, 3) == 0.743
    assert r.alpha_units == 11  # unit 12 has a single value: not pairable
    # the package agrees with itself on the raw reliability data: harlab's coding changes nothing
    direct = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement="nominal")
    assert r.krippendorff_alpha == pytest.approx(direct, abs=1e-12)


def test_wikipedia_alpha_example():
    r = reliability(units_from(WIKIPEDIA_ALPHA, ["A", "B", "C"]))
    assert round(r.krippendorff_alpha, 3) == 0.691
    # Fleiss needs units every coder rated: only those (units 3..7 and 13 minus gaps) count
    full = ~np.isnan(WIKIPEDIA_ALPHA).any(axis=0)
    assert r.fleiss_units == int(full.sum())
    assert r.coverage["B"] == pytest.approx(np.mean(~np.isnan(WIKIPEDIA_ALPHA[1])))


def test_alpha_matches_the_package_on_random_units_with_missing_labels():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 4, 400)
    codes = np.stack([np.where(rng.random(400) < 0.8, truth, rng.integers(0, 4, 400)) for _ in range(3)], 1)
    codes[rng.random(codes.shape) < 0.2] = MISSING
    r = reliability(Units(codes, ("a", "b", "c", "d"), ("x", "y", "z"), "sample", 1.0))
    data = np.where(codes == MISSING, np.nan, codes.astype(float)).T
    assert r.krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-12
    )
    assert len(r.pairs) == 3 and r.cohen_kappa is None and r.light_kappa is not None


def test_per_class_specific_agreement_by_hand():
    # A: a a a b b ; B: a a b b b  -> class a: 2*2/(3+2) = 0.8; class b: 2*2/(2+3) = 0.8
    codes = np.array([[0, 0], [0, 0], [0, 1], [1, 1], [1, 1]])
    r = reliability(Units(codes, ("a", "b"), ("A", "B"), "sample", 1.0))
    spec = {c.name: c.specific_agreement for c in r.per_class}
    assert spec == {"a": pytest.approx(0.8), "b": pytest.approx(0.8)}
    np.testing.assert_array_equal(confusion(codes[:, 0], codes[:, 1], 2), [[2, 1], [0, 2]])


def test_undefined_coefficients_are_none_not_nan():
    # both annotators say "a" everywhere: perfect agreement, but chance agreement is 1 too
    r = reliability(Units(np.zeros((10, 2), np.int64), ("a",), ("A", "B"), "sample", 1.0))
    assert r.agreement == 1.0
    assert r.cohen_kappa is None and r.fleiss_kappa is None and r.krippendorff_alpha is None
    # nothing pairable at all
    r = reliability(Units(np.full((4, 2), MISSING, np.int64), ("a",), ("A", "B"), "sample", 1.0))
    assert r.agreement is None and r.krippendorff_alpha is None and r.alpha_units == 0


def test_alpha_on_a_long_raster_is_computed_on_evenly_spaced_units(monkeypatch):
    module = importlib.import_module("harlab.agreement.reliability")  # the package re-exports the function

    rng = np.random.default_rng(2)
    truth = rng.integers(0, 3, 1000)
    codes = np.stack(
        [np.where(rng.random(1000) < 0.85, truth, rng.integers(0, 3, 1000)) for _ in range(2)], 1
    )
    monkeypatch.setattr(module, "ALPHA_MAX_CELLS", 9 * 250)  # 3 classes: 250 units fit
    r = reliability(Units(codes, ("a", "b", "c"), ("x", "y"), "sample", 1.0))
    assert r.pairable_units == 1000 and r.alpha_units == 250
    every4th = codes[::4].T.astype(float)
    assert r.krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=every4th, level_of_measurement="nominal"), abs=1e-12
    )
    assert r.fleiss_units == 1000  # the kappas keep every unit
