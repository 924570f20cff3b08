"""Agreement statistics over units (grid points or windows) of several annotators.

The chance-corrected coefficients come from maintained implementations, not from this module:
Cohen's and Fleiss' kappa from statsmodels (``statsmodels.stats.inter_rater``), Krippendorff's
alpha (nominal) from the ``krippendorff`` package. This module only turns label codes into the
tables they take and reads what is defined:

* Cohen's kappa: two tracks, the units both labelled (the contingency table); with more tracks,
  every pair's (their mean is Light's kappa).
* Fleiss' kappa: the units every track labelled (Fleiss needs the same number of ratings per unit).
* Krippendorff's alpha: every unit with at least two labels; missing labels are simply absent,
  which is what alpha was made for.
* Per class: the proportion of specific agreement (Fleiss 1975; Uebersax 1982): over all pairs of
  tracks, ``2 * both-c / (first-c + second-c)``, and a class-versus-rest Fleiss kappa.
* The confusion matrix between each pair of tracks, in units.

A coefficient that is not defined (one class only, no pairable unit) is None, never a NaN that
would print as a number.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from harlab.agreement.intervals import MISSING, Units

#: Most unit-by-class-by-class cells handed to ``krippendorff.alpha`` at once: it builds three
#: float64 arrays of a V x V matrix per unit, so this bounds it near 100 MB. Longer rasters are
#: thinned systematically (every k-th unit, the same as a coarser grid; a day at 1 s with 12
#: classes keeps every 3rd) and ``alpha_units`` says how many were used.
ALPHA_MAX_CELLS = 4_000_000


@dataclass(frozen=True)
class PairAgreement:
    """Two tracks compared on the units both labelled."""

    first: str
    second: str
    units: int  #: units both labelled
    agreement: float | None  #: proportion of those with the same label
    cohen_kappa: float | None
    confusion: np.ndarray  #: int64 (C, C): rows the first track's class, columns the second's


@dataclass(frozen=True)
class ClassAgreement:
    """One class: how often the annotators agree on it when any of them uses it."""

    name: str
    units: int  #: pairwise ratings of this class (first or second of a pair), over all pairs
    specific_agreement: float | None
    kappa_vs_rest: float | None  #: Fleiss' kappa of "this class or not" on the fully labelled units


@dataclass(frozen=True)
class Reliability:
    """Agreement of ``tracks`` on units (``unit`` "sample" every ``step`` s, or "window")."""

    tracks: tuple[str, ...]
    classes: tuple[str, ...]
    unit: str
    step: float
    units: int  #: units in the span
    coverage: dict[str, float]  #: per track, the fraction of units it labelled
    agreement: float | None  #: pooled over all pairs: same label among units both labelled
    cohen_kappa: float | None  #: two tracks only
    fleiss_kappa: float | None
    fleiss_units: int  #: units labelled by every track
    krippendorff_alpha: float | None
    alpha_units: int  #: units with at least two labels handed to krippendorff
    pairable_units: int  #: units with at least two labels (alpha_units is fewer when thinned)
    pairs: list[PairAgreement] = field(default_factory=list)
    per_class: list[ClassAgreement] = field(default_factory=list)

    @property
    def light_kappa(self) -> float | None:
        """The mean pairwise Cohen's kappa (Light 1971), for more than two tracks."""
        ks = [p.cohen_kappa for p in self.pairs if p.cohen_kappa is not None]
        return float(np.mean(ks)) if ks else None


