"""Random processes that are pure functions of time, so chunking never changes them.

The simulator must give the same numbers whether a session is generated in one
call or streamed in chunks of any size, and live streaming must not need to know
the future. Both follow if every random quantity at time ``t`` (or sample ``i``)
depends only on the seed and ``t``: values come from fixed-size blocks, each drawn
from its own generator seeded with ``(seed, key, block)``, and smooth processes
are uniform cubic B-splines through such random knots (C2-smooth, with an exact
derivative for the gyroscope). Arrays are channel-major (C, N) so that each
channel is contiguous, which is what numpy is fast at.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

# Standard deviation of a uniform cubic B-spline with unit-variance iid knots,
# averaged over the knot interval: sqrt(mean over u of sum B_m(u)^2) = sqrt(151/315).
_SPLINE_SD = float(np.sqrt(151.0 / 315.0))


class _BlockSource:
    """Standard-normal values indexed by a non-negative integer, drawn in blocks."""

    def __init__(self, seed: int, key: int, n_channels: int, block: int, dtype: type = np.float64) -> None:
        self.seed = seed
        self.key = key
        self.n_channels = n_channels
        self.block = block
        self.dtype = dtype
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def _block(self, b: int) -> np.ndarray:
        arr = self._cache.get(b)
        if arr is None:
            rng = np.random.default_rng([self.seed, self.key, b])
            arr = rng.standard_normal((self.n_channels, self.block), dtype=self.dtype)
            self._cache[b] = arr
            if len(self._cache) > 3:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(b)
        return arr

    def values(self, i0: int, i1: int) -> np.ndarray:
        """Columns ``i0 .. i1-1`` as a (n_channels, i1 - i0) array."""
        if i1 <= i0:
            return np.zeros((self.n_channels, 0), self.dtype)
        b0, b1 = i0 // self.block, (i1 - 1) // self.block
        off = b0 * self.block
        if b0 == b1:
            return self._block(b0)[:, i0 - off : i1 - off]
        out: np.ndarray = np.empty((self.n_channels, i1 - i0), self.dtype)
        for b in range(b0, b1 + 1):
            lo, hi = max(i0, b * self.block), min(i1, (b + 1) * self.block)
            out[:, lo - i0 : hi - i0] = self._block(b)[:, lo - b * self.block : hi - b * self.block]
        return out


class WhiteNoise:
    """Independent N(0, 1) values per sample index and channel (float32: plenty for sensor noise)."""

    def __init__(self, seed: int, key: int, n_channels: int, block: int = 1 << 15) -> None:
        self._src = _BlockSource(seed, key, n_channels, block, np.float32)

    def __call__(self, i0: int, i1: int) -> np.ndarray:
        """(n_channels, i1 - i0) values for sample indices i0 .. i1-1."""
        return self._src.values(i0, i1)


class SmoothNoise:
    """A smooth, zero-mean, roughly unit-variance random signal of time.

    ``spacing_s`` is the knot spacing: the signal varies on that time scale (its
    spectrum falls off above about ``1 / (2 * spacing_s)`` Hz).
    """

    def __init__(self, seed: int, key: int, n_channels: int, spacing_s: float) -> None:
        self.spacing_s = float(spacing_s)
        self.n_channels = n_channels
        self._src = _BlockSource(seed, key, n_channels, 1024)

    def __call__(self, t: np.ndarray, derivative: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per channel, the values at times ``t`` (>= 0, sorted) and, if asked, their time derivatives."""
        if len(t) == 0:
            return [t.copy() for _ in range(self.n_channels)], (
                [t.copy() for _ in range(self.n_channels)] if derivative else []
            )
        u = np.asarray(t, dtype=float) * (1.0 / self.spacing_s)
        k = np.floor(u)
        f = u - k
        ki = k.astype(np.int64)
        k0, k1 = int(ki[0]), int(ki[-1])
        idx = ki - k0
        # coefficient j (>= -1) is source index j + 1; interval k uses coefficients k-1 .. k+2
        coeffs = self._src.values(k0, k1 + 4)
        scale = 1.0 / (6.0 * _SPLINE_SD)
        inv_spacing = 1.0 / self.spacing_s
        values, derivs = [], []
        for c in coeffs:
            c0, c1, c2, c3 = c[:-3], c[1:-2], c[2:-1], c[3:]
            # the B-spline segment as a cubic in the fraction f: ((a3 f + a2) f + a1) f + a0
            a0 = (c0 + 4.0 * c1 + c2) * scale
            a1 = 3.0 * (c2 - c0) * scale
            a2 = 3.0 * (c0 - 2.0 * c1 + c2) * scale
            a3 = (3.0 * (c1 - c2) + c3 - c0) * scale
            # one row gather of the four coefficients is faster than four gathers
            q = np.take(np.stack([a3, a2, a1, a0], axis=1), idx, axis=0)
            A3, A2, A1 = q[:, 0], q[:, 1], q[:, 2]
            values.append(((A3 * f + A2) * f + A1) * f + q[:, 3])
            if derivative:
                # d/dt = (3 a3 f^2 + 2 a2 f + a1) / spacing
                derivs.append(((3.0 * A3 * f + 2.0 * A2) * f + A1) * inv_spacing)
        return values, derivs
