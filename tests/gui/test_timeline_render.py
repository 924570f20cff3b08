"""How the timeline draws: range and data land in one repaint, curves hold about one stroke
per pixel column, the y-axis does not jitter while panning, label shades stay exact."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject

from tests.gui.gui_helpers import open_window

pytestmark = pytest.mark.gui


class PaintSpy(QObject):
    """Records, at each paint of the timeline, the shown range and whether every stream's
    drawn envelope covers it."""

    def __init__(self, timeline) -> None:
        super().__init__()
        self.timeline = timeline
        self.paints: list[tuple[tuple[float, float], bool]] = []
        timeline.glw.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Paint:
            v0, v1 = self.timeline.view_range()
            covered = all(
                sp.envelope is not None and sp.envelope.time[0] <= v0 + 1 and sp.envelope.time[-1] >= v1 - 1
                for sp in self.timeline.stream_plots
            )
            self.paints.append(((v0, v1), covered))
        return False


def test_a_new_range_is_painted_only_with_its_data(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    tl = w.timeline
    tl._deadline.setInterval(20_000)  # never fall back to old data in this test
    spy = PaintSpy(tl)
    for a, b in [(100.0, 160.0), (400.0, 402.0), (10.0, 590.0), (300.0, 300.5)]:
        spy.paints.clear()
        tl.set_range(a, b)
        qtbot.waitUntil(tl.is_idle, timeout=5000)
        tl.glw.viewport().repaint()
        assert tl.view_range() == pytest.approx((a, b))
        at_new = [covered for rng, covered in spy.paints if rng == pytest.approx((a, b))]
        assert at_new and all(at_new)  # never the new range over the old (uncovering) envelope
    tl.glw.viewport().removeEventFilter(spy)


def test_curves_are_trimmed_to_the_view_and_y_keeps_still_on_small_pans(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    tl = w.timeline
    tl.set_range(100.0, 400.0)  # 30,000 samples per channel in ~1000 px: summarised
    qtbot.waitUntil(tl.is_idle, timeout=5000)
    sp = tl.stream_plots[0]
    assert sp.envelope.samples_per_bin > 1
    px = sp.vb.width()
    for curve, shown in zip(sp.curves, sp.shown, strict=True):
        if shown:
            x, _ = curve.getData()
            assert len(x) <= 2 * 1.6 * px + 8  # one stroke (2 points) per column, plus margins
            assert x[0] >= 100.0 - 0.3 * 300 and x[-1] <= 400.0 + 0.3 * 300
    y_before = sp.vb.viewRange()[1]
    tl.set_range(110.0, 410.0)  # a small pan inside what was fetched
    qtbot.waitUntil(tl.is_idle, timeout=5000)
    assert sp.vb.viewRange()[1] == pytest.approx(y_before)
    tl.set_channel_visible(sp.stream.name, 2, False)  # hide z (~9.8 m/s²): y refits to x and y
    lo, hi = sp.vb.viewRange()[1]
    assert hi < 5.0 < y_before[1]


def test_label_shades_are_opaque_tints_of_the_background(make_window, qtbot, tmp_path):
    from harlab.storage import save_session
    from tests.gui.gui_helpers import make_session

    path = save_session(make_session(minutes=10, n_segments=20), tmp_path / "s.h5")
    w = open_window(make_window, qtbot, path)
    shade = w.timeline.shades[0]
    c = shade.color("walking")
    assert c.alpha() == 255 and c.lightnessF() > 0.8  # pale, opaque (fast to fill)
    w.set_dark(True)
    assert shade.color("walking").lightnessF() < 0.5  # re-tinted over the dark background
    w.set_dark(False)


def test_the_envelope_thread_decodes_the_coarse_levels_after_opening(make_window, qtbot, session_path):
    """After opening, the envelope thread decodes each stream's coarse pyramid levels into memory,
    and envelopes served from them equal those read from the file."""
    from harlab.storage import open_session

    w = open_window(make_window, qtbot, session_path)
    sp = w.timeline.stream_plots[0]
    data = sp.stream.data
    qtbot.waitUntil(lambda: bool(data.decoded_levels()), timeout=10000)
    t0, t1 = data.time_bounds()
    with open_session(session_path) as sf:
        cold = sf.session.streams[sp.stream.name].data
        assert not cold.decoded_levels()  # opened without a timeline: nothing decoded
        for bins in (20, 100):
            expected = cold.envelope(t0, t1 + 1, bins)
            got = data.envelope(t0, t1 + 1, bins)
            assert got.samples_per_bin == expected.samples_per_bin > 1
            np.testing.assert_array_equal(got.time, expected.time)
            np.testing.assert_array_equal(got.lo, expected.lo)
            np.testing.assert_array_equal(got.hi, expected.hi)


def test_the_y_grid_is_drawn_at_the_left_axis_ticks_not_by_the_axis(make_window, qtbot, session_path):
    """The grid is a few lines at the axis' tick values; the axis draws none, so its cached
    pixmap stays as narrow as the axis instead of as large as the plot."""
    w = open_window(make_window, qtbot, session_path)
    for sp in w.timeline.stream_plots:
        ax = sp.plot.getAxis("left")
        assert ax.grid is False
        assert ax.boundingRect().width() < 2 * ax.width()
        y0, y1 = sorted(sp.vb.viewRange()[1])
        levels = sp.grid.levels()
        assert levels
        expected = [float(v) for v in ax.tickValues(y0, y1, ax.height())[0][1] if y0 <= v <= y1]
        assert levels[0][1] == pytest.approx(sorted(expected))
        assert all(0 < opacity <= w.timeline.colors.grid_alpha for opacity, _ in levels)
