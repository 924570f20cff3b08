"""Consensus rules, the to-do list, and simulated annotators disagreeing where they were told to."""

from __future__ import annotations

import pytest

from harlab.agreement import AgreementError, consensus, parse_rule
from harlab.core.labels import LabelTrack, Segment
from harlab.simulate import annotated_session, simulate_annotators
from harlab.simulate.activity_table import SimulationError


def track(name: str, *segs: tuple[float, float, str], annotator: str = "") -> LabelTrack:
    t = LabelTrack(name, annotator=annotator or name.lower())
    t.add_many(Segment(a, b, lab) for a, b, lab in segs)
    return t


def spans(t: LabelTrack) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.label) for s in t]


A = track("A", (0, 10, "walk"), (10, 20, "sit"), (20, 30, "run"))
B = track("B", (0, 10, "walk"), (10, 20, "stand"), (20, 30, "run"))
C = track("C", (0, 10, "walk"), (10, 20, "sit"), (20, 25, "walk"))


def test_unanimous_keeps_only_what_everyone_says():
    r = consensus([A, B, C], "unanimous")
    assert spans(r.track) == [(0, 10, "walk")]
    assert [(d.start, d.end, d.labels) for d in r.todo] == [
        (10, 20, (("A", "sit"), ("B", "stand"), ("C", "sit"))),
        (20, 25, (("A", "run"), ("B", "run"), ("C", "walk"))),
        (25, 30, (("A", "run"), ("B", "run"), ("C", None))),
    ]
    assert r.decided_s == 10 and r.open_s == 20


def test_majority_of_three_settles_two_against_one():
    r = consensus([A, B, C], "majority", name="truth")
    assert spans(r.track) == [(0, 10, "walk"), (10, 20, "sit"), (20, 30, "run")]
    assert r.todo == []
    assert r.track.name == "truth" and r.track.annotator == "consensus"
    assert all(s.annotator == "consensus" for s in r.track)


def test_majority_of_two_is_unanimity_and_a_tie_stays_open():
    r = consensus([A, B], "majority")
    assert spans(r.track) == [(0, 10, "walk"), (20, 30, "run")]
    assert len(r.todo) == 1 and r.todo[0].choices == ["sit", "stand"]
    assert r.todo[0].label_of("B") == "stand"
    with pytest.raises(KeyError):
        r.todo[0].label_of("Z")


def test_annotator_wins_where_it_has_a_label_and_majority_of_others_elsewhere():
    r = consensus([C, A, B], "annotator:C")  # by track name
    assert spans(r.track) == [(0, 10, "walk"), (10, 20, "sit"), (20, 25, "walk"), (25, 30, "run")]
    assert r.todo == []
    r2 = consensus([C, A, B], "annotator:b")  # by annotator name (B's annotator is "b")
    assert spans(r2.track) == [(0, 10, "walk"), (10, 20, "stand"), (20, 30, "run")]
    # C has no label at 25-30 and the two others disagree there: left to decide
    r3 = consensus([C, A, track("D", (25, 30, "lie"))], "annotator:C")
    assert [(d.start, d.end, d.choices) for d in r3.todo] == [(25, 30, ["run", "lie"])]
    # one other track with a label where C has none: the majority of the others is that label
    assert spans(consensus([C, track("D", (25, 30, "lie"))], "annotator:C").track)[-1] == (25, 30, "lie")


def test_rule_errors_name_the_choices():
    with pytest.raises(AgreementError, match="unknown consensus rule 'mostly'"):
        consensus([A, B], "mostly")
    with pytest.raises(AgreementError, match="no track or annotator 'Z' among A .a., B .b."):
        consensus([A, B], "annotator:Z")
    with pytest.raises(AgreementError, match="unknown consensus rule"):
        parse_rule("annotator:")
    twins = [track("X", (0, 1, "a"), annotator="same"), track("Y", (0, 1, "b"), annotator="same")]
    with pytest.raises(AgreementError, match="name the track"):
        consensus(twins, "annotator:same")


def test_boundary_jitter_is_settled_at_the_middle_but_a_real_disagreement_is_not():
    a = track("A", (0, 10.4, "walk"), (10.4, 20, "sit"), (20, 30, "run"))
    b = track("B", (0, 9.8, "walk"), (9.8, 20, "sit"), (20, 30, "walk"))
    r = consensus([a, b], "majority", boundary_s=1.0)
    assert spans(r.track) == [(0, pytest.approx(10.1), "walk"), (pytest.approx(10.1), 20, "sit")]
    assert [(d.start, d.end) for d in r.todo] == [(20, 30)]
    # without boundary settling the 0.6-s sliver is a to-do item too
    assert len(consensus([a, b], "majority").todo) == 2


