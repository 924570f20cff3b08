"""Recording context: how a window's posture and motion compare with the rest of its recording.

A window alone cannot tell sitting from standing well: both are still, and the device's
tilt differs between people more than between the two postures. Within one recording,
though, the device sits the same way on the body, so the tilt *relative to that
recording's upright* separates them: the gravity direction during the recording's most
dynamic windows (walking, where the trunk is upright and the arm hangs on average) is the
reference, and each window's angle from it does not depend on how the device was worn.
The amount of motion is compared the same way: with the recording's walking (its dynamic
windows' median) and with its median window.

The reference also holds the recording's typical window: the median over all its windows
of every window feature (:mod:`harlab.ml.features`). LightGBM then sees each window both
as it is and against that median, so "brisker than this person usually moves" or "held
higher than this person's usual" become features: people differ in how they eat or type
about as much as the activities differ (docs/ML.md has what it gains on each dataset).
The medians are taken as worn; :func:`harlab.ml.orientation.canonicalise` maps them with
the windows (:func:`harlab.ml.features.column_map`), so they need not be computed again
per model.

An earlier variant also measured the tilt towards where the recording's stillest windows
lean; on UCI HAR it cost accuracy (the stillest windows mix sitting, standing and lying,
so the direction is unstable) and was dropped.

The reference uses only the unlabelled signal of the same recording (what any
whole-session prediction has), never labels and never other participants. A dataset
computes it from *all* windows of each session, not just the labelled ones, so choosing
labelled windows cannot leak into it; a model given bare windows treats them as one
recording. With no accelerometer, or fewer than :data:`MIN_WINDOWS` windows, the reference
is NaN and the features are missing values, which LightGBM routes on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, Future
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError
from harlab.ml.features import ACCEL_UNITS, find_triads, n_features, window_features

#: the motion reference: upright unit vector (3), median motion of the dynamic windows, median
#: motion of all; a reference taken with the rate goes on with the median of each window feature
REF_SIZE = 5
CONTEXT_NAMES = ["context:tilt_from_upright_deg", "context:motion_over_walking", "context:motion_over_median"]
MIN_WINDOWS = 10
DYNAMIC_QUANTILE = 0.7  #: windows above this quantile of motion define the upright
_FEATURE_BATCH = (
    256  #: windows per feature batch: its temporaries stay in the CPU caches (2048 took 1.8x as long)
)


class RecordingReferences:
    """Each window's recording reference, stored once per recording: ``table`` (R, size)
    float32, one row per recording, and ``index`` (N,), each window's row.

    A reference is the same for every window of a recording, and with the median window
    features it is some 600 numbers: a float64 row per window made WISDM's training set
    carry 121 MB of copies (GBs for a cohort). This keeps one float32 row per recording
    (the features it summarises are float32) and behaves as the (N, size) array where one
    is asked for: ``len``, ``shape``, indexing by windows (``refs[idx]``, ``refs[:, a:b]``
    keep the table and index the windows), and ``numpy.asarray`` (materialises the rows:
    for a batch, never for a whole dataset in harlab's own code).
    """

    __slots__ = ("table", "index")
    ndim = 2

    def __init__(self, table: np.ndarray, index: np.ndarray) -> None:
        table = np.asarray(table, np.float32)
        index = np.asarray(index, np.intp)
        if table.ndim != 2 or index.ndim != 1:
            raise HarlabError(
                f"references: a table (R, size) and an index (N,), got {table.shape} and {index.shape}"
            )
        if len(index) and (index.min() < 0 or index.max() >= len(table)):
            raise HarlabError(f"a window's reference row is outside the table of {len(table)} recordings")
        self.table = table
        self.index = index

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.index), self.table.shape[1])

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: Any) -> Any:
        """Windows (and a column slice) as references of their own; one window (an integer)
        as its row, as numpy would."""
        rows, cols = key if isinstance(key, tuple) and len(key) == 2 else (key, slice(None))
        if isinstance(rows, tuple):
            raise IndexError("references take a window index and, optionally, a column index")
        picked = self.index[rows]
        if np.ndim(picked) == 0:
            return self.table[int(picked), cols]
        if not isinstance(cols, slice):
            return self.table[picked][:, cols]
        return RecordingReferences(self.table if cols == slice(None) else self.table[:, cols], picked)

    def columns(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """(N, stop - start) float32: the columns ``start:stop`` of every window's reference."""
        return self.table[:, start:stop][self.index]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self.table[self.index]
        return rows if dtype is None else rows.astype(dtype, copy=False)


#: each window's recording reference: per recording (:class:`RecordingReferences`) or a plain array
References = np.ndarray | RecordingReferences


def reference_columns(refs: References, start: int = 0, stop: int | None = None) -> np.ndarray:
    """(N, stop - start): columns ``start:stop`` of each window's reference, without
    materialising the other columns of a per-recording table."""
    if isinstance(refs, RecordingReferences):
        return refs.columns(start, stop)
    return np.asarray(refs)[:, start:stop]


def _accel_axes(channels: Sequence[str], units: Sequence[str]) -> list[int] | None:
    """The channels of the first accelerometer triad, or None without one."""
    for t in find_triads(channels, units):
        if units[t[0]] in ACCEL_UNITS:
            return list(t)
    return None


def has_accelerometer(channels: Sequence[str], units: Sequence[str]) -> bool:
    """Whether the channels hold an accelerometer triad, without which there is no context."""
    return any(units[t[0]] in ACCEL_UNITS for t in find_triads(channels, units))


#: windows per chunk of :func:`_gravity_and_motion`: its float64 temporaries (6 kB a window at
#: 50 Hz) stay in the CPU caches; a day's windows in one piece took 20 times as long (1.4 s)
_MOTION_CHUNK = 256


def _gravity_and_motion(X: np.ndarray, axes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each window's gravity direction (N, 3) and motion (N,), float64, from the accelerometer
    channels ``axes`` of X (N, T, C), :data:`_MOTION_CHUNK` windows at a time: every number is
    computed per window, in the same order, so the chunks give the very numbers of one piece."""
    n = len(X)
    gu = np.empty((n, 3), np.float64)
    motion = np.empty(n, np.float64)
    for i in range(0, n, _MOTION_CHUNK):
        a = np.asarray(X[i : i + _MOTION_CHUNK, :, axes], np.float64)
        g = a.mean(1)
        gu[i : i + len(a)] = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
        motion[i : i + len(a)] = np.linalg.norm(a, axis=2).std(1)
    return gu, motion


def reference_size(channels: Sequence[str], units: Sequence[str], rate_hz: float | None = None) -> int:
    """Columns of a recording reference: :data:`REF_SIZE`, plus one per window feature (the
    current version's) when taken with the sampling rate."""
    return REF_SIZE + (0 if rate_hz is None else _n_feature_columns(channels, units))


def _n_feature_columns(channels: Sequence[str], units: Sequence[str]) -> int:
    # the column count depends on the channels, not on the window length or rate
    return n_features(2, len(channels), 1.0, find_triads(channels, units), units)


def recording_reference(
    X: np.ndarray,
    channels: Sequence[str],
    units: Sequence[str],
    rate_hz: float | None = None,
    executor: Executor | None = None,
    window_feats: np.ndarray | None = None,
) -> np.ndarray:
    """The reference of one recording from all its windows X (N, T, C), SI units:
    (:func:`reference_size`,), NaN where the recording is too short or has no accelerometer.
    ``executor`` computes the window features' batches on its threads (a day's windows take
    seconds on one; the features release the GIL); ``window_feats``: those features, when the
    caller has them already (:func:`window_features_parallel`)."""
    F = None
    if rate_hz is not None and has_accelerometer(channels, units) and len(X) >= MIN_WINDOWS:
        F = (
            window_features_parallel(X, channels, units, rate_hz, executor)
            if window_feats is None
            else window_feats
        )
    medians = None if F is None else column_medians(F)
    return reference_from_motion(
        window_motion(X, channels, units), reference_size(channels, units, rate_hz), medians
    )


def window_motion(
    X: np.ndarray, channels: Sequence[str], units: Sequence[str]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each window's gravity direction (N, 3) and amount of motion (N,), float64, or None
    without an accelerometer: all a reference needs of the windows besides the feature
    medians, so a long recording can be summarised block by block (:mod:`harlab.ml.predict`)
    and the concatenated blocks give the very numbers of the whole."""
    axes = _accel_axes(channels, units)
    return None if axes is None else _gravity_and_motion(X, axes)


def column_medians(F: np.ndarray) -> np.ndarray:
    """``np.median(F, axis=0)`` of a 2-D array, the very numbers (NaN for a column holding a NaN),
    from a partial sort of each column laid out contiguously (:func:`row_medians` of ``F.T``):
    numpy's median along the first axis of a day's window features took 2.6 times as long."""
    F = np.asarray(F)
    if F.ndim != 2:
        raise HarlabError(f"column medians of a 2-D array, got shape {F.shape}")
    return row_medians(np.ascontiguousarray(F.T))


def row_medians(R: np.ndarray) -> np.ndarray:
    """``np.median(R, axis=1)`` of a C-contiguous 2-D array, the same numbers; ``R`` is partially
    sorted in place (its rows keep their values, not their order)."""
    if R.ndim != 2 or R.shape[1] == 0 or not np.issubdtype(R.dtype, np.floating):
        return np.median(R, axis=1)
    n = R.shape[1]
    h = n // 2
    # numpy's own recipe: the middle one or two by selection, then their mean (in the array's
    # precision), NaN where a row holds one (a partition puts NaN last)
    R.partition([h - 1, h, n - 1] if n % 2 == 0 else [h, n - 1], axis=1)
    out = np.mean(R[:, h - 1 : h + 1] if n % 2 == 0 else R[:, h : h + 1], axis=1)
    out[np.isnan(R[:, -1])] = np.nan
    return out


def reference_from_motion(
    motion: tuple[np.ndarray, np.ndarray] | None, size: int, medians: np.ndarray | None = None
) -> np.ndarray:
    """A recording's reference (``size``,) from all its windows' :func:`window_motion` and, for
    a reference taken with the rate, the median of each window feature; NaN where the
    recording is too short or has no accelerometer."""
    out = np.full(size, np.nan)
    if motion is None or len(motion[1]) < MIN_WINDOWS:
        return out
    gu, m = motion
    dynamic = m >= np.quantile(m, DYNAMIC_QUANTILE)
    up = gu[dynamic].mean(0)
    up /= max(float(np.linalg.norm(up)), 1e-9)
    out[:REF_SIZE] = np.concatenate([up, [np.median(m[dynamic]), np.median(m)]])
    if size > REF_SIZE and medians is not None:
        out[REF_SIZE:] = medians
    return out


def window_features_parallel(
    X: np.ndarray,
    channels: Sequence[str],
    units: Sequence[str],
    rate_hz: float,
    executor: Executor | None = None,
) -> np.ndarray:
    """The current version's window features of X (N, T, C), in batches on ``executor``'s
    threads (one batch at a time without); feature by feature: :func:`submit_window_features`."""
    triads = find_triads(channels, units)

    def batch(i: int) -> np.ndarray:
        return window_features(X[i : i + _FEATURE_BATCH], rate_hz, triads, units)

    starts = range(0, len(X), _FEATURE_BATCH)
    parts = list(executor.map(batch, starts) if executor is not None else map(batch, starts))
    if not parts:
        return window_features(X[:0], rate_hz, triads, units)
    return np.concatenate(parts)


def submit_window_features(
    X: np.ndarray,
    channels: Sequence[str],
    units: Sequence[str],
    rate_hz: float,
    executor: Executor | None = None,
) -> tuple[np.ndarray, list[Future[None]]]:
    """The current version's window features of X (N, T, C) as (F, N), feature by feature (what
    a session's prediction stores: no transpose of the whole on one thread afterwards), and the
    batches' futures: each batch's columns are written by the thread that computed them, and
    the array is complete once every future is done. Returning before that lets a caller queue
    the next block's batches behind these, so the workers never wait between blocks. Without
    ``executor`` the batches run here, one at a time, before returning."""
    triads = find_triads(channels, units)
    out = np.empty((n_features(X.shape[1], X.shape[2], rate_hz, triads, units), len(X)), np.float32)

    def batch(i: int) -> None:
        out[:, i : i + _FEATURE_BATCH] = window_features(X[i : i + _FEATURE_BATCH], rate_hz, triads, units).T

    starts = range(0, len(X), _FEATURE_BATCH)
    if executor is None:
        for i in starts:
            batch(i)
        return out, []
    return out, [executor.submit(batch, i) for i in starts]


def references_by_recording(
    X: np.ndarray,
    recordings: np.ndarray,
    channels: Sequence[str],
    units: Sequence[str],
    rate_hz: float | None = None,
    executor: Executor | None = None,
    window_feats: np.ndarray | None = None,
) -> RecordingReferences:
    """(N, :func:`reference_size`): each window's recording reference, computed from the windows
    given, one row per recording (:class:`RecordingReferences`). ``window_feats``: the windows'
    features when already computed (:func:`recording_reference`)."""
    recordings = np.asarray(recordings)
    size = reference_size(channels, units, rate_hz)
    names, index = np.unique(recordings, return_inverse=True)
    table = np.full((len(names), size), np.nan, np.float32)
    for r in range(len(names)):
        if len(names) == 1:  # one recording (a session): its windows as they are, not a copy
            table[r] = recording_reference(X, channels, units, rate_hz, executor, window_feats)
            continue
        sel = index == r
        feats = None if window_feats is None else window_feats[sel]
        table[r] = recording_reference(X[sel], channels, units, rate_hz, executor, feats)
    return RecordingReferences(table, index.reshape(-1))


def context_features(
    X: np.ndarray, refs: References, channels: Sequence[str], units: Sequence[str]
) -> np.ndarray:
    """(N, len(CONTEXT_NAMES)) float32: each window against its recording's reference."""
    out = np.full((len(X), len(CONTEXT_NAMES)), np.nan, np.float32)
    axes = _accel_axes(channels, units)
    if axes is None or len(X) == 0:
        return out
    refs = reference_columns(refs, 0, REF_SIZE).astype(np.float64)
    gu, motion = _gravity_and_motion(X, axes)
    up, walking, median = refs[:, 0:3], refs[:, 3], refs[:, 4]
    out[:, 0] = np.degrees(np.arccos(np.clip((gu * up).sum(1), -1.0, 1.0)))
    out[:, 1] = motion / np.where(walking > 1e-9, walking, np.nan)
    out[:, 2] = motion / np.where(median > 1e-9, median, np.nan)
    return out


def relative_features(F: np.ndarray, refs: References, out: np.ndarray | None = None) -> np.ndarray:
    """(N, F) float32: each window's features ``F`` (the current version's columns) minus its
    recording's median (the reference's columns after :data:`REF_SIZE`; NaN when missing),
    written into ``out`` when given (e.g. the columns of a member's whole feature rows). Windows
    of one recording (a session's batch) take its row as it is, not a copy per window."""
    if refs.shape[1] != REF_SIZE + F.shape[1]:
        raise HarlabError(
            f"the recording reference has {refs.shape[1]} columns, not the {REF_SIZE + F.shape[1]} "
            "these relative features need (take it with the sampling rate)"
        )
    if out is None:
        out = np.empty(F.shape, np.float32)
    if (
        isinstance(refs, RecordingReferences)
        and len(refs.index)
        and bool((refs.index == refs.index[0]).all())
    ):
        np.subtract(F, refs.table[refs.index[0], REF_SIZE:], out=out)  # float32 - float32, as below
    else:
        out[...] = F - reference_columns(refs, REF_SIZE)
    return out


def network_context(
    X: np.ndarray, refs: References, channels: Sequence[str], units: Sequence[str]
) -> np.ndarray:
    """(N, len(CONTEXT_NAMES)) float32 context columns scaled for a network's input: the tilt in
    right angles, the motion ratios as logarithms (a ratio of 0.01 and one of 100 are equally
    far from 1), and 0 where the reference is missing (too short a recording, no accelerometer)."""
    c = context_features(X, refs, channels, units).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.stack(
            [c[:, 0] / 90.0, np.log(np.maximum(c[:, 1], 1e-3)), np.log(np.maximum(c[:, 2], 1e-3))], axis=1
        )
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
