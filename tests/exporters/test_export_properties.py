"""Properties of per-sample labels and window cutting on random sessions (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harlab.core import LabelTrack, Segment, Session, Stream
from harlab.signal.labelled_windows import cut_windows, labels_at

RATE = 10.0


@st.composite
def sessions(draw):
    n = draw(st.integers(20, 120))
    t = np.arange(n) / RATE
    keep = np.ones(n, dtype=bool)
    for _ in range(draw(st.integers(0, 3))):  # holes of 1..5 samples
        a = draw(st.integers(0, n - 1))
        keep[a : a + draw(st.integers(1, 5))] = False
    keep[0] = True
    t = t[keep]
    s = Session()
    s.add_stream(Stream.from_arrays("a", t, t, ["t"], "s", rate_hz=RATE))
    cuts = sorted(set(draw(st.lists(st.integers(0, n), min_size=2, max_size=8))))
    segs = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if draw(st.booleans()):
            segs.append(Segment(a / RATE, b / RATE, draw(st.sampled_from("ABC"))))
    s.add_segments("act", segs)
    s.label_track("act")
    return s


def brute_label(track: LabelTrack, t: float) -> str:
    hits = [s.label for s in track if s.start <= t < s.end]
    return "|".join(hits)


@settings(max_examples=60, deadline=None)
@given(sessions())
def test_labels_at_matches_brute_force(session):
    t, _ = session.streams["a"].read()
    track = session.label_tracks["act"]
    got = labels_at(track, t)
    assert got.tolist() == [brute_label(track, float(x)) for x in t]


@settings(max_examples=80, deadline=None)
@given(sessions(), st.integers(1, 8), st.integers(1, 8))
def test_windows_never_span_gaps_and_pure_windows_are_pure(session, w, stride):
    track = session.label_tracks["act"]
    out = {
        p: cut_windows([session], "act", w / RATE, stride / RATE, label_policy=p)
        for p in ("majority", "centre", "pure")
    }
    assert len(out["majority"]) == len(out["centre"]) >= len(out["pure"])
    for ws in out.values():
        assert ws.X.shape[1] == w
        times = ws.X[:, :, 0].astype(np.float64)
        if w > 1:
            np.testing.assert_allclose(np.diff(times, axis=1), 1 / RATE, atol=1e-5)  # no gap inside
        for row, label in zip(times, ws.labels, strict=True):
            sample_labels = [brute_label(track, float(x)) for x in np.round(row * RATE) / RATE]
            assert all(x and "|" not in x for x in sample_labels)  # only labelled time
            if ws.label_policy == "pure":
                assert set(sample_labels) == {label}
            elif ws.label_policy == "centre":
                assert sample_labels[w // 2] == label
            else:
                counts = {c: sample_labels.count(c) for c in set(sample_labels)}
                assert counts[label] == max(counts.values())