def test_boundary_settling_cascades_over_three_annotators_and_joins_a_disagreement():
    a = track("A", (0, 9.8, "walk"), (9.8, 20, "sit"))
    b = track("B", (0, 10.0, "walk"), (10.0, 20, "sit"))
    c = track("C", (0, 10.4, "walk"), (10.4, 20, "sit"))
    r = consensus([a, b, c], "unanimous", boundary_s=1.0)
    assert r.todo == [] and [s.label for s in r.track] == ["walk", "sit"]
    assert 9.8 < r.track.at(5)[0].end < 10.4
    # a sliver where one annotator is late into a real disagreement joins the disagreement
    x = track("X", (0, 10, "walk"), (10, 30, "sit"))
    y = track("Y", (0, 10.3, "walk"), (10.3, 30, "run"))
    r = consensus([x, y], "majority", boundary_s=1.0)
    assert [(d.start, d.end, d.choices) for d in r.todo] == [(pytest.approx(10.15), 30, ["sit", "run"])]
    # longer than the limit: both stay
    assert len(consensus([x, y], "majority", boundary_s=0.2).todo) == 2
    with pytest.raises(AgreementError, match="boundary_s"):
        consensus([x, y], "majority", boundary_s=-1)


def test_tracks_with_no_segments_and_a_single_track():
    r = consensus([track("A"), track("B")], "majority")
    assert len(r.track) == 0 and r.todo == []
    r = consensus([A, track("E")], "majority")  # one annotator labelled nothing: all open
    assert len(r.track) == 0 and [(d.start, d.end) for d in r.todo] == [(0, 10), (10, 20), (20, 30)]
    with pytest.raises(AgreementError, match="at least two"):
        consensus([A], "majority")


def test_simulated_annotators_disagree_exactly_where_they_were_told():
    session, sim = annotated_session(
        300, ("ann", "bob"), jitter_s=0.4, confused={"ann": [2], "bob": [5, 7]}, seed=4
    )
    truth = list(session.label_tracks["activity"])
    assert [(c.annotator, c.index) for c in sim.confusions] == [("ann", 2), ("bob", 5), ("bob", 7)]
    for c in sim.confusions:
        assert c.truth == truth[c.index].label and c.given != c.truth
    r = consensus(sim.tracks, "majority", boundary_s=2.5)
    # every confusion is an open disagreement covering its middle, with the given and the true label
    for c in sim.confusions:
        mid = (c.start + c.end) / 2
        hit = [d for d in r.todo if d.start <= mid <= d.end]
        assert len(hit) == 1, c
        assert hit[0].label_of(c.annotator) == c.given
        other = "bob" if c.annotator == "ann" else "ann"
        assert hit[0].label_of(other) == c.truth
    # and nowhere else lasts longer than the jitter can explain (3 sd, both annotators)
    confused_mids = [(c.start + c.end) / 2 for c in sim.confusions]
    for d in r.todo:
        if not any(d.start - 3 <= m <= d.end + 3 for m in confused_mids):
            assert d.duration <= 2 * 3 * 0.4 + 1e-9, d
    # the tracks are ordinary, exclusive, named and attributed
    assert [t.name for t in sim.tracks] == ["ann", "bob"] and sim.tracks[1].annotator == "bob"
    assert "ann" in session.label_tracks and "bob" in session.label_tracks


def test_simulated_annotators_are_seeded_and_stay_inside_the_labelled_span():
    session, _ = annotated_session(200, seed=1)
    truth = session.label_tracks["activity"]
    one = simulate_annotators(truth, ("x", "y"), jitter_s=2.0, confusion_rate=0.3, seed=9)
    two = simulate_annotators(truth, ("x", "y"), jitter_s=2.0, confusion_rate=0.3, seed=9)
    assert [spans(t) for t in one.tracks] == [spans(t) for t in two.tracks]
    assert one.confusions == two.confusions
    lo, hi = min(s.start for s in truth), max(s.end for s in truth)
    for t in one.tracks:
        assert len(t) == len(truth)
        assert min(s.start for s in t) >= lo and max(s.end for s in t) <= hi
    # two annotators never confuse the same segment
    idx = [c.index for c in one.confusions]
    assert len(idx) == len(set(idx))


def test_simulated_annotators_refuse_bad_arguments():
    session, _ = annotated_session(60, seed=2)
    truth = session.label_tracks["activity"]
    with pytest.raises(SimulationError, match="distinct"):
        simulate_annotators(truth, ("a", "a"))
    with pytest.raises(SimulationError, match="outside"):
        simulate_annotators(truth, ("a", "b"), confused={"a": [999]})
    with pytest.raises(SimulationError, match="not one of"):
        simulate_annotators(truth, ("a", "b"), confused={"c": [0]})
    with pytest.raises(SimulationError, match="confusion_rate"):
        simulate_annotators(truth, ("a", "b"), confusion_rate=2)
