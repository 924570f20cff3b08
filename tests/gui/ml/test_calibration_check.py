"""The before/after check of a calibration (Qt-free): held-out blocks and scores."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.core.labels import LabelTrack, Segment
from harlab.core.predictions import PredictionTrack
from harlab.gui.ml.calibrate_work import default_personal_path, held_out_session, registration_note
from harlab.gui.ml.calibration_check import calibration_track, compare, held_out_blocks, score
from harlab.simulate import synthetic_session


def _track() -> LabelTrack:
    t = LabelTrack("activity")
    t.add(Segment(2.0, 42.0, "walking"))
    t.add(Segment(50.0, 90.0, "sitting"))
    t.add(Segment(95.0, 95.0, "event"))  # zero-length: nothing to hold out
    return t


def _pred(classes: list[str], top: np.ndarray, start: np.ndarray) -> PredictionTrack:
    probs = np.full((len(top), len(classes)), 0.1, np.float32)
    probs[np.arange(len(top)), top] = 0.9
    return PredictionTrack("p", "m", "", classes, start, start + 2.0, probs)


def test_blocks_are_the_end_of_each_segment_and_calibration_never_sees_them() -> None:
    blocks = held_out_blocks(_track(), 0.25)
    assert [(b.start, b.end, b.label) for b in blocks] == [(32.0, 42.0, "walking"), (80.0, 90.0, "sitting")]
    kept = calibration_track(_track(), blocks)
    assert [(s.start, s.end, s.label) for s in kept] == [
        (2.0, 32.0, "walking"),
        (50.0, 80.0, "sitting"),
        (95.0, 95.0, "event"),
    ]
    with pytest.raises(HarlabError, match="between 0 and 1"):
        held_out_blocks(_track(), 1.0)


def test_scores_count_only_windows_inside_the_blocks() -> None:
    blocks = held_out_blocks(_track(), 0.25)
    start = np.arange(0.0, 100.0, 1.0)  # 2 s windows every second
    inside_walk = (start >= 32) & (start + 2 <= 42)  # 9 windows
    inside_sit = (start >= 80) & (start + 2 <= 90)  # 9 windows
    # "before" says sitting everywhere; "after" is right except for 3 sitting windows; outside the
    # blocks both are wrong, which must not count
    before = np.ones(len(start), int)
    after = np.where(inside_walk, 0, 1)
    after[np.flatnonzero(inside_sit)[:3]] = 0
    classes = ["Walking", "sitting", "lying"]  # class names match case-insensitively
    s = compare({"before": _pred(classes, before, start), "after": _pred(classes, after, start)}, blocks)
    assert s["before"].n == s["after"].n == 18
    assert s["before"].accuracy == pytest.approx(9 / 18)
    assert s["after"].accuracy == pytest.approx(15 / 18)
    # after: walking P=9/12 R=1 -> F1 6/7; sitting P=1 R=6/9 -> F1 0.8
    assert s["after"].f1 == pytest.approx({"walking": 6 / 7, "sitting": 0.8})
    assert s["after"].macro_f1 == pytest.approx((6 / 7 + 0.8) / 2)
    assert s["before"].f1["walking"] == 0.0


def test_a_class_the_model_does_not_know_counts_as_wrong_and_no_window_is_an_error() -> None:
    blocks = held_out_blocks(_track(), 0.25)
    start = np.arange(0.0, 100.0, 1.0)
    s = score(_pred(["walking", "lying"], np.zeros(len(start), int), start), blocks)
    assert s.f1["sitting"] == 0.0 and s.accuracy == pytest.approx(0.5)
    far = _pred(["walking"], np.zeros(3, int), np.array([200.0, 201.0, 202.0]))
    with pytest.raises(HarlabError, match="no window"):
        score(far, blocks)


def test_the_calibration_copy_shares_streams_and_leaves_the_session_alone() -> None:
    s = synthetic_session(duration_s=60, classes=["walking", "sitting"], seed=3)
    track = next(iter(s.label_tracks))
    blocks = held_out_blocks(s.label_tracks[track])
    copy = held_out_session(s, track, blocks)
    assert copy.streams.keys() == s.streams.keys()
    assert all(copy.streams[k] is s.streams[k] for k in s.streams)
    before = sum(seg.duration for seg in s.label_tracks[track])
    after = sum(seg.duration for seg in copy.label_tracks[track])
    assert after == pytest.approx(0.75 * before)
    assert sum(seg.duration for seg in s.label_tracks[track]) == pytest.approx(before)


def test_the_personal_model_goes_beside_the_general_one_named_after_the_participant(tmp_path) -> None:
    general = tmp_path / "models" / "general.harmodel"
    assert default_personal_path(general, "P 07/x") == tmp_path / "models" / "general-P_07_x.harmodel"
    assert default_personal_path(general, " ") == tmp_path / "models" / "general-personal.harmodel"


def test_calibration_protocol_prompts_each_class_once_and_refuses_nonsense() -> None:
    from harlab.recording.protocol import ProtocolError, calibration_protocol

    p = calibration_protocol(["walking", "stairs_up", "walking", " "], "general", 30, 5, bouts=1)
    assert [(s.activity, s.duration_s) for s in p.steps] == [("walking", 30.0), ("stairs_up", 30.0)]
    assert p.steps[1].prompt == "Stairs up as you usually do"
    assert p.name == "Calibration for general" and p.countdown_s == 5.0 and p.labels_track == "activity"
    with pytest.raises(ProtocolError, match="no classes"):
        calibration_protocol([], "general")
    with pytest.raises(ProtocolError, match="seconds per activity must be positive"):
        calibration_protocol(["walking"], "general", 0)
    with pytest.raises(ProtocolError, match="rest"):
        calibration_protocol(["walking"], "general", 30, float("nan"))
    for bad in (0, 5, 1.5, True, "2"):
        with pytest.raises(ProtocolError, match="bouts of each activity must be 1 to 4"):
            calibration_protocol(["walking"], "general", 30, 5, bouts=bad)


def test_calibration_protocol_splits_each_class_into_bouts_that_never_meet() -> None:
    """By default each class comes twice, half its seconds each time, the second round rotated so
    that no activity follows itself: calibration then judges its fit on a bout of its own."""
    from harlab.recording.protocol import calibration_protocol

    classes = ["walking", "stairs_up", "sitting", "standing", "lying"]
    p = calibration_protocol(classes, "general", 40, 5)
    acts = [s.activity for s in p.steps]
    assert acts == classes + ["sitting", "standing", "lying", "walking", "stairs_up"]
    assert {s.duration_s for s in p.steps} == {20.0}
    assert all(a != b for a, b in zip(acts, acts[1:], strict=False))
    assert p.steps[0].prompt == "Walking as you usually do"
    assert p.steps[5].prompt == "Sitting again, as you usually do"
    assert p.extra == {"calibration_model": "general", "calibration_bouts": "2"}
    assert p.duration_s == 10 * (20 + 5)  # the same seconds of activity as one bout of 40 s, more rests
    # two classes alternate; three rounds of three never repeat an activity back to back either
    assert [s.activity for s in calibration_protocol(["a", "b"], "m", 30, 0).steps] == ["a", "b", "a", "b"]
    three = [s.activity for s in calibration_protocol(["a", "b", "c"], "m", 30, 0, bouts=3).steps]
    assert sorted(three) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert all(x != y for x, y in zip(three, three[1:], strict=False))


def test_the_registry_entry_is_named_when_there_is_one() -> None:
    entry = {"model_uri": "runs:/r/model", "registered_name": "general-P07", "registered_version": "3"}
    assert registration_note(entry) == " (registered as general-P07 version 3)"
    assert registration_note(None) == registration_note({"model_uri": "runs:/r/model"}) == ""


def test_the_timeline_scores_the_smoothed_segments_and_counts_a_gap_as_wrong() -> None:
    """The timeline shows segments, not each window's top class: a lone wrong window inside a
    segment is not on it, and a window whose middle no segment covers is wrong."""
    blocks = held_out_blocks(_track(), 0.25)
    start = np.arange(0.0, 100.0, 1.0)
    top = np.where(start < 46.0, 0, 1)  # right per window everywhere but two windows
    top[[35, 84]] = [1, 0]
    pred = _pred(["walking", "sitting"], top, start)
    assert np.isnan(score(pred, blocks).timeline_macro_f1)  # no segments: no timeline
    pred.segments = [Segment(0.0, 47.0, "walking"), Segment(47.0, 85.0, "sitting")]  # a gap from 85 s
    s = score(pred, blocks)
    assert s.accuracy == pytest.approx(16 / 18)
    # the 9 sitting windows start at 80..88 (middles 81..89): 81..84 covered, 85..89 in the gap
    assert s.timeline_accuracy == pytest.approx(13 / 18)
    # walking P=1 R=1 -> 1; sitting P=1 R=4/9 -> 8/13; the gap is no class of its own
    assert s.timeline_macro_f1 == pytest.approx((1 + 8 / 13) / 2)
