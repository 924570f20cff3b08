"""Models > Explore (PCA): the scatter of labelled windows, and a click that shows the window."""

from __future__ import annotations

import numpy as np

from harlab.simulate import make_demo_session
from harlab.storage import save_session


def test_pca_scatter_separates_classes_and_clicks_jump(make_window, qtbot, tmp_path) -> None:
    path = save_session(make_demo_session(duration_min=4, seed=2), tmp_path / "demo.h5")
    w = make_window()
    w.open_path(str(path))
    w._update_model_actions()
    assert w.explore_action.isEnabled()
    dlg = w.explore()
    qtbot.addWidget(dlg)
    assert dlg.coords is not None and len(dlg.labels) == len(dlg.coords) > 50
    names = set(dlg.labels)
    assert {it.name() for it in dlg.items} == names
    # The classes really separate in the first three components: a nearest-centroid rule on the
    # projection alone labels most windows right (chance is about 1 / number of classes).
    labels = np.array(dlg.labels)
    cents = {n: dlg.coords[labels == n].mean(0) for n in names}
    guess = [min(cents, key=lambda n: np.linalg.norm(c - cents[n])) for c in dlg.coords]
    assert np.mean(np.array(guess) == labels) > 0.6
    assert "explained variance" in dlg.status.text()
    # Clicking a point shows its window in the timeline.
    item = dlg.items[0]
    point = item.points()[-1]
    i = int(point.data())
    item.sigClicked.emit(item, [point], None)

    def shown() -> bool:
        t0, t1 = w.timeline.view_range()
        return t0 <= dlg.starts[i] and dlg.starts[i] + dlg.window <= t1 and t1 - t0 < 20

    qtbot.waitUntil(shown, timeout=5000)
    dlg.axes.setCurrentIndex(2)  # PC2 × PC3 redraws without recomputing
    assert dlg.plot.getAxis("bottom").labelText.startswith("PC2")
    dlg.grab().save(str(tmp_path / "explore.png"))


def test_explore_at_10_hz_says_the_window_it_cut(qtbot) -> None:
    """The default 2.56 s is 25.6 samples at 10 Hz: the dialog cuts 26 (2.6 s) and says so,
    instead of reporting windows of 2.56 s."""
    from harlab.gui.ml.explore_dialog import ExploreDialog

    session = make_demo_session(duration_min=4, seed=2, rate_hz=10.0)
    dlg = ExploreDialog(session)
    qtbot.addWidget(dlg)
    dlg.compute()
    text = dlg.status.text()
    assert dlg.coords is not None and dlg.window == 2.6
    assert "windows of 2.6 s" in text and "using 26 and 13 samples" in text, text
