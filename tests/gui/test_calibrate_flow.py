"""Personal models in the workbench: the guided calibration protocol on the simulated device,
then "Calibrate to this participant" from its end, to a personal model file and the before/after
prediction rows on the timeline. Screenshots go to tests/screenshots/ (gitignored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from harlab.core.metadata import sha256_of

pytestmark = pytest.mark.gui

OUT = Path(__file__).resolve().parents[1] / "screenshots"
CLASSES = ("walking", "stairs_up", "sitting", "standing")  #: in the order the model lists them


@pytest.fixture(scope="module")
def general_model(tmp_path_factory) -> Path:
    """A small general model of four activities (LightGBM on window features: seconds to train) at
    the device's channels, from simulated people unlike the simulated device's wearer: the watch
    turned far round the forearm, vigorous, quick steps. The device's wearer is the unusual one."""
    from harlab.ml.dataset import build_dataset
    from harlab.ml.training import TrainConfig, train
    from harlab.simulate import simulate_session
    from harlab.simulate.participant import Participant

    plan = [(c, 40.0) for c in ("sitting", "walking", "stairs_up", "standing")] * 2
    people = [
        Participant(f"G{i}", watch_twist=2.5 + 0.1 * i, amplitude_scale=1.5, cadence_scale=1.3)
        for i in range(3)
    ]
    sessions = [
        simulate_session(plan[i:] + plan[:i], rate_hz=50.0, seed=40 + i, participant=who)
        for i, who in enumerate(people)
    ]
    data = build_dataset(sessions, "activity", 2.56, 1.28, 50.0, ["accel", "gyro"])
    info = data.info
    info.name = "general"
    cfg = TrainConfig(preset="features", seed=0, gbm_rounds=40, gbm_leaves=7, threads=1)
    model = train(data.X, data.y, data.groups, info, cfg, context=data.context)
    return model.save(tmp_path_factory.mktemp("models") / "general.harmodel")


