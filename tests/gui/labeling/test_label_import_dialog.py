"""The Import labels dialog: tracks, annotator, unknown classes and conflicts chosen by the user;
File menu and drag and drop onto an open session; one undoable step."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from harlab.gui.labeling.label_import_dialog import LabelImportDialog
from harlab.labelfiles import read_label_file
from tests.gui.test_import_drop import drop
from tests.labelfiles.label_sessions import source_session

pytestmark = pytest.mark.gui

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"  # gitignored, for people to look at


def write_audacity(tmp_path, lines, name="coder_b.txt"):
    p = tmp_path / name
    p.write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in lines), encoding="utf-8")
    return p


LINES = [(0, 5, "Sitting"), (4, 9, "jogging"), (10, 12, "Walking-Upstairs"), (58, 65, "sitting")]


def ok_button(d):
    return d.buttons.button(QDialogButtonBox.StandardButton.Ok)


@pytest.fixture
def dialog(qtbot):
    """``dialog(session, file, annotator="")``: a LabelImportDialog that is closed at teardown,
    which stops its planning jobs. (qtbot keeps only a weak reference: a dialog dropped with the
    test's last reference would be destroyed without closing, under a job's queued signals.)"""
    made: list[LabelImportDialog] = []

    def make(session, file, annotator: str = "") -> LabelImportDialog:
        d = LabelImportDialog(session, file, annotator=annotator)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()
        d.deleteLater()
    QApplication.processEvents()
    assert not any(d._threads for d in made)


def settled(qtbot, d) -> None:
    """Wait until the plan of the dialog's current choices is shown (it is made on a job)."""
    qtbot.waitUntil(lambda: not d.planning, timeout=20_000)


def test_dialog_settles_unknown_classes_and_conflicts_before_ok(dialog, qtbot, tmp_path):
    session = source_session()
    f = read_label_file(write_audacity(tmp_path, LINES), session)
    d = dialog(session, f, annotator="Kim")
    d.show()
    assert list(d.class_choices) == ["jogging"]
    settled(qtbot, d)
    assert not ok_button(d).isEnabled()  # the default "add" settles jogging, the conflicts are refused
    assert "overlaps the segment before it" in d.report.toPlainText()
    assert "lies outside the recording" in d.report.toPlainText()
    d.set_class_choice("jogging", "walking_upstairs")
    d.set_on_conflict("clip")
    settled(qtbot, d)
    assert ok_button(d).isEnabled()
    plan = d.plan
    assert [(s.start, s.end, s.label, s.annotator) for s in plan.tracks[0][1]] == [
        (0.0, 5.0, "sitting", "Kim"),
        (5.0, 9.0, "walking_upstairs", "Kim"),
        (10.0, 12.0, "walking_upstairs", "Kim"),
        (58.0, 59.9, "sitting", "Kim"),
    ]
    text = d.report.toPlainText()
    assert "clipped to 5.000-9.000 s" in text and "clipped to 58.000-59.900 s" in text
    SHOTS.mkdir(exist_ok=True)
    assert d.grab().save(str(SHOTS / "label_import_dialog.png"))


def test_dialog_names_the_track_and_refuses_a_taken_name(dialog, qtbot, tmp_path):
    session = source_session()
    f = read_label_file(write_audacity(tmp_path, [(1, 2, "sitting")], name="activity.txt"), session)
    d = dialog(session, f)
    assert d.name_edits[0].text() == "activity-2"  # the session has "activity": a free name is offered
    settled(qtbot, d)
    assert ok_button(d).isEnabled()
    d.name_edits[0].setText("activity")
    qtbot.waitUntil(lambda: "already has a label track" in d.status.text())  # once the typing pauses
    assert not ok_button(d).isEnabled()
    d.name_edits[0].setText("coder B")
    qtbot.waitUntil(lambda: ok_button(d).isEnabled())
    assert d.plan.tracks[0][0] == "coder B"
    d.name_edits[0].setText("activity")  # and Enter at once, before the pause: refused, stays open
    with qtbot.waitSignal(d.planned, timeout=20_000):
        d.accept()
    assert d.result() == 0 and "already has a label track" in d.status.text()
    d.name_edits[0].setText("coder C")  # Enter at once after a good name: planned first, then imported
    with qtbot.waitSignal(d.accepted, timeout=20_000):
        d.accept()
    assert d.result() == 1 and d.plan.tracks[0][0] == "coder C"


