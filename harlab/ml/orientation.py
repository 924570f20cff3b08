"""Wearing orientation: bring each recording into the orientation the model was trained in.

The same watch can be worn in four ways that matter: as intended, turned round on the
wrist (180° about the screen's axis), or on the other wrist, which mirrors the motion
(one axis across the arm flips; or the other, when the other wrist's watch is also
turned). In WISDM six of 41 subjects wear it differently from the rest, and models
trained on the majority lose 5-25 points on them (``../shared/reference/datasets.md``
4.1 11b). Random-rotation augmentation covers turning but not mirroring, which no
rotation can produce.

Within one recording the device sits the same way on the body, and the recording's
*upright* (:mod:`harlab.ml.context`: the mean gravity direction of its most dynamic
windows, walking for a wrist) says how. Training finds the upright most recordings share
(the canonical one) and stores it with the model. Every recording, in training and when
applying the model, is then mapped by whichever of the four transforms brings its upright
closest to the canonical one, provided that one beats leaving it alone by a clear margin,
lands close to the canonical upright, and the recording moves enough for its upright to
mean something; otherwise it is left as it is. A recording of a single activity that is
not walking (the Fitbit seed's sit-ups) has an upright of its own; the closeness rule keeps
it as worn. The four transforms form a group (each is its own inverse), and each is a sign
per axis, so applying them costs one multiplication.

Accelerometers (polar vectors) take the signs as they are. Gyroscopes and magnetometers
measure axial vectors, which a mirror flips once more: a mirrored wrist turns the other
way round. Channels that are not part of a triaxial sensor (heart rate) stay unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harlab.ml.context import REF_SIZE, RecordingReferences, References, reference_columns
from harlab.ml.features import ACCEL_UNITS, GYRO_UNITS, column_map, find_triads

TRANSFORMS = ("as worn", "turned 180° about z", "mirrored in x", "mirrored in y")
#: per transform, the signs of x, y, z of a polar vector (acceleration)
POLAR_SIGNS = np.array([[1, 1, 1], [-1, -1, 1], [-1, 1, 1], [1, -1, 1]], np.float32)
#: the same transforms on an axial vector (angular velocity, magnetic field): mirrors flip it once more
AXIAL_SIGNS = POLAR_SIGNS * np.array([1, 1, -1, -1], np.float32)[:, None]
MAGNETIC_UNITS = ("µT", "uT", "T", "mT", "nT", "G", "gauss")
#: a transform must bring the upright this much closer (in cosine) than leaving it alone
MIN_MARGIN = 0.2
#: ... and bring it within about 37° of the canonical upright (cosine): a recording of one
#: activity other than walking (sit-ups, say) has an upright of its own, which no transform
#: should be fitted to
MIN_MATCH = 0.8
#: below this motion of its dynamic windows (sd of |a|, m/s²) a recording's upright is not trusted
MIN_DYNAMIC_MOTION = 0.5


def _usable(refs: np.ndarray) -> np.ndarray:
    refs = np.asarray(refs, np.float64)
    return np.all(np.isfinite(refs[:, :4]), axis=1) & (refs[:, 3] >= MIN_DYNAMIC_MOTION)


def choose(refs: References, upright: np.ndarray | Sequence[float]) -> np.ndarray:
    """(N,) index into :data:`TRANSFORMS` for each row of recording references ``refs``
    (N, REF_SIZE) against the canonical ``upright``; 0 where the reference is missing,
    too still, or no transform wins clearly and lands near the canonical upright."""
    refs = reference_columns(refs, 0, REF_SIZE).astype(np.float64)
    out = np.zeros(len(refs), np.int64)
    ok = _usable(refs)
    if not ok.any():
        return out
    up = refs[ok, :3]
    cos = (up[:, None, :] * POLAR_SIGNS[None]) @ np.asarray(upright, np.float64)  # (n, 4)
    best = cos.argmax(1)
    top = cos[np.arange(len(best)), best]
    clear = (top >= cos[:, 0] + MIN_MARGIN) & (top >= MIN_MATCH)
    out[np.flatnonzero(ok)] = np.where(clear, best, 0)
    return out


def fit_upright(refs: References) -> list[float] | None:
    """The canonical upright of training recordings (one reference row each or one per
    window; duplicates only weight them): the mean upright, refined by mapping each
    recording onto it and averaging again. None when no recording has a usable upright."""
    refs = reference_columns(refs, 0, REF_SIZE).astype(np.float64)
    refs = refs[_usable(refs)] if len(refs) else refs
    if len(refs) == 0:
        return None
    up = refs[:, :3]
    canon = up.mean(0)
    for _ in range(5):
        if np.linalg.norm(canon) < 1e-9:
            return None
        canon = canon / np.linalg.norm(canon)
        t = choose(refs, canon)
        new = (up * POLAR_SIGNS[t]).mean(0)
        new /= max(float(np.linalg.norm(new)), 1e-9)
        if np.allclose(new, canon, atol=1e-9):
            break
        canon = new
    return [float(v) for v in canon]


def channel_signs(transforms: np.ndarray, channels: Sequence[str], units: Sequence[str]) -> np.ndarray:
    """(N, C) float32 sign of every channel of every window for its transform index."""
    transforms = np.asarray(transforms, np.int64)
    signs = np.ones((len(transforms), len(channels)), np.float32)
    for t in find_triads(channels, units):
        unit = units[t[0]]
        if unit in ACCEL_UNITS:
            table = POLAR_SIGNS
        elif unit in GYRO_UNITS or unit in MAGNETIC_UNITS:
            table = AXIAL_SIGNS
        else:
            continue
        signs[:, list(t)] = table[transforms]
    return signs


def canonicalise(
    X: np.ndarray,
    refs: References | None,
    upright: Sequence[float] | None,
    channels: Sequence[str],
    units: Sequence[str],
) -> tuple[np.ndarray, References | None, np.ndarray]:
    """Windows X (N, T, C) and their references mapped into the canonical orientation.

    Returns (X, refs, transform index per window); with no ``upright`` (a model trained
    without, or on recordings without an accelerometer) the inputs come back unchanged.
    The references' upright and median window features are mapped too, so the context and
    relative features stay consistent.
    """
    if upright is None or refs is None or len(X) == 0:
        return X, refs, np.zeros(len(X), np.int64)
    if isinstance(refs, RecordingReferences):  # one transform per recording, its table row mapped
        rows = choose(refs.table, upright)
        t = rows[refs.index]
        if not t.any():
            return X, refs, t
        X = np.asarray(X, np.float32) * channel_signs(t, channels, units)[:, None, :]
        return X, RecordingReferences(_map_references(refs.table, rows, channels, units), refs.index), t
    t = choose(refs, upright)
    if not t.any():
        return X, refs, t
    signs = channel_signs(t, channels, units)
    X = np.asarray(X, np.float32) * signs[:, None, :]
    return X, _map_references(np.asarray(refs, np.float64), t, channels, units), t


def _map_references(
    refs: np.ndarray, t: np.ndarray, channels: Sequence[str], units: Sequence[str]
) -> np.ndarray:
    """A copy of reference rows ``refs`` (M, size) each mapped by its transform ``t`` (M,)."""
    refs = np.array(refs, copy=True)
    refs[:, :3] *= POLAR_SIGNS[t]
    if refs.shape[1] > REF_SIZE:  # the recording's median window features, taken as worn
        for k in np.unique(t[t > 0]):
            index, sign = column_map(channels, units, channel_signs(np.array([k]), channels, units)[0])
            rows = np.flatnonzero(t == k)
            refs[rows, REF_SIZE:] = sign * refs[rows[:, None], REF_SIZE + index]
    return refs
