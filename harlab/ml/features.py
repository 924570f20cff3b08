"""Hand-crafted window features: the strong, cheap baseline every network must beat.

Version 2 (the current one) describes each window through several views of the signal:

* every channel as recorded, and its derivative (jerk);
* per triaxial sensor (three consecutive channels of one stream and unit) the magnitude
  of the signal and of its jerk, which no wearing orientation changes;
* for an accelerometer, the gravity direction (the window's mean acceleration as a unit
  vector: how the device is tilted, which is what separates sitting from standing from
  lying) and the body acceleration split into its component along gravity (vertical)
  and the magnitude across it (horizontal); a gyroscope is split the same way into
  turning about the vertical and across it. These are what a watch worn the other way
  round, or a phone in another pocket, leaves unchanged.

Each view gets the same statistics: mean, spread, extremes, percentiles, interquartile
range, skewness, kurtosis, mean absolute change, zero crossings, the two strongest
frequencies with their share of power, spectral centroid, band powers, log power and
spectral entropy; the orientation-free views also the strongest autocorrelation peak
between 0.25 s and 2.5 s and its lag (step or stroke cadence). Plus the axis
correlations of each sensor.

All of it is vectorised over windows (one sort for all percentiles, FFTs over the
time axis), so a day of windows takes seconds. Version 1 lives on in
:mod:`harlab.ml.features_v1` for model files trained with it; the version is stored in
the model file because a booster is only valid for the exact columns it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft as sp_fft

from harlab.core.errors import HarlabError
from harlab.ml.features_v1 import window_features_v1

FEATURES_VERSION = 2
ACCEL_UNITS = ("m/s^2", "m/s²", "g")
GYRO_UNITS = ("rad/s", "deg/s", "°/s", "dps")
_PCTS = (0.05, 0.25, 0.5, 0.75, 0.95)
_BANDS_HZ = ((0.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, 8.0), (8.0, 12.0), (12.0, 1e9))


def find_triads(channels: Sequence[str], units: Sequence[str]) -> list[tuple[int, int, int]]:
    """Groups of three consecutive channels of one sensor (same stream prefix and unit).

    Channel names are ``stream.channel``; a triad is three channels of one stream in a
    row with one unit, which is what an accelerometer or gyroscope looks like.
    """
    triads = []
    i = 0
    while i + 2 < len(channels):
        prefix = [c.rpartition(".")[0] for c in channels[i : i + 3]]
        if len(set(prefix)) == 1 and len(set(units[i : i + 3])) == 1:
            triads.append((i, i + 1, i + 2))
            i += 3
        else:
            i += 1
    return triads


def _percentiles(s: np.ndarray) -> list[np.ndarray]:
    """np.percentile's linear interpolation for all of ``_PCTS`` from rows already sorted."""
    n = s.shape[1]
    out = []
    for q in _PCTS:
        pos = q * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        out.append(s[:, lo] + (pos - lo) * (s[:, hi] - s[:, lo]))
    return out


