"""The main window: files, menus, docks, and the shortcut table bound to slots.

All keyboard shortcuts come from :data:`harlab.labeling.shortcuts.SHORTCUTS`: each
name maps to one slot (``self.slots``) and becomes a ``QAction`` with the table's
keys, so the help dialog, the menus and the tests all read the same table. Class
hotkeys come from the session's schema and are rebuilt when it changes; a schema whose
keys clash with the table is repaired when the document opens it
(:func:`harlab.labeling.class_keys.repair_hotkeys`) and the status bar says what moved.

Files: the open session's life (opening, crash recovery, the undo history, saving,
the one ``dirty`` state) belongs to a Qt-free :class:`~harlab.labeling.document.LabelingDocument`;
this window asks the user (which file, recover or not, save or discard) and tells the
document. Any other file goes through the importer registry on a worker thread and opens
unsaved.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.core.events import Event
from harlab.core.files import SESSION_SUFFIXES, is_session_file
from harlab.core.session import Session
from harlab.core.wording import counted
from harlab.gui import settings
from harlab.gui.agreement_panel import AgreementPanel
from harlab.gui.annotation_actions import AnnotationActions
from harlab.gui.annotator_view import current_annotator, set_current_annotator
from harlab.gui.background_job import BackgroundJob
from harlab.gui.import_worker import batch_import_job, import_job
from harlab.gui.label_actions import LabelActions, push_reported
from harlab.gui.labeling import HelpDialog, SchemaEditorDialog, SegmentTableDock
from harlab.gui.metadata_panel import MetadataDock
from harlab.gui.palette import apply_palette, plot_colors
from harlab.gui.prediction_actions import PredictionActions
from harlab.gui.start_screen import StartScreen
from harlab.gui.timeline import Timeline
from harlab.gui.track_dialogs import AddTrackDialog
from harlab.gui.video_panel import FINE_NUDGE_S, VIDEO_FILTER, VideoPanel, is_video_file
from harlab.gui.week_view import WeekDock
from harlab.gui.window_size import resize_within_screen
from harlab.labeling.commands import AddLabelTrack
from harlab.labeling.document import LabelingDocument
from harlab.labeling.history import EditHistory
from harlab.labeling.shortcuts import SHORTCUTS, by_name, class_hotkey_problem
from harlab.storage import SessionFile

#: the shortcuts that nudge the sync
SYNC_KEYS = ("sync_later", "sync_earlier", "sync_later_fine", "sync_earlier_fine")

MENU_OF_GROUP = {
    "File": "file",
    "Navigation": "navigate",
    "Labeling": "edit",
    "Adjudication": "annotators",
    "View": "view",
    "Video": "video",
    "Help": "help",
}


class MainWindow(QMainWindow):
    """The workbench window. ``session_opened``/``import_finished`` help scripts and tests."""

    session_opened = Signal()
    import_finished = Signal(bool)

    def __init__(self, threaded: bool = True) -> None:
        super().__init__()
        self.setObjectName("harlab_main_window")
        self.setWindowTitle("harlab")
        self.setAcceptDrops(True)
        self.dark = settings.get_bool("dark", False)
        self.document: LabelingDocument | None = None  #: the open session's life; None on the start screen
        self.last_message = ""
        self.last_import_reports: list = []  #: per-file reports of the last batch import
        self._import: BackgroundJob | None = None
        from harlab.storage.probe import prestart

        prestart()  # the hostile-file probe's child imports now, not when a file from elsewhere opens
        self._import_path = Path()  #: the file being imported, or the batch's output folder
        self._dialogs: list[QWidget] = []

        self.timeline = Timeline(plot_colors(self.dark), threaded=threaded)
        self.timeline.set_wall_clock(settings.get_bool("wall_clock", True))
        self.start_screen = StartScreen()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start_screen)
        self.stack.addWidget(self.timeline)
        self.setCentralWidget(self.stack)
        self.meta_dock = MetadataDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.meta_dock)
        self.resizeDocks([self.meta_dock], [290], Qt.Orientation.Horizontal)
        self.meta_dock.hide()  # shown with a session
        self.table_dock = None

        self.actions = LabelActions(self.timeline, lambda: self.history, self.report, self)
        self.timeline.new_label = self.actions.new_label
        self.actions.hotkeys.annotator = current_annotator()  # segments made by class keys record who
        self.predictions = PredictionActions(self.timeline, lambda: self.history, self.report, self)
        self.annotation = AnnotationActions(
            self.timeline, lambda: self.history, self.report, self.predictions.next_disagreement, self
        )
        self.statusBar().addPermanentWidget(self.annotation.status_label)
        self.agreement_dock = AgreementPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.agreement_dock)
        self.tabifyDockWidget(self.meta_dock, self.agreement_dock)  # the whole height for its tables
        self.agreement_dock.hide()  # shown on request (toggle_agreement)
        self.agreement_dock.tracks_chosen.connect(
            lambda names: self.annotation.compare(names if len(names) >= 2 else [])
        )
        self.agreement_dock.consensus_requested.connect(self.annotation.start_adjudication)
        self.annotation.progress_changed.connect(self.agreement_dock.progress.setText)
        self.annotation.compared_changed.connect(self._update_actions)
        self.annotation.blind_changed.connect(self._blind_changed)
        self.video_dock = VideoPanel(
            self.timeline.hub,
            lambda cmd: push_reported(self.history, cmd, self.report),
            self.report,
            lambda: self.timeline.active_track,
            self,
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.video_dock)
        self.splitDockWidget(self.meta_dock, self.video_dock, Qt.Orientation.Vertical)
        self.video_dock.hide()  # shown with a session that has a video
        self.video_dock.attached.connect(lambda _name: self.show_video_panel())
        self.week_dock = WeekDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.week_dock)
        self.week_dock.hide()  # shown on request (toggle_week_view)
        self.week_dock.time_clicked.connect(self.show_time)
        self.week_dock.view.set_colors(plot_colors(self.dark).background, plot_colors(self.dark).foreground)
        self.record_window = None
        self.record_kwargs: dict = {}  #: extra RecordWindow arguments (tests: speed, auto_scan)
        self.recordings_dir: Path | None = None  #: where Record writes (default: ./recordings)
        self.slots: dict[str, Callable[[], object]] = self._slot_table()
        self.qactions: dict[str, QAction] = {}
        self.class_actions: list[QAction] = []
        self._build_menus()

        self.start_screen.open_button.clicked.connect(lambda: self.open_dialog())
        self.start_screen.demo_button.clicked.connect(lambda: self.open_demo())
        self.start_screen.import_button.clicked.connect(lambda: self.import_dialog())
        self.start_screen.import_folder_button.clicked.connect(lambda: self.import_folder_dialog())
        self.start_screen.record_button.clicked.connect(lambda: self.record())
        self.start_screen.open_requested.connect(self.open_path)
        self.start_screen.set_recent(settings.recent_files())
        self.start_screen.check_recoveries(self._recordings_folder())
        self._syncing_table = False
        self.timeline.selection_changed.connect(self._update_actions)
        self.timeline.selection_changed.connect(self._timeline_selected)
        self.timeline.time_mode_changed.connect(self._table_time_mode)
        resize_within_screen(self, 1400, 860)
        geo = settings.settings().value("geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        state = settings.settings().value("window_state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.meta_dock.hide()  # the saved layout may show it; it belongs to an open session
        self.video_dock.hide()  # likewise: shown with a session that has a video
        self.week_dock.hide()  # likewise: it shows an open session
        self._update_title()
        self._update_actions()

    # -- the shortcut table ----------------------------------------------------------
    def _slot_table(self) -> dict[str, Callable[[], object]]:
        a = self.actions
        own = {
            "open": self.open_dialog,
            "save": self.save,
            "save_as": self.save_as,
            "import": self.import_dialog,
            "close": self.close_session,
            "quit": self.close,
            "toggle_segment_table": self.toggle_segment_table,
            "toggle_week_view": self.toggle_week_view,
            "edit_schema": self.edit_schema,
            "toggle_time_mode": self.toggle_time_mode,
            "toggle_magnitude": self.toggle_magnitude,
            "autoscale_y": self.toggle_auto_y,
            "help": self.show_help,
            "edit_segment": self.edit_segment,
            "record": self.record,
            "accept_prediction": self.predictions.accept_prediction,
            "next_least_confident": self.predictions.next_least_confident,
            "next_disagreement": self.annotation.next_disagreement,
            "prev_disagreement": self.annotation.prev_disagreement,
            "toggle_label_blind": self.annotation.toggle_label_blind,
            "toggle_agreement": self.toggle_agreement,
            "next_todo": self.annotation.next_todo,
            "prev_todo": self.annotation.prev_todo,
            "pick_annotator_1": self.annotation.pick_annotator_1,
            "pick_annotator_2": self.annotation.pick_annotator_2,
            "pick_annotator_3": self.annotation.pick_annotator_3,
            "play_pause": self.video_dock.toggle_play,
            "frame_forward": lambda: self.video_dock.step(1),
            "frame_back": lambda: self.video_dock.step(-1),
            "sync_later": lambda: self.video_dock.nudge(frames=1),
            "sync_earlier": lambda: self.video_dock.nudge(frames=-1),
            "sync_later_fine": lambda: self.video_dock.nudge(seconds=FINE_NUDGE_S),
            "sync_earlier_fine": lambda: self.video_dock.nudge(seconds=-FINE_NUDGE_S),
        }
        # every name of the table is a slot here or a LabelActions method (a missing one fails at start)
        return {sc.name: own.get(sc.name) or getattr(a, sc.name) for sc in SHORTCUTS}

    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus = {
            "file": bar.addMenu("&File"),
            "edit": bar.addMenu("&Edit"),
            "navigate": bar.addMenu("&Navigate"),
            "view": bar.addMenu("&View"),
            "annotators": bar.addMenu("&Annotators"),
            "video": bar.addMenu("V&ideo"),
            "help": bar.addMenu("&Help"),
        }
        self.menus = menus
        self.recent_menu = None
        for sc in SHORTCUTS:
            act = QAction(sc.description, self)
            act.setObjectName(f"action_{sc.name}")
            act.setShortcuts([QKeySequence(k) for k in sc.keys])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _checked=False, n=sc.name: self.slots[n]())
            self.addAction(act)
            self.qactions[sc.name] = act
            menus[MENU_OF_GROUP.get(sc.group, "view")].addAction(act)
            if sc.name == "import":
                folder = menus["file"].addAction("Import a &folder…")
                folder.triggered.connect(lambda: self.import_folder_dialog())
                labels = menus["file"].addAction("Import &labels…")
                labels.setObjectName("action_import_labels")
                labels.triggered.connect(lambda: self.import_labels())
                self.recent_menu = menus["file"].addMenu("Open &recent")
                self.recent_menu.aboutToShow.connect(self._fill_recent)
                demo = menus["file"].addAction("Open the &demo")
                demo.triggered.connect(lambda: self.open_demo())
        for name in ("toggle_time_mode", "autoscale_y", "toggle_magnitude", "toggle_label_blind"):
            self.qactions[name].setCheckable(True)
        self._build_annotator_menu(menus["annotators"])
        self.qactions["toggle_time_mode"].setChecked(self.timeline.wall_clock)
        self.qactions["autoscale_y"].setChecked(True)
        menus["view"].addSeparator()
        self.dark_action = menus["view"].addAction("&Dark palette")
        self.dark_action.setCheckable(True)
        self.dark_action.setChecked(self.dark)
        self.dark_action.toggled.connect(self.set_dark)
        self.shade_action = menus["view"].addAction("Shade labels behind the traces")
        self.shade_action.setCheckable(True)
        self.shade_action.setChecked(True)
        self.shade_action.toggled.connect(self._set_shades)
        self.heatmap_action = menus["view"].addAction("Class &probabilities of predictions (heatmap)")
        self.heatmap_action.setObjectName("action_heatmap")
        self.heatmap_action.setCheckable(True)
        self.heatmap_action.setChecked(settings.get_bool("heatmap", False))
        self.timeline.show_heatmap = self.heatmap_action.isChecked()
        self.heatmap_action.toggled.connect(self._set_heatmap)
        self.channels_menu = menus["view"].addMenu("&Channels")
        # the panel's own X closes it; this brings it back without reopening the session
        self.session_panel_action = menus["view"].addAction("&Session panel (metadata)")
        self.session_panel_action.setObjectName("action_session_panel")
        self.session_panel_action.triggered.connect(lambda: self.show_session_panel())
        menus["edit"].addSeparator()
        self.accept_many_action = menus["edit"].addAction("Accept predictions above a confidence…")
        self.accept_many_action.setObjectName("action_accept_predictions")
        self.accept_many_action.triggered.connect(lambda: self.predictions.accept_predictions_dialog())
        self.add_track_action = menus["edit"].addAction("Add label &track…")
        self.add_track_action.setObjectName("action_add_track")
        self.add_track_action.triggered.connect(lambda: self.add_label_track())
        models = QMenu("&Models", self)
        bar.insertMenu(menus["help"].menuAction(), models)
        menus["models"] = models
        self.predict_action = models.addAction("&Predict with model file…")
        self.predict_action.setObjectName("action_predict")
        self.predict_action.triggered.connect(lambda: self.predictions.predict_dialog())
        self.rename_prediction_action = models.addAction("&Rename predictions…")
        self.rename_prediction_action.setObjectName("action_rename_predictions")
        self.rename_prediction_action.triggered.connect(lambda: self.predictions.rename_track())
        self.remove_prediction_action = models.addAction("Re&move predictions")
        self.remove_prediction_action.setObjectName("action_remove_predictions")
        self.remove_prediction_action.triggered.connect(lambda: self.predictions.remove_track())
        models.addSeparator()
        self.train_action = models.addAction("&Train…")
        self.train_action.setObjectName("action_train")
        self.train_action.triggered.connect(lambda: self.predictions.open_train_dialog(self._session_paths()))
        self.calibrate_action = models.addAction("&Calibrate to this participant…")
        self.calibrate_action.setObjectName("action_calibrate")
        self.calibrate_action.triggered.connect(lambda: self.calibrate())
        self.explore_action = models.addAction("&Explore (PCA)…")
        self.explore_action.setObjectName("action_explore")
        self.explore_action.triggered.connect(lambda: self.explore())
        models.aboutToShow.connect(self._update_model_actions)
        self._build_video_menu(menus["video"])
        self.class_menu = menus["edit"].addMenu("Class for new segments")
        self.class_group = QActionGroup(self)
        about = menus["help"].addAction("About harlab")
        about.triggered.connect(
            lambda: QMessageBox.about(self, "harlab", "harlab: label wearable-sensor data.")
        )

    def _build_annotator_menu(self, menu: QMenu) -> None:
        """Who is labelling, label-blind mode and the agreement panel (the adjudication keys
        of the table are in this menu already)."""
        blind = self.qactions["toggle_label_blind"]
        blind.setChecked(self.annotation.blind)
        self.annotation.blind_changed.connect(blind.setChecked)
        first = menu.actions()[0] if menu.actions() else None
        who = QAction("Set the &annotator (who labels here)…", self)
        who.setObjectName("action_set_annotator")
        who.triggered.connect(lambda: self.set_annotator())
        for act in (who, blind, self.qactions["toggle_agreement"]):
            menu.insertAction(first, act)
        menu.insertSeparator(first)

    def set_annotator(self, name: str | None = None) -> bool:
        """Set the person labelling at this computer (new tracks record it; label-blind mode
        hides the others'); without ``name`` a dialog asks."""
        if name is None:
            text, ok = QInputDialog.getText(self, "Annotator", "Who labels here?", text=current_annotator())
            if not ok:
                return False
            name = text
        set_current_annotator(name)
        self.actions.hotkeys.annotator = current_annotator()
        self.report(f"Annotator: {name.strip() or 'not set'}")
        if self.annotation.blind:
            self.annotation.set_blind(True)
        return True

    def _blind_changed(self, on: bool) -> None:
        """Label-blind mode hides here what the timeline hides: others' tracks in the segment
        table, the week view (it is drawn from predictions) and the agreement panel."""
        if self.table_dock is not None:
            self.table_dock.set_hidden(self.timeline.hidden_tracks)
        if on:
            self.week_dock.hide()
            self.agreement_dock.hide()  # its figures and list name the hidden tracks

    def toggle_agreement(self) -> None:
        if self.agreement_dock.isVisible():
            self.agreement_dock.hide()
        elif self.annotation.blind:
            self.report("Label blind is on: agreement shows the other annotators' labels, so it stays hidden")
        elif self.session is not None:
            self.agreement_dock.show()
            self.agreement_dock.raise_()

    def _build_video_menu(self, menu: QMenu) -> None:
        """Attach, detach and sync (the keys of the "Video" group are in the menu already)."""
        first = menu.actions()[0] if menu.actions() else None
        self.attach_video_action = QAction("&Attach video…", self)
        self.attach_video_action.setObjectName("action_attach_video")
        self.attach_video_action.triggered.connect(lambda: self.attach_video_dialog())
        self.detach_video_action = QAction("&Detach the shown video", self)
        self.detach_video_action.setObjectName("action_detach_video")
        self.detach_video_action.triggered.connect(lambda: self.video_dock.detach())
        self.auto_sync_action = QAction("Find sync &automatically…", self)
        self.auto_sync_action.setObjectName("action_auto_sync")
        self.auto_sync_action.triggered.connect(lambda: self.video_dock.auto_sync())
        self.clear_region_action = QAction(
            "&Clear the region (the automatic sync uses the whole picture)", self
        )
        self.clear_region_action.setObjectName("action_clear_video_region")
        self.clear_region_action.triggered.connect(lambda: self.video_dock.clear_region())
        show = self.video_dock.toggleViewAction()
        show.setText("&Video panel")
        show.setObjectName("action_video_panel")
        menu.insertActions(
            first,
            [
                self.attach_video_action,
                self.detach_video_action,
                self.auto_sync_action,
                self.clear_region_action,
            ],
        )
        menu.insertSeparator(first)
        menu.addSeparator()
        menu.addAction(show)

    def attach_video_dialog(self, path: str | Path | None = None) -> None:
        """Attach a video file to the open session (asks which one without ``path``)."""
        if self.session is None:
            self.report("Open a session before attaching a video")
            return
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Attach a video", settings.get_str("last_dir", str(Path.cwd())), VIDEO_FILTER
            )
            if not chosen:
                return
            path = chosen
        self.video_dock.attach(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in settings.recent_files():
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _c=False, p=p: self.open_path(p))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _rebuild_class_actions(self) -> None:
        for act in self.class_actions:
            self.removeAction(act)
            act.deleteLater()
        self.class_actions = []
        self.class_menu.clear()
        for act in self.class_group.actions():
            self.class_group.removeAction(act)
        if self.session is None:
            return
        for cls in self.session.schema:
            pick = self.class_menu.addAction(
                f"{cls.name}" + (f"\t{cls.hotkey.upper()}" if cls.hotkey else "")
            )
            pick.setCheckable(True)
            pick.setChecked(cls.name == self.actions.new_label())
            pick.triggered.connect(lambda _c=False, n=cls.name: setattr(self.actions, "current_class", n))
            self.class_group.addAction(pick)
            if not cls.hotkey or class_hotkey_problem(cls.hotkey):
                continue  # never bind a table key twice: Qt would do neither (an "ambiguous" shortcut)
            act = QAction(f"Label {cls.name}", self)
            act.setObjectName(f"class_{cls.name}")
            act.setShortcut(QKeySequence(cls.hotkey.upper()))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _c=False, n=cls.name: self.class_key(n))
            self.addAction(act)
            self.class_actions.append(act)

    def class_key(self, label: str) -> None:
        """A class key: while the video plays, at the frame on screen (the cursor may be a decode ahead)."""
        if self.video_dock.playback.playing:
            t = self.video_dock.shown_session_time()
            if t is not None:
                self.timeline.hub.set_cursor(t)
            # while watching, a key starts or ends a segment; it never relabels the one just ended
            self.timeline.select(set())
        self.actions.class_key(label)

    def _rebuild_channel_menu(self) -> None:
        self.channels_menu.clear()
        for sp in self.timeline.stream_plots:
            sub = self.channels_menu.addMenu(sp.title)
            for i, name in enumerate(sp.channel_names()):
                act = sub.addAction(name)
                act.setCheckable(True)
                act.setChecked(sp.shown[i])
                act.toggled.connect(
                    lambda on, s=sp.stream.name, i=i: self.timeline.set_channel_visible(s, i, on)
                )

    def shortcut_keys(self, name: str) -> tuple[str, ...]:
        return by_name(name).keys

    # -- state (the document's, read here for menus, titles and tests) ----------------
    @property
    def session(self) -> Session | None:
        return self.document.session if self.document is not None else None

    @property
    def session_file(self) -> SessionFile | None:
        return self.document.session_file if self.document is not None else None

    @property
    def path(self) -> Path | None:
        return self.document.path if self.document is not None else None

    @property
    def history(self) -> EditHistory | None:
        return self.document.history if self.document is not None else None

    @property
    def hotkey_notice(self) -> str:
        """What repairing the open session's class hotkeys changed ("" = nothing)."""
        return self.document.hotkey_notice if self.document is not None else ""

    @property
    def dirty(self) -> bool:
        return self.document is not None and self.document.dirty

    def report(self, text: str, timeout_ms: int = 8000) -> None:
        """Say ``text`` in the status bar (``timeout_ms=0``: until the next message)."""
        self.last_message = text
        self.statusBar().showMessage(text, timeout_ms)

    def _update_title(self) -> None:
        doc = self.document
        name = doc.name if doc is not None else ""
        ro = " [read-only]" if doc is not None and doc.session_file is not None and not doc.writable else ""
        star = "*" if self.dirty else ""
        self.setWindowTitle(f"{name}{star}{ro} — harlab" if name else "harlab")

    def _update_actions(self) -> None:
        has = self.session is not None
        h = self.history
        undo, redo = self.qactions["undo"], self.qactions["redo"]
        undo.setEnabled(bool(h and h.can_undo))
        redo.setEnabled(bool(h and h.can_redo))
        undo.setText(f"Undo {h.undo_text}" if h and h.can_undo else "Undo")
        redo.setText(f"Redo {h.redo_text}" if h and h.can_redo else "Redo")
        for name in ("save", "save_as", "close"):
            self.qactions[name].setEnabled(has)
        self.add_track_action.setEnabled(has)
        self.attach_video_action.setEnabled(has)
        has_video = bool(self.session is not None and self.session.videos)
        for name in ("play_pause", "frame_forward", "frame_back") + SYNC_KEYS:
            self.qactions[name].setEnabled(has_video)
        self.detach_video_action.setEnabled(has_video)
        self.auto_sync_action.setEnabled(has_video)
        self.clear_region_action.setEnabled(has_video)
        self.session_panel_action.setEnabled(has)
        self.predict_action.setEnabled(has)
        has_pred = bool(self.session is not None and self.session.prediction_tracks)
        for act in (
            self.accept_many_action,
            self.qactions["accept_prediction"],
            self.rename_prediction_action,
            self.remove_prediction_action,
            self.qactions["next_least_confident"],
        ):
            act.setEnabled(has_pred)
        compared = len(self.annotation.compared) >= 2
        for name in ("next_disagreement", "prev_disagreement"):
            self.qactions[name].setEnabled(has_pred or compared)
        self.qactions["toggle_agreement"].setEnabled(has)

    def _document_event(self, event: Event) -> None:
        if event.kind == "journal_error":
            self.report(f"Crash protection is off: cannot write the edit journal ({event.data.get('error')})")
        self._update_title()
        self._update_actions()

    def _session_event(self, event: Event) -> None:
        if event.kind.startswith("class_") or event.kind == "schema_changed":
            QTimer.singleShot(0, self._rebuild_class_actions)
        if event.kind.startswith("prediction_track_"):
            QTimer.singleShot(0, self._update_actions)
        if event.kind == "metadata_changed":
            self.timeline.refresh_timezone()
        if event.kind in ("video_added", "video_removed"):
            QTimer.singleShot(0, self._update_actions)

    # -- opening and closing ----------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a session or import a file",
            settings.get_str("last_dir", str(Path.cwd())),
            "harlab sessions (*.h5 *.hdf5);;All files (*)",
        )
        if path:
            settings.set_value("last_dir", str(Path(path).parent))
            self.open_path(path)

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a recording", settings.get_str("last_dir", str(Path.cwd())), "All files (*)"
        )
        if path:
            settings.set_value("last_dir", str(Path(path).parent))
            self.import_file(path)

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Import a folder", settings.get_str("last_dir", str(Path.cwd()))
        )
        if folder:
            settings.set_value("last_dir", folder)
            self.import_batch([Path(folder)])

    def open_path(self, path: str | Path) -> bool:
        """Open a session file, or import any other file; False if nothing was opened."""
        p = Path(path)
        if not p.exists():
            self.show_error(f"{p}: no such file")
            return False
        if p.is_file() and is_session_file(p):
            return self.open_session_file(p)
        if p.is_dir():
            return self.import_batch([p])
        return self.import_file(p)

    def open_session_file(self, path: str | Path) -> bool:
        p = Path(path)
        if not self.close_session():
            return False
        try:
            self._probe_without_freezing(p)
            doc = LabelingDocument.open(p)
        except HarlabError as exc:
            self.show_error(str(exc))
            return False
        except OSError as exc:
            self.show_error(f"{p}: {exc}")
            return False
        if doc.read_only_reason:
            self.report(f"Opened read-only: {doc.read_only_reason}")
        if doc.recovery is not None:
            n = doc.recovery.net_edit_count
            if self.ask_recover(p, n):
                try:
                    doc.recover()
                    self.report(f"Recovered {counted(n, 'unsaved edit')}; save to keep them")
                except HarlabError as exc:
                    self.show_error(f"Could not recover the edits: {exc}")
            else:
                doc.discard_recovery()
        self._install(doc)
        settings.add_recent_file(p)
        return True

    def import_file(self, path: str | Path) -> bool:
        p = Path(path)
        if self._import is not None:
            self.report("An import is already running")
            return False
        if not self.close_session():
            return False
        job = import_job(p, self)
        job.progress.connect(self._import_progress)
        job.finished.connect(self._import_done)
        job.failed.connect(self._import_failed)
        job.ended.connect(self._end_import)
        self._import, self._import_path = job, p
        job.start()
        return True

    def import_batch(self, paths: list[Path], out_dir: str | Path | None = None) -> bool:
        """Import folders and files into session files, as ``harlab import PATH... -o OUT`` does.

        Asks where the session files go unless ``out_dir`` is given; shows per-input
        progress with a Cancel button, then the per-file report, and opens the first
        session written.
        """
        if self._import is not None:
            self.report("An import is already running")
            return False
        if out_dir is None:
            start = settings.get_str("import_out_dir", str(Path.cwd()))
            out_dir = QFileDialog.getExistingDirectory(self, "Folder for the imported session files", start)
            if not out_dir:
                return False
            settings.set_value("import_out_dir", out_dir)
        if not self.close_session():
            return False
        job = batch_import_job(paths, Path(out_dir), self)
        job.progress.connect(self._batch_progress)
        job.finished.connect(self._batch_done)
        job.failed.connect(self._import_failed)
        job.ended.connect(self._end_import)
        self._import, self._import_path = job, Path(out_dir)
        job.start()
        return True

    def _batch_progress(self, value: object) -> None:
        index, total, fraction, message = value  # type: ignore[misc]
        if self._import is not None and total:
            self._import.set_progress(
                int(100 * min(1.0, (index + fraction) / total)),
                100,
                f"[{min(index + 1, total)}/{total}] {message}",
            )

    def _batch_done(self, reports: object) -> None:
        from harlab.importers.run import report_lines

        assert isinstance(reports, list)
        out_dir = self._import_path
        cancelled = self._import is not None and self._import.cancel_requested
        lines = report_lines(reports, out_dir) if reports else ["nothing was imported"]
        summary = ("Import cancelled: " if cancelled else "") + lines[-1]
        written = [o for r in reports for o in r.outputs]
        self.last_import_reports = reports
        ok = bool(reports) and all(r.ok for r in reports) and not cancelled
        box = QMessageBox(
            QMessageBox.Icon.Information if ok else QMessageBox.Icon.Warning,
            "harlab import",
            summary,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("import_report")
        box.setDetailedText("\n".join(lines))
        notices = [f"{r.path.name}: {w}" for r in reports for w in r.warnings]
        if notices:  # warnings change what the data means: on the face of the box, not under Details
            box.setInformativeText(_warning_lines(notices))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if written and self.open_session_file(written[0]):
            summary += f"; showing {written[0].name}"
        self.report(summary)
        box.open()
        self.import_finished.emit(ok)

    def _end_import(self) -> None:
        self._import = None

    def _import_progress(self, value: object) -> None:
        fraction, message = value  # type: ignore[misc]
        if self._import is not None:
            self._import.set_progress(
                int(100 * fraction), 100, f"Importing {self._import_path.name}… {message}"
            )

    def _import_done(self, sessions: object) -> None:
        assert isinstance(sessions, list)
        path = self._import_path
        self._install(LabelingDocument.unsaved(sessions[0]))
        extra = f" ({len(sessions)} recordings in the file; showing the first)" if len(sessions) > 1 else ""
        self.report(
            f"Imported {path.name}{extra}; save it as a session to keep labels"
            + (f". {self.hotkey_notice}" if self.hotkey_notice else "")
        )
        from harlab.importers.importer import import_warnings

        notices = list(dict.fromkeys(w for s in sessions for w in import_warnings(s)))
        if notices:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "harlab import",
                f"Imported {path.name} with {counted(len(notices), 'warning')}",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("import_report")
            box.setInformativeText(_warning_lines(notices))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self.import_finished.emit(True)

    def _import_failed(self, message: str) -> None:
        self.show_error(message)
        self.import_finished.emit(False)

    def open_demo(self, folder: str | Path | None = None) -> bool:
        """Simulate a demo session into ``recordings/`` (once) and open it."""
        from harlab.simulate import make_demo_session
        from harlab.storage import save_session

        folder = Path(folder) if folder else Path.cwd() / "recordings"
        path = folder / "demo.h5"
        if not path.exists():
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                session = make_demo_session(duration_min=20, seed=1)
                self._add_demo_predictions(session)
                save_session(session, path)
            except (HarlabError, OSError) as exc:
                self.show_error(f"Could not create the demo: {exc}")
                return False
            finally:
                QApplication.restoreOverrideCursor()
        return self.open_path(path)

    def _add_demo_predictions(self, session: Session) -> None:
        """The shipped demo model's predictions beside the demo's labels (as ``harlab demo``);
        without a usable model the demo still opens, and the status bar says why."""
        from harlab.ml.demo_predictions import add_demo_predictions

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            add_demo_predictions(session)
        if caught:
            self.report(str(caught[-1].message))

    def show_session(self, session: Session, unsaved: bool = True) -> bool:
        """Show an in-memory session (a simulation, a script's result) as an unsaved session."""
        if not self.close_session():
            return False
        doc = LabelingDocument.unsaved(session)
        if not unsaved:
            doc.history.mark_clean()
        self._install(doc)
        return True

    def _install(self, doc: LabelingDocument) -> None:
        self.document = doc
        session = doc.session
        doc.events.connect(self._document_event)
        session.events.connect(self._session_event)
        self.timeline.set_session(session)
        self.annotation.set_session(session)
        self.agreement_dock.set_session(session)
        self.meta_dock.set_session(session, doc.history)
        self.meta_dock.show()
        self._install_table_dock()
        self.video_dock.set_document(session, doc.history, doc.path)
        self.week_dock.set_document(session, doc.history, doc.path)
        if session.videos:
            self.show_video_panel()
        self._rebuild_class_actions()
        self._rebuild_channel_menu()
        self.stack.setCurrentWidget(self.timeline)
        self.timeline.glw.setFocus()
        self._update_title()
        self._update_actions()
        if self.hotkey_notice:
            self.report(self.hotkey_notice, timeout_ms=0)
        self.session_opened.emit()

    def _install_table_dock(self) -> None:
        if self.table_dock is not None:
            self.removeDockWidget(self.table_dock)
            self.table_dock.deleteLater()
        self.table_dock = SegmentTableDock(self.session, self.history, self)
        self.table_dock.setObjectName("segment_table_dock")
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.table_dock)
        self.tabifyDockWidget(self.meta_dock, self.table_dock)
        dock = self.table_dock
        dock.jump_requested.connect(self.timeline.hub.seek)
        dock.segment_selected.connect(self._table_selected)
        dock.edit_failed.connect(self.report)
        dock.set_hidden(self.timeline.hidden_tracks)
        self._table_time_mode()

    def _table_time_mode(self) -> None:
        """The segment table shows times as the timeline does (clock or from the start)."""
        if self.table_dock is not None:
            self.table_dock.set_time_mode(self.timeline.start_local, self.timeline.wall_clock)

    def _table_selected(self, track: str, seg_id: int) -> None:
        if self._syncing_table:
            return
        self._syncing_table = True
        try:
            self.timeline.select({seg_id}, track)
        finally:
            self._syncing_table = False

    def _timeline_selected(self) -> None:
        """Show the segment selected in the timeline in the table too."""
        dock = self.table_dock
        if dock is None or self._syncing_table or len(self.timeline.selected_ids) != 1:
            return
        self._syncing_table = True
        try:
            if self.timeline.active_track:
                dock.set_track(self.timeline.active_track)
            dock.select_segment(next(iter(self.timeline.selected_ids)))
        finally:
            self._syncing_table = False

    def close_session(self) -> bool:
        """Close the open session, asking about unsaved changes; False if the user cancels."""
        if self.document is None:
            return True
        self.meta_dock.flush()
        discard = False
        if self.dirty:
            answer = self.ask_unsaved()
            if answer == "cancel":
                return False
            if answer == "save" and not self.save():
                return False
            discard = answer == "discard"
        self._teardown(discard)
        return True

    def _teardown(self, discard: bool = False) -> None:
        doc, self.document = self.document, None
        if doc is not None:
            doc.events.disconnect(self._document_event)
            doc.session.events.disconnect(self._session_event)
        self.actions.hotkeys.cancel()
        self.video_dock.set_document(None, None, None)
        self.video_dock.hide()
        self.week_dock.set_document(None, None, None)
        self.week_dock.hide()
        self.annotation.set_session(None)
        self.agreement_dock.set_session(None)
        self.agreement_dock.hide()
        self.timeline.clear()
        if self.table_dock is not None:
            self.removeDockWidget(self.table_dock)
            self.table_dock.deleteLater()
            self.table_dock = None
        for d in [d for d in self._dialogs if d.objectName() == "calibrate_dialog"]:
            d.close()  # its run reads the session being closed: stopped first
        if doc is not None:
            doc.close(discard=discard)
        self.meta_dock.set_session(None, None)
        self.meta_dock.hide()
        self._rebuild_class_actions()
        self.channels_menu.clear()
        self.start_screen.set_recent(settings.recent_files())
        self.start_screen.check_recoveries(self._recordings_folder())
        self.stack.setCurrentWidget(self.start_screen)
        self._update_title()
        self._update_actions()

    # -- prompts (methods so tests drive the real dialogs) -------------------------------
    def ask_unsaved(self) -> str:
        """ "save", "discard" or "cancel" for a session with unsaved changes."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"{self.path.name if self.path else 'The imported session'} has unsaved changes.",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("unsaved_prompt")
        box.setInformativeText("Save them before closing?")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        box.deleteLater()
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
            QMessageBox.StandardButton(answer), "cancel"
        )

    def ask_recover(self, path: Path, n_edits: int) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Recover unsaved edits",
            f"{path.name} has {counted(n_edits, 'label edit')} that were not saved (harlab did not close normally).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setObjectName("recover_prompt")
        box.setInformativeText("Recover them? (No deletes them.)")
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        answer = box.exec()
        box.deleteLater()
        return QMessageBox.StandardButton(answer) == QMessageBox.StandardButton.Yes

    def _probe_without_freezing(self, path: Path) -> None:
        """Make the child-process metadata probe of a file harlab did not write (about a second,
        up to its time limit on a file that makes HDF5 loop) on a thread while the window keeps
        painting; user input waits, so nothing can start while the file is half opened."""
        import threading

        from harlab.storage import has_unrecovered_journal
        from harlab.storage.probe import is_trusted, prestart, probe_metadata

        if is_trusted(path) or has_unrecovered_journal(path):
            return  # recovery rewrites the file from the journal before it is read
        failure: list[BaseException] = []

        def run() -> None:
            try:
                probe_metadata(path)
            except BaseException as exc:  # noqa: BLE001 - raised again on the GUI thread
                failure.append(exc)

        thread = threading.Thread(target=run, name=f"probe {path.name}", daemon=True)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            thread.start()
            while thread.is_alive():
                QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
                thread.join(0.02)
        finally:
            QApplication.restoreOverrideCursor()
            prestart()  # a child for the next file from elsewhere (each child probes one file)
        if failure:
            raise failure[0]

    def show_error(self, message: str) -> None:
        self.report(message)
        box = QMessageBox(QMessageBox.Icon.Critical, "harlab", message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("error_box")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- saving ------------------------------------------------------------------------
    def _drain_fetches(self) -> None:
        """Let envelope reads of the current file finish before the file is replaced."""
        for _ in range(2000):
            if self.timeline.is_idle():
                return
            QApplication.processEvents()

    def save(self) -> bool:
        if self.document is None:
            return False
        self.meta_dock.flush()
        if self.document.needs_path:
            return self.save_as()
        self._drain_fetches()
        try:
            self.document.save()
        except (HarlabError, OSError) as exc:
            self.show_error(f"Could not save: {exc}")
            return False
        self._saved()
        return True

    def save_as(self, path: str | Path | None = None) -> bool:
        if self.document is None:
            return False
        self.meta_dock.flush()
        if path is None:
            start = (
                str(self.path)
                if self.path
                else str(Path(settings.get_str("last_dir", str(Path.cwd()))) / "session.h5")
            )
            chosen, _ = QFileDialog.getSaveFileName(self, "Save session as", start, "harlab sessions (*.h5)")
            if not chosen:
                return False
            path = chosen
        self._drain_fetches()
        try:
            p = self.document.save_as(path)
        except (HarlabError, OSError) as exc:
            self.show_error(f"Could not save: {exc}")
            return False
        settings.add_recent_file(p)
        self.video_dock.set_session_path(p)
        self.week_dock.set_path(p)
        self._saved()
        return True

    def _saved(self) -> None:
        self.report(f"Saved {self.path}")
        self._update_title()
        self._update_actions()

    # -- view ----------------------------------------------------------------------------
    def set_dark(self, dark: bool) -> None:
        self.dark = dark
        app = QApplication.instance()
        if app is not None:
            apply_palette(app, dark)
        self.timeline.set_colors(plot_colors(dark))
        self.week_dock.view.set_colors(plot_colors(dark).background, plot_colors(dark).foreground)
        settings.set_value("dark", dark)
        if self.dark_action.isChecked() != dark:
            self.dark_action.setChecked(dark)

    def toggle_time_mode(self) -> None:
        on = not self.timeline.wall_clock
        self.timeline.set_wall_clock(on)
        self.qactions["toggle_time_mode"].setChecked(self.timeline.wall_clock)
        settings.set_value("wall_clock", on)

    def toggle_auto_y(self) -> None:
        on = not self.timeline.stream_plots[0].auto_y if self.timeline.stream_plots else True
        self.timeline.set_auto_y(on)
        self.qactions["autoscale_y"].setChecked(on)
        self.report("Automatic y-scale" if on else "Fixed y-scale (drag or wheel over an axis to change it)")

    def toggle_magnitude(self) -> None:
        for sp in self.timeline.stream_plots:
            if sp.has_magnitude:
                sp.set_channel_visible(len(sp.shown) - 1, not sp.shown[-1])
        self._rebuild_channel_menu()

    def _set_shades(self, on: bool) -> None:
        for shade in self.timeline.shades:
            shade.setVisible(on)

    def toggle_week_view(self) -> None:
        if self.document is None:
            self.report("Open a session to see its week")
            return
        if self.week_dock.isVisible():
            self.week_dock.hide()
        elif self.annotation.blind:  # the week is drawn from the model's predictions
            self.report("Label blind is on: the week view shows the model's predictions, so it stays hidden")
        else:
            self.week_dock.show()
            self.week_dock.raise_()

    def show_time(self, t: float) -> None:
        """Put ``t`` (session seconds) in the middle of the timeline, an hour wide at most: the
        week view's click lands on that moment, not a whole week of traces."""
        t0, t1 = self.timeline.hub.range
        width = min(t1 - t0, 3600.0)
        self.timeline.set_range(t - width / 2, t + width / 2)
        self.timeline.hub.set_cursor(t)

    def toggle_segment_table(self) -> None:
        if self.table_dock is None:
            self.report("Open a session to see its segment table")
            return
        dock = self.table_dock
        # a dock tabbed behind the Session panel is "visible" to Qt but not on screen:
        # the key then brings it to the front rather than hiding it
        if dock.isVisible() and not dock.visibleRegion().isEmpty():
            dock.hide()
        else:
            dock.show()
            dock.raise_()

    def show_video_panel(self) -> None:
        self.video_dock.show()
        self.video_dock.raise_()
        QTimer.singleShot(0, self._size_video_dock)  # once the dock is laid out

    def _size_video_dock(self) -> None:
        """The picture gets most of the right column's height; the session panel keeps a third."""
        if self.video_dock.isVisible():
            self.resizeDocks([self.video_dock], [max(480, self.width() // 3)], Qt.Orientation.Horizontal)
            self.resizeDocks([self.video_dock], [int(self.height() * 0.62)], Qt.Orientation.Vertical)

    def show_session_panel(self) -> None:
        if self.session is not None:
            self.meta_dock.show()
            self.meta_dock.raise_()

    def edit_segment(self) -> None:
        if self.table_dock is not None:
            self.table_dock.setVisible(True)
            self.table_dock.raise_()
        else:
            self.actions.change_class()

    def edit_schema(self) -> None:
        if self.session is None:
            return
        dialog = SchemaEditorDialog(self.session, self.history, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: (self._rebuild_class_actions(), self.timeline.refresh_labels()))
        dialog.open()

    def show_help(self) -> None:
        dialog = HelpDialog(self.session.schema if self.session else None, self)
        dialog.setObjectName("help_dialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- tracks, models, recording ------------------------------------------------------------
    def add_label_track(
        self, name: str | None = None, policy: str | None = None, annotator: str | None = None
    ) -> bool:
        """Add a label track made by ``annotator`` (default: the one set here) as one undoable
        edit; without a name a dialog asks."""
        if self.session is None or self.history is None:
            return False
        annotator = current_annotator() if annotator is None else annotator
        if name is None:
            dialog = AddTrackDialog(list(self.session.label_tracks), self, annotator=current_annotator())
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            name, policy = dialog.values()
            annotator = dialog.annotator_name()
        try:
            self.history.push(AddLabelTrack(name, policy or "exclusive", annotator))
        except HarlabError as exc:
            self.report(f"Not done: {exc}")
            return False
        self.report(f"Added label track {name} ({policy or 'exclusive'})")
        QTimer.singleShot(0, lambda: self.timeline.set_active_track(name))
        return True

    def _set_heatmap(self, on: bool) -> None:
        self.timeline.set_heatmap_visible(on)
        settings.set_value("heatmap", on)

    def _update_model_actions(self) -> None:
        self.explore_action.setEnabled(self.session is not None)
        self.calibrate_action.setEnabled(self.session is not None)

    def _session_paths(self) -> list[str]:
        paths = [str(self.path)] if self.path is not None else []
        paths += [
            p
            for p in settings.recent_files()
            if p not in paths and Path(p).suffix.lower() in SESSION_SUFFIXES
        ]
        return paths

    def explore(self) -> QWidget | None:
        """The PCA scatter of the open session's labelled windows; a click shows the window."""
        if self.session is None:
            return None
        from harlab.gui.ml.explore_dialog import ExploreDialog

        dlg = ExploreDialog(self.session, self)
        dlg.setObjectName("explore_dialog")
        dlg.jump_requested.connect(lambda t0, t1: self.timeline.set_range(t0 - (t1 - t0), t1 + (t1 - t0)))
        self._dialogs.append(dlg)
        dlg.finished.connect(lambda _r, d=dlg: self._dialogs.remove(d) if d in self._dialogs else None)
        dlg.show()
        return dlg

    def calibrate(self, model_path: str = "") -> QWidget | None:
        """The calibrate dialog on the open session; its before/after predictions join the
        session as two prediction tracks (undoable edits)."""
        if self.session is None:
            self.report("Open the participant's calibration recording first")
            return None
        from harlab.gui.ml.calibrate_dialog import CalibrateDialog

        dlg = CalibrateDialog(self, self.session, self.path, model_path)
        dlg.calibrated.connect(
            lambda outcome, d=dlg: self._calibrated(outcome) if d.session is self.session else None
        )
        self._dialogs.append(dlg)
        dlg.finished.connect(lambda _r, d=dlg: self._dialogs.remove(d) if d in self._dialogs else None)
        dlg.show()
        return dlg

    def _calibrated(self, outcome) -> None:  # noqa: ANN001 - a CalibrationOutcome
        if self.session is not None and all(
            self.predictions.add_track(t) for t in (outcome.before, outcome.after)
        ):
            self.report(
                f"Personal model saved to {outcome.personal_path}; before and after are on the timeline"
            )

    def _calibrate_recording(self, path: str, model_path: str) -> None:
        """A calibration protocol ended: open its recording and calibrate its model to it."""
        prompt = self.findChild(QMessageBox, "open_recording_prompt")
        if prompt is not None:
            prompt.close()  # the offer to open the recording: answered
        self._open_recording(path)
        if self.path is not None and Path(self.path) == Path(path):
            self.calibrate(model_path)

    def _recordings_folder(self) -> Path:
        return self.recordings_dir or Path(settings.get_str("recordings_dir", str(Path.cwd() / "recordings")))

    def refresh_start_screen(self) -> None:
        """Recent files and interrupted recordings, read again (after the folder changed)."""
        self.start_screen.set_recent(settings.recent_files())
        self.start_screen.check_recoveries(self._recordings_folder())

    def record(self, **panel_kwargs) -> QWidget | None:
        """Open the Record window (one at a time); a finished recording is offered for opening."""
        if self.record_window is not None:
            self.record_window.raise_()
            self.record_window.activateWindow()
            return self.record_window
        from harlab.gui.record import open_record_window

        folder = self._recordings_folder()
        win = open_record_window(self, folder, **{**self.record_kwargs, **panel_kwargs})
        win.setObjectName("record_window")
        win.recording_finished.connect(self._recording_finished)
        win.open_requested.connect(self._open_recording)
        win.calibrate_requested.connect(self._calibrate_recording)
        win.destroyed.connect(self._record_window_gone)
        self.record_window = win
        return win

    def _record_window_gone(self, *args: object) -> None:
        self.record_window = None

    def _recording_finished(self, path: str) -> None:
        self.report(f"Recorded {path}")
        self.ask_open_recording(path)

    def ask_open_recording(self, path: str) -> QMessageBox:
        """A non-modal offer to open a finished recording (recording may go on meanwhile)."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Recording saved",
            f"The recording was saved to {path}.",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("open_recording_prompt")
        box.setInformativeText("Open it in the workbench to label it?")
        open_button = box.addButton("Open", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(open_button)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: self._open_recording(path) if b is open_button else None)
        box.open()
        return box

    def _open_recording(self, path: str) -> None:
        self.raise_()
        self.activateWindow()
        self.open_path(path)

    def import_labels(self, path: str | Path | None = None) -> QDialog | None:
        """Label tracks from an ELAN, Audacity, CSV or Label Studio file onto the open session
        (one undoable edit, :mod:`harlab.gui.labeling.label_import_dialog`)."""
        from harlab.gui.labeling.label_import_dialog import LABEL_FILTER, open_label_import  # pandas: on use

        if self.session is None or self.history is None:
            self.report("Open a session before importing labels into it")
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import labels", settings.get_str("last_dir", str(Path.cwd())), LABEL_FILTER
            )
            if not path:
                return None
        return open_label_import(
            self,
            self.session,
            path,
            settings.get_str("annotator", ""),
            lambda cmd: push_reported(self.history, cmd, self.report),
            self.report,
        )

    # -- drag and drop, closing -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        from harlab.labelfiles import is_label_file

        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        videos = [f for f in files if is_video_file(Path(f))]
        labels = [f for f in files if is_label_file(Path(f))]
        if labels and self.session is not None:  # label files dropped on an open session are imported into it
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.import_labels(labels[0]))
            return
        if videos and self.session is not None:  # videos dropped on an open session are attached to it
            event.acceptProposedAction()
            for f in videos:
                self.video_dock.attach(f)
            return
        if files:
            event.acceptProposedAction()
            if len(files) > 1 and not any(is_session_file(Path(f)) for f in files):
                # several files: the command line's batch (companions joined, one report)
                QTimer.singleShot(0, lambda: self.import_batch([Path(f) for f in files]))
            else:
                QTimer.singleShot(0, lambda: self.open_path(files[0]))

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.close_session():
            event.ignore()
            return
        s = settings.settings()
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window_state", self.saveState())
        s.sync()
        self.predictions.shutdown()
        self.agreement_dock.shutdown()
        self.video_dock.shutdown()
        self.timeline.shutdown()
        if self._import is not None:
            self._import.stop()  # a batch stops at its next step instead of outliving the window
        event.accept()


#: Warnings listed on an import report's face; the rest are counted (all are under Details).
SHOWN_WARNINGS = 6


def _warning_lines(notices: list[str]) -> str:
    """The first :data:`SHOWN_WARNINGS` import warnings, one per line, and how many more there are."""
    shown = notices[:SHOWN_WARNINGS]
    more = len(notices) - len(shown)
    return "\n".join(shown + ([f"…and {counted(more, 'more warning')} under Show Details"] if more else []))