def _shoot(widget, name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path


def test_calibration_preset_has_every_class_of_the_model_with_rests(general_model) -> None:
    from harlab.core.errors import HarlabError
    from harlab.gui.record.calibration_preset import calibration_preset

    preset = calibration_preset(general_model, seconds_per_class=40, rest_s=7)
    p = preset.protocol
    assert preset.title == "Calibration for general" and preset.model_path == general_model
    # the model's classes in its order, then again in a second round that starts halfway through
    assert [s.activity for s in p.steps] == [*CLASSES, *CLASSES[2:], *CLASSES[:2]]
    assert {s.duration_s for s in p.steps} == {20.0} and p.countdown_s == 7.0
    assert p.duration_s == 8 * 27
    one = calibration_preset(general_model, seconds_per_class=40, rest_s=7, bouts=1).protocol
    assert [s.activity for s in one.steps] == list(CLASSES) and one.duration_s == 4 * 47
    with pytest.raises(HarlabError, match="not-a-model"):
        calibration_preset(Path(general_model).with_name("not-a-model.harmodel"))


@pytest.mark.slow
def test_guided_protocol_to_personal_model_with_before_and_after(
    make_window, qtbot, tmp_path, general_model, monkeypatch
) -> None:
    from harlab.gui.ml.calibrate_dialog import CalibrateDialog
    from harlab.ml.modelfile import ActivityModel

    # untracked: the MLflow run and registry links are the calibration core's tests; they cost here
    # half a minute more of a shared machine
    monkeypatch.setenv("HARLAB_TRACKING", "off")
    w = make_window()
    w.recordings_dir = tmp_path / "recordings"
    w.record_kwargs = {"speed": 20, "auto_scan": False}  # the simulated device, 20x real time
    rw = w.record()
    rw.resize(1320, 860)
    qtbot.waitExposed(rw)
    p = rw.panel
    try:
        p.setup.participant.setText("P07")
        # the preset dialog as a user fills it (short steps: a test, not a participant)
        dlg = p.setup.choose_calibration()
        dlg.model.setText(str(tmp_path / "nothing.harmodel"))
        dlg.accept()  # not a model: the dialog stays, saying why
        assert dlg.isVisible() and "nothing.harmodel" in dlg.error.text()
        dlg.model.setText(str(general_model))
        dlg.seconds.setValue(40)
        dlg.rest.setValue(2)
        _shoot(dlg, "calibration_preset_dialog.png")
        dlg.accept()
        assert not dlg.isVisible() and p.setup.protocol_path.text() == "Calibration for general"
        assert dlg.bouts.value() == 2  # two bouts of each: the held-out bout is one of its own
        assert p.setup.protocol_info.text().startswith(
            "8 steps, 2 min 56 s: walking, stairs up, sitting, standing (2 bouts of each)"
        )
        qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
        qtbot.waitUntil(lambda: p.protocol_view.step_line.text() == "Step 2 of 8", timeout=20_000)
        qtbot.waitUntil(lambda: p.protocol_view.headline.text().startswith("Stairs up"), timeout=20_000)
        assert p.protocol_view.instruction.text() == "Stairs up as you usually do"
        _shoot(rw, "calibration_protocol.png")
        # the protocol ends, the file is saved, and the finished bar offers calibration
        qtbot.waitUntil(lambda: p.state == "finished", timeout=30_000)
        assert p.calibrate_button.isVisible()
        recording = p.last_path
        qtbot.mouseClick(p.calibrate_button, Qt.MouseButton.LeftButton)
    finally:
        p.shutdown()
        qtbot.waitUntil(lambda: not p.busy, timeout=20_000)
        rw.close()

    # the workbench opened the recording and the dialog, with the model and the track chosen
    assert w.path == recording
    prompt = w.findChild(QMessageBox, "open_recording_prompt")
    assert prompt is None or not prompt.isVisible()  # "open the recording?" is answered
    labels = w.session.label_tracks["activity"]
    assert [s.label for s in sorted(labels, key=lambda s: s.start)] == [*CLASSES, *CLASSES[2:], *CLASSES[:2]]
    dlg = next(d for d in w._dialogs if isinstance(d, CalibrateDialog))
    assert dlg.model.text() == str(general_model) and dlg.track.currentData() == "activity"
    personal = general_model.with_name("general-P07.harmodel")  # beside the parent, named after P07
    assert Path(dlg.personal.text()) == personal
    _shoot(dlg, "calibrate_dialog.png")
    with qtbot.waitSignal(dlg.calibrated, timeout=120_000) as done:
        qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
    outcome = done.args[0]
    qtbot.waitUntil(lambda: dlg.status.height() >= dlg.status.heightForWidth(dlg.status.width()))
    assert outcome.personal_path == personal and personal.is_file()

    # the personal model names its parent and the calibration recording
    provenance = ActivityModel.load(personal).info.calibration
    assert provenance["parent"]["path"] == str(general_model.resolve())
    assert provenance["parent"]["name"] == "general"
    (source,) = provenance["sessions"]
    assert source["name"] == recording.stem
    assert source["session_id"] == w.session.metadata.session_id
    # calibration ended before the held-out end of the last activity
    assert source["end_s"] <= outcome.blocks[-1].start + 1e-6

    # the before/after table, on the held-out end of every activity
    # macro-F1, the same on the timeline (the smoothed segments), accuracy, then each class
    assert dlg.table.isVisible() and dlg.table.rowCount() == 3 + len(CLASSES)
    before, after = outcome.scores["before"], outcome.scores["after"]
    assert before.n == after.n > 0 and set(before.f1) == set(CLASSES)
    print(f"held-out windows {before.n}: macro-F1 {before.macro_f1:.3f} -> {after.macro_f1:.3f}")
    assert dlg.table.item(0, 0).text() == f"{before.macro_f1:.3f}"
    assert dlg.table.item(0, 1).text() == f"{after.macro_f1:.3f}"
    assert dlg.table.verticalHeaderItem(1).text() == "Macro-F1 on the timeline"
    assert dlg.table.item(1, 1).text() == f"{after.timeline_macro_f1:.3f}"
    _shoot(dlg, "calibrate_before_after.png")

    # two prediction rows on the timeline: the general model's and the personal one's
    names = {"before: general", "after: general-P07"}
    qtbot.waitUntil(lambda: {r.name for r in w.timeline.pred_rows} >= names, timeout=10_000)
    assert names <= set(w.session.prediction_tracks)
    assert all(r.vb.isVisible() for r in w.timeline.pred_rows if r.name in names)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10_000)
    _shoot(w, "calibrate_workbench.png")
    dlg.close()


