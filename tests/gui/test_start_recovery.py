"""At the next start, a recording that was killed mid-way is offered for recovery on the start screen."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
import numpy as np
from harlab.core.labels import Segment
from harlab.core.metadata import Metadata
from harlab.storage import RecordingWriter
w = RecordingWriter(sys.argv[1], Metadata(participant_id="P11"))
w.add_stream("accel", ["x", "y", "z"], ["m/s^2"] * 3, 50.0)
w.append("accel", np.arange(250) / 50.0, np.full((250, 3), 2.0, np.float32))
w.add_segment("activity", Segment(0.5, 3.0, "sitting"))
w.flush()
print("ready", flush=True)
time.sleep(60)
"""


def test_start_screen_offers_and_recovers_an_interrupted_recording(make_window, qtbot, tmp_path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    target = folder / "interrupted.h5"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    w = make_window()
    w.recordings_dir = folder
    w.refresh_start_screen()
    bar = w.start_screen.recovery
    assert bar is not None and bar.isVisible() and "interrupted.h5" in bar.text.text()
    qtbot.mouseClick(bar.recover_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.open_button.isVisible(), timeout=10_000)
    qtbot.mouseClick(bar.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.path == target, timeout=10_000)
    assert w.session.metadata.participant_id == "P11"
    assert w.session.streams["accel"].n_samples == 250
    assert [s.label for s in w.session.label_tracks["activity"]] == ["sitting"]


def test_no_recovery_bar_when_nothing_was_interrupted(make_window, tmp_path) -> None:
    w = make_window()
    w.recordings_dir = tmp_path
    w.refresh_start_screen()
    assert not w.start_screen.recovery.isVisible()
