"""Elementary intervals, rasters and event matching on tracks built by hand."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.agreement import (
    MISSING,
    AgreementError,
    compare_tracks,
    elementary_intervals,
    match_events,
    per_sample,
    per_window,
)
from harlab.agreement.intervals import MAX_UNITS
from harlab.core.labels import LabelTrack, Segment


def track(name: str, *segs: tuple[float, float, str], policy: str = "exclusive") -> LabelTrack:
    t = LabelTrack(name, policy, annotator=name.lower())  # type: ignore[arg-type]
    t.add_many(Segment(a, b, lab) for a, b, lab in segs)
    return t


def test_elementary_intervals_hold_each_tracks_label():
    a = track("A", (0, 10, "walk"), (10, 20, "sit"))
    b = track("B", (2, 12, "walk"), (15, 20, "run"))
    iv = elementary_intervals([a, b])
    np.testing.assert_array_equal(iv.edges, [0, 2, 10, 12, 15, 20])
    labels = [[iv.label(int(c)) for c in row] for row in iv.codes]
    assert labels == [
        ["walk", None],
        ["walk", "walk"],
        ["sit", "walk"],
        ["sit", None],
        ["sit", "run"],
    ]
    assert iv.tracks == ("A", "B") and iv.classes == ("walk", "sit", "run")


def test_events_and_gaps_cover_no_time():
    a = track("A", (0, 10, "walk"), (5, 5, "tap"), (12, 14, "sit"))
    b = track("B", (0, 14, "walk"))
    iv = elementary_intervals([a, b])
    assert "tap" not in iv.classes  # a zero-length event labels no time
    assert [iv.label(int(c)) for c in iv.codes[:, 0]] == ["walk", None, "sit"]


def test_overlapping_segments_are_refused_with_the_time():
    a = track("A", (0, 10, "walk"), (5, 8, "talk"), policy="overlapping")
    b = track("B", (0, 10, "walk"))
    with pytest.raises(AgreementError, match=r"'A' has overlapping segments at 5\.000 s"):
        elementary_intervals([a, b])


def test_per_sample_takes_the_label_at_each_grid_centre():
    a = track("A", (0, 4, "x"))
    b = track("B", (0, 2.5, "x"), (2.5, 4, "y"))
    u = per_sample(elementary_intervals([a, b]), 1.0)  # centres 0.5 1.5 2.5 3.5
    assert u.codes[:, 1].tolist() == [0, 0, 1, 1]
    assert len(per_sample(elementary_intervals([a, b]), 0.5)) == 8


def test_per_window_takes_the_class_covering_most_and_missing_when_barely_labelled():
    a = track("A", (0, 10, "x"))
    b = track("B", (0, 6, "x"), (6, 10, "y"), (10, 10.5, "y"))
    u = per_window(elementary_intervals([a, b]), 5.0)  # windows 0-5, 5-10, 10-15
    assert u.codes[:, 1].tolist() == [0, 1, MISSING]  # 5-10: y covers 4 s of 5; 10-15: 0.5 s of 5
    assert u.codes[:, 0].tolist() == [0, 0, MISSING]


def test_a_grid_too_fine_for_the_span_is_refused_before_allocating():
    a = track("A", (0, 1e6, "x"))
    b = track("B", (0, 1e6, "x"))
    with pytest.raises(AgreementError, match="more than"):
        per_sample(elementary_intervals([a, b]), 1e6 / (MAX_UNITS * 2))
    with pytest.raises(AgreementError, match="positive"):
        per_sample(elementary_intervals([a, b]), 0.0)


def test_event_matching_tolerance_is_inclusive():
    ref = track("A", (0, 10, "walk"), (10, 20, "sit"), (20, 30, "walk"))
    other = track("B", (1, 10, "walk"), (10, 21.0000001, "sit"), (21.0000001, 30, "walk"))
    e = match_events(ref, other, tolerance=1.0)
    # the first matches with its start exactly 1 s away; the boundary at 21.0000001 is just outside
    assert e.matched == 1
    assert e.recall == pytest.approx(1 / 3) and e.precision == pytest.approx(1 / 3)
    assert e.f1 == pytest.approx(1 / 3)
    np.testing.assert_allclose(e.start_offsets, [1])
    np.testing.assert_allclose(e.end_offsets, [0])
    st = e.offset_stats()
    assert st["mean"] == pytest.approx(0.5) and st["median"] == pytest.approx(0.5)
    assert st["p95"] == pytest.approx(0.95)
    assert match_events(ref, other, tolerance=0.0).matched == 0
    assert match_events(ref, other, tolerance=1.01).matched == 3


def test_event_matching_needs_the_same_label_unless_told_otherwise():
    ref = track("A", (0, 10, "walk"))
    other = track("B", (0.5, 10, "run"))
    assert match_events(ref, other, 1.0).matched == 0
    assert match_events(ref, other, 1.0, same_label=False).matched == 1


def test_each_segment_matches_once_with_the_closest_candidate_first():
    # two reference segments (an overlapping track) both within tolerance of one segment
    ref = track("A", (0, 10, "x"), (0.5, 10.3, "x"), policy="overlapping")
    other = track("B", (0.4, 10.3, "x"))
    e = match_events(ref, other, 1.0)
    assert e.matched == 1 and e.n_first == 2
    np.testing.assert_allclose(e.start_offsets, [-0.1])  # the closer one (0.5..10.3), not 0..10
    np.testing.assert_allclose(e.end_offsets, [0.0], atol=1e-12)


def test_events_of_empty_tracks_are_undefined_not_zero():
    e = match_events(track("A"), track("B"), 1.0)
    assert e.matched == 0 and e.recall is None and e.precision is None and e.f1 is None
    assert e.offset_stats() == {"mean": None, "median": None, "p95": None}
    with pytest.raises(AgreementError, match="tolerance"):
        match_events(track("A"), track("B"), -1.0)


def test_compare_tracks_with_no_segments_and_with_one_track():
    empty = compare_tracks([track("A"), track("B")])
    assert empty.reliability.units == 0 and empty.reliability.cohen_kappa is None
    with pytest.raises(AgreementError, match="at least two"):
        compare_tracks([track("A", (0, 1, "x"))])
    a = track("A", (0, 1, "x"))
    with pytest.raises(AgreementError, match="twice"):
        compare_tracks([a, a])
