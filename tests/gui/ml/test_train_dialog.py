"""The train dialog: sessions by participant, class rules, training on a worker thread, curves,
cancel, the result and saving a loadable model. Small simulated sessions keep each run to seconds."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from harlab.core.errors import HarlabError
from harlab.ml.class_rules import (
    IGNORE,
    KEEP,
    MERGE,
    ClassRule,
    class_mapping,
    output_classes,
    relabeled_view,
)
from harlab.ml.modelfile import ActivityModel
from harlab.storage import read_session

pytestmark = pytest.mark.gui

TRAIN_TIMEOUT = 90_000  # ms; a run takes a few seconds, a busy shared machine may need more


def _setup(d, preset: str, epochs: int = 2) -> None:
    d.preset_combo.setCurrentText(preset)
    d.epochs_spin.setValue(epochs)
    d.window_spin.setValue(2.0)
    d.stride_spin.setValue(1.0)


def test_sessions_are_grouped_by_participant_with_track_classes_and_streams(make_dialog, session_files):
    d = make_dialog(session_paths=session_files[:2])
    assert d.add_sessions([session_files[2], session_files[0]]) == []  # the duplicate is skipped
    assert d.participants() == {
        "P01": [session_files[0]],
        "P02": [session_files[1]],
        "P03": [session_files[2]],
    }
    tree = d.sources_tree
    assert tree.topLevelItemCount() == 3
    assert tree.topLevelItem(0).text(0).startswith("P01") and tree.topLevelItem(0).childCount() == 1
    assert tree.topLevelItem(0).text(1) == "3:20"  # 200 s labelled
    assert d.track_combo.currentText() == "activity"
    assert sorted(d.class_table.class_names) == ["lying", "running", "sitting", "walking"]
    # motion streams are chosen by default, the 1 Hz heart rate is not
    assert d.channels() == ["accel", "gyro"]
    assert d.train_button.isEnabled() and not d.save_button.isEnabled()
    errors = d.add_sessions([str(session_files[0]) + ".missing"])
    assert errors and "missing" in d.status_label.text()
    tree.topLevelItem(1).setSelected(True)  # a participant: all of their sessions
    d.remove_selected()
    assert list(d.participants()) == ["P01", "P03"]


def test_class_rules_map_labels_before_windows_are_cut(session_files):
    rules = {
        "walking": ClassRule(KEEP),
        "running": ClassRule(MERGE, "walking"),
        "sitting": ClassRule(MERGE, "still"),
        "lying": ClassRule(IGNORE),
    }
    mapping = class_mapping(rules)
    assert mapping == {"walking": "walking", "running": "walking", "sitting": "still", "lying": None}
    assert output_classes(mapping, ["walking", "running", "sitting", "lying"]) == ["walking", "still"]
    original = read_session(session_files[0])
    view = relabeled_view(original, "activity", mapping)
    labels = {s.label for s in view.label_tracks["activity"]}
    assert labels == {"walking", "still"}
    assert {s.label for s in original.label_tracks["activity"]} >= {"running", "lying"}  # untouched
    assert view.streams["accel"] is original.streams["accel"]
    with pytest.raises(HarlabError, match="itself ignored"):
        class_mapping({"a": ClassRule(MERGE, "b"), "b": ClassRule(IGNORE)})
    with pytest.raises(HarlabError, match="every class is ignored"):
        class_mapping({"a": ClassRule(IGNORE)})


@pytest.mark.slow
def test_features_model_trains_and_save_emits_model_trained(
    make_dialog, session_files, qtbot, tmp_path, monkeypatch
):
    d = make_dialog(session_paths=session_files)
    _setup(d, "features")
    assert not d.epochs_spin.isEnabled()  # LightGBM has rounds, not epochs
    assert d.neighbours_spin.isEnabled() and d.neighbours_spin.text() == "none"
    d.neighbours_spin.setValue(2)  # temporal context: the windows beside each window
    with qtbot.waitSignal(d.training_finished, timeout=TRAIN_TIMEOUT):
        qtbot.mouseClick(d.train_button, Qt.MouseButton.LeftButton)
        assert d.training and d.cancel_button.isEnabled() and not d.train_button.isEnabled()
    qtbot.waitUntil(lambda: not d.training, timeout=10_000)
    rep = d.result.report
    assert rep is not None and rep["accuracy"] > 0.8  # separable activities, a held-out participant
    assert "accuracy" in d.result_label.text() and d.result.validation_groups
    assert d.confusion_view.isVisible() and d.confusion_view.rowCount() == 4
    assert d.save_button.isEnabled()
    # Save model as… starts beside the first session; the user's choice gets the model suffix
    default = d.default_save_path()
    assert default.parent == tmp_path and default.name == "p01-rec-features.harmodel"
    target = tmp_path / "chosen"
    seen = {}

    def fake_dialog(parent, caption, start, filters):
        seen["start"] = start
        return str(target), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_dialog)
    with qtbot.waitSignal(d.model_trained, timeout=5000) as sig:
        qtbot.mouseClick(d.save_button, Qt.MouseButton.LeftButton)
    assert seen["start"] == str(default)
    path = sig.args[0]
    assert path == str(tmp_path / "chosen.harmodel")
    model = ActivityModel.load(path)
    assert sorted(model.classes) == ["lying", "running", "sitting", "walking"]
    assert model.info.preset == "features" and model.info.name == "chosen"
    assert model.uses_context  # the default: each window also against its recording
    assert model.info.orientation_upright is not None  # ... and recordings mapped to one wearing orientation
    assert model.members[0].neighbours == 2 and model.info.train_config["gbm_neighbours"] == 2
    assert [t["participant"] for t in model.info.training_sessions] == ["P01", "P02", "P03"]
    assert all(len(t["sha256"]) == 64 for t in model.info.training_sessions)


def test_cnn_curves_get_a_point_per_epoch(make_dialog, session_files, qtbot):
    d = make_dialog(session_paths=session_files)
    _setup(d, "cnn1d", epochs=2)
    assert d.context_check.isEnabled() and d.augment_combo.isEnabled()
    d.context_check.setChecked(False)
    assert d.orientation_check.isEnabled() and d.orientation_check.isChecked()
    d.orientation_check.setChecked(False)
    assert [d.augment_combo.itemText(i) for i in range(d.augment_combo.count())] == [
        "jitter",
        "flip",
        "warp",
        "none",
    ]
    d.augment_combo.setCurrentText("flip")
    with qtbot.waitSignal(d.training_finished, timeout=TRAIN_TIMEOUT):
        assert d.start_training()
    assert not d.result.model.uses_context and d.result.model.info.train_config["augment"] == "flip"
    assert (
        d.result.model.info.orientation_upright is None
        and not d.result.model.info.train_config["orientation"]
    )
    for metric in ("loss", "acc", "val_loss", "val_acc", "val_f1"):
        pts = d.curves.points("cnn1d", metric)
        assert [x for x, _ in pts] == [1.0, 2.0], metric
        assert all(np.isfinite(v) for _, v in pts)
    assert d.curves.stages() == [
        "cnn1d",
        "cnn1d refit",
    ]  # then trained again on everyone: no validation points
    assert [x for x, _ in d.curves.points("cnn1d refit", "loss")] == [1.0, 2.0]
    assert d.curves.points("cnn1d refit", "val_f1") == []
    assert len(d.curves.loss_plot.plotItem.listDataItems()) == 3  # training, validation and refit loss


def test_cancel_stops_the_run_and_writes_no_model(make_dialog, session_files, qtbot, tmp_path):
    d = make_dialog(session_paths=session_files)
    _setup(d, "cnn1d", epochs=500)
    before = set(tmp_path.iterdir())
    assert d.start_training()
    qtbot.waitUntil(lambda: len(d.curves.points("cnn1d", "loss")) >= 1, timeout=TRAIN_TIMEOUT)
    with qtbot.waitSignal(d.training_cancelled, timeout=30_000):
        qtbot.mouseClick(d.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not d.training, timeout=10_000)
    assert "cancelled" in d.status_label.text()
    assert d.result is None and not d.save_button.isEnabled()
    assert d.save_model(tmp_path / "never.harmodel") is None
    assert set(tmp_path.iterdir()) == before
    assert len(d.curves.points("cnn1d", "loss")) < 500
    assert d.train_button.isEnabled()  # ready for another run


def test_merge_and_ignore_change_the_classes_of_the_saved_model(make_dialog, session_files, qtbot, tmp_path):
    d = make_dialog(session_paths=session_files)
    _setup(d, "features")
    d.class_table.set_rule("running", MERGE, "walking")
    d.class_table.set_rule("lying", IGNORE)
    assert "3 classes" not in d.classes_note.text() and "2 classes" in d.classes_note.text()
    with qtbot.waitSignal(d.training_finished, timeout=TRAIN_TIMEOUT):
        assert d.start_training()
    counts = d.result.class_counts
    assert set(counts) == {"walking", "sitting"}
    assert counts["walking"] > 1.5 * counts["sitting"]  # walking and running windows together
    with qtbot.waitSignal(d.model_trained, timeout=5000):
        path = d.save_model(tmp_path / "merged.harmodel")
    model = ActivityModel.load(path)
    assert model.classes == ["walking", "sitting"]
    # the merged class is learned as one: running windows are predicted "walking"
    from harlab.ml.dataset import build_dataset

    run = build_dataset(
        [read_session(session_files[0])], "activity", 2.0, 1.0, None, ["accel", "gyro"], classes=["running"]
    )
    assert (np.array(model.classes)[model.predict(run.X)] == "walking").mean() > 0.9


def test_a_mapping_that_leaves_one_class_cannot_train(make_dialog, session_files):
    d = make_dialog(session_paths=session_files)
    for c in ("running", "sitting", "lying"):
        d.class_table.set_rule(c, MERGE, "walking")
    assert not d.train_button.isEnabled()
    assert "1 classes" in d.classes_note.text() or "learn 1" in d.classes_note.text()
    assert not d.start_training() and "two classes" in d.status_label.text()


def test_open_session_stands_in_for_its_file_with_unsaved_labels(make_dialog, session_files):
    from harlab.core.labels import Segment

    current = read_session(session_files[0])
    current.add_segments("activity", [Segment(200.0, 210.0, "jumping")])  # an unsaved edit
    d = make_dialog(session_paths=session_files, current_session=current)
    assert len(d.source_labels) == 3 and d.source_labels[0] == "open session"
    assert "jumping" in d.class_table.class_names
    req = d.build_request()
    assert req.sources[0] is not current  # a relabelled copy, taken now
    assert {s.label for s in req.sources[0].label_tracks["activity"]} >= {"jumping"}


def test_closing_during_a_run_cancels_and_joins_the_thread(make_dialog, session_files, qtbot, tmp_path):
    d = make_dialog(session_paths=session_files)
    _setup(d, "cnn1d", epochs=500)
    assert d.start_training()
    qtbot.waitUntil(lambda: len(d.curves.points("cnn1d", "loss")) >= 1, timeout=TRAIN_TIMEOUT)
    job = d._job
    d.close()
    assert not d.training and job.cancel_requested and not job.running
    assert not list(tmp_path.glob("*.harmodel"))


def test_every_widget_update_of_a_run_happens_on_the_gui_thread(
    make_dialog, session_files, qtbot, monkeypatch
):
    """The worker's status and progress reach the widgets queued: a widget touched from the
    training thread crashes Qt now and then (a lambda slot runs in the sender's thread)."""
    import threading

    from PySide6.QtWidgets import QLabel

    d = make_dialog(session_paths=session_files)
    _setup(d, "features")
    threads: list[str] = []

    def recording_set_text(text: str) -> None:
        threads.append(threading.current_thread().name)
        QLabel.setText(d.status_label, text)

    monkeypatch.setattr(d.status_label, "setText", recording_set_text)
    with qtbot.waitSignal(d.training_finished, timeout=TRAIN_TIMEOUT):
        assert d.start_training()
    assert len(threads) >= 4  # starting, reading each session, cutting, training, done
    assert set(threads) == {threading.main_thread().name}


def test_the_worker_is_deleted_on_the_gui_thread(make_dialog, session_files, qtbot):
    """A worker deleted by deleteLater on its own thread raced PySide's wrapper teardown with
    the GUI thread (a segfault in Shiboken::Object::destroy about one run in fifteen)."""
    import threading

    d = make_dialog(session_paths=session_files)
    _setup(d, "features")
    deleted_on: list[str] = []
    with qtbot.waitSignal(d.training_finished, timeout=TRAIN_TIMEOUT):
        assert d.start_training()
        d._job.worker.destroyed.connect(
            lambda *_: deleted_on.append(threading.current_thread().name), Qt.ConnectionType.DirectConnection
        )
    qtbot.waitUntil(lambda: not d.training, timeout=10_000)
    qtbot.waitUntil(lambda: bool(deleted_on), timeout=10_000)
    assert deleted_on == [threading.main_thread().name]


def test_a_dialog_run_is_tracked_in_mlflow_like_the_command_line(
    make_dialog, session_files, qtbot, tmp_path, monkeypatch
):
    pytest.importorskip("mlflow", reason="MLflow not installed (pip install 'harlab[mlops]')")
    from mlflow.tracking import MlflowClient

    store = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    monkeypatch.delenv("HARLAB_TRACKING", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    d = make_dialog(session_paths=session_files)
    _setup(d, "features")
    d.class_table.set_rule("running", MERGE, "walking")
    with qtbot.waitSignal(d.training_finished, timeout=TRAIN_TIMEOUT):
        assert d.start_training()
    qtbot.waitUntil(lambda: not d.training, timeout=10_000)
    run = MlflowClient(tracking_uri=store).get_run(d.result.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["harlab.source"] == "train dialog"
    assert run.data.params["classes.merged"] == "running=walking"
    assert "tracked in MLflow" in d.status_label.text()


def test_preset_list_help_options_and_curves_come_from_the_preset_table(make_dialog):
    from harlab.ml.model_presets import PRESET_TABLE

    d = make_dialog()
    combo = d.preset_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [p.name for p in PRESET_TABLE]
    for i, spec in enumerate(PRESET_TABLE):
        assert combo.itemData(i, Qt.ItemDataRole.ToolTipRole) == spec.description
        combo.setCurrentText(spec.name)
        assert d.preset_help.text() == spec.description
        for widget, option in (
            (d.epochs_spin, "epochs"),
            (d.augment_combo, "augment"),
            (d.context_check, "context"),
            (d.orientation_check, "orientation"),
            (d.refit_check, "refit"),
            (d.neighbours_spin, "neighbours"),
        ):
            assert widget.isEnabled() == spec.supports(option), (spec.name, option)
        assert (not d.curves.gbm_plot.isHidden()) == spec.boosted
        assert (not d.curves.loss_plot.isHidden()) == (spec.network is not None)
