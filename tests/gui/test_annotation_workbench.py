"""Several annotators in the workbench: who made each track, label-blind mode, the agreement
panel against the core, walking disagreements, and an adjudication run from the keyboard.

The sessions come from the annotator simulator (:mod:`harlab.simulate.annotators`) with no
boundary jitter, so the annotators disagree exactly on the segments they were told to confuse,
and every expected place is known from the simulation, not hard-coded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from harlab.agreement import compare_tracks, consensus
from harlab.gui import settings
from harlab.gui.agreement_panel import fmt
from harlab.gui.annotator_view import describe_track
from harlab.simulate.annotators import annotated_session
from tests.gui.gui_helpers import make_predictions, press_key, press_shortcut
from tests.gui.test_screenshots import shoot

pytestmark = [pytest.mark.gui]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CONFUSED = {"A": [1, 5], "B": [3]}  #: true segments each simulated annotator mislabels


def two_annotators(duration: float = 120.0, names: tuple[str, ...] = ("A", "B"), confused=None):
    session, sim = annotated_session(
        duration,
        names,
        jitter_s=0.0,
        confusion_rate=0.0,
        confused=CONFUSED if confused is None else confused,
        seed=2,
        streams={"accel": "wrist_accel"},
        rate_hz=25.0,
    )
    return session, sim


def flat(pairs) -> list[float]:
    """(start, end) pairs as one list, for pytest.approx (which compares flat sequences)."""
    return [float(x) for p in pairs for x in p]


def rows(window) -> list[str]:
    return [b.name for b in window.timeline.bands]


def truth(session) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.label) for s in session.label_tracks["activity"] if s.end > s.start]


def test_row_title_names_the_annotator_and_times(make_window, qtbot):
    session, _ = two_annotators()
    w = make_window()
    w.show_session(session)
    band = next(b for b in w.timeline.bands if b.name == "B")
    assert band.title.text_ == "B"  # named after its annotator: no repetition
    tip = band.title.toolTip()
    assert "by B" in tip and "created " in tip and "modified " in tip
    assert tip == describe_track(session.label_tracks["B"])
    # an edit moves the track's "modified" time, and the tooltip follows
    from harlab.labeling.commands import LabelRange

    stamp = session.label_tracks["B"].modified
    w.history.push(LabelRange("B", 1.0, 2.0, next(iter(session.label_tracks["B"])).label))
    assert session.label_tracks["B"].modified > stamp
    qtbot.waitUntil(lambda: band.title.toolTip() == describe_track(session.label_tracks["B"]))


def test_add_track_dialog_asks_for_the_annotator(qtbot):
    from harlab.gui.track_dialogs import AddTrackDialog

    d = AddTrackDialog(["activity"], annotator="dana")
    qtbot.addWidget(d)
    d.name.setText("posture")
    assert d.values() == ("posture", "exclusive") and d.annotator_name() == "dana"
    d.annotator.setText("  erin ")
    assert d.annotator_name() == "erin"


def test_new_track_records_the_annotator_set_here(make_window, qtbot):
    session, _ = two_annotators()
    w = make_window()
    w.show_session(session)
    assert w.set_annotator("carol")
    assert w.add_label_track("mine")
    assert session.label_tracks["mine"].annotator == "carol"
    w.history.undo()
    assert "mine" not in session.label_tracks
    w.history.redo()
    assert session.label_tracks["mine"].annotator == "carol"  # the plan carries it


def test_label_blind_hides_others_and_predictions_then_restores(make_window, qtbot):
    session, _ = two_annotators()
    make_predictions(session, classes=sorted({s.label for s in session.label_tracks["activity"]}))
    w = make_window()
    w.set_annotator("A")
    w.show_session(session)
    before = rows(w)
    assert {"activity", "A", "B"} <= set(before) and w.timeline.pred_rows
    press_shortcut(qtbot, w, "toggle_label_blind")
    qtbot.waitUntil(lambda: "B" not in rows(w))
    # A's own track and the unclaimed true track stay; B's track and the predictions go
    assert rows(w) == [n for n in before if n != "B"]
    assert not w.timeline.pred_rows
    listed = [w.table_dock.track_box.itemText(i) for i in range(w.table_dock.track_box.count())]
    assert "B" not in listed and "A" in listed  # nor in the segment table
    assert "LABEL BLIND" in w.annotation.status_label.text() and "(A)" in w.annotation.status_label.text()
    assert "Label blind ON" in w.last_message
    assert settings.get_bool("label_blind") is True
    assert w.qactions["toggle_label_blind"].isChecked()
    assert "B" in session.label_tracks and session.prediction_tracks  # hidden, never removed
    press_shortcut(qtbot, w, "toggle_agreement")  # agreement would show the hidden labels
    assert not w.agreement_dock.isVisible() and "stays hidden" in w.last_message
    press_shortcut(qtbot, w, "toggle_label_blind")
    qtbot.waitUntil(lambda: rows(w) == before)
    assert w.timeline.pred_rows and w.annotation.status_label.text() == ""
    assert w.table_dock.track_box.findText("B") >= 0


def test_agreement_panel_shows_the_cores_figures(make_window, qtbot):
    session, _ = two_annotators(names=("A", "B", "C"), confused={"A": [1, 5], "B": [3], "C": [7]})
    w = make_window()
    w.show_session(session)
    press_shortcut(qtbot, w, "toggle_agreement")
    panel = w.agreement_dock
    assert panel.isVisible()
    panel.tolerance.setValue(0.5)
    panel.choose(["A", "B", "C"])
    qtbot.waitUntil(lambda: panel.result is not None and panel.is_idle(), timeout=10000)
    step, window, tolerance = panel.settings()
    core = compare_tracks(
        [session.label_tracks[n] for n in "ABC"], step=step, window=window, tolerance=tolerance
    )
    rel = core.reliability
    shown = {
        panel.summary.item(i, 0).text(): panel.summary.item(i, 1).text()
        for i in range(panel.summary.rowCount())
    }
    assert shown["Fleiss' κ"] == fmt(rel.fleiss_kappa) != "—"
    assert shown["Krippendorff's α"] == fmt(rel.krippendorff_alpha) != "—"
    assert shown["Agreement (both labelled)"] == fmt(rel.agreement)
    assert shown["Cohen's κ"] == "—"  # three tracks: Cohen's is for two
    per_class = {
        panel.per_class.item(i, 0).text(): panel.per_class.item(i, 1).text()
        for i in range(panel.per_class.rowCount())
    }
    assert per_class == {c.name: fmt(c.specific_agreement) for c in rel.per_class}
    assert np.array_equal(panel.confusion.counts, rel.pairs[0].confusion)
    first = rel.classes[0]
    n00, row0 = int(rel.pairs[0].confusion[0, 0]), int(rel.pairs[0].confusion[0].sum())
    assert (
        panel.confusion.item(0, 0).toolTip().startswith(f"A says {first}, B says {first}: {n00} of {row0} ")
    )
    f1 = [panel.events.item(i, 4).text() for i in range(panel.events.rowCount())]
    assert f1 == [fmt(e.f1) for e in core.events]
    # a label change recomputes (debounced, on the background job) and matches the core again
    seg = next(iter(session.label_tracks["C"]))
    from harlab.labeling.commands import ChangeClass

    w.history.push(ChangeClass("C", [seg.id], "lying" if seg.label != "lying" else "walking"))
    qtbot.waitUntil(lambda: not panel.is_idle(), timeout=2000)
    qtbot.waitUntil(lambda: panel.is_idle() and panel.result is not None, timeout=10000)
    again = compare_tracks(
        [session.label_tracks[n] for n in "ABC"], step=step, window=window, tolerance=tolerance
    )
    assert panel.result.reliability.krippendorff_alpha == again.reliability.krippendorff_alpha
    assert again.reliability.krippendorff_alpha != rel.krippendorff_alpha
    # with two tracks Cohen's kappa shows
    panel.choose(["A", "B"])
    qtbot.waitUntil(
        lambda: panel.result is not None and panel.result.tracks == ("A", "B") and panel.is_idle(),
        timeout=10000,
    )
    two = compare_tracks(
        [session.label_tracks[n] for n in "AB"], step=step, window=window, tolerance=tolerance
    )
    shown = {
        panel.summary.item(i, 0).text(): panel.summary.item(i, 1).text()
        for i in range(panel.summary.rowCount())
    }
    assert shown["Cohen's κ"] == fmt(two.reliability.cohen_kappa) != "—"
    shoot(w, qtbot, "annotation_agreement_panel")


def test_next_disagreement_walks_the_compared_tracks(make_window, qtbot):
    session, sim = two_annotators()
    w = make_window()
    w.show_session(session)
    assert w.annotation.compare(["A", "B"])
    qtbot.waitUntil(lambda: w.annotation.strip is not None)
    w.timeline.hub.set_cursor(0.0)
    expected = sorted((c.start, c.end) for c in sim.confusions)  # no jitter: exactly the confused segments
    seen = []
    for _ in expected:
        press_shortcut(qtbot, w, "next_disagreement")
        seen.append(w.timeline.hub.selection)
    assert flat(seen) == pytest.approx(flat(expected))
    press_shortcut(qtbot, w, "next_disagreement")
    assert "No disagreement" in w.last_message and list(w.timeline.hub.selection) == pytest.approx(
        list(expected[-1])
    )
    press_shortcut(qtbot, w, "prev_disagreement")
    assert list(w.timeline.hub.selection) == pytest.approx(list(expected[-2]))
    # the strip draws the same spans, under the compared tracks
    starts, ends = w.annotation.strip.item.starts, w.annotation.strip.item.ends
    assert flat(zip(starts, ends, strict=True)) == pytest.approx(flat(expected))
    kinds = [k for k, _p, _h in w.timeline.row_minimum_heights()]
    assert kinds.index("strip") == kinds.index("band") + len(w.timeline.bands)
    # a label edit moves the strip (debounced)
    from harlab.labeling.commands import CopyLabels

    a, b = expected[0]
    w.history.push(CopyLabels("B", "A", a, b))
    qtbot.waitUntil(lambda: len(w.annotation.strip.item.starts) == len(expected) - 1, timeout=3000)


def test_next_disagreement_without_comparison_is_still_the_prediction_walk(make_window, qtbot):
    session, _ = two_annotators()
    classes = sorted({s.label for s in session.label_tracks["activity"]})
    make_predictions(session, classes=classes, wrong=(50.0, 60.0, "lying"), noise=0.0)
    w = make_window()
    w.show_session(session)
    w.timeline.set_active_track("activity")
    w.timeline.hub.set_cursor(0.0)
    press_shortcut(qtbot, w, "next_disagreement")
    a, b = w.timeline.hub.selection
    assert a < 60.0 and b > 50.0 and "disagree" in w.last_message


def test_adjudication_from_the_keyboard_with_undo_and_redo(make_window, qtbot, tmp_path):
    session, sim = two_annotators()
    truth_segments = truth(session)
    w = make_window()
    w.show_session(session)
    press_shortcut(qtbot, w, "toggle_agreement")
    panel = w.agreement_dock
    panel.choose(["A", "B"])
    panel.rule.setCurrentIndex(panel.rule.findData("majority"))
    w.annotation.set_blind(True)  # left on: adjudicating switches it off (and shows every track)
    panel.build_button.click()
    assert not w.annotation.blind and "B" in session.label_tracks
    press_shortcut(qtbot, w, "toggle_agreement")
    assert panel.isVisible()
    walk = w.annotation.walk
    assert walk is not None and walk.target == "consensus"
    expected = consensus([session.label_tracks["A"], session.label_tracks["B"]], "majority").todo
    assert [(d.start, d.end) for d in walk.items] == [(d.start, d.end) for d in expected]
    assert flat((d.start, d.end) for d in walk.items) == pytest.approx(
        flat(sorted((c.start, c.end) for c in sim.confusions))
    )
    qtbot.waitUntil(lambda: walk.index == 0)
    assert w.timeline.active_track == "consensus"
    assert walk.progress_text() == "0 of 3 decided" and "0 of 3 decided" in panel.progress.text()

    def truth_at(item) -> str:
        return next(lab for a, b, lab in truth_segments if a <= (item.start + item.end) / 2 < b)

    # item 1: A confused it, so B is right; item 2: B confused it, so A is right
    first = walk.current
    right = [k for k, (_t, lab) in enumerate(first.labels, 1) if lab == truth_at(first)]
    press_key(qtbot, w, f"Alt+{right[0]}")
    assert walk.index == 1 and walk.progress_text() == "1 of 3 decided"
    second = walk.current
    right = [k for k, (_t, lab) in enumerate(second.labels, 1) if lab == truth_at(second)]
    press_key(qtbot, w, f"Alt+{right[0]}")
    assert walk.index == 2 and "2 of 3 decided" in w.annotation.status_label.text()
    # item 3: draw the true label with its class key (both annotators' labels are ignored)
    third = walk.current
    key = session.schema[truth_at(third)].hotkey
    assert list(w.timeline.hub.selection) == pytest.approx([third.start, third.end])
    press_key(qtbot, w, key)
    assert walk.progress_text() == "3 of 3 decided"
    press_shortcut(qtbot, w, "next_todo")
    assert "Every item is decided" in w.last_message
    got = [(s.start, s.end, s.label) for s in session.label_tracks["consensus"]]
    assert len(got) == len(truth_segments)
    for (a, b, lab), (ta, tb, tlab) in zip(got, truth_segments, strict=True):
        assert lab == tlab and a == pytest.approx(ta) and b == pytest.approx(tb)
    assert session.label_tracks["consensus"].annotator == "consensus"
    shoot(w, qtbot, "annotation_adjudication")
    # undo the class key and the second pick: those items open again; redo decides them again
    press_shortcut(qtbot, w, "undo")
    press_shortcut(qtbot, w, "undo")
    assert walk.progress_text() == "1 of 3 decided"
    assert session.label_tracks["consensus"].unlabelled(second.start, second.end, 1e-6)
    press_shortcut(qtbot, w, "redo")
    press_shortcut(qtbot, w, "redo")
    assert walk.progress_text() == "3 of 3 decided"
    assert [(s.start, s.end, s.label) for s in session.label_tracks["consensus"]] == got
    # previous item revisits a decided one
    press_shortcut(qtbot, w, "prev_todo")
    assert "decided" in w.last_message
    # the consensus is an ordinary label track: saved and read back like any other
    from harlab.storage import read_session, save_session

    back = read_session(save_session(session, tmp_path / "adjudicated.h5"))
    assert [(s.start, s.end, s.label) for s in back.label_tracks["consensus"]] == got
    assert back.label_tracks["consensus"].annotator == "consensus"
    # undoing the build removes the track and ends the walk
    while w.history.can_undo:
        w.history.undo()
    QApplication.processEvents()
    qtbot.waitUntil(lambda: w.annotation.walk is None)
    assert "consensus" not in session.label_tracks


@pytest.mark.slow
def test_annotation_screenshots(make_window, qtbot):
    """The pictures of docs/ANNOTATION.md (copied there from tests/screenshots/)."""
    session, _ = annotated_session(
        180.0,
        ("alice", "bob", "carol"),
        jitter_s=0.4,
        confusion_rate=0.0,
        confused={"alice": [2], "bob": [5, 9], "carol": [12]},
        seed=5,
        streams={"accel": "wrist_accel"},
        rate_hz=25.0,
    )
    make_predictions(session, classes=sorted({s.label for s in session.label_tracks["activity"]}))
    w = make_window()
    w.resize(1400, 900)
    w.set_annotator("alice")
    w.show_session(session)
    w.annotation.set_blind(True)
    qtbot.waitUntil(lambda: "bob" not in rows(w))
    shoot(w, qtbot, "annotation_label_blind")
    w.annotation.set_blind(False)
    qtbot.waitUntil(lambda: "bob" in rows(w))
    press_shortcut(qtbot, w, "toggle_agreement")
    panel = w.agreement_dock
    panel.choose(["alice", "bob", "carol"])
    qtbot.waitUntil(lambda: panel.result is not None and panel.is_idle(), timeout=10000)
    shot = shoot(w, qtbot, "annotation_agreement")
    body = panel.widget().widget()  # the panel's whole content, confusion and events included
    body.resize(body.width(), body.sizeHint().height())
    assert body.grab().save(str(shot.with_name("annotation_agreement_panel.png")))
    panel.choose(["alice", "bob"])
    qtbot.waitUntil(
        lambda: panel.result is not None and panel.result.tracks == ("alice", "bob"), timeout=10000
    )
    assert w.annotation.start_adjudication(["alice", "bob"], "majority", "consensus")
    walk = w.annotation.walk
    qtbot.waitUntil(lambda: walk.index == 0)
    # take a label from the first track that has one there (jittered boundaries leave one silent)
    k = next(k for k, (_t, lab) in enumerate(walk.current.labels, 1) if lab is not None)
    press_key(qtbot, w, f"Alt+{k}")
    qtbot.waitUntil(lambda: walk.n_decided() == 1)
    while walk.current.end - walk.current.start < 2.0:  # a confusion, not a jittered boundary
        press_shortcut(qtbot, w, "next_todo")
    item = walk.current
    w.timeline.set_range(item.start - 15.0, item.end + 15.0)
    qtbot.waitUntil(lambda: panel.is_idle() and panel.result is not None, timeout=10000)
    shoot(w, qtbot, "annotation_adjudication_walk")
