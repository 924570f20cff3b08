"""Personal models in the workbench: the guided calibration protocol on the simulated device,
then "Calibrate to this participant" from its end, to a personal model file and the before/after
prediction rows on the timeline. Screenshots go to tests/screenshots/ (gitignored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui

OUT = Path(__file__).resolve().parents[1] / "screenshots"
CLASSES = ("walking", "running", "sitting")  #: in the order the model lists them


@pytest.fixture(scope="module")
def general_model(tmp_path_factory) -> Path:
    """A small general model of three activities (LightGBM on window features: seconds to train),
    from simulated participants other than the one who calibrates, at the device's channels."""
    from harlab.ml.dataset import build_dataset
    from harlab.ml.training import TrainConfig, train
    from harlab.simulate import simulate_session

    plan = [(c, 40.0) for c in ("sitting", "walking", "running")] * 2
    sessions = [
        simulate_session(plan[i:] + plan[:i], rate_hz=50.0, seed=40 + i, participant=f"P{i + 1:02d}")
        for i in range(3)
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
    assert [s.activity for s in p.steps] == list(CLASSES)  # the model's classes, in its order
    assert {s.duration_s for s in p.steps} == {40.0} and p.countdown_s == 7.0
    assert p.duration_s == 3 * 47
    with pytest.raises(HarlabError, match="not-a-model"):
        calibration_preset(Path(general_model).with_name("not-a-model.harmodel"))


def test_guided_protocol_to_personal_model_with_before_and_after(
    make_window, qtbot, tmp_path, general_model
) -> None:
    from harlab.gui.ml.calibrate_dialog import CalibrateDialog
    from harlab.gui.record.calibration_preset import calibration_preset

    w = make_window()
    w.recordings_dir = tmp_path / "recordings"
    w.record_kwargs = {"speed": 10, "auto_scan": False}  # the simulated device, 10x real time
    rw = w.record()
    qtbot.waitExposed(rw)
    p = rw.panel
    try:
        p.setup.participant.setText("P07")
        # the preset dialog as a user fills it (short steps: a test, not a participant)
        dlg = p.setup.choose_calibration()
        dlg.model.setText(str(general_model))
        dlg.seconds.setValue(24)
        dlg.rest.setValue(2)
        _shoot(dlg, "calibration_preset_dialog.png")
        dlg.accept()
        assert p.setup.protocol_path.text() == "Calibration for general"
        assert p.setup.protocol_info.text().startswith("3 steps, 1 min 18 s: walking, running, sitting")
        qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
        qtbot.waitUntil(lambda: p.protocol_view.step_line.text() == "Step 2 of 3", timeout=20_000)
        qtbot.waitUntil(lambda: p.protocol_view.headline.text().startswith("Running"), timeout=20_000)
        assert p.protocol_view.instruction.text() == "Running as you usually do"
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
    labels = w.session.label_tracks["activity"]
    assert [s.label for s in sorted(labels, key=lambda s: s.start)] == list(CLASSES)
    dlg = next(d for d in w._dialogs if isinstance(d, CalibrateDialog))
    assert dlg.model.text() == str(general_model) and dlg.track.currentData() == "activity"
    personal = general_model.with_name("general-P07.harmodel")  # beside the parent, named after P07
    assert Path(dlg.personal.text()) == personal
    _shoot(dlg, "calibrate_dialog.png")
    with qtbot.waitSignal(dlg.calibrated, timeout=120_000) as done:
        qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
    outcome = done.args[0]
    assert outcome.personal_path == personal and personal.is_file()

    # the personal model names its parent and the calibration recording
    provenance = personal_provenance(personal)
    assert provenance["parent"] == str(general_model) or Path(provenance["parent"]).name == general_model.name
    assert any(Path(s).name == recording.name for s in provenance["sessions"])

    # the before/after table, on the held-out end of every activity
    assert dlg.table.isVisible() and dlg.table.rowCount() == 2 + len(CLASSES)
    before, after = outcome.scores["before"], outcome.scores["after"]
    assert before.n == after.n > 0 and set(before.f1) == set(CLASSES)
    assert dlg.table.item(0, 0).text() == f"{before.macro_f1:.3f}"
    assert dlg.table.item(0, 1).text() == f"{after.macro_f1:.3f}"
    _shoot(dlg, "calibrate_before_after.png")

    # two prediction rows on the timeline: the general model's and the personal one's
    names = {"before: general", "after: general-P07"}
    qtbot.waitUntil(lambda: {r.name for r in w.timeline.pred_rows} >= names, timeout=10_000)
    assert names <= set(w.session.prediction_tracks)
    assert all(r.vb.isVisible() for r in w.timeline.pred_rows if r.name in names)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10_000)
    _shoot(w, "calibrate_workbench.png")
    dlg.close()


def personal_provenance(path: Path) -> dict:
    """The parent model and the calibration sessions a personal model file records."""
    raise NotImplementedError
