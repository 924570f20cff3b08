"""The signal layer: whole samples, the grid over gap-free runs, pieces and windows, and its place below
exporters and models."""

from __future__ import annotations

import grimp
import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.signal.resampling import resample_onto, split_runs
from harlab.signal.windowing import rounded_seconds, run_grid, uniform_pieces, whole_samples, window_index


def test_whole_samples_exact_or_rounded():
    assert whole_samples(2.5, 20.0, "window") == 50
    with pytest.raises(HarlabError, match="window 2.56 s is not a whole number of samples at 20 Hz"):
        whole_samples(2.56, 20.0, "window")
    assert whole_samples(2.56, 20.0, "window", rounding=True) == 51
    assert rounded_seconds(2.56, 51, 20.0) == pytest.approx(2.55)
    assert rounded_seconds(2.5, 50, 20.0) == 2.5  # already whole: kept as given, not recomputed
    with pytest.raises(HarlabError, match="shorter than one sample"):
        whole_samples(0.01, 20.0, "stride", rounding=True)


def test_run_grid_follows_runs_and_skips_the_gap():
    t = np.concatenate([np.arange(10) / 10.0, 5.0 + np.arange(5) / 10.0])  # a 4.1 s gap after 0.9 s
    grid = run_grid(t, 0.1, 10.0)
    np.testing.assert_allclose(grid, t)  # at the stream's own rate the grid is its samples
    inside = run_grid(t, 0.1, 10.0, span=(0.35, 0.75))
    np.testing.assert_allclose(inside, [0.4, 0.5, 0.6, 0.7])
    assert len(run_grid(t, 0.1, 10.0, span=(2.0, 4.0))) == 0  # a span inside the gap has no grid


def test_uniform_pieces_split_at_gaps_and_invalid_points():
    grid = np.concatenate([np.arange(6) / 10.0, 2.0 + np.arange(4) / 10.0])
    valid = np.ones(len(grid), dtype=bool)
    valid[2] = False
    assert uniform_pieces(valid, grid, 10.0) == [(0, 2), (3, 6), (6, 10)]
    assert uniform_pieces(valid[:0], grid[:0], 10.0) == []


def test_window_index_cuts_whole_windows_at_the_stride():
    idx = window_index(3, 12, 4, 2)
    assert idx.tolist() == [[3, 4, 5, 6], [5, 6, 7, 8], [7, 8, 9, 10]]  # 9..12 would pass b
    assert window_index(0, 3, 4, 1).shape == (0, 4)


def test_resampling_keeps_own_rate_values_and_leaves_gaps_empty():
    t = np.concatenate([np.arange(20) / 20.0, 3.0 + np.arange(20) / 20.0])
    v = np.sin(t)[:, None]
    assert len(split_runs(t, 0.05)) == 2
    grid = np.arange(0, 4, 0.05)
    out = resample_onto(t, v, grid, 20.0, rate_hz=20.0)
    on_samples = np.isin(np.round(grid, 6), np.round(t, 6))
    np.testing.assert_allclose(out[on_samples, 0], np.sin(grid[on_samples]), rtol=1e-6)
    assert np.isnan(out[(grid > 1.0) & (grid < 2.95), 0]).all()


def test_signal_sits_below_exporters_and_ml():
    graph = grimp.build_graph("harlab")
    below = {m for m in graph.find_children("harlab.signal")}
    above = graph.find_descendants("harlab.exporters") | graph.find_descendants("harlab.ml")
    for m in below:
        assert not (
            graph.find_modules_directly_imported_by(m) & (above | {"harlab.exporters", "harlab.ml"})
        ), m
        assert not any(graph.chain_exists(m, a) for a in above), m
