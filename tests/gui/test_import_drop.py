"""Dropping a file on the window: sessions open, other files go through the importer registry
on a worker thread and open unsaved."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


def drop(window, *paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(*args)  # Qt only delivers a drop after the drag entered
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(*args))


def test_drop_csv_imports_in_background_and_opens_unsaved(make_window, qtbot, tmp_path):
    t = np.arange(3000) / 50.0
    rows = ["time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],label.activity"]
    rows += [f"{x:.2f},{np.sin(x):.4f},{np.cos(x):.4f},9.81,{'walking' if x < 30 else 'sitting'}" for x in t]
    csv = tmp_path / "wrist.csv"
    csv.write_text("\n".join(rows) + "\n")
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=20000) as blocker:
        drop(w, csv)
    assert blocker.args == [True]
    assert w.session is not None and w.path is None and w.dirty
    assert "accelerometer" in w.session.streams
    assert [s.label for s in w.session.label_tracks["activity"]] == ["walking", "sitting"]
    out = tmp_path / "wrist.h5"
    assert w.save_as(out)
    assert out.exists() and not w.dirty and w.path == out


def test_drop_unreadable_file_reports_the_importer_error(make_window, qtbot, tmp_path):
    bad = tmp_path / "noise.bin"
    bad.write_bytes(bytes(range(256)) * 4)
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=20000) as blocker:
        drop(w, bad)
    assert blocker.args == [False]
    assert "no importer recognises" in w.last_message
    assert w.session is None
    QApplication.processEvents()
    for box in _boxes(w, "error_box"):
        box.close()


def _csv(path, label: str) -> None:
    t = np.arange(1500) / 50.0
    rows = ["time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],label.activity"]
    rows += [f"{x:.2f},{np.sin(x):.4f},{np.cos(x):.4f},9.81,{label}" for x in t]
    path.write_text("\n".join(rows) + "\n")


def _boxes(w, name: str) -> list:
    """The window's message boxes named ``name``. They are its children: asking the window, not
    ``QApplication.topLevelWidgets()``, never touches a top-level widget of an earlier test that
    is being deleted (iterating those crashed a CI worker with a segmentation fault)."""
    from PySide6.QtWidgets import QMessageBox

    return [b for b in w.findChildren(QMessageBox) if b.objectName() == name]


def _close_report_boxes(w) -> None:
    QApplication.processEvents()
    for box in _boxes(w, "import_report") + _boxes(w, "error_box"):
        box.close()


def test_drop_folder_imports_like_the_command_line(make_window, qtbot, tmp_path, monkeypatch):
    """A dropped folder goes through the CLI's expansion: every file in it becomes a session file
    in the folder the user picks, the per-file report is shown and the first session opens."""
    from PySide6.QtWidgets import QFileDialog

    box = tmp_path / "box"
    (box / "day2").mkdir(parents=True)
    _csv(box / "wrist.csv", "walking")
    _csv(box / "day2" / "ankle.csv", "sitting")
    (box / "README.md").write_text("notes")  # no importer reads this name: not an input
    out = tmp_path / "sessions"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=30000) as blocker:
        drop(w, box)
    assert blocker.args == [True]
    assert sorted(p.name for p in out.glob("*.h5")) == ["ankle.h5", "wrist.h5"]
    assert [r.ok for r in w.last_import_reports] == [True, True]
    assert "2 of 2 inputs imported, 2 session files" in w.last_message
    assert w.path is not None and w.path.parent == out  # the first one is open, saved
    report = _boxes(w, "import_report")
    assert report and "wrist.csv" in report[0].detailedText()
    report[0].grab().save(str(tmp_path / "import_report.png"))
    _close_report_boxes(w)


def test_batch_import_cancel_writes_nothing_more(make_window, qtbot, tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    for i in range(3):
        _csv(box / f"r{i}.csv", "walking")
    out = tmp_path / "out"
    w = make_window()
    assert w.import_batch([box], out)
    w._import.cancel()  # the Cancel button's slot: before the first input starts
    with qtbot.waitSignal(w.import_finished, timeout=30000) as blocker:
        pass
    assert blocker.args == [False]
    assert "cancelled" in w.last_message.lower()
    assert not list(out.glob("*.h5"))
    _close_report_boxes(w)


def test_drop_labels_txt_alone_says_what_to_import(make_window, qtbot, tmp_path):
    """HAPT's labels.txt is read with the recordings beside it; dropped alone beside several it is
    refused with the reason, not "no importer recognises this file"."""
    raw = tmp_path / "RawData"
    raw.mkdir()
    (raw / "acc_exp01_user01.txt").write_text("0.1 0.2 0.9\n" * 10)
    (raw / "acc_exp02_user01.txt").write_text("0.1 0.2 0.9\n" * 10)
    (raw / "labels.txt").write_text("1 1 5 1 9\n")
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=20000) as blocker:
        drop(w, raw / "labels.txt")
    assert blocker.args == [False]
    assert "companion file of the uci_hapt format" in w.last_message
    assert "acc_exp01_user01.txt" in w.last_message
    _close_report_boxes(w)


def test_file_menu_imports_a_folder(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    box = tmp_path / "box"
    box.mkdir()
    _csv(box / "wrist.csv", "walking")
    out = tmp_path / "sessions"
    answers = iter([str(box), str(out)])  # the folder to import, then where the sessions go
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: next(answers)))
    w = make_window()
    action = next(
        a for a in w.menuBar().findChildren(type(w.qactions["import"])) if a.text() == "Import a &folder…"
    )
    with qtbot.waitSignal(w.import_finished, timeout=30000) as blocker:
        action.trigger()
    assert blocker.args == [True]
    assert (out / "wrist.h5").is_file() and w.path == out / "wrist.h5"
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    QApplication.processEvents()
    w.grab().save(str(tmp_path / "after_folder_import.png"))
    _close_report_boxes(w)


def test_drop_the_real_seed_folder_and_a_named_pair(make_window, qtbot, tmp_path, monkeypatch):
    """The seed's watch-bin folder dropped on the window imports as ``harlab import`` does (14
    sessions, the shared timezone warning said once with its count); a WISDM accelerometer and
    gyroscope file dropped together are one session, not two."""
    from PySide6.QtWidgets import QFileDialog

    from tests.real_data import SHARED_DATA

    seed = SHARED_DATA / "fitbit-seed" / "watch-bin"
    watch = SHARED_DATA / "wisdm2019" / "wisdm-dataset" / "raw" / "watch"
    pair = [watch / "accel" / "data_1600_accel_watch.txt", watch / "gyro" / "data_1600_gyro_watch.txt"]
    if not seed.is_dir() or not all(p.is_file() for p in pair):
        pytest.skip("../shared/data (fitbit-seed, wisdm2019 subject 1600) not present")
    outs = iter([tmp_path / "seed", tmp_path / "pair"])
    for o in (tmp_path / "seed", tmp_path / "pair"):
        o.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(next(outs))))
    w = make_window()
    w.resize(1280, 800)
    with qtbot.waitSignal(w.import_finished, timeout=60000) as blocker:
        drop(w, seed)
    assert blocker.args == [True]
    n = len(list(seed.glob("*.bin")))
    assert len(list((tmp_path / "seed").glob("*.h5"))) == n == len(w.last_import_reports)
    report = _boxes(w, "import_report")[0]
    details = report.detailedText()
    assert details.count("no timezone given") == 1 and f"({n} inputs)" in details, details
    report.grab().save(str(tmp_path / "seed_report.png"))
    _close_report_boxes(w)

    with qtbot.waitSignal(w.import_finished, timeout=120000) as blocker:
        drop(w, *pair)
    assert blocker.args == [True]
    (one,) = (tmp_path / "pair").glob("*.h5")
    assert {"accelerometer", "gyroscope"} <= set(w.session.streams)
    _close_report_boxes(w)


def _csv_with_empty_cells(path) -> None:
    """A recording whose rows 100..119 lack the y channel: the importer keeps them and warns."""
    t = np.arange(1500) / 50.0
    rows = ["time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],label.activity"]
    rows += [
        f"{x:.2f},{np.sin(x):.4f},{'' if 100 <= i < 120 else f'{np.cos(x):.4f}'},9.81,walking"
        for i, x in enumerate(t)
    ]
    path.write_text("\n".join(rows) + "\n")


def _report_box(w):
    QApplication.processEvents()
    boxes = [b for b in _boxes(w, "import_report") if b.isVisible()]
    assert len(boxes) == 1
    return boxes[0]


def test_an_import_warning_is_on_the_face_of_the_report(make_window, qtbot, tmp_path):
    """A warning changes what the data means (here: empty cells kept as NaN, flagged suspect), so a
    dropped file that imports with one shows it in a box, not only in the status bar."""
    csv = tmp_path / "gappy.csv"
    _csv_with_empty_cells(csv)
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=20000) as blocker:
        drop(w, csv)
    assert blocker.args == [True]
    box = _report_box(w)
    assert "with 1 warning" in box.text()
    assert "20 rows of stream 'accelerometer' have empty cells" in box.informativeText()
    box.grab().save(str(tmp_path / "import_warning.png"))
    _close_report_boxes(w)


def test_a_batch_import_lists_its_warnings_outside_details(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from harlab.gui.main_window import SHOWN_WARNINGS

    box_dir = tmp_path / "box"
    box_dir.mkdir()
    n = SHOWN_WARNINGS + 2
    for i in range(n):
        _csv_with_empty_cells(box_dir / f"r{i}.csv")
    out = tmp_path / "sessions"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=60000):
        drop(w, box_dir)
    box = _report_box(w)
    text = box.informativeText()
    assert text.count("have empty cells") == SHOWN_WARNINGS and "r0.csv: " in text
    assert text.endswith("…and 2 more warnings under Show Details")
    _close_report_boxes(w)
