"""What a researcher trying the workbench for the first time hits (issue 17, second pass).

Each test drives the real window as a person would and fails on the code before its fix.
"""

from __future__ import annotations

import pytest

from tests.gui.gui_helpers import open_window, press_shortcut

pytestmark = pytest.mark.gui


def on_screen(widget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def test_segment_table_key_brings_the_tabbed_table_forward(make_window, qtbot, session_path):
    """The table opens tabbed behind the Session panel; Ctrl+T must show it, not hide it."""
    w = open_window(make_window, qtbot, session_path)
    dock = w.table_dock
    qtbot.waitUntil(lambda: on_screen(w.meta_dock))
    assert not on_screen(dock)
    press_shortcut(qtbot, w, "toggle_segment_table")
    qtbot.waitUntil(lambda: on_screen(dock))
    press_shortcut(qtbot, w, "toggle_segment_table")
    qtbot.waitUntil(lambda: not dock.isVisible())
    press_shortcut(qtbot, w, "toggle_segment_table")
    qtbot.waitUntil(lambda: on_screen(dock))


def test_session_panel_says_duration_in_units_a_person_reads(make_window, qtbot, tmp_path):
    """A 47 s recording read "Duration: 0.01 h"; a 10-minute one "0.17 h"."""
    from harlab.storage import save_session
    from tests.gui.gui_helpers import make_session

    short = save_session(make_session(minutes=47 / 60), tmp_path / "short.h5")
    w = open_window(make_window, qtbot, short)
    assert "Duration: 47.0 s" in w.meta_dock.info.text()
    assert w.open_path(save_session(make_session(minutes=10), tmp_path / "ten.h5"))
    assert "Duration: 10 min 0 s" in w.meta_dock.info.text()


def test_windows_first_open_inside_the_screen(qtbot, tmp_path):
    """The workbench opened 1400×860 and Record 1320×860: past the bottom of a 1280×800
    laptop's desktop, hiding the status bar and Record's buttons."""
    from harlab.gui.labeling.help_dialog import HelpDialog
    from harlab.gui.main_window import MainWindow
    from harlab.gui.record.panel import RecordWindow

    main = MainWindow()
    qtbot.addWidget(main)
    record = RecordWindow(main, tmp_path, auto_scan=False)
    qtbot.addWidget(record)
    room = main.screen().availableGeometry()
    for widget in (main, record, HelpDialog(None, main)):
        fits = widget.size().boundedTo(widget.minimumSizeHint().expandedTo(room.size()))
        assert widget.size() == fits, f"{type(widget).__name__} {widget.size()} > screen {room.size()}"
    record.panel.shutdown()


def _left_labels(plot) -> list:
    """The rectangles of the tick labels the plot's left axis draws now."""
    from PySide6.QtGui import QPainter, QPixmap

    axis = plot.getAxis("left")
    pix = QPixmap(max(1, int(axis.width())), max(1, int(axis.height())))
    painter = QPainter(pix)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [rect for rect, _flags, text in (specs[2] if specs else []) if text]


def test_record_live_plots_say_units_as_the_workbench_and_ticks_never_overlap(qtbot):
    """In a 1024×640 Record window the rows are ~45 px tall: the gyroscope's y labels
    (0.4, 0.2, 0, -0.2, -0.4) were drawn on top of each other; the unit read "m/s^2"."""
    import numpy as np

    from harlab.gui.record.live_plots import LivePlots

    plots = LivePlots(window_s=20.0)
    qtbot.addWidget(plots)
    plots.set_streams(
        [
            ("accel", ["x", "y", "z"], "m/s^2"),
            ("gyro", ["x", "y", "z"], "rad/s"),
            ("heart_rate", ["bpm"], "bpm"),
        ]
    )
    plots.resize(700, 300)
    plots.show()
    qtbot.waitExposed(plots)
    t = np.arange(2000) / 100.0
    wave = 0.4 * np.sin(t)[:, None] * np.ones((1, 3))
    plots.refresh(
        20.0, {"accel": (t, wave * 20 - 5), "gyro": (t, wave), "heart_rate": (t[::100], 75 + t[::100] / 10)}
    )
    qtbot.wait(50)
    assert "m/s²" in plots.plots["accel"].titleLabel.text
    for name, p in plots.plots.items():
        rects = sorted(_left_labels(p), key=lambda r: r.top())
        assert rects, f"{name}: no y labels at all"
        for a, b in zip(rects, rects[1:], strict=False):
            assert a.bottom() <= b.top(), f"{name}: y labels overlap ({a} / {b}) in {p.vb.height():.0f} px"


def test_record_time_axis_stays_in_seconds_an_hour_in(qtbot):
    """The live plots' time axis is in seconds, an SI unit: an hour into a recording it read
    "time since start (ks)" with ticks 3.605, 3.610 (pyqtgraph's SI-prefix scaling)."""
    import numpy as np

    from harlab.gui.record.live_plots import LivePlots

    plots = LivePlots(window_s=20.0)
    qtbot.addWidget(plots)
    plots.set_streams([("accel", ["x", "y", "z"], "m/s^2"), ("gyro", ["x", "y", "z"], "rad/s")])
    plots.resize(700, 300)
    plots.show()
    qtbot.waitExposed(plots)
    t = 3600 + np.arange(2000) / 100.0
    plots.refresh(3620.0, {"accel": (t, np.ones((2000, 3))), "gyro": (t, np.full((2000, 3), 0.002))})
    qtbot.wait(50)
    for name, p in plots.plots.items():
        for side in ("left", "bottom"):
            ax = p.getAxis(side)
            assert ax.autoSIPrefixScale == 1.0, (name, side, ax.labelString())
    assert "(s)" in plots.plots["gyro"].getAxis("bottom").labelString()


def test_segment_table_headers_are_not_cut(make_window, qtbot, tmp_path):
    """An imported session without a clock shows times "from start": the header read
    "art (from sta" in its 96 px column."""
    from tests.gui.gui_helpers import make_session

    w = make_window()
    assert w.show_session(make_session(minutes=10, n_segments=4), unsaved=False)
    table = w.table_dock
    hh = table.view.horizontalHeader()
    for wall_clock in (True, False):
        if w.timeline.wall_clock != wall_clock:
            w.toggle_time_mode()
        for col in range(table.model.columnCount()):
            text = table.model.headerData(col, hh.orientation())
            assert table.view.columnWidth(col) >= hh.sectionSizeHint(col), f"{text!r} is cut"
            assert table.view.columnWidth(col) > hh.fontMetrics().horizontalAdvance(text), f"{text!r} is cut"


def test_go_to_time_asks_for_a_clock_time_only_when_there_is_one(make_window, qtbot, tmp_path):
    """WISDM and UCI HAPT sessions have no known start: the prompt asked for "Clock time
    (14:05:30)", which would be read as 14 hours from the start."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QInputDialog

    from harlab.storage import save_session
    from tests.gui.gui_helpers import make_session

    s = make_session(minutes=10)
    s.metadata.start_utc = None
    w = open_window(make_window, qtbot, save_session(s, tmp_path / "no_clock.h5"))
    assert w.timeline.wall_clock and w.timeline.start_local is None
    seen = []

    def read_prompt(tries: int = 200) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QInputDialog):
            if tries:
                QTimer.singleShot(10, lambda: read_prompt(tries - 1))
            return
        seen.append(box.labelText())
        box.setTextValue("2:05")
        box.accept()

    QTimer.singleShot(0, read_prompt)
    w.actions.go_to_time()
    assert seen and "clock" not in seen[0].lower() and "from the start" in seen[0]
    assert w.timeline.hub.cursor == 125.0  # what the axis writes "2:05" for (was read as 2 h 5 min)
    w.actions.go_to_time("20:00")  # the session is 10 minutes long
    assert w.timeline.hub.cursor == 125.0 and "outside the recording" in w.last_message


def test_change_class_offers_the_schema_starting_at_the_current_class(make_window, qtbot, session_path):
    """Change class started at the first class whatever the segment was, and took any typed
    text: a typo became a new, unknown grey class."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QComboBox, QInputDialog

    from tests.gui.gui_helpers import make_session

    w = make_window()
    assert w.show_session(make_session(minutes=10, n_segments=3), unsaved=False)
    track = w.session.label_tracks["activity"]
    sitting = next(s for s in track if s.label == "sitting")
    w.timeline.select({sitting.id}, "activity")
    seen = {}

    def answer(tries: int = 200) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QInputDialog):
            if tries:
                QTimer.singleShot(10, lambda: answer(tries - 1))
            return
        seen["value"] = box.textValue()
        seen["editable"] = box.findChild(QComboBox).isEditable()
        box.setTextValue("running")
        box.accept()

    QTimer.singleShot(0, answer)
    w.actions.change_class()
    assert seen == {"value": "sitting", "editable": False}
    assert track[sitting.id].label == "running"