def _stats(
    x: np.ndarray, rate_hz: float, centred: tuple[np.ndarray, np.ndarray] | None = None
) -> list[np.ndarray]:
    """Statistics of each row of x (M, T) (one channel of one window per row) -> list of (M,) arrays.

    Row-wise sums go through ``einsum`` (no (M, T) temporaries for the cubes and fourth powers),
    the spectrum through scipy's FFT (it transforms many short rows at once with SIMD, three
    times numpy's speed here), and band powers are sums of bins (``add.reduceat``) rather than
    a cumulative sum over every bin: the same numbers to float32 rounding, for a day's windows
    in a third less time (``benchmarks/predict_day.py`` measures it against the previous code).
    ``centred``: the row means and x minus them (:func:`_centred`), when the caller has them."""
    m, t = x.shape
    zeros = np.zeros(m, x.dtype)
    srt = np.sort(x, axis=1)
    mean, cen = _centred(x) if centred is None else centred
    var = np.einsum("ij,ij->i", cen, cen) / np.float32(t)
    sd = np.sqrt(var)
    flat = sd <= 1e-6 * (np.abs(mean) + 1.0)  # constant up to float32 rounding: shape undefined
    safe_var = np.where(flat, 1.0, var)
    cen2 = cen * cen
    q = _percentiles(srt)
    out = [
        mean,
        sd,
        srt[:, 0],
        srt[:, -1],
        *q,
        q[3] - q[1],
        np.where(
            flat, 0.0, np.einsum("ij,ij->i", cen2, cen) / np.float32(t) / (safe_var * np.sqrt(safe_var))
        ),
        np.where(flat, 0.0, np.einsum("ij,ij->i", cen2, cen2) / np.float32(t) / (safe_var * safe_var)),
        _mean_abs_change(x) if t > 1 else zeros,
    ]
    del cen2
    signs = np.signbit(cen)
    out.append(
        (np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1) / (t - 1)).astype(x.dtype)
        if t > 1
        else zeros
    )
    f = sp_fft.rfft(cen, axis=1)
    spec = f.real * f.real
    spec += f.imag * f.imag  # (M, F)
    del f
    freqs = np.fft.rfftfreq(t, d=1.0 / rate_hz).astype(x.dtype)
    total = spec.sum(1) + np.float32(1e-12)
    inv = np.float32(1.0) / total
    rows = np.arange(m)
    first = spec.argmax(1)
    f1 = spec[rows, first] * inv
    spec_first = spec[rows, first]
    spec[rows, first] = -1.0
    second = spec.argmax(1) if spec.shape[1] > 1 else first
    f2 = spec[rows, second] * inv if spec.shape[1] > 1 else f1
    spec[rows, first] = spec_first
    out += [freqs[first], f1, freqs[second], f2]
    out.append((spec @ freqs) * inv)
    edges = [(int(np.searchsorted(freqs, lo)), int(np.searchsorted(freqs, hi))) for lo, hi in _BANDS_HZ]
    for i0, i1 in edges:
        out.append(spec[:, i0:i1].sum(1) * inv if i1 > i0 else zeros)
    out.append(np.log(total / t))
    p = spec * inv[:, None]
    logp = p + np.float32(1e-12)
    np.log(logp, out=logp)
    np.multiply(p, logp, out=spec)
    out.append(-spec.sum(1) / np.float32(np.log(max(2, spec.shape[1]))))
    return out


