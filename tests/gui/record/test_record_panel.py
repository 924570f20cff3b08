"""The Record panel end to end: real key presses and clicks, a simulated device, a real session file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from harlab.storage import read_session


def _acc_spread(session, seg) -> float:  # noqa: ANN001
    _, v = session.streams["accel"].read(seg.start + 0.8, seg.end)
    return float(np.linalg.norm(v, axis=1).std())


def test_record_ten_seconds_with_live_hotkey_labels(make_record_window, qtbot, screenshot) -> None:
    w = make_record_window(speed=8)
    p = w.panel
    assert [c.key for c in p.picker.selected()] == ["simulated"]  # the simulator is picked by default
    p.setup.participant.setText("P07")
    p.setup.placement.setCurrentText("left wrist")
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
    rec = p.recorder
    assert rec is not None and not p.setup.isEnabled()  # settings are frozen while recording

    presses: list[tuple[float, float]] = []  # session time just before and after each press

    def press(key, after: float) -> None:  # noqa: ANN001
        """Press ``key`` (or click a class button) ``after`` session seconds after the previous press."""
        since = presses[-1][1] if presses else 0.0
        qtbot.waitUntil(lambda: rec.now() > since + after, timeout=10_000)
        before = rec.now()
        if isinstance(key, str) and key in p.labels.buttons:
            qtbot.mouseClick(p.labels.buttons[key], Qt.MouseButton.LeftButton)  # buttons work too
        else:
            qtbot.keyClick(p, key)
        presses.append((before, rec.now()))

    press("w", 1.5)  # walking: the same letter as in the workbench on the demo
    qtbot.waitUntil(lambda: p.labels.current.text().startswith("walking"))
    press("r", 2.5)  # running: ends walking, starts running
    qtbot.waitUntil(lambda: p.labels.buttons["running"].isChecked())
    assert not p.labels.buttons["walking"].isChecked()
    qtbot.waitUntil(lambda: rec.now() > presses[-1][1] + 2.4, timeout=10_000)
    qtbot.waitUntil(lambda: p.plots.segments_drawn == 2)  # the label band: walking, and running growing
    screenshot(w, "record_live.png")  # running is open, the wearer runs
    press("r", 3.0)  # the same key again ends the segment
    qtbot.waitUntil(lambda: p.labels.current.text() == "No label")
    press("sitting", 0.6)
    press(Qt.Key.Key_Escape, 2.5)
    qtbot.waitUntil(lambda: rec.now() > max(10.2, presses[-1][1] + 0.3), timeout=10_000)

    # The live view shows every stream and sensible quality numbers.
    assert set(p.plots.plots) == {"accel", "gyro", "heart_rate"}
    qtbot.waitUntil(lambda: p.quality.item(0, 2).text().endswith("/ 100"))
    shown_rate = float(p.quality.item(0, 2).text().split("/")[0])
    assert shown_rate == pytest.approx(100, rel=0.15)
    qtbot.waitUntil(lambda: p.elapsed.text() >= "00:00:10")
    assert p.chips.states == {"harlab simulator": "streaming"}
    x0, x1 = p.plots.plots["accel"].vb.viewRange()[0]
    assert x1 - x0 == pytest.approx(20, abs=0.5)  # fixed 20 s window
    assert p.plots.points_drawn > 0

    with qtbot.waitSignal(p.recording_finished, timeout=15_000) as sig:
        qtbot.mouseClick(p.stop_button, Qt.MouseButton.LeftButton)
    path = Path(sig.args[0])
    assert p.state == "finished" and p.finished_bar.isVisible()
    with qtbot.waitSignal(p.open_requested) as opened:
        qtbot.mouseClick(p.open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [str(path)]

    s = read_session(path)
    assert set(s.streams) == {"accel", "gyro", "heart_rate"}
    t, _ = s.streams["accel"].read()
    duration = t[-1] - t[0]
    assert 10.0 < duration < presses[-1][1] + 3
    for name in ("accel", "gyro"):
        assert s.streams[name].n_samples == pytest.approx(100 * duration, rel=0.03)
    assert s.metadata.participant_id == "P07"
    assert s.metadata.devices[0].placement == "left wrist"
    segs = list(s.label_tracks["activity"])
    assert [x.label for x in segs] == ["walking", "running", "sitting"]
    bounds = [segs[0].start, segs[1].start, segs[1].end, segs[2].start, segs[2].end]
    for t, (before, after) in zip(
        bounds, [presses[0], presses[1], presses[2], presses[3], presses[4]], strict=True
    ):
        assert before <= t <= after
    assert segs[0].end == segs[1].start  # another class's key hands over without a gap
    # Pressing a class key also steered the simulated wearer: running shakes the wrist far more than sitting.
    assert _acc_spread(s, segs[1]) > 4 * _acc_spread(s, segs[2])


def test_guided_protocol_prompts_and_writes_labels(make_record_window, qtbot, tmp_path, screenshot) -> None:
    proto = tmp_path / "short.json"
    proto.write_text(
        json.dumps(
            {
                "name": "short",
                "countdown_s": 2,
                "steps": [
                    {"activity": "walking", "duration_s": 4, "instruction": "Walk at your normal pace"},
                    {"activity": "sitting", "duration_s": 3},
                ],
            }
        )
    )
    w = make_record_window(speed=3)  # slow enough that each 2 s countdown is on screen for 0.67 s
    p = w.panel
    p.setup.protocol_path.setText(str(proto))
    p.setup.protocol_path.editingFinished.emit()
    assert p.setup.protocol_info.text().startswith("2 steps, 0 min 11 s: walking, sitting")
    seen: list[str] = []

    def headline_seen(prefix: str) -> bool:
        text = p.protocol_view.headline.text()
        if not seen or seen[-1] != text:
            seen.append(text)
        return text.startswith(prefix)

    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
    assert p.protocol_view.isVisible()
    qtbot.waitUntil(lambda: headline_seen("Get ready: walking — "), timeout=10_000)
    assert not p.labels.buttons["walking"].isEnabled()  # the protocol writes the labels
    qtbot.keyClick(p, "u")  # a class key (stairs up) is ignored while a protocol runs
    qtbot.waitUntil(lambda: headline_seen("Walking — "), timeout=10_000)
    assert p.protocol_view.instruction.text() == "Walk at your normal pace"
    assert p.protocol_view.step_line.text() == "Step 1 of 2"
    assert p.labels.current.text().startswith("walking")
    qtbot.waitUntil(lambda: p.plots.segments_drawn == 1)  # the open protocol label is in the band
    screenshot(w, "record_protocol.png")
    qtbot.waitUntil(lambda: headline_seen("Get ready: sitting"), timeout=10_000)
    screenshot(w, "record_protocol_countdown.png")
    qtbot.waitUntil(lambda: headline_seen("Sitting — "), timeout=10_000)
    assert p.protocol_view.step_line.text() == "Step 2 of 2"
    with qtbot.waitSignal(p.recording_finished, timeout=20_000) as sig:
        pass  # "Stop and save when the protocol ends" is on by default
    # The countdown counted down in whole seconds.
    counts = [int(h.rsplit("— ", 1)[1]) for h in seen if h.startswith("Get ready: walking")]
    assert counts and counts == sorted(counts, reverse=True) and counts[0] <= 2
    s = read_session(sig.args[0])
    segs = list(s.label_tracks["activity"])
    assert [(x.label, x.end - x.start) for x in segs] == [
        ("walking", pytest.approx(4)),
        ("sitting", pytest.approx(3)),
    ]
    assert segs[0].start == pytest.approx(p.protocol_t0 + 2, abs=0.1)  # after the 2 s "get ready"


def test_bad_protocol_file_is_a_message_and_nothing_is_written(make_record_window, qtbot, tmp_path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("walking sixty\n")
    w = make_record_window(speed=8)
    p = w.panel
    p.setup.protocol_path.setText(str(bad))
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    assert p.state == "idle"
    assert "bad.txt, line 1" in p.message.text()
    assert not (tmp_path / "recordings").exists() or not list((tmp_path / "recordings").iterdir())


def test_pause_resume_and_duration_limit(make_record_window, qtbot) -> None:
    """Pause and resume leave a gap, never filled; "Stop after 9 s" stops at the first refresh
    past 9 s. At speed 8 a late GUI tick or a slow thread start moves the file's first and last
    samples by seconds of session time, so nothing here compares with the wall clock: the limit
    is checked against what each refresh saw, the file against what the device made (the first
    sample comes when the simulated device's thread starts, the last when it is stopped)."""
    w = make_record_window(speed=8)
    p = w.panel
    p.setup.duration.setValue(9)
    ticks: list[tuple[str, str]] = []  # after each refresh: the panel's state and the time it showed
    p.timer.timeout.connect(lambda: ticks.append((p.state, p.elapsed.text())))  # runs after the refresh
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
    rec = p.recorder
    (src,) = rec.sources
    qtbot.waitUntil(lambda: rec.now() > 3, timeout=10_000)
    qtbot.mouseClick(p.pause_button, Qt.MouseButton.LeftButton)
    paused_from = rec.now()  # the pause began at or before this
    assert p.state == "paused" and p.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: rec.now() > paused_from + 2, timeout=10_000)
    paused_to = rec.now()  # and ended at or after this
    qtbot.mouseClick(p.pause_button, Qt.MouseButton.LeftButton)
    assert p.state == "recording"
    with qtbot.waitSignal(p.recording_finished, timeout=15_000) as sig:
        pass  # "Stop after 9 s"
    # stopped by the limit: at a refresh (no click), not before 9 s, and no refresh that showed
    # 9 s or more left it recording (the time shown is the one the limit was checked against)
    assert ticks and ticks[-1][0] == "stopping" and p._stop_elapsed >= 9.0
    assert all(shown < "00:00:09" for state, shown in ticks[:-1]), ticks
    s = read_session(sig.args[0])
    t, _ = s.streams["accel"].read()
    gap = np.diff(t).max()  # the pause is a gap, never filled
    assert paused_to - paused_from <= gap
    assert t[0] < paused_from < paused_to < t[-1]
    # every sample the device made is in the file: from its first to the last one before it was
    # stopped (times in the device's clock: the simulator's seconds from its start) ...
    last_made = src.t0_host - rec.t0 + src.sim.time - 1 / 100
    assert t[-1] == pytest.approx(last_made, abs=1e-6)
    # ... at 100 Hz, with none missing but the pause
    assert s.streams["accel"].n_samples == pytest.approx(100 * (t[-1] - t[0] - gap) + 2, abs=2)