def _defined(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def confusion(a: np.ndarray, b: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (a's class, b's class) over the units both labelled."""
    both = (a != MISSING) & (b != MISSING)
    out = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(out, (a[both], b[both]), 1)
    return out


def cohen_from_table(table: np.ndarray) -> float | None:
    """Cohen's kappa of a contingency table (statsmodels); None when undefined."""
    from statsmodels.stats.inter_rater import cohens_kappa  # 1 s and 180 MB: only when measuring

    if table.sum() == 0:
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _defined(cohens_kappa(table, return_results=False))


def fleiss_from_counts(counts: np.ndarray) -> float | None:
    """Fleiss' kappa of a units-by-classes count table (statsmodels); None when undefined."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    if len(counts) == 0 or counts.sum(axis=1).max() < 2:
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _defined(fleiss_kappa(counts, method="fleiss"))


def value_counts(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Units-by-classes counts of how many tracks gave each class (missing labels not counted)."""
    out = np.zeros((len(codes), max(n_classes, 1)), np.int64)
    rows = np.repeat(np.arange(len(codes)), codes.shape[1])
    flat = codes.ravel()
    ok = flat != MISSING
    np.add.at(out, (rows[ok], flat[ok]), 1)
    return out[:, :n_classes] if n_classes else out[:, :0]


def alpha_nominal(counts: np.ndarray) -> tuple[float | None, int]:
    """Krippendorff's alpha (nominal) of a value-counts table, with the number of units used."""
    import krippendorff

    pairable = counts[counts.sum(axis=1) >= 2]
    v = counts.shape[1]
    if len(pairable) == 0 or v == 0:
        return None, 0
    per_unit = max(v * v, 1)
    if len(pairable) * per_unit > ALPHA_MAX_CELLS:
        stride = int(np.ceil(len(pairable) * per_unit / ALPHA_MAX_CELLS))
        pairable = pairable[::stride]
    if (pairable.sum(axis=0) > 0).sum() < 2:
        return None, len(pairable)  # one class throughout: no disagreement expected, alpha undefined
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = krippendorff.alpha(value_counts=pairable, level_of_measurement="nominal")
    return _defined(a), len(pairable)


def reliability(units: Units) -> Reliability:
    """Every statistic of the module on ``units``."""
    codes = units.codes
    n, k = codes.shape
    c = len(units.classes)
    coverage = {t: float((codes[:, j] != MISSING).mean()) if n else 0.0 for j, t in enumerate(units.tracks)}
    pairs: list[PairAgreement] = []
    for i, j in combinations(range(k), 2):
        tab = confusion(codes[:, i], codes[:, j], c)
        tot = int(tab.sum())
        pairs.append(
            PairAgreement(
                units.tracks[i],
                units.tracks[j],
                tot,
                float(np.trace(tab)) / tot if tot else None,
                cohen_from_table(tab),
                tab,
            )
        )
    both = sum(p.units for p in pairs)
    agree = sum(int(np.trace(p.confusion)) for p in pairs)
    counts = value_counts(codes, c)
    full = counts[(codes != MISSING).all(axis=1)] if n else counts
    alpha, alpha_units = alpha_nominal(counts)
    per_class = []
    for ci, name in enumerate(units.classes):
        diag = sum(int(p.confusion[ci, ci]) for p in pairs)
        marg = sum(int(p.confusion[ci, :].sum() + p.confusion[:, ci].sum()) for p in pairs)
        binary = np.stack([full[:, ci], full.sum(axis=1) - full[:, ci]], axis=1) if len(full) else full[:, :0]
        per_class.append(
            ClassAgreement(
                name,
                marg,
                2 * diag / marg if marg else None,
                fleiss_from_counts(binary) if len(full) else None,
            )
        )
    return Reliability(
        tracks=units.tracks,
        classes=units.classes,
        unit=units.unit,
        step=units.step,
        units=n,
        coverage=coverage,
        agreement=agree / both if both else None,
        cohen_kappa=pairs[0].cohen_kappa if k == 2 else None,
        fleiss_kappa=fleiss_from_counts(full) if c else None,
        fleiss_units=len(full),
        krippendorff_alpha=alpha,
        alpha_units=alpha_units,
        pairable_units=int((counts.sum(axis=1) >= 2).sum()) if n else 0,
        pairs=pairs,
        per_class=per_class,
    )
