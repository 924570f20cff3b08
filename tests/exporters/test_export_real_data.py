"""Training windows from a real WISDM recording with 101 Hz bursts (skips without ../shared/data)."""

from __future__ import annotations

import numpy as np
import pytest

from harlab import importers
from harlab.signal.labelled_windows import cut_windows
from tests.real_data import SHARED_DATA

DATA = SHARED_DATA
WATCH_ACCEL = DATA / "wisdm2019" / "wisdm-dataset" / "raw" / "watch" / "accel"


def test_wisdm_bursts_are_windowed_by_time_not_rows():
    if not WATCH_ACCEL.is_dir():
        pytest.skip("../shared/data not present")
    files = sorted(WATCH_ACCEL.glob("data_1621_accel_watch.txt*"))
    if not files:
        pytest.skip("WISDM subject 1621 not present")
    imp = importers.get_importer("wisdm")
    sessions = imp.read(files[0], importers.ImportOptions())
    track = "activity"
    ws = cut_windows(sessions, track, 2.5, 1.25, rate_hz=20.0)
    assert ws.X.shape[1:] == (50, len(ws.channels))
    # subject 1621's "sitting" block has ~7,900 samples in 180 s because of 101 Hz bursts;
    # windows are cut on a 20 Hz grid, so no class gets more windows than its labelled time allows
    durations: dict[str, float] = {}
    for s in sessions:
        for seg in s.label_tracks[track]:
            durations[seg.label] = durations.get(seg.label, 0.0) + seg.duration
    for cls, n in ws.class_counts().items():
        assert n <= (durations[cls] - 2.5) / 1.25 + 1 + 1e-9, cls
    streams = ws.resampling["streams"]
    assert any(v["anti_aliased_runs"] > 0 for v in streams.values())
    assert max(v["max_run_rate_hz"] for v in streams.values()) > 90
    acc = [i for i, c in enumerate(ws.channels) if ws.units[i] == "m/s^2"]
    assert len(acc) == 3
    sitting = ws.y == ws.classes.index("sitting")
    magnitude = np.linalg.norm(ws.X[sitting][:, :, acc], axis=2)
    assert 9.0 < float(np.median(magnitude)) < 10.6  # gravity at rest
    assert not np.isnan(ws.X).any()
