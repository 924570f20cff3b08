"""The start screen says what harlab does and sizes its recent list to its content."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_start_screen_says_what_harlab_does_in_one_line_and_the_recent_list_fits_its_rows(make_window, qtbot):
    w = make_window()
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: w.start_screen.width() > 1000)
    start = w.start_screen
    line = start.subtitle
    assert all(word in line.text() for word in ("label", "train", "wearable"))
    assert line.height() < 2 * line.fontMetrics().height()  # one line at 1280 px

    start.set_recent([])
    qtbot.waitUntil(lambda: start.no_recent.isVisible())
    assert not start.recent.isVisible()  # no empty white box filling the window

    paths = [f"/data/rec-{i}.h5" for i in range(3)]
    start.set_recent(paths)
    qtbot.waitUntil(lambda: start.recent.isVisible())
    assert not start.no_recent.isVisible()
    assert start.recent.height() < start.height() / 4
    viewport = start.recent.viewport().rect()
    for i in range(len(paths)):  # every row shown whole, no scrolling needed
        assert viewport.contains(start.recent.visualItemRect(start.recent.item(i)))
    w.grab().save("/tmp/harlab_start_screen.png")
