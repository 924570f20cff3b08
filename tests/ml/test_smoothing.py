"""Smoothing removes short flickers but keeps real changes and never bridges gaps."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.ml.smoothing import (
    SmoothingStream,
    chains,
    enforce_min_duration,
    segments_from_windows,
    smooth,
    viterbi_sticky,
)


def _probs(labels, k=3, conf=0.7):
    p = np.full((len(labels), k), (1 - conf) / (k - 1))
    p[np.arange(len(labels)), labels] = conf
    return p


def test_hmm_removes_single_window_flicker_keeps_real_change():
    truth = np.array([0] * 20 + [1] * 20)
    noisy = truth.copy()
    noisy[[5, 12, 30]] = 2  # isolated flickers
    path = viterbi_sticky(_probs(noisy), p_switch=0.02)
    assert path.tolist() == truth.tolist()
    # a weak switch penalty keeps the flickers
    assert (viterbi_sticky(_probs(noisy), p_switch=0.6) == noisy).all()


def test_min_duration_merges_short_runs_into_the_favoured_neighbour():
    lab = np.array([0] * 10 + [1] * 2 + [2] * 10)
    p = _probs(lab)
    p[10:12, 2] += 0.2  # inside the short run, class 2 is more likely than 0
    out = enforce_min_duration(lab, p, min_windows=3)
    assert out.tolist() == [0] * 10 + [2] * 12


def test_smoothing_restarts_after_gaps():
    start = np.concatenate([np.arange(10) * 1.0, 100 + np.arange(3) * 1.0])
    assert chains(start, 1.0) == [(0, 10), (10, 13)]
    lab = np.array([0] * 10 + [1] * 3)
    out = smooth(_probs(lab), start, 1.0, p_switch=0.02, min_duration_s=5)
    assert out.tolist() == lab.tolist()  # the 3-window chain after the gap stays its own


def test_segments_split_time_at_window_midpoints():
    start = np.arange(6) * 1.0
    end = start + 2.0
    lab = np.array([0, 0, 0, 1, 1, 1])
    segs = segments_from_windows(lab, _probs(lab, 2, 0.9), start, end, 1.0, ["a", "b"], "m")
    assert [(s.start, s.end, s.label) for s in segs] == [(0.0, 3.5, "a"), (3.5, 7.0, "b")]
    assert all(s.source == "prediction" and abs(s.confidence - 0.9) < 1e-9 for s in segs)


def _path_score(probs: np.ndarray, path: np.ndarray, p_switch: float) -> float:
    k = probs.shape[1]
    log_e = np.log(np.clip(probs, 1e-12, 1.0))
    moves = np.count_nonzero(np.diff(path))
    stays = len(path) - 1 - moves
    return float(
        log_e[np.arange(len(path)), path].sum()
        + stays * np.log1p(-p_switch)
        + moves * np.log(p_switch / (k - 1))
    )


def _full_viterbi(probs: np.ndarray, p_switch: float) -> np.ndarray:
    """The textbook O(N K²) Viterbi with the whole transition matrix."""
    n, k = probs.shape
    trans = np.full((k, k), np.log(p_switch / (k - 1)))
    np.fill_diagonal(trans, np.log1p(-p_switch))
    log_e = np.log(np.clip(probs, 1e-12, 1.0))
    delta = log_e[0].copy()
    psi = np.zeros((n, k), np.int64)
    for t in range(1, n):
        scores = delta[:, None] + trans
        psi[t] = scores.argmax(0)
        delta = scores.max(0) + log_e[t]
    path = np.empty(n, np.int64)
    path[-1] = delta.argmax()
    for t in range(n - 1, 0, -1):
        path[t - 1] = psi[t, path[t]]
    return path


def test_sticky_viterbi_finds_the_most_probable_path_of_the_full_hmm():
    """The O(K) step (the best predecessor is the state itself or the best state) against the
    textbook recursion over the whole transition matrix: the same path on continuous
    probabilities (one optimum), and a path as probable where ties make several."""
    rng = np.random.default_rng(5)
    for k, p_switch in ((2, 0.3), (6, 0.02), (12, 0.1)):
        probs = rng.dirichlet(np.full(k, 0.4), size=3000)
        np.testing.assert_array_equal(viterbi_sticky(probs, p_switch), _full_viterbi(probs, p_switch))
        tied = np.round(probs * 4) / 4 + 1e-3  # few distinct values: many equally probable paths
        tied /= tied.sum(1, keepdims=True)
        got = viterbi_sticky(tied, p_switch)
        assert np.isclose(
            _path_score(tied, got, p_switch), _path_score(tied, _full_viterbi(tied, p_switch), p_switch)
        )


def test_smoothing_fed_in_parts_equals_smoothing_at_once():
    """A session's prediction feeds each batch's probabilities as it finishes: whatever the parts
    (within a chain, across a gap, one window, none), the classes equal :func:`smooth` of all of
    them at once, for the HMM with and without a minimum duration and for no HMM at all."""
    rng = np.random.default_rng(3)
    stride = 1.0
    start = np.concatenate([np.arange(0.0, 300.0), np.arange(400.0, 431.0), [500.0], np.arange(600.0, 700.0)])
    truth = np.repeat(rng.integers(0, 4, 80), rng.integers(3, 20, 80))[: len(start)]
    assert len(truth) == len(start)
    probs = rng.dirichlet(np.full(4, 0.5), len(start)).astype(np.float32)
    probs[np.arange(len(start)), truth] += 0.6
    probs /= probs.sum(1, keepdims=True)
    for p_switch, min_s in ((0.02, 0.0), (0.1, 5.0), (None, 3.0), (0.3, 0.0)):
        whole = smooth(probs, start, stride, p_switch, min_s)
        assert len(np.unique(whole)) > 1
        for cuts in ([], [1, 2, 299, 300, 331, 332, 333], sorted(rng.choice(len(start), 25, replace=False))):
            stream = SmoothingStream(start, 4, stride, p_switch, min_s)
            edges = [0, *cuts, len(start)]
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                stream.feed(probs[a:b])  # some parts are empty
            np.testing.assert_array_equal(stream.labels(probs), whole)
    half = SmoothingStream(start, 4, stride)
    half.feed(probs[:100])
    with pytest.raises(ValueError, match="fed"):
        half.labels(probs)


def test_the_native_forward_steps_are_the_python_loops_bit_for_bit():
    """The native kernel's forward steps against :func:`_forward` (the fallback without a
    compiler): the same scores, stays and best states, on continuous probabilities, on ties
    (the first best state wins in both) and on rows with NaN (numpy's argmax takes the first
    NaN; a NaN score never stays), from the first step and from a later one."""
    from harlab.ml.compiled_trees import native_kernel
    from harlab.ml.smoothing import _forward

    kernel = native_kernel()
    if kernel is None:
        pytest.skip("no C compiler here: the native kernel cannot be built")
    rng = np.random.default_rng(11)
    for k, p_switch in ((2, 0.3), (6, 0.02), (12, 0.1)):
        probs = rng.dirichlet(np.full(k, 0.4), size=2000)
        probs[200:260] = np.round(probs[200:260] * 2) / 2  # ties, and zeros clipped to 1e-12
        probs[700, 1] = np.nan
        probs[900] = np.nan
        log_e = np.log(np.clip(probs, 1e-12, 1.0))
        log_stay, log_move = np.log1p(-p_switch), np.log(p_switch / (k - 1))
        for first in (1, 0):
            got = [log_e[0].copy(), np.empty((len(probs), k), bool), np.zeros(len(probs), np.int64)]
            want = [log_e[0].copy(), np.empty((len(probs), k), bool), np.zeros(len(probs), np.int64)]
            kernel.sticky_forward(
                log_e.ctypes.data,
                len(log_e),
                k,
                first,
                log_stay,
                log_move,
                *(a.ctypes.data for a in got),
            )
            _forward(log_e, first, log_stay, log_move, *want)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1][first:], want[1][first:])
            np.testing.assert_array_equal(got[2][first:], want[2][first:])
            assert 0 < got[1][first:].mean() < 1 and len(np.unique(got[2])) > 1