def test_menu_import_is_one_undoable_step(make_window, qtbot, tmp_path):
    from harlab.storage import save_session

    path = save_session(source_session(), tmp_path / "s.h5")
    w = make_window()
    assert w.open_path(path)
    assert w.findChild(type(w.qactions["import"]), "action_import_labels") is not None
    d = w.import_labels(
        write_audacity(tmp_path, [(0, 5, "Sitting"), (6, 9, "jogging"), (8, 12, "walking upstairs")])
    )
    assert isinstance(d, LabelImportDialog)
    d.set_on_conflict("skip")
    qtbot.waitUntil(ok_button(d).isEnabled, timeout=20_000)
    d.annotator.setText("Kim")  # and OK at once: the plan with Kim is made first
    qtbot.mouseClick(ok_button(d), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "coder_b" in w.session.label_tracks)
    assert [(s.label, s.annotator) for s in w.session.label_tracks["coder_b"]] == [
        ("sitting", "Kim"),
        ("jogging", "Kim"),
    ]
    assert "jogging" in w.session.schema and w.dirty
    w.history.undo()
    assert "coder_b" not in w.session.label_tracks and "jogging" not in w.session.schema
    w.history.redo()
    assert "coder_b" in w.session.label_tracks


def test_the_menu_import_opens_at_once_and_reads_the_file_off_the_gui_thread(make_window, qtbot, tmp_path):
    from harlab.storage import save_session

    path = save_session(source_session(), tmp_path / "s.h5")
    w = make_window()
    assert w.open_path(path)
    d = w.import_labels(write_audacity(tmp_path, [(0, 5, "Sitting"), (6, 9, "jogging")]))
    # open before the file is read (the read is a job's): nothing to import yet
    assert isinstance(d, LabelImportDialog) and d.isVisible()
    assert d.file is None and d.planning and not ok_button(d).isEnabled()
    assert d.status.text() == "Reading coder_b.txt…" and d.progress.isVisible()
    SHOTS.mkdir(exist_ok=True)
    d.grab().save(str(SHOTS / "label_import_dialog_reading.png"))
    qtbot.waitUntil(lambda: not d.planning, timeout=20_000)
    assert d.file is not None and d.name_edits[0].text() == "coder_b"
    assert not d.progress.isVisible() and ok_button(d).isEnabled()
    assert d.status.text() == "Import 2 segments into coder_b."
    d.reject()


def test_ok_while_reading_imports_once_the_plan_is_in(make_window, qtbot, tmp_path):
    from harlab.storage import save_session

    path = save_session(source_session(), tmp_path / "s.h5")
    w = make_window()
    assert w.open_path(path)
    d = w.import_labels(write_audacity(tmp_path, [(0, 5, "Sitting"), (6, 9, "sitting")]))
    assert d.file is None
    d.accept()  # Enter while reading: waits for the read and the plan
    qtbot.waitUntil(lambda: "coder_b" in w.session.label_tracks, timeout=20_000)
    assert [(s.start, s.end) for s in w.session.label_tracks["coder_b"]] == [(0.0, 5.0), (6.0, 9.0)]


def test_a_file_that_cannot_be_read_is_reported_with_its_line_and_closes_the_dialog(
    make_window, qtbot, tmp_path
):
    from harlab.storage import save_session

    path = save_session(source_session(), tmp_path / "s.h5")
    w = make_window()
    assert w.open_path(path)
    bad = tmp_path / "broken.txt"
    bad.write_text("0\t5\tsitting\n7\tnine\tjogging\n", encoding="utf-8")
    d = w.import_labels(bad)
    assert isinstance(d, LabelImportDialog)
    qtbot.waitUntil(lambda: w.last_message.startswith("Cannot import labels"), timeout=20_000)
    assert "broken.txt" in w.last_message and "line 2" in w.last_message
    qtbot.waitUntil(
        lambda: (
            not any(
                isinstance(x, LabelImportDialog) and x.isVisible() for x in QApplication.topLevelWidgets()
            )
        )
    )
    assert "broken" not in w.session.label_tracks


def test_dropping_a_label_file_on_an_open_session_opens_the_dialog(make_window, qtbot, tmp_path):
    from harlab.storage import save_session

    path = save_session(source_session(), tmp_path / "s.h5")
    w = make_window()
    assert w.open_path(path)
    eaf = tmp_path / "coded.eaf"
    eaf.write_text(
        '<ANNOTATION_DOCUMENT><TIME_ORDER><TIME_SLOT TIME_SLOT_ID="t1" TIME_VALUE="1000"/>'
        '<TIME_SLOT TIME_SLOT_ID="t2" TIME_VALUE="2000"/></TIME_ORDER><TIER TIER_ID="coder A">'
        '<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="t1" TIME_SLOT_REF2="t2">'
        "<ANNOTATION_VALUE>sitting</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION></TIER>"
        "</ANNOTATION_DOCUMENT>",
        encoding="utf-8",
    )
    drop(w, eaf)

    def dialog():
        return next(
            (x for x in QApplication.topLevelWidgets() if isinstance(x, LabelImportDialog) and x.isVisible()),
            None,
        )

    qtbot.waitUntil(lambda: dialog() is not None)
    d = dialog()
    qtbot.waitUntil(lambda: d.file is not None)  # read on a job: the dialog opens first
    assert d.name_edits[0].text() == "coder A"
    d.accept()
    qtbot.waitUntil(lambda: "coder A" in w.session.label_tracks)
    assert [(s.start, s.end) for s in w.session.label_tracks["coder A"]] == [(1.0, 2.0)]
    assert w.dirty