def test_disconnects_show_as_reconnecting_gaps_and_losses(make_record_window, qtbot) -> None:
    w = make_record_window(speed=8, simulator_knobs={"disconnect_every_s": 3.0, "disconnect_s": 3.0})
    p = w.panel
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.chips.states.get("harlab simulator") == "reconnecting", timeout=15_000)
    assert "#ef6c00" in p.chips.chips["harlab simulator"].styleSheet()  # orange: it stands out
    qtbot.waitUntil(lambda: p.chips.states.get("harlab simulator") == "streaming", timeout=15_000)
    qtbot.waitUntil(lambda: p.quality.item(0, 4).text() != "0", timeout=15_000)  # the outage is a gap
    assert int(p.quality.item(0, 6).text().replace(",", "")) > 0  # and the lost samples are counted
    assert "reconnecting" in p.message.text()
    with qtbot.waitSignal(p.recording_finished, timeout=15_000) as sig:
        qtbot.mouseClick(p.stop_button, Qt.MouseButton.LeftButton)
    t, _ = read_session(sig.args[0]).streams["accel"].read()
    assert np.diff(t).max() > 2.5  # never filled


def test_closing_mid_recording_asks_then_saves(make_record_window, qtbot) -> None:
    from PySide6.QtWidgets import QApplication, QMessageBox

    w = make_record_window(speed=8)
    p = w.panel
    finished: list[str] = []
    p.recording_finished.connect(finished.append)
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
    # samples received, not the clock: on a loaded machine the simulator's thread lags its clock
    qtbot.waitUntil(lambda: p.recorder.status().streams["accel"].samples > 150, timeout=20_000)
    answers: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):  # not up yet
            QTimer.singleShot(20, lambda: answer(button))
            return
        answers.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Cancel))
    w.close()
    assert w.isVisible() and p.state == "recording"  # "Cancel" keeps recording
    received = p.recorder.status().streams["accel"].samples
    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Save))
    w.close()
    assert not w.isVisible() and p.state == "finished"
    assert answers == ["A recording is running. Stop it and save the file?"] * 2
    assert finished and read_session(finished[0]).streams["accel"].n_samples >= received > 150  # nothing lost