def _centred(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's mean (M,) and the rows minus it (M, T): what the statistics and the cadence
    both start from, computed once for both (each row's numbers do not depend on the others)."""
    mean = x.mean(1)
    return mean, x - mean[:, None]


def _cadence(x: np.ndarray, rate_hz: float, cen: np.ndarray | None = None) -> list[np.ndarray]:
    """Strongest autocorrelation between 0.25 s and 2.5 s lag and that lag (step or stroke
    period) of each row of x (M, T), through one zero-padded FFT. Only computed for the
    orientation-free views: the costliest statistic, and a rhythm shows in all of them.
    ``cen``: x minus its row means (:func:`_centred`), when the caller has it already."""
    m, t = x.shape
    lo, hi = max(1, int(0.25 * rate_hz)), min(t - 1, int(2.5 * rate_hz))
    if hi <= lo:
        return [np.zeros(m, x.dtype), np.zeros(m, x.dtype)]
    if cen is None:
        cen = _centred(x)[1]
    nfft = 1 << int(np.ceil(np.log2(max(2, 2 * t))))
    f = sp_fft.rfft(cen, n=nfft, axis=1)
    power = f.real * f.real
    power += f.imag * f.imag
    ac = sp_fft.irfft(power, n=nfft, axis=1)[:, :hi]
    seg = ac[:, lo:hi] / np.where(ac[:, :1] > 1e-12, ac[:, :1], 1.0)
    arg = seg.argmax(1)
    return [seg[np.arange(m), arg], ((arg + lo) / rate_hz).astype(x.dtype)]


def _mean_abs_change(x: np.ndarray) -> np.ndarray:
    """Mean absolute difference of consecutive samples of each row of x (M, T), T > 1."""
    d = np.diff(x, axis=1)
    np.abs(d, out=d)
    return d.sum(1) / np.float32(x.shape[1] - 1)


def _axis_correlations(a: np.ndarray) -> list[np.ndarray]:
    """Correlations xy, xz, yz of a triad's channels a (N, T, 3), each channel centred and its
    power taken once (not once per pair)."""
    cen = [a[:, :, i] - a[:, :, i].mean(1, keepdims=True) for i in range(3)]
    power = [(c * c).mean(1) for c in cen]
    return [
        (cen[i] * cen[j]).mean(1) / (np.sqrt(power[i] * power[j]) + 1e-9) for i, j in ((0, 1), (0, 2), (1, 2))
    ]


def _norm3(v0: np.ndarray, v1: np.ndarray, v2: np.ndarray) -> np.ndarray:
    """The length of vectors given by their three components: ``np.linalg.norm`` over an axis of
    three, the same sum in the same order (``(x² + y²) + z²``), without numpy's reduction over
    an axis that short (a tenth of the features' time went into it)."""
    out = v0 * v0
    out += v1 * v1
    out += v2 * v2
    return np.sqrt(out, out=out)


def _split_by_axis(v: np.ndarray, axis_unit: np.ndarray) -> list[np.ndarray]:
    """(N, T, 3) -> two (N, T): the component along ``axis_unit`` (N, 3) and the magnitude across
    it (the sums over the three axes written out, in numpy's order: the same numbers)."""
    u = [axis_unit[:, i, None] for i in range(3)]
    comp = [v[:, :, i] for i in range(3)]
    along = comp[0] * u[0]
    along += np.float32(0.0)  # numpy's sum starts from +0: a sum of -0s is +0 (a zero's sign is a crossing)
    along += comp[1] * u[1]
    along += comp[2] * u[2]
    across = _norm3(*(comp[i] - along * u[i] for i in range(3)))
    return [along, across]


def _features_v2(
    x: np.ndarray, rate_hz: float, triads: Sequence[tuple[int, int, int]], units: Sequence[str]
) -> np.ndarray:
    """Features of one batch x (N, T, C) float32 (single precision halves the memory traffic;
    the statistics need no more than its 7 digits)."""
    n = len(x)
    # np.diff(x, axis=1, prepend=x[:, :1]) * rate, without the copy of x that prepending makes
    jerk = np.empty_like(x)
    np.subtract(x[:, 1:], x[:, :-1], out=jerk[:, 1:])
    np.subtract(x[:, :1], x[:, :1], out=jerk[:, :1])
    jerk *= np.float32(rate_hz)
    views = [x, jerk]
    extra: list[np.ndarray] = []
    gravity_unit = None
    for t in triads:
        axes = list(t)
        a = x[:, :, axes]
        views.append(_norm3(a[:, :, 0], a[:, :, 1], a[:, :, 2]))
        views.append(_norm3(jerk[:, :, t[0]], jerk[:, :, t[1]], jerk[:, :, t[2]]))
        extra += _axis_correlations(a)
        if units[t[0]] in ACCEL_UNITS and gravity_unit is None:
            g = a.mean(1)
            norm = np.linalg.norm(g, axis=1, keepdims=True)
            gravity_unit = g / np.where(norm > 1e-9, norm, 1.0)
            extra += [gravity_unit[:, 0], gravity_unit[:, 1], gravity_unit[:, 2], norm[:, 0]]
            views += _split_by_axis(a - g[:, None], gravity_unit)
    if gravity_unit is not None:
        for t in triads:
            if units[t[0]] in GYRO_UNITS:
                views += _split_by_axis(x[:, :, list(t)], gravity_unit)
    # (V, N, T): one channel of one window per row, view by view, each view copied once into its
    # rows as one contiguous run (a view is (N, T, k) channels or one (N, T)); the orientation-free
    # views are then the rows' contiguous tail, which the cadence takes without a copy
    n_views = sum(w.shape[2] if w.ndim == 3 else 1 for w in views)
    rows = np.empty((n_views, n, x.shape[1]), np.result_type(*views))
    j = 0
    for w in views:
        if w.ndim == 2:
            rows[j] = w
            j += 1
        else:
            rows[j : j + w.shape[2]] = w.transpose(2, 0, 1)
            j += w.shape[2]
    del views, jerk
    flat = rows.reshape(-1, x.shape[1])
    mean, cen = _centred(flat)
    # each statistic (V * N,) view by view -> (N, V), the columns in the order of the views
    cols = [s.reshape(n_views, n).T for s in _stats(flat, rate_hz, (mean, cen))]
    free = 2 * x.shape[2]  # the views after the per-channel signal and jerk are orientation-free
    if n_views > free:
        free_cen = cen[free * n :]
        cols += [s.reshape(n_views - free, n).T for s in _cadence(free_cen, rate_hz, free_cen)]
    if extra:
        cols.append(np.stack(extra, axis=1))
    return np.concatenate(cols, axis=1)


_STAT_NAMES = (
    ["mean", "sd", "min", "max"]
    + [f"p{round(q * 100):02d}" for q in _PCTS]
    + [
        "iqr",
        "skew",
        "kurtosis",
        "mean_abs_change",
        "zero_cross_rate",
        "f1_hz",
        "f1_share",
        "f2_hz",
        "f2_share",
        "centroid_hz",
    ]
    + [f"band_{lo:g}-{hi:g}Hz" if hi < 1e9 else f"band_{lo:g}Hz+" for lo, hi in _BANDS_HZ]
    + ["log_power", "spectral_entropy"]
)


def feature_names(
    channels: Sequence[str], units: Sequence[str], triads: Sequence[tuple[int, int, int]] | None = None
) -> list[str]:
    """Column names of :func:`window_features` (version 2), e.g. ``accelerometer.vertical:sd``.

    The order mirrors :func:`_features_v2`; a test holds the two to the same length, and
    the names make feature importances and exported feature tables readable.
    """
    triads = find_triads(channels, units) if triads is None else triads
    views = list(channels) + [f"{c}'" for c in channels]
    extra: list[str] = []
    has_gravity = False
    for t in triads:
        stream = channels[t[0]].rpartition(".")[0] or f"ch{t[0]}"
        views += [f"{stream}.|xyz|", f"{stream}.|xyz'|"]
        extra += [f"{stream}:corr_{a}{b}" for a, b in ("xy", "xz", "yz")]
        if units[t[0]] in ACCEL_UNITS and not has_gravity:
            has_gravity = True
            extra += [f"{stream}:gravity_{a}" for a in "xyz"] + [f"{stream}:gravity_norm"]
            views += [f"{stream}.vertical", f"{stream}.horizontal"]
    if has_gravity:
        for t in triads:
            if units[t[0]] in GYRO_UNITS:
                stream = channels[t[0]].rpartition(".")[0] or f"ch{t[0]}"
                views += [f"{stream}.about_vertical", f"{stream}.across_vertical"]
    free = views[2 * len(channels) :]
    return (
        [f"{v}:{st}" for st in _STAT_NAMES for v in views]
        + [f"{v}:{st}" for st in ("acf_peak", "acf_peak_lag_s") for v in free]
        + extra
    )


#: statistics that a negated signal swaps with another (min <-> max, p05 <-> p95, ...) and negates
_NEGATED_STATS = {
    "mean": "mean",
    "min": "max",
    "max": "min",
    "p05": "p95",
    "p25": "p75",
    "p50": "p50",
    "p75": "p25",
    "p95": "p05",
    "skew": "skew",
}


def column_map(
    channels: Sequence[str], units: Sequence[str], signs: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """How version-2 columns move when channels are multiplied by ``signs`` (+1/-1 each):
    (index, sign) with ``features(X * signs) == sign * features(X)[:, index]``.

    A wearing transform (:mod:`harlab.ml.orientation`) is such a sign per channel, so a
    recording's median features taken as worn map into a model's orientation without
    computing them again. A negated signal keeps its spread, shape of spectrum and
    rhythm; its mean, skewness and median change sign, and each low percentile becomes
    the negated high one. Turning about the vertical changes sign when the accelerometer
    and gyroscope signs differ (a mirror: the other wrist turns the other way).
    """
    names = feature_names(channels, units)
    pos = {n: i for i, n in enumerate(names)}
    sign_of = {c: float(sg) for c, sg in zip(channels, signs, strict=True)}
    triads = find_triads(channels, units)
    accel = next((t for t in triads if units[t[0]] in ACCEL_UNITS), None)
    about_sign: dict[str, float] = {}
    if accel is not None:
        for t in triads:
            if units[t[0]] in GYRO_UNITS:
                prod = {float(signs[g]) * float(signs[a]) for g, a in zip(t, accel, strict=True)}
                if len(prod) != 1:
                    raise HarlabError(
                        "channel signs that are not a wearing transform (gyroscope and "
                        "accelerometer disagree on some axes but not all)"
                    )
                about_sign[channels[t[0]].rpartition(".")[0] or f"ch{t[0]}"] = prod.pop()
    index = np.arange(len(names))
    out_sign = np.ones(len(names), np.float32)
    for j, name in enumerate(names):
        view, _, stat = name.rpartition(":")
        if view.endswith(".about_vertical"):
            sg = about_sign.get(view.rpartition(".")[0], 1.0)
        elif view.rstrip("'") in sign_of:
            sg = sign_of[view.rstrip("'")]
        elif stat.startswith("corr_"):  # stream:corr_xy
            tri = next(t for t in triads if (channels[t[0]].rpartition(".")[0] or f"ch{t[0]}") == view)
            a, b = ("xyz".index(stat[5]), "xyz".index(stat[6]))
            out_sign[j] = float(signs[tri[a]]) * float(signs[tri[b]])
            continue
        elif stat.startswith("gravity_") and stat != "gravity_norm":
            tri = next(t for t in triads if (channels[t[0]].rpartition(".")[0] or f"ch{t[0]}") == view)
            out_sign[j] = float(signs[tri["xyz".index(stat[-1])]])
            continue
        else:
            continue
        if sg < 0 and stat in _NEGATED_STATS:
            index[j] = pos[f"{view}:{_NEGATED_STATS[stat]}"]
            out_sign[j] = -1.0
    return index, out_sign


def window_features(
    X: np.ndarray,
    rate_hz: float,
    triads: Sequence[tuple[int, int, int]] = (),
    units: Sequence[str] = (),
    version: int = FEATURES_VERSION,
    batch: int = 256,
) -> np.ndarray:
    """Feature matrix (N, F) float32 for windows ``X`` (N, T, C) in physical units.

    ``units`` (one per channel) tell accelerometers and gyroscopes apart for the
    gravity-aligned views; without them only the per-channel and magnitude views are
    computed. ``version`` picks the feature set a model was trained with.
    """
    if version == 1:
        return window_features_v1(X, rate_hz, triads)
    if version != FEATURES_VERSION:
        raise HarlabError(
            f"window features version {version} is not known to this harlab "
            f"(it knows 1 and {FEATURES_VERSION}); update harlab to apply this model"
        )
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise HarlabError(f"windows must be (N, T, C), got shape {X.shape}")
    units = list(units) if len(units) else [""] * X.shape[2]
    if len(X) == 0:
        probe = np.zeros((1, max(2, X.shape[1]), X.shape[2]), np.float32)
        return np.zeros((0, _features_v2(probe, rate_hz, triads, units).shape[1]), np.float32)
    # absurd but finite samples (a session file holding 3e38) overflow to inf and NaN features,
    # which the trees take as they take any (NaN as missing): no warning for each statistic
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        parts = [
            _features_v2(X[i : i + batch], rate_hz, triads, units).astype(np.float32, copy=False)
            for i in range(0, len(X), batch)
        ]
    return np.concatenate(parts)


def n_features(
    n_time: int,
    n_channels: int,
    rate_hz: float,
    triads: Sequence[tuple[int, int, int]],
    units: Sequence[str] = (),
    version: int = FEATURES_VERSION,
) -> int:
    """How many columns :func:`window_features` returns for this input shape."""
    return window_features(
        np.zeros((0, n_time, n_channels), np.float32), rate_hz, triads, units, version
    ).shape[1]
