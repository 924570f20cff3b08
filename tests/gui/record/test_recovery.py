"""A recording killed mid-way is offered for recovery when the Record window opens next."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from harlab.storage import read_session

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import sys, time
import numpy as np
from harlab.core.labels import Segment
from harlab.core.metadata import Metadata
from harlab.storage import RecordingWriter
w = RecordingWriter(sys.argv[1], Metadata(participant_id="P09"))
w.add_stream("accel", ["x", "y", "z"], ["m/s^2"] * 3, 50.0)
t = np.arange(500) / 50.0
w.append("accel", t, np.ones((500, 3), np.float32))
w.add_segment("activity", Segment(1.0, 4.0, "walking"))
w.flush()
print("ready", flush=True)
time.sleep(60)
"""


def test_interrupted_recording_is_offered_and_recovered(make_record_window, qtbot, tmp_path) -> None:
    out_dir = tmp_path / "recordings"
    out_dir.mkdir()
    target = out_dir / "killed.h5"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert not target.exists()

    w = make_record_window()
    bar = w.panel.recovery
    assert bar.isVisible()
    assert "killed.h5" in bar.text.text() and bar.recover_button.isVisible()
    qtbot.mouseClick(bar.recover_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.text.text() == "Recovered killed.h5.", timeout=10_000)
    with qtbot.waitSignal(w.panel.open_requested) as sig:
        qtbot.mouseClick(bar.open_button, Qt.MouseButton.LeftButton)
    assert sig.args == [str(target)]
    s = read_session(target)
    assert s.metadata.participant_id == "P09"
    assert s.streams["accel"].n_samples == 500
    np.testing.assert_array_equal(s.streams["accel"].read()[1], np.ones((500, 3), np.float32))
    assert [x.label for x in s.label_tracks["activity"]] == ["walking"]


def test_no_bar_without_interrupted_recordings(make_record_window) -> None:
    w = make_record_window()
    assert not w.panel.recovery.isVisible()
