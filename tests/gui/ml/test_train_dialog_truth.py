"""The train dialog tells the truth (issue 17): no empty axes before a run, a status line that
agrees with the Train button, a confusion matrix people can read (and enlarge), and a
one-participant run that says it validated on time blocks, not on held-out participants."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from harlab.gui.ml.confusion_view import ConfusionDialog, ConfusionView, cell_text
from harlab.ml.class_rules import IGNORE, KEEP

pytestmark = pytest.mark.gui

REPORT = {
    "classes": ["walking_upstairs", "Sitting", "Laying"],
    "accuracy": 0.8,
    "macro_f1": 0.78,
    "n": 50,
    "confusion": [[18, 2, 0], [3, 12, 0], [0, 5, 10]],
}


def _agrees(d) -> bool:
    text = d.status_label.text()
    return d.train_button.isEnabled() == text.startswith("Ready:")


def test_no_axes_before_a_run_and_status_agrees_with_train(make_dialog, session_files):
    d = make_dialog()
    assert not d.train_button.isEnabled() and "Add labelled sessions" in d.status_label.text()
    assert not d.curves.isVisible() and d.curves_placeholder.isVisible()
    d.add_sessions(session_files[:1])  # one participant is enough
    assert d.train_button.isEnabled() and _agrees(d)
    assert "time blocks of each recording (one participant" in d.status_label.text()
    for c in ("running", "sitting", "lying"):
        d.class_table.set_rule(c, IGNORE)
    assert not d.train_button.isEnabled() and _agrees(d) and "Cannot train yet" in d.status_label.text()
    d.class_table.set_rule("running", KEEP)  # two classes again
    assert d.train_button.isEnabled() and _agrees(d)
    d.set_channels([])
    assert not d.train_button.isEnabled() and "choose at least one stream" in d.status_label.text()
    d.set_channels(["accel", "gyro"])
    d.add_sessions(session_files[1:])
    assert _agrees(d) and "held-out participants of 3" in d.status_label.text()
    assert not d.curves.isVisible()


def test_confusion_view_shows_names_counts_and_row_shares_and_enlarges_on_click(qtbot):
    assert cell_text(18, 20) == "18\n90%"
    small = ConfusionView()
    qtbot.addWidget(small)
    small.set_report(REPORT)
    assert small.verticalHeaderItem(0).text() == "1  walking_upstairs"
    assert small.horizontalHeaderItem(2).text() == "3"
    assert small.item(0, 0).text() == "18  90%" and small.item(2, 1).text() == "5  33%"
    assert small.item(0, 2).text() == ""  # an empty cell stays empty
    small.resize(400, 300)
    small.show()
    qtbot.waitExposed(small)
    with qtbot.waitSignal(small.clicked_to_enlarge, timeout=2000):
        qtbot.mouseClick(small.viewport(), Qt.MouseButton.LeftButton)
    big = ConfusionDialog(REPORT, "validation")
    qtbot.addWidget(big)
    assert big.view.horizontalHeaderItem(0).text() == "walking_upstairs"
    assert big.view.item(1, 0).text() == "3\n20%"


@pytest.mark.slow
def test_one_participant_run_reports_time_blocks_with_a_readable_matrix(make_dialog, session_files, qtbot):
    d = make_dialog(session_paths=session_files[:1])
    d.preset_combo.setCurrentText("features")
    d.window_spin.setValue(2.5)  # 62.5 samples at 25 Hz: rounded, and said so
    with qtbot.waitSignal(d.training_finished, timeout=120_000):
        assert d.start_training()
    qtbot.waitUntil(lambda: not d.training, timeout=10_000)
    text = d.result_label.text()
    assert "time blocks of each recording" in text and "using 62 and 32 samples" in text
    assert "0.000" not in text and d.result_box.title() == "Result on the validation windows"
    assert d.confusion_view.isVisible() and d.confusion_view.rowCount() == 4
    assert d.curves.isVisible() and not d.curves_placeholder.isVisible()
    assert d.train_button.isEnabled() and d.status_label.text().startswith("Done.")
    big = d.show_confusion_dialog()
    assert big is not None and "time blocks" in big.findChildren(type(d.status_label))[0].text()
    big.close()


@pytest.mark.slow
def test_default_windows_train_on_the_real_10_hz_seed(make_dialog, qtbot, tmp_path):
    """The seed's 10 Hz Fitbit sessions with the dialog's default window and stride (2.56 s is
    25.6 samples): the run rounds them, says so, and validates on time blocks (one person)."""
    from harlab.cli import main
    from tests.real_data import SHARED_DATA

    seed = SHARED_DATA / "fitbit-seed" / "watch-bin"
    if not seed.is_dir():
        pytest.skip("../shared/data/fitbit-seed not present")
    assert main(["import", str(seed), "-o", str(tmp_path / "s"), "-q"]) == 0
    d = make_dialog(session_paths=sorted(str(p) for p in (tmp_path / "s").glob("*.h5")))
    assert d.window_spin.value() == pytest.approx(2.56) and _agrees(d) and d.train_button.isEnabled()
    d.preset_combo.setCurrentText("features")  # the window defaults are what is tested; features is fast
    with qtbot.waitSignal(d.training_finished, timeout=240_000):
        assert d.start_training()
    qtbot.waitUntil(lambda: not d.training, timeout=10_000)
    text = d.result_label.text()
    assert "using 26 and 13 samples" in text and "time blocks of each recording" in text, text
    assert d.confusion_view.rowCount() == 10 and d.status_label.text().startswith("Done.")
    d.grab().save(str(tmp_path / "train_dialog_seed.png"))