def big_file(tmp_path, n: int):
    """``n`` one-second segments, two classes (one the schema lacks), inside a recording long enough."""
    from harlab.simulate import synthetic_session

    session = synthetic_session(2.0 * n + 10, rate_hz=1.0, streams=("accel",))
    p = write_audacity(
        tmp_path, [(2.0 * i, 2.0 * i + 1.0, "sitting" if i % 3 else "jogging") for i in range(n)], "big.txt"
    )
    return session, read_label_file(p, session)


def test_a_big_file_is_planned_off_the_gui_thread_with_progress(dialog, qtbot, tmp_path):
    from harlab.labelfiles import ImportRequest, plan_import
    from harlab.labelfiles.label_import import PROGRESS_EVERY

    n = 4 * PROGRESS_EVERY
    session, f = big_file(tmp_path, n)
    shown: list[int] = []
    d = dialog(session, f, annotator="Kim")
    d.progress.valueChanged.connect(shown.append)
    SHOTS.mkdir(exist_ok=True)
    shot = SHOTS / "label_import_dialog_planning.png"
    d.progress.valueChanged.connect(lambda v: d.grab().save(str(shot)) if v == PROGRESS_EVERY else None)
    d.show()
    assert d.planning and d.plan is None and not ok_button(d).isEnabled()  # the constructor did not plan
    settled(qtbot, d)
    # the progress reached the window while the job planned: the GUI thread was free meanwhile
    assert [v for v in shown if 0 < v < n] == [PROGRESS_EVERY, 2 * PROGRESS_EVERY, 3 * PROGRESS_EVERY]
    assert not d.progress.isVisible() and not d.stop_button.isVisible()
    assert ok_button(d).isEnabled() and d.status.text() == f"Import {n} segments into big."
    same = plan_import(
        session, f, ImportRequest(tracks=["big"], names={"big": "big"}, annotator="Kim", add_unknown=True)
    )
    assert [(s.start, s.end, s.label) for s in d.plan.tracks[0][1]] == [
        (s.start, s.end, s.label) for s in same.tracks[0][1]
    ]
    d.grab().save(str(SHOTS / "label_import_dialog_planned.png"))
    d.progress.valueChanged.disconnect()  # the lambda holds the dialog: not to be released as Qt deletes it


def test_stop_leaves_no_plan_and_plan_again_makes_it(dialog, qtbot, tmp_path):
    from harlab.labelfiles.label_import import PROGRESS_EVERY

    session, f = big_file(tmp_path, 10 * PROGRESS_EVERY)  # planned in most of a second: Stop comes first
    d = dialog(session, f)
    d.show()
    settled(qtbot, d)
    d.set_on_conflict("skip")  # a new plan starts...
    assert d.planning
    with qtbot.waitSignal(d.planned, timeout=20_000):
        d.stop_button.click()  # ...and is stopped at its next step
    assert d.plan is None and not ok_button(d).isEnabled() and d.status.text().startswith("Planning stopped")
    assert d.stop_button.isVisible() and d.stop_button.text() == "Plan again" and not d.progress.isVisible()
    SHOTS.mkdir(exist_ok=True)
    assert d.grab().save(str(SHOTS / "label_import_dialog_stopped.png"))
    with qtbot.waitSignal(d.planned, timeout=20_000):
        qtbot.mouseClick(d.stop_button, Qt.MouseButton.LeftButton)
    assert d.plan is not None and d.plan.request.on_conflict == "skip" and ok_button(d).isEnabled()


def test_cancel_while_planning_stops_the_job(dialog, qtbot, tmp_path):
    from harlab.labelfiles.label_import import PROGRESS_EVERY

    session, f = big_file(tmp_path, 4 * PROGRESS_EVERY)
    d = dialog(session, f)
    d.show()
    first = d._job
    d.set_on_conflict("clip")  # the first plan, now stale, is cancelled; two more start (off, on)
    jobs = [first, d._job]
    assert all(j is not None and j.running for j in jobs)
    d.reject()  # Cancel: the dialog closes and waits for every job's thread, each stops at its next step
    assert not any(j.running for j in jobs) and d.result() == 0 and not d.planning


def test_a_choice_after_ok_takes_the_ok_back(dialog, qtbot, tmp_path):
    from harlab.labelfiles.label_import import PROGRESS_EVERY

    session, f = big_file(tmp_path, 4 * PROGRESS_EVERY)
    d = dialog(session, f)
    d.show()
    d.accept()  # while the first plan is made: it would import when ready...
    assert "it follows" in d.status.text()
    d.set_on_conflict("skip")  # ...but a new choice means the person is still choosing
    settled(qtbot, d)
    assert d.result() == 0 and ok_button(d).isEnabled() and d.plan.request.on_conflict == "skip"
    with qtbot.waitSignal(d.accepted, timeout=20_000):
        d.accept()
