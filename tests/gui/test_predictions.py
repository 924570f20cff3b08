"""Predictions in the workbench: rows, review keys, accepting into labels, predicting, tracks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox, QProgressDialog

from harlab.core import Segment
from harlab.gui.track_dialogs import AcceptPredictionsDialog, AddTrackDialog
from harlab.labeling.commands import AddSegment, LabelRange
from harlab.labeling.edit_journal import edit_journal_path
from harlab.storage import read_session, save_session
from tests.gui.gui_helpers import (
    click,
    labels_of,
    make_predictions,
    make_session,
    open_window,
    press_shortcut,
    view_pos,
)

pytestmark = pytest.mark.gui


def show_range(w, qtbot, t0, t1):
    w.timeline.set_range(t0, t1)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    w.timeline.glw.viewport().repaint()


def saved(tmp_path, labels: bool = True, **kw):
    s = make_session(minutes=10, n_segments=20)
    make_predictions(s, **kw)
    if not labels:
        s.remove_label_track("activity")
        s.label_track("activity")
    return save_session(s, tmp_path / "pred.h5")


def test_rows_draw_visible_columns_heatmap_on_demand_and_overview_strip(make_window, qtbot, tmp_path):
    w = open_window(make_window, qtbot, saved(tmp_path))
    tl = w.timeline
    assert [r.name for r in tl.pred_rows] == ["activity-predicted"]
    row = tl.pred_rows[0]
    assert row.heat_plot is None and tl.overview.pred_band is not None
    show_range(w, qtbot, 0.0, 60.0)
    width = row.plot.vb.width()
    qtbot.waitUntil(lambda: row.confidence.last_columns > 0)
    assert row.confidence.last_columns <= width + 1
    # predictions are hatched and paler than the labels of the same class
    assert row.band.hatch and not tl.bands[0].band.hatch
    assert row.band.color("walking").valueF() >= tl.bands[0].band.color("walking").valueF()
    w.heatmap_action.trigger()  # View > Class probabilities (heatmap)
    qtbot.waitUntil(lambda: tl.pred_rows and tl.pred_rows[0].heat_plot is not None)
    show_range(w, qtbot, 0.0, 600.0)
    heat = tl.pred_rows[0].heatmap
    qtbot.waitUntil(lambda: heat.last_shape[1] > 0)
    k, cols = heat.last_shape
    assert k == 3 and cols <= tl.pred_rows[0].heat_plot.vb.width() + 1  # one column per pixel, not per window
    w.heatmap_action.trigger()
    qtbot.waitUntil(lambda: tl.pred_rows[0].heat_plot is None)


def test_click_a_predicted_segment_and_accept_it_by_key(make_window, qtbot, tmp_path):
    path = saved(tmp_path, labels=False)
    w = open_window(make_window, qtbot, path)
    show_range(w, qtbot, 0.0, 120.0)
    row = w.timeline.pred_rows[0]
    vp = w.timeline.glw.viewport()
    click(vp, view_pos(row.plot, 40.0, 1.5))  # the predicted "sitting" of 30-54 s
    seg = w.timeline.selected_predicted_segment()
    assert seg is not None and seg.label == "sitting" and seg.start <= 40.0 <= seg.end
    assert w.timeline.hub.cursor == pytest.approx(40.0, abs=0.5)
    press_shortcut(qtbot, w, "accept_prediction")
    (got,) = w.session.label_tracks["activity"]
    assert (got.start, got.end, got.label, got.source) == (
        seg.start,
        seg.end,
        "sitting",
        "accepted_prediction",
    )
    assert "test-model" in got.note
    assert w.dirty and edit_journal_path(path).exists()
    assert "accepted_prediction" in edit_journal_path(path).read_text()
    press_shortcut(qtbot, w, "undo")
    assert len(w.session.label_tracks["activity"]) == 0
    press_shortcut(qtbot, w, "redo")
    assert len(w.session.label_tracks["activity"]) == 1


def test_accept_above_threshold_dialog_is_one_edit_and_keeps_labels(make_window, qtbot, tmp_path):
    path = saved(tmp_path, labels=False, noise=0.2, doubt=(125.0, 139.0))
    w = open_window(make_window, qtbot, path)
    w.history.push(LabelRange("activity", 0.0, 10.0, "running"))  # a person's label: never overwritten
    pred = w.session.prediction_tracks["activity-predicted"]
    sure = [s for s in pred.segments if s.confidence >= 0.8]
    assert any(s.confidence < 0.5 for s in pred.segments)  # the doubtful stretch
    undo_depth = len(w.history.done)

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, AcceptPredictionsDialog)
        dialog.threshold.setValue(0.8)
        dialog.scope.setCurrentIndex(dialog.scope.findData("all"))
        assert dialog.keep.isChecked()
        assert dialog.summary.text().split()[0].isdigit()
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    w.accept_many_action.trigger()
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), AcceptPredictionsDialog))
    fill()
    qtbot.waitUntil(lambda: len(w.history.done) == undo_depth + 1)
    labels = list(w.session.label_tracks["activity"])
    assert labels[0].label == "running" and (labels[0].start, labels[0].end) == (0.0, 10.0)  # kept
    accepted = [s for s in labels if s.source == "accepted_prediction"]
    assert len(accepted) >= len(sure) - 1  # one may be cut by the kept label
    assert all(s.confidence >= 0.8 for s in accepted)
    assert not any(s.start < 138.0 and s.end > 125.0 for s in accepted)  # the doubtful stretch stays open
    press_shortcut(qtbot, w, "undo")  # the whole acceptance is one step
    assert labels_of(w.session) == [(0.0, 10.0, "running")]


def test_review_keys_find_doubt_and_disagreement(make_window, qtbot, tmp_path):
    path = saved(tmp_path, noise=0.2, doubt=(125.0, 139.0), wrong=(185.0, 200.0, "running"))
    w = open_window(make_window, qtbot, path)
    hub = w.timeline.hub
    hub.set_cursor(0.0)
    press_shortcut(qtbot, w, "next_least_confident")
    a, b = hub.selection
    assert a == pytest.approx(124.5, abs=0.6) and b == pytest.approx(138.5, abs=0.6)
    assert a <= hub.cursor <= b and hub.range[0] <= a and b <= hub.range[1]
    press_shortcut(qtbot, w, "next_least_confident")
    assert "No less confident" in w.last_message
    hub.set_cursor(0.0)
    press_shortcut(qtbot, w, "next_disagreement")
    # the doubtful stretch also names another class than the label (walking inside sitting)
    assert hub.selection[0] == pytest.approx(124.5, abs=1.01)
    press_shortcut(qtbot, w, "next_disagreement")
    a, b = hub.selection
    assert a == pytest.approx(184.5, abs=1.01) and b == pytest.approx(199.5, abs=1.01)
    assert "disagree" in w.last_message


def test_add_label_track_through_the_dialog_is_undoable(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    seen = {}

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, AddTrackDialog):
            QTimer.singleShot(20, fill)
            return
        dialog.name.setText("activity")
        seen["dup"] = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
        dialog.name.setText("posture")
        dialog.policy.setCurrentIndex(dialog.policy.findData("overlapping"))
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(0, fill)
    w.add_track_action.trigger()
    assert seen["dup"] is False  # a duplicate name cannot be confirmed
    assert w.session.label_tracks["posture"].policy == "overlapping"
    qtbot.waitUntil(lambda: [b.name for b in w.timeline.bands] == ["activity", "posture"])
    qtbot.waitUntil(lambda: w.timeline.active_track == "posture")
    assert w.dirty
    w.history.push(AddSegment("posture", Segment(1.0, 5.0, "sitting")))
    w.history.push(AddSegment("posture", Segment(2.0, 6.0, "walking")))  # overlapping is allowed there
    for _ in range(3):
        press_shortcut(qtbot, w, "undo")
    assert "posture" not in w.session.label_tracks
    qtbot.waitUntil(lambda: [b.name for b in w.timeline.bands] == ["activity"])


def test_train_action_opens_the_train_dialog(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    w.menus["models"].aboutToShow.emit()
    assert w.train_action.isEnabled()
    w.train_action.trigger()  # Models > Train…: the dialog, given this session's file
    dialog = w.predictions.train_dialog
    assert dialog is not None and dialog.isVisible()
    assert type(dialog).__name__ == "TrainDialog"
    dialog.close()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small 1D CNN trained in seconds on simulated wrist sessions (accelerometer only)."""
    pytest.importorskip("torch")
    from harlab.ml.dataset import build_dataset
    from harlab.ml.training import TrainConfig, train

    sessions = [make_session(minutes=4, n_segments=12, seed=i) for i in range(3)]
    for i, s in enumerate(sessions):
        s.metadata.participant_id = f"P{i}"
    data = build_dataset(
        sessions,
        "activity",
        2.0,
        1.0,
        rate_hz=25.0,
        channels=["wrist_accel.x", "wrist_accel.y", "wrist_accel.z"],
    )
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(
            preset="cnn1d",
            epochs=2,
            batch_size=32,
            augment="none",
            arch={"depth": 2, "width": 8, "max_width": 8},
        ),
    )
    return model.save(tmp_path_factory.mktemp("model") / "tiny.harmodel")


