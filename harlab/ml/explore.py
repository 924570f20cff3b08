"""PCA of windows: does the data separate into classes before any model is trained?

:func:`pca_windows` returns the projected coordinates (for the GUI's interactive
scatter, Qt-free); :func:`plot_pca` draws a 2-D or 3-D PNG coloured by class.
Windows are represented by their standardised hand-crafted features by default
(robust to phase and orientation noise); ``representation="raw"`` projects the
flattened, per-channel standardised samples instead, as the seed's notebook did
with single samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harlab.core import files
from harlab.core.errors import HarlabError
from harlab.ml.features import find_triads, window_features


@dataclass
class Projection:
    coords: np.ndarray  #: (N, n_components)
    explained: np.ndarray  #: fraction of variance per component
    components: np.ndarray  #: (n_components, F) loadings
    mean: np.ndarray
    scale: np.ndarray


def pca(F: np.ndarray, n_components: int = 3) -> Projection:
    """Principal components of the rows of ``F`` after standardising each column (SVD)."""
    F = np.asarray(F, np.float64)
    if F.ndim != 2 or len(F) < 2:
        raise HarlabError(f"PCA needs at least two windows, got {len(F)}")
    mean = F.mean(0)
    scale = F.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    Z = (F - mean) / scale
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    n = min(n_components, vt.shape[0])
    var = s**2
    # fix the sign so the largest loading of each component is positive (stable pictures)
    comps = vt[:n] * np.sign(vt[:n][np.arange(n), np.abs(vt[:n]).argmax(1)])[:, None]
    return Projection(Z @ comps.T, var[:n] / var.sum() if var.sum() > 0 else np.zeros(n), comps, mean, scale)


def pca_windows(
    X: np.ndarray,
    rate_hz: float,
    channels: Sequence[str] = (),
    units: Sequence[str] = (),
    n_components: int = 3,
    representation: str = "features",
) -> Projection:
    """Projected coordinates of windows ``X`` (N, T, C)."""
    if representation == "features":
        F = window_features(X, rate_hz, find_triads(channels, units) if channels else [], units)
    elif representation == "raw":
        F = np.asarray(X, np.float32).reshape(len(X), -1)
    else:
        raise HarlabError(f"unknown representation {representation!r}; 'features' or 'raw'")
    return pca(F, n_components)


def plot_pca(
    proj: Projection,
    labels: Sequence[str] | np.ndarray,
    path: str | Path,
    dims: int = 2,
    colors: dict[str, str] | None = None,
    title: str = "",
    max_points: int = 20000,
    seed: int = 0,
) -> Path:
    """Scatter of the first ``dims`` (2 or 3) components coloured by class, as PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if dims not in (2, 3):
        raise HarlabError(f"a PCA plot has 2 or 3 dimensions, not {dims}")
    if proj.coords.shape[1] < dims:
        raise HarlabError(f"only {proj.coords.shape[1]} components available for a {dims}-D plot")
    names = np.asarray(labels, dtype=str)
    idx = np.arange(len(names))
    if len(idx) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_points, replace=False))
    fig = Figure(figsize=(8, 6.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1, projection="3d" if dims == 3 else None)
    palette = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
        "#aec7e8",
        "#ffbb78",
        "#98df8a",
        "#ff9896",
        "#c5b0d5",
        "#c49c94",
        "#f7b6d2",
        "#dbdb8d",
    ]
    for i, c in enumerate(dict.fromkeys(names[idx].tolist())):
        sel = idx[names[idx] == c]
        col = (colors or {}).get(c, palette[i % len(palette)])
        pts = [proj.coords[sel, d] for d in range(dims)]
        ax.scatter(*pts, s=6, alpha=0.6, color=col, label=f"{c} ({len(sel)})")  # type: ignore[misc]  # 2 or 3 coordinates
    ev = proj.explained
    ax.set_xlabel(f"PC1 ({ev[0]:.0%})")
    ax.set_ylabel(f"PC2 ({ev[1]:.0%})")
    if dims == 3:
        ax.set_zlabel(f"PC3 ({ev[2]:.0%})")  # type: ignore[attr-defined]
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set_title(title or f"PCA of {len(names)} windows", fontsize=10)
    fig.tight_layout()
    # whole or not at all, with the umask's mode (harlab.core.files)
    return files.atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), durable=False)
