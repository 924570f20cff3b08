"""Behaviour of the in-memory session model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from harlab.core import (
    ArrayStreamData,
    LabelClass,
    LabelSchema,
    LabelTrack,
    Metadata,
    PredictionTrack,
    Segment,
    Session,
    SessionError,
    Stream,
)
from harlab.core.streams import FLAG_GAP_BEFORE, minmax_bins


def make_stream(n: int = 1000, rate: float = 100.0, channels: int = 3) -> Stream:
    t = np.arange(n) / rate
    v = np.sin(np.outer(t, np.arange(1, channels + 1)))
    return Stream.from_arrays("accel", t, v, [f"c{i}" for i in range(channels)], "m/s^2", rate)


class TestStreams:
    def test_values_stored_as_float32_times_float64(self) -> None:
        s = make_stream()
        t, v = s.read()
        assert t.dtype == np.float64 and v.dtype == np.float32
        assert v.shape == (1000, 3)

    def test_read_by_time_range_is_half_open(self) -> None:
        s = make_stream()
        t, v = s.read(1.0, 2.0)
        assert t[0] == pytest.approx(1.0) and t[-1] == pytest.approx(1.99)
        assert len(t) == 100 == len(v)

    def test_backwards_timestamps_rejected_with_position(self) -> None:
        t = np.array([0.0, 0.1, 0.05, 0.2])
        with pytest.raises(SessionError, match="backwards at sample 2"):
            ArrayStreamData(t, np.zeros((4, 1)))

    def test_mismatched_lengths_rejected(self) -> None:
        with pytest.raises(SessionError, match="3 timestamps but 2 rows"):
            ArrayStreamData(np.arange(3.0), np.zeros((2, 1)))

    def test_channel_names_must_match(self) -> None:
        with pytest.raises(SessionError, match="2 channel names for 3 channels"):
            Stream("a", ["x", "y"], ["g", "g"], ArrayStreamData(np.arange(2.0), np.zeros((2, 3))))

    def test_envelope_keeps_spikes(self) -> None:
        t = np.arange(100_000) / 100.0
        v = np.zeros((100_000, 1))
        v[54_321, 0] = 50.0
        v[77_777, 0] = -30.0
        env = ArrayStreamData(t, v).envelope(0, 1000, 500)
        assert env.summarised and len(env.time) <= 500
        assert env.hi.max() == 50.0 and env.lo.min() == -30.0
        assert env.time[0] == 0.0

    def test_envelope_raw_when_few_samples(self) -> None:
        env = make_stream(50).data.envelope(0, 1, 4000)
        assert env.samples_per_bin == 1 and not env.summarised
        np.testing.assert_array_equal(env.lo, env.hi)

    def test_minmax_bins_partial_tail(self) -> None:
        v = np.arange(10, dtype=np.float32)[:, None]
        lo, hi = minmax_bins(v, 4)
        assert lo[:, 0].tolist() == [0, 4, 8] and hi[:, 0].tolist() == [3, 7, 9]

    def test_gaps_and_measured_rate(self) -> None:
        t = np.concatenate([np.arange(100) / 50.0, 10 + np.arange(100) / 50.0])
        s = Stream.from_arrays("g", t, np.zeros((200, 1)), ["x"], "rad/s", 50.0)
        assert s.gaps() == [(pytest.approx(1.98), 10.0)]
        assert s.measured_rate_hz() == pytest.approx(50.0)

    def test_flags_follow_reads(self) -> None:
        flags = np.zeros(10, np.uint8)
        flags[5] = FLAG_GAP_BEFORE
        d = ArrayStreamData(np.arange(10.0), np.zeros((10, 2)), flags)
        assert d.read_flags(4, 7).tolist() == [0, FLAG_GAP_BEFORE, 0]


class TestLabels:
    def test_exclusive_track_rejects_overlap_but_allows_touching_and_events(self) -> None:
        tr = LabelTrack("activity")
        tr.add(Segment(0, 5, "walk"))
        tr.add(Segment(5, 6, "run"))  # touching
        tr.add(Segment(3, 3, "event"))  # zero-length event inside
        with pytest.raises(SessionError, match="overlaps 'walk'"):
            tr.add(Segment(4, 4.5, "sit"))
        assert len(tr) == 3

    def test_overlapping_track_allows_overlap(self) -> None:
        tr = LabelTrack("context", "overlapping")
        tr.add(Segment(0, 5, "a"))
        tr.add(Segment(1, 2, "b"))
        assert [s.label for s in tr.at(1.5)] == ["a", "b"]

    def test_add_many_rolls_back_on_overlap(self) -> None:
        tr = LabelTrack("activity")
        tr.add(Segment(0, 1, "a"))
        with pytest.raises(SessionError, match="exclusive"):
            tr.add_many([Segment(2, 3, "b"), Segment(0.5, 0.7, "c")])
        assert len(tr) == 1

    def test_in_range_with_long_segment_before_window(self) -> None:
        tr = LabelTrack("t", "overlapping")
        tr.add(Segment(0, 1000, "long"))
        tr.add_many(Segment(i, i + 0.5, "short") for i in range(1, 900))
        found = tr.in_range(500.2, 500.3)
        assert [s.label for s in found] == ["long", "short"]

    def test_next_previous_and_unlabelled(self) -> None:
        tr = LabelTrack("t")
        tr.add_many([Segment(10, 20, "a"), Segment(30, 40, "b")])
        assert tr.next_after(10).label == "b"
        assert tr.previous_before(30).label == "a"
        assert tr.next_after(30) is None
        assert tr.unlabelled(0, 50) == [(0, 10.0), (20.0, 30.0), (40.0, 50)]

    def test_update_keeps_id_and_checks_policy(self) -> None:
        tr = LabelTrack("t")
        a = tr.add(Segment(0, 1, "a"))
        tr.add(Segment(2, 3, "b"))
        old, new = tr.update(a.id, end=1.5, label="c")
        assert new.id == a.id and old.end == 1 and tr[a.id].label == "c"
        assert new.modified >= old.modified
        with pytest.raises(SessionError):
            tr.update(a.id, end=2.5)
        assert tr[a.id].end == 1.5

    def test_remove_and_put_restore_exact_segment(self) -> None:
        tr = LabelTrack("t")
        a = tr.add(Segment(0, 1, "a", note="n", confidence=0.5))
        removed = tr.remove(a.id)
        tr.put(removed)
        assert tr[a.id] == a

    def test_events_fire(self) -> None:
        s = Session()
        seen: list[str] = []
        s.events.connect(lambda e: seen.append(e.kind))
        tr = s.add_label_track("activity")
        seg = tr.add(Segment(0, 1, "a"))
        tr.update(seg.id, note="x")
        tr.remove(seg.id)
        assert seen == ["label_track_added", "segments_added", "segments_changed", "segments_removed"]

    def test_blocked_events(self) -> None:
        tr = LabelTrack("t")
        seen = []
        tr.events.connect(seen.append)
        with tr.events.blocked():
            tr.add(Segment(0, 1, "a"))
        assert seen == []

    def test_segment_validation(self) -> None:
        with pytest.raises(SessionError, match="before it starts"):
            Segment(2, 1, "a")
        with pytest.raises(SessionError, match="outside 0..1"):
            Segment(0, 1, "a", confidence=1.5)
        with pytest.raises(SessionError, match="source"):
            Segment(0, 1, "a", source="guess")
        with pytest.raises(SessionError, match="finite"):
            Segment(0, float("nan"), "a")


class TestSchema:
    def test_hotkeys_unique_and_lookup(self) -> None:
        sch = LabelSchema([LabelClass("walking", "#ff0000", "w"), LabelClass("sitting", "#00ff00", "s")])
        assert sch.by_hotkey("W").name == "walking"
        with pytest.raises(SessionError, match="hotkey 'w'"):
            sch.add(LabelClass("waving", "#0000ff", "w"))

    def test_bad_colour(self) -> None:
        with pytest.raises(SessionError, match="colour"):
            LabelClass("a", "red")

    def test_update_renames_in_place(self) -> None:
        sch = LabelSchema([LabelClass(n) for n in "abc"])
        sch.update("b", LabelClass("bee", "#123456"))
        assert sch.names == ["a", "bee", "c"]

    def test_round_trip_list(self) -> None:
        sch = LabelSchema([LabelClass("a", "#010203", "1", "desc")])
        again = LabelSchema.from_list(sch.to_list())
        assert list(again) == list(sch)

    def test_session_adds_classes_of_imported_segments(self) -> None:
        s = Session()
        s.add_segments("activity", [Segment(0, 1, "jumping")])
        assert "jumping" in s.schema and s.schema["jumping"].color.startswith("#")


class TestMetadataAndPredictions:
    def test_start_converted_to_utc_and_naive_rejected(self) -> None:
        m = Metadata(
            start_utc=datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), timezone="Europe/Berlin"
        )
        assert m.start_utc == datetime(2024, 1, 1, 10, tzinfo=UTC)
        assert m.local_start().hour == 11
        with pytest.raises(SessionError, match="timezone-aware"):
            Metadata(start_utc=datetime(2024, 1, 1))

    def test_unknown_timezone(self) -> None:
        with pytest.raises(SessionError, match="Mars/Olympus"):
            Metadata(timezone="Mars/Olympus")

    def test_prediction_track_shapes_and_confidence(self) -> None:
        p = np.array([[0.9, 0.1], [0.3, 0.7]])
        tr = PredictionTrack("cnn", "m", "1", ["a", "b"], [0, 1], [1, 2], p)
        assert tr.top_class == ["a", "b"]
        np.testing.assert_allclose(tr.confidence, [0.9, 0.7])
        with pytest.raises(SessionError, match="probabilities shape"):
            PredictionTrack("cnn", "m", "1", ["a"], [0, 1], [1, 2], p)

    def test_session_time_bounds_over_streams_and_labels(self) -> None:
        s = Session()
        s.add_stream(make_stream(100))
        s.add_segments("activity", [Segment(-5, 20, "a")])
        assert s.time_bounds() == (-5, 20)


def test_keep_ids_below_never_reuses_nor_lowers_ids() -> None:
    track = LabelTrack("activity")
    track.add(Segment(0.0, 1.0, "walk"))
    track.keep_ids_below(10)
    assert track.add(Segment(1.0, 2.0, "sit")).id == 10
    track.keep_ids_below(3)  # a lower mark leaves the next id alone
    assert track.next_id == 11