def test_a_closed_session_panel_comes_back_from_the_view_menu(make_window, qtbot, session_path):
    """Closing the Session panel with its X left no way to show it until the next session."""
    w = open_window(make_window, qtbot, session_path)
    qtbot.waitUntil(lambda: on_screen(w.meta_dock))
    w.meta_dock.close()
    qtbot.waitUntil(lambda: not w.meta_dock.isVisible())
    action = w.findChild(type(w.qactions["save"]), "action_session_panel")
    assert action is not None and action in w.menus["view"].actions() and action.isEnabled()
    action.trigger()
    qtbot.waitUntil(lambda: on_screen(w.meta_dock))


def test_help_lists_class_keys_with_their_names_and_descriptions_in_view(qtbot):
    """Each class row repeated "walking: press to start a segment at the cursor, again to
    end it; with a …", cut at the dialog's edge: the class descriptions were never seen."""
    from harlab.gui.labeling.help_dialog import HelpDialog
    from harlab.simulate.activity_table import label_schema

    schema = label_schema()
    d = HelpDialog(schema)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    group = d.groups["Classes"]
    assert "starts a segment" in group.text(0)
    header = d.tree.font()
    header.setBold(True)
    from PySide6.QtGui import QFontMetrics

    assert QFontMetrics(header).horizontalAdvance(group.text(0)) < d.tree.viewport().width()
    walking = next(group.child(i) for i in range(group.childCount()) if group.child(i).text(0) == "W")
    assert walking.text(1) == f"walking — {schema['walking'].description}"
    assert not walking.icon(1).isNull()  # the class's colour
    room = d.tree.viewport().width() - d.tree.columnWidth(0) - 24  # less the colour swatch
    for cls in schema:  # the name and the start of the description are in view
        shown = f"{cls.name} — {cls.description[:24]}"
        assert d.tree.fontMetrics().horizontalAdvance(shown) <= room, shown


