"""Child process for the crash-recovery test: edits labels in a real main window, prints
the labels it has (one JSON line), then waits to be killed with SIGKILL."""

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from harlab.gui import settings  # noqa: E402
from harlab.gui.main_window import MainWindow  # noqa: E402


def main() -> None:
    path, settings_dir = sys.argv[1], sys.argv[2]
    app = QApplication([])
    settings.use_settings_dir(settings_dir, organization="harlab-tests")
    w = MainWindow(threaded=False)
    w.show()
    assert w.open_path(path)
    a = w.actions
    a.create("activity", 10.0, 20.0)  # what a drag on the band requests
    w.timeline.select(set())
    w.timeline.hub.set_cursor(30.0)
    a.class_key("running")
    w.timeline.hub.set_cursor(45.0)
    a.class_key("running")
    w.timeline.hub.set_selection((50.0, 60.0))
    a.class_key("sitting")
    a.undo()  # the undo is journalled too
    first = w.session.label_tracks["activity"].at(15.0)[0]
    a.move_edge("activity", first.id, "end", 25.0)
    app.processEvents()
    labels = [[s.start, s.end, s.label] for s in w.session.label_tracks["activity"]]
    print(json.dumps(labels), flush=True)
    while True:  # wait for SIGKILL, with the window open and the edits unsaved
        app.processEvents()
        time.sleep(0.05)


if __name__ == "__main__":
    main()