@pytest.mark.slow
def test_predict_with_model_file_on_a_worker_then_save(
    make_window, qtbot, session_path, tiny_model, tmp_path
):
    w = open_window(make_window, qtbot, session_path)
    assert not w.timeline.pred_rows and not w.accept_many_action.isEnabled()
    with qtbot.waitSignal(w.predictions.predicted, timeout=60_000) as sig:
        assert w.predictions.predict_with_model_file(tiny_model)
        assert w.predictions.busy
    name = sig.args[0]
    qtbot.waitUntil(lambda: [r.name for r in w.timeline.pred_rows] == [name])
    pred = w.session.prediction_tracks[name]
    assert len(pred) > 500 and pred.classes == ["walking", "sitting", "running"]
    np.testing.assert_allclose(pred.probabilities.sum(1), 1.0, atol=1e-4)
    assert w.dirty and w.windowTitle().startswith("rec.h5*") and w.accept_many_action.isEnabled()
    assert w.save() and not w.dirty
    back = read_session(session_path).prediction_tracks[name]
    assert len(back) == len(pred) and back.model_name == pred.model_name
    # a file that is no model: a clear message, nothing added
    bad = tmp_path / "bad.harmodel"
    bad.write_text("not a model")
    with qtbot.waitSignal(w.predictions.prediction_failed, timeout=30_000) as failed:
        w.predictions.predict_with_model_file(bad)
    assert "bad.harmodel" in failed.args[0]
    assert list(w.session.prediction_tracks) == [name]
    box = w.findChild(QMessageBox, "error_box")
    if box is not None:
        box.close()


