"""Lazy reads by time range and pyramid envelopes agree with plain numpy on the same data."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from harlab.core import ArrayStreamData, Session, Stream
from harlab.storage import open_session, save_session, validate_file
from harlab.storage.layout import PYRAMID_FACTOR
from harlab.storage.pyramid import StreamAppender, create_stream_group


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 400_000
    t = np.cumsum(rng.uniform(0.005, 0.015, n))
    v = rng.normal(0, 1, (n, 4)).astype(np.float32)
    v[5000:5100, 1] = np.nan
    td = t.copy()
    td[1000:1010] = td[1000]  # repeated timestamps are legal
    td[70_000:90_000] = td[70_000]
    td = np.maximum.accumulate(td)
    s = Session()
    s.add_stream(Stream.from_arrays("s", t, v, list("abcd"), "m/s^2", 100.0))
    s.add_stream(Stream.from_arrays("short", t[:200], v[:200], list("abcd"), "m/s^2", 100.0))
    s.add_stream(Stream.from_arrays("dups", td, v, list("abcd"), "m/s^2", 100.0))
    path = save_session(s, tmp_path_factory.mktemp("lazy") / "big.h5")
    return path, ArrayStreamData(t, v), ArrayStreamData(td, v)


def test_read_ranges_equal_memory(big):
    path, mem, dups = big
    rng = np.random.default_rng(0)
    t_all = mem.time
    with open_session(path) as sf:
        for name in ("s", "short", "dups"):
            data = sf.session.streams[name].data
            ref = {"s": mem, "dups": dups, "short": ArrayStreamData(t_all[:200], mem.values[:200])}[name]
            lo, hi = ref.time[0], ref.time[-1]
            cases = [
                (None, None),
                (lo, hi),
                (lo - 5, lo),
                (hi, hi + 1),
                (hi + 1, hi + 2),
                (ref.time[len(ref.time) // 2], ref.time[len(ref.time) // 2] + 1e-9),
                (ref.time[-1] - 1, ref.time[-1]),
            ]
            if name == "dups":
                cases += [
                    (ref.time[70_000], ref.time[70_000]),
                    (ref.time[70_000] - 1, ref.time[70_000] + 1e-9),
                ]
            cases += [tuple(sorted(rng.uniform(lo - 1, hi + 1, 2))) for _ in range(40)]
            cases += [(ref.time[i], ref.time[j]) for i, j in rng.integers(0, len(ref.time), (20, 2))]
            for t0, t1 in cases:
                a_t, a_v = data.read(t0, t1)
                b_t, b_v = ref.read(t0, t1)
                np.testing.assert_array_equal(a_t, b_t)
                np.testing.assert_array_equal(a_v, b_v)
                assert len(data.read_flags(t0, t1)) == len(b_t)


def test_read_touches_only_a_few_chunks(big):
    path, mem, _ = big
    with open_session(path) as sf:
        data = sf.session.streams["s"].data
        t0 = mem.time[200_000]
        data.read(t0, t0 + 60)  # warm the coarse index
        ds = data.group["values"]
        # reading one minute must not need the whole dataset: count chunks intersecting the slice
        i0, i1 = data._range(t0, t0 + 60)
        assert (i1 - i0) < 10_000
        assert ds.chunks[0] * 4 > (i1 - i0)


@pytest.mark.parametrize("max_bins", [1, 7, 300, 1000, 4000, 50_000])
def test_envelope_equals_numpy_minmax(big, max_bins):
    path, mem, _ = big
    rng = np.random.default_rng(max_bins)
    t, v = mem.time, mem.values
    with open_session(path) as sf:
        data = sf.session.streams["s"].data
        ranges = [(t[0], t[-1] + 1), *[tuple(sorted(rng.uniform(t[0], t[-1], 2))) for _ in range(5)]]
        for t0, t1 in ranges:
            env = data.envelope(t0, t1, max_bins)
            i0, i1 = data._range(t0, t1)
            if i1 - i0 == 0:
                assert len(env.time) == 0
                continue
            assert len(env.time) <= max(max_bins, 1) * 1 + 1
            assert len(env.time) >= min(i1 - i0, max_bins) // PYRAMID_FACTOR
            spb = env.samples_per_bin
            starts = np.searchsorted(t, env.time)  # t is strictly increasing here
            np.testing.assert_array_equal(env.time, t[starts])
            assert np.all(np.diff(starts) == spb)
            end = min(starts[-1] + spb, len(v))
            with np.errstate(all="ignore"):
                lo = np.fmin.reduceat(v[starts[0] : end], starts - starts[0], axis=0)
                hi = np.fmax.reduceat(v[starts[0] : end], starts - starts[0], axis=0)
            np.testing.assert_array_equal(env.lo, lo)
            np.testing.assert_array_equal(env.hi, hi)
            assert starts[0] <= i0 and starts[-1] + spb >= i1


def test_envelope_raw_when_few_samples(big):
    path, mem, _ = big
    with open_session(path) as sf:
        env = sf.session.streams["s"].data.envelope(mem.time[10], mem.time[60], 100)
    assert env.samples_per_bin == 1
    np.testing.assert_array_equal(env.lo, mem.values[10:60])


def test_incremental_appends_equal_one_shot(tmp_path):
    """Appending in pieces of random size keeps the pyramid exactly as a one-shot build."""
    rng = np.random.default_rng(11)
    n = 70_000
    t = np.arange(n) / 50.0
    v = rng.normal(size=(n, 2)).astype(np.float32)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        one = StreamAppender(create_stream_group(f, "one", 2))
        one.append(t, v)
        inc = StreamAppender(create_stream_group(f, "inc", 2))
        i = 0
        while i < n:
            m = int(rng.choice([1, 3, 16, 255, 256, 257, 4000, 20_000]))
            inc.append(t[i : i + m], v[i : i + m])
            i += m
        assert one.pyramid.attrs["levels"] == inc.pyramid.attrs["levels"] >= 3
        for k in range(1, int(one.pyramid.attrs["levels"]) + 1):
            for key in ("time", "lo", "hi"):
                np.testing.assert_array_equal(one.pyramid[f"{k}/{key}"][()], inc.pyramid[f"{k}/{key}"][()])
    # and the validator agrees, once wrapped into a session file
    s = Session()
    s.add_stream(Stream.from_arrays("x", t, v, ["a", "b"], "1"))
    assert validate_file(save_session(s, tmp_path / "b.h5")) == []


def test_decoded_levels_answer_as_the_file_does(big, monkeypatch):
    """The coarse levels kept in memory give the very envelopes the file's rows give, within
    the memory budget, and an envelope never shares memory with them (a caller that edits its
    envelope must not change the next one)."""
    from harlab.storage import h5data

    path, mem, _ = big
    t = mem.time
    rng = np.random.default_rng(5)
    ranges = [(t[0], t[-1] + 1), *[tuple(sorted(rng.uniform(t[0], t[-1], 2))) for _ in range(8)]]
    with open_session(path) as sf:
        warm = sf.session.streams["s"].data
        for _ in warm.warm():
            pass
        held = warm.decoded_levels()
        assert held and sum(held.values()) <= h5data.LEVEL_CACHE_BYTES
        answers = [warm.envelope(t0, t1, bins) for t0, t1 in ranges for bins in (50, 800, 3000)]
    monkeypatch.setattr(h5data, "LEVEL_CACHE_BYTES", 0)
    with open_session(path) as sf:
        cold = sf.session.streams["s"].data
        expected = [cold.envelope(t0, t1, bins) for t0, t1 in ranges for bins in (50, 800, 3000)]
        assert cold.decoded_levels() == {}
    for a, b in zip(answers, expected, strict=True):
        assert a.samples_per_bin == b.samples_per_bin
        np.testing.assert_array_equal(a.time, b.time)
        np.testing.assert_array_equal(a.lo, b.lo)
        np.testing.assert_array_equal(a.hi, b.hi)
    coarsest = max(held)
    monkeypatch.setattr(h5data, "LEVEL_CACHE_BYTES", held[coarsest])
    with open_session(path) as sf:
        data = sf.session.streams["s"].data
        for _ in data.warm():
            pass
        assert set(data.decoded_levels()) == {coarsest}  # coarsest first, within the budget
        env = data.envelope(t[0], t[-1] + 1, 5)
        assert env.samples_per_bin >= PYRAMID_FACTOR**coarsest
        env.time[:] = -1
        env.lo[:] = 99
        again = data.envelope(t[0], t[-1] + 1, 5)
        assert again.time[0] == t[0] and np.nanmax(again.lo) < 99