@pytest.fixture
def recording(tmp_path) -> Path:
    """A labelled recording of the device's wearer (100 Hz, as the simulated device records)."""
    from harlab.simulate import simulate_session
    from harlab.storage import save_session

    plan = [("walking", 2.0)] + [(c, 30.0) for c in CLASSES]
    return save_session(simulate_session(plan, rate_hz=100.0, seed=9, participant="P01"), tmp_path / "p01.h5")


@pytest.mark.slow
def test_models_menu_calibrates_the_open_session_and_cancel_keeps_nothing(
    make_window, qtbot, tmp_path, general_model, recording, monkeypatch
) -> None:
    from harlab.gui.ml.calibrate_dialog import CalibrateDialog

    monkeypatch.setenv("HARLAB_TRACKING", "off")
    w = make_window()
    w.menus["models"].aboutToShow.emit()
    assert not w.calibrate_action.isEnabled()  # nothing open: nothing to calibrate
    assert w.open_path(recording)
    w.menus["models"].aboutToShow.emit()
    assert w.calibrate_action.isEnabled()
    w.calibrate_action.trigger()
    dlg = next(d for d in w._dialogs if isinstance(d, CalibrateDialog))
    assert dlg.track.currentData() == "activity" and dlg.personal.text() == ""

    # inputs are checked before anything runs
    assert not dlg.start()
    assert dlg.status.text() == "Choose the general model to calibrate."
    dlg.model.setText(str(tmp_path / "missing.harmodel"))
    assert not dlg.start() and "no such file" in dlg.status.text()
    dlg.model.setText(str(general_model))
    assert Path(dlg.personal.text()) == general_model.with_name("general-P01.harmodel")
    dlg.personal.setText(str(general_model))
    assert not dlg.start() and "must not overwrite" in dlg.status.text()
    personal = tmp_path / "mine.harmodel"
    dlg.personal.setText(str(personal))

    # Cancel: no personal model, no prediction rows, and the dialog can run again
    with qtbot.waitSignal(dlg.calibration_cancelled, timeout=60_000):
        assert dlg.start()
        dlg.cancel()
    qtbot.waitUntil(lambda: not dlg.running, timeout=10_000)
    assert not personal.exists() and not w.session.prediction_tracks
    assert dlg.run_button.isEnabled() and "cancelled" in dlg.status.text()

    # another recording of the same participant is used whole, and named in the provenance
    from harlab.ml.modelfile import ActivityModel
    from harlab.simulate import simulate_session
    from harlab.storage import save_session

    plan = [("walking", 2.0)] + [(c, 20.0) for c in reversed(CLASSES)]
    more = save_session(
        simulate_session(plan, rate_hz=100.0, seed=11, participant="P01"), tmp_path / "more.h5"
    )
    dlg.add_sessions([str(more), str(recording), str(more)])  # the open one and repeats are left out
    assert [dlg.extra.item(i).text() for i in range(dlg.extra.count())] == [str(more)]
    with qtbot.waitSignal(dlg.calibrated, timeout=120_000) as done:
        assert dlg.start()
    assert done.args[0].personal_path == personal
    sources = ActivityModel.load(personal).info.calibration["sessions"]
    assert [s["name"] for s in sources] == ["p01", "more"]
    # the open session is named by its file and that file's hash, as a recording read from disk
    assert sources[0]["path"] == str(recording.resolve()) and sources[0]["sha256"] == sha256_of(recording)
    assert sources[1]["path"] == str(more.resolve()) and len(sources[1]["sha256"]) == 64
    qtbot.waitUntil(lambda: len(w.session.prediction_tracks) == 2, timeout=10_000)
    qtbot.waitUntil(lambda: not dlg.running, timeout=10_000)

    # a recording without labels is refused with the reason, before calibration starts
    w.session.label_tracks["activity"].clear()
    with qtbot.waitSignal(dlg.calibration_failed, timeout=60_000) as failed:
        assert dlg.start()
    assert "no labelled segment" in failed.args[0]
    qtbot.waitUntil(lambda: not dlg.running, timeout=10_000)
    dlg.close()

    # closing the session stops a run that reads it, and closes its dialog
    w.history.clear()  # the prediction tracks added above: not to be saved
    assert w.open_path(recording)
    dlg = w.calibrate(str(general_model))
    dlg.personal.setText(str(tmp_path / "never.harmodel"))
    assert dlg.start()
    assert w.close_session()
    assert not dlg.isVisible() and not dlg.running
    assert not (tmp_path / "never.harmodel").exists()