def test_schema_editor_opens_showing_every_class(qtbot, tmp_path):
    """WISDM has 18 classes; the editor opened 420 px tall showing 10 of them."""
    from harlab.core import LabelClass, LabelSchema, Metadata, Session
    from harlab.gui.labeling import SchemaEditorDialog
    from harlab.labeling.history import EditHistory

    s = Session(
        Metadata(participant_id="P"), LabelSchema([LabelClass(f"class {i}", "#1f77b4") for i in range(18)])
    )
    d = SchemaEditorDialog(s, EditHistory(s))
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    last = d.table.visualItemRect(d.table.item(17, 0))
    assert last.isValid() and last.bottom() <= d.table.viewport().height(), "the last class is out of view"
    assert d.height() <= d.screen().availableGeometry().height()


def test_segment_table_class_column_fits_the_class_names(qtbot):
    """UCI HAPT's classes (WALKING_DOWNSTAIRS, ...) were elided to "WALKING_D…"."""
    from PySide6.QtCore import Qt

    from harlab.core import LabelClass, LabelSchema, Metadata, Segment, Session
    from harlab.gui.labeling import SegmentTableDock
    from harlab.labeling.history import EditHistory

    names = ["WALKING", "WALKING_DOWNSTAIRS", "STAND_TO_LIE"]
    s = Session(Metadata(participant_id="P"), LabelSchema([LabelClass(n, "#1f77b4") for n in names]))
    s.label_track("activity")
    s.add_segments("activity", [Segment(i * 10.0, i * 10.0 + 5, n) for i, n in enumerate(names)])
    dock = SegmentTableDock(s, EditHistory(s))
    qtbot.addWidget(dock)
    dock.show()
    qtbot.waitExposed(dock)
    dock.set_track("activity")
    for row in range(dock.model.rowCount()):
        index = dock.model.index(row, 0)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        cell = dock.view.visualRect(index)
        assert dock.view.fontMetrics().horizontalAdvance(text) + 30 <= cell.width(), f"{text} is cut"


def test_start_screen_imports_a_folder(make_window, qtbot, monkeypatch):
    """The seed's data sets are folders; the start screen offered only "Import a file…"."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    asked = []
    monkeypatch.setattr(
        QFileDialog,
        "getExistingDirectory",
        staticmethod(lambda parent, title, start="": asked.append(title) or ""),
    )
    w = make_window()
    button = w.start_screen.import_folder_button
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked == ["Import a folder"]


def test_zoomed_out_band_shows_the_long_segment_not_a_short_one_beside_it(make_window, qtbot, tmp_path):
    """In a 4-hour demo an hour of sitting was drawn and named "transition": a 3 s segment
    starting in the same pixel column gave its class to the whole span."""
    from PySide6.QtGui import QColor

    from harlab.core import Segment
    from tests.gui.gui_helpers import make_session, view_pos

    s = make_session(minutes=80)
    s.add_segments("activity", [Segment(970.0, 970.5, "running"), Segment(970.5, 4400.0, "sitting")])
    w = make_window()
    assert w.show_session(s, unsaved=False)
    w.timeline.set_range(*w.timeline.hub.bounds)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    band = w.timeline.bands[0].plot
    vp = w.timeline.glw.viewport()
    image = vp.grab().toImage()
    ratio = image.devicePixelRatio()
    for t in (1500.0, 3000.0, 4300.0):
        pos = view_pos(band, t, 0.5)
        pixel = image.pixelColor(int(pos.x() * ratio), int(pos.y() * ratio))
        want = QColor(s.schema.color("sitting"))
        assert abs(pixel.hue() - want.hue()) <= 8, (
            f"at {t} s the band is {pixel.name()}, not sitting's {want.name()}"
        )
