"""The Record panel's pure helpers: plot decimation, prompt wording, default file names."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harlab.gui.record.live_plots import minmax_decimate, y_range
from harlab.gui.record.protocol_view import prompt_texts
from harlab.gui.record.setup_form import default_output, describe_protocol
from harlab.recording import Protocol, ProtocolStep


def test_decimation_keeps_peaks_and_fits_the_width() -> None:
    t = np.arange(30_000) / 1000.0  # 30 s at 1 kHz
    v = np.stack([np.sin(t), np.cos(t)], axis=1)
    v[12_345, 0] = 50.0  # one spike (an impact, a clipped sample) must stay visible
    v[20_000, 1] = -40.0
    tt, vv = minmax_decimate(t, v, 10.0, 30.0, 400)
    assert len(tt) <= 2 * 400 + 2
    assert vv[:, 0].max() == 50.0 and vv[:, 1].min() == -40.0
    assert tt[0] <= 10.0 and tt[-1] == t[-1]
    assert np.all(np.diff(tt) >= 0)


def test_short_inputs_pass_through_cut_to_the_window() -> None:
    t = np.arange(100) / 10.0
    v = t[:, None].copy()
    tt, vv = minmax_decimate(t, v, 2.0, 5.0, 500)
    assert tt[0] == 1.9 and tt[-1] == 5.0  # one sample before the window so the trace reaches its edge
    np.testing.assert_array_equal(vv[:, 0], tt)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 5000), bins=st.integers(1, 300), seed=st.integers(0, 1000))
def test_decimation_envelope_matches_the_data(n: int, bins: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 20, n))
    v = rng.normal(size=(n, 3))
    tt, vv = minmax_decimate(t, v, 5.0, 15.0, bins)
    lo, hi = np.searchsorted(t, [5.0, 15.0])
    inside = v[max(0, lo - 1) : hi + 1]
    assert len(tt) <= max(2 * bins, len(inside))
    if len(inside):
        np.testing.assert_array_equal(vv.max(axis=0), inside.max(axis=0))
        np.testing.assert_array_equal(vv.min(axis=0), inside.min(axis=0))


def test_prompt_wording() -> None:
    p = Protocol(
        [ProtocolStep("stairs_up", 60, "Climb the stairs"), ProtocolStep("sitting", 30)], countdown_s=3
    )
    assert prompt_texts(p, 0, "countdown", 2.4) == (
        "Get ready: stairs up — 3",
        "Climb the stairs",
        "Step 1 of 2",
    )
    assert prompt_texts(p, 0, "active", 56.2) == ("Stairs up — 57 s left", "Climb the stairs", "Step 1 of 2")
    assert prompt_texts(p, 1, "active", 30.0)[:2] == ("Sitting — 30 s left", "Now: sitting")
    assert prompt_texts(p, None, "", 0)[0] == "Protocol complete"
    assert describe_protocol(p) == "2 steps, 1 min 36 s: stairs up, sitting"


def test_default_output_names() -> None:
    when = datetime(2024, 5, 1, 7, 8, 9)
    assert default_output("rec", "", when) == Path("rec/2024-05-01_07-08-09.h5")
    assert default_output("rec", " P 01/x ", when) == Path("rec/P_01_x_2024-05-01_07-08-09.h5")


def test_y_range_pads_and_never_magnifies_a_flat_line() -> None:
    lo, hi = y_range(-10.0, 10.0)
    assert lo < -10 and hi > 10 and hi - lo == pytest.approx(23.2)
    lo, hi = y_range(70.0, 70.0)  # a steady heart rate
    assert hi - lo == pytest.approx(1.4) and (lo + hi) / 2 == 70
    assert y_range(0.0, 0.0) == (-0.5, 0.5)