@pytest.mark.slow
def test_cancel_stops_a_long_prediction_and_adds_nothing(make_window, qtbot, tmp_path, tiny_model):
    from harlab.storage import save_session

    long_path = save_session(make_session(minutes=60, n_segments=20, seed=5), tmp_path / "long.h5")
    w = open_window(make_window, qtbot, long_path)
    seen: list[int] = []
    w.predictions.predicted.connect(lambda name: seen.append(1))
    assert w.predictions.predict_with_model_file(tiny_model)
    dialog = w.findChild(QProgressDialog, "predict_progress")
    assert dialog is not None and dialog.labelText().startswith("Predicting")
    job = w.predictions._job
    dialog.canceled.emit()  # what its Cancel button (or Esc) sends, long before the last batch
    assert job.cancel_requested
    qtbot.waitUntil(lambda: not w.predictions.busy, timeout=60_000)
    assert "cancelled" in w.statusBar().currentMessage()
    assert not w.session.prediction_tracks and not seen and not w.dirty
    # and the next prediction runs to the end
    with qtbot.waitSignal(w.predictions.predicted, timeout=120_000):
        assert w.predictions.predict_with_model_file(tiny_model)
    assert len(w.session.prediction_tracks) == 1


def test_shortcuts_exist_for_review_and_record(make_window):
    w = make_window()
    for name in ("next_least_confident", "next_disagreement", "accept_prediction", "record"):
        assert w.qactions[name].shortcut().toString()
    assert w.qactions["record"].isEnabled()
    assert not w.qactions["accept_prediction"].isEnabled()  # nothing to accept without a session


def test_a_second_models_track_becomes_active_and_add_rename_remove_are_undoable(
    make_window, qtbot, tmp_path
):
    w = open_window(make_window, qtbot, saved(tmp_path))
    tl = w.timeline
    first = w.session.prediction_tracks["activity-predicted"]
    assert tl.active_prediction == "activity-predicted"
    second = dataclasses.replace(first, name="model-b", model_name="model-b")
    assert w.predictions.add_track(second)
    qtbot.waitUntil(lambda: [r.name for r in tl.pred_rows] == ["activity-predicted", "model-b"])
    qtbot.waitUntil(lambda: tl.active_prediction == "model-b")
    assert w.predictions.prediction is second and w.dirty
    assert edit_journal_path(w.path).exists()  # the added track is journalled against a crash
    assert w.predictions.rename_track(new_name="model-c")
    qtbot.waitUntil(lambda: tl.active_prediction == "model-c")
    assert w.session.prediction_tracks["model-c"].model_name == "model-b"
    assert w.predictions.remove_track()
    qtbot.waitUntil(lambda: [r.name for r in tl.pred_rows] == ["activity-predicted"])
    assert tl.active_prediction == "activity-predicted"
    press_shortcut(qtbot, w, "undo")  # the removal
    qtbot.waitUntil(lambda: [r.name for r in tl.pred_rows] == ["activity-predicted", "model-c"])
    press_shortcut(qtbot, w, "undo")  # the rename
    press_shortcut(qtbot, w, "undo")  # the addition
    qtbot.waitUntil(lambda: [r.name for r in tl.pred_rows] == ["activity-predicted"])
    assert list(w.session.prediction_tracks) == ["activity-predicted"] and not w.dirty
