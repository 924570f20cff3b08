"""Models > Train…: train an activity model from session files, watch it learn, keep the result.

The dialog gathers what ``harlab train`` takes on the command line (sessions grouped by
participant, the label track, classes to keep / merge / ignore, window settings,
preset, epochs and seed), trains on a worker thread with live loss and accuracy
curves, can be cancelled at any batch, and shows the result on the participants held
out for early stopping: accuracy, macro-F1 and the confusion matrix. "Save model as…"
writes the model file and emits :attr:`TrainDialog.model_trained` with its path, which
the main window uses to offer the model for predictions.

Merging and ignoring change the training data itself: segments are renamed or dropped
in a copy of each session's label track before windows are cut (see
:mod:`harlab.gui.ml.relabel`), so a merged class is one class of the saved model.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from harlab.core.classnames import class_key, spelling_map
from harlab.core.errors import HarlabError
from harlab.core.session import Session
from harlab.core.window_defaults import DEFAULT_WINDOW_S, default_stride
from harlab.core.wording import counted
from harlab.gui.background_job import BackgroundJob
from harlab.gui.ml.class_table import ClassTable, fmt_duration
from harlab.gui.ml.job import default_model_path
from harlab.gui.ml.relabel import SourceSummary, summarise, summarise_file
from harlab.ml.class_rules import class_mapping, output_classes, relabeled_view
from harlab.ml.model_archive import MODEL_SUFFIX
from harlab.ml.model_presets import (
    AUGMENT_MODES,
    DEFAULT_GBM_NEIGHBOURS,
    MAX_GBM_NEIGHBOURS,
    PRESET_TABLE,
    preset,
)
from harlab.mlops.training_pipeline import TrainRequest, TrainResult

_MOTION_KINDS = ("accelerometer", "gyroscope", "magnetometer", "gravity", "linear_acceleration")
_ROLE_SOURCE = Qt.ItemDataRole.UserRole


class TrainDialog(QDialog):
    """Train a model; ``model_trained(path)`` after "Save model as…" wrote it."""

    model_trained = Signal(str)
    #: emitted on the GUI thread when a run ends (for the main window and tests)
    training_finished = Signal(object)
    training_cancelled = Signal()
    training_failed = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        session_paths: list[str] | None = None,
        current_session: Session | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train an activity model")
        self.setModal(False)
        self.resize(1240, 820)
        self._sources: list[tuple[str | Session, SourceSummary]] = []
        self._job: BackgroundJob | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="harlab-train-")
        self.result: TrainResult | None = None
        self.saved_path: Path | None = None
        self.confusion_png = ""  #: the worker's PNG of the matrix (the same numbers as the table)
        self._outcome, self._outcome_error = "", False  #: the last outcome shown in the status line
        self._blocker = ""
        self._build()
        if current_session is not None:
            self.add_session(current_session)
        self.add_sessions(session_paths or [])
        self._update_state()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(split, 1)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 6, 0)
        # sessions
        box = QGroupBox("Sessions, by participant")
        bl = QVBoxLayout(box)
        self.sources_tree = QTreeWidget()
        self.sources_tree.setHeaderLabels(["Participant / session", "Labelled", "Where"])
        self.sources_tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.sources_tree.setRootIsDecorated(True)
        self.sources_tree.setMinimumHeight(120)
        self.sources_tree.setColumnWidth(0, 210)
        bl.addWidget(self.sources_tree)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add sessions…")
        self.add_button.clicked.connect(self._ask_add)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.track_combo = QComboBox()
        self.track_combo.currentTextChanged.connect(lambda _: self._rebuild_classes())
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        row.addWidget(QLabel("Label track:"))
        row.addWidget(self.track_combo)
        bl.addLayout(row)
        lv.addWidget(box, 3)
        # classes
        cbox = QGroupBox("Classes: keep, ignore, or merge into another name")
        cl = QVBoxLayout(cbox)
        self.class_table = ClassTable()
        self.class_table.rules_changed.connect(self._update_state)
        cl.addWidget(self.class_table)
        self.classes_note = QLabel()
        self.classes_note.setWordWrap(True)
        cl.addWidget(self.classes_note)
        lv.addWidget(cbox, 4)
        # windows and model side by side
        row2 = QHBoxLayout()
        wbox = QGroupBox("Windows")
        wf = QFormLayout(wbox)
        self.window_spin = self._spin(0.25, 60.0, DEFAULT_WINDOW_S, " s", 2)
        self.stride_spin = self._spin(0.05, 60.0, default_stride(DEFAULT_WINDOW_S), " s", 2)
        self.rate_spin = self._spin(0.0, 2000.0, 0.0, " Hz", 1)
        self.rate_spin.setSpecialValueText("source rate")
        self.rate_spin.setToolTip(
            "resample every stream to this rate (anti-aliased); 'source rate' keeps the streams' common rate"
        )
        self.policy_combo = QComboBox()
        self.policy_combo.addItems(["majority", "centre", "pure"])
        self.policy_combo.setToolTip(
            "label of a window: the class covering most of it, the one at its centre, "
            "or only windows entirely inside one class"
        )
        self.channel_list = QListWidget()
        self.channel_list.setMaximumHeight(90)
        self.channel_list.itemChanged.connect(lambda _: self._update_state())
        wf.addRow("Length", self.window_spin)
        wf.addRow("Stride", self.stride_spin)
        wf.addRow("Rate", self.rate_spin)
        wf.addRow("Label", self.policy_combo)
        wf.addRow("Streams", self.channel_list)
        row2.addWidget(wbox, 1)
        mbox = QGroupBox("Model")
        mf = QFormLayout(mbox)
        self.preset_combo = QComboBox()
        for spec in PRESET_TABLE:
            self.preset_combo.addItem(spec.name)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.currentTextChanged.connect(lambda _: self._update_state())
        self.preset_help = QLabel()
        self.preset_help.setWordWrap(True)
        self.preset_help.setStyleSheet("color: #555;")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setValue(40)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.augment_combo = QComboBox()
        self.augment_combo.addItems([m for m in AUGMENT_MODES if m != "none"] + ["none"])  # "off" last
        self.augment_combo.setToolTip(
            "network training: jitter = small random rotations and scaling; flip = also "
            "turn half the windows 180 degrees about z (watches worn either way round); "
            "warp = jitter, and half the windows played 0.8-1.25 times as fast "
            "(activities done at one's own pace: eating, brushing, folding)"
        )
        self.context_check = QCheckBox("Compare each window with its recording")
        self.context_check.setChecked(True)
        self.context_check.setToolTip(
            "the models also see each window's tilt from its recording's upright and its "
            "motion against the recording's walking and median (tells sitting from "
            "standing whoever wears the device), and LightGBM each window's features "
            "against the recording's median window (how this person usually moves "
            "and holds the device); uses no labels"
        )
        self.orientation_check = QCheckBox("Map recordings to one wearing orientation")
        self.orientation_check.setChecked(True)
        self.orientation_check.setToolTip(
            "a watch turned round or worn on the other wrist is mapped into the "
            "orientation most training recordings share, judged from each "
            "recording's upright while walking; uses no labels"
        )
        self.refit_check = QCheckBox("Train again on everyone after early stopping")
        self.refit_check.setChecked(True)
        self.refit_check.setToolTip(
            "once the held-out participants have chosen when to stop, the models are "
            "trained again with them included (better across people, twice the time); "
            "the validation scores shown come from the first run"
        )
        self.neighbours_spin = QSpinBox()
        self.neighbours_spin.setRange(0, MAX_GBM_NEIGHBOURS)
        self.neighbours_spin.setValue(DEFAULT_GBM_NEIGHBOURS)
        self.neighbours_spin.setSpecialValueText("none")
        self.neighbours_spin.setSuffix(" each side")
        self.neighbours_spin.setToolTip(
            "LightGBM also sees the mean features of this many windows before and after each "
            "window in its recording: people keep at an activity for a while, so the windows "
            "around an ambiguous one tell what it is; uses no labels"
        )
        mf.addRow("Preset", self.preset_combo)
        mf.addRow(self.preset_help)
        mf.addRow("Epochs", self.epochs_spin)
        mf.addRow("Augment", self.augment_combo)
        mf.addRow("Seed", self.seed_spin)
        mf.addRow(self.context_check)
        mf.addRow(self.orientation_check)
        mf.addRow(self.refit_check)
        mf.addRow("Windows beside", self.neighbours_spin)
        row2.addWidget(mbox, 1)
        lv.addLayout(row2, 3)
        split.addWidget(left)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(6, 0, 0, 0)
        from harlab.gui.ml.curves import TrainingCurves

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rv.addWidget(self.status_label)
        self._status_kind = "state"  #: "state" (what Train would do or why it cannot) or "outcome" (of a run)
        # curves above, the result below, the border between them movable
        vsplit = QSplitter(Qt.Orientation.Vertical)
        rv.addWidget(vsplit, 1)
        top = QWidget()
        tv = QVBoxLayout(top)
        tv.setContentsMargins(0, 0, 0, 0)
        self.curves = TrainingCurves()
        tv.addWidget(self.curves, 1)
        # no empty axes before a run: they would only show made-up scales
        self.curves_placeholder = QLabel("Loss and accuracy curves appear here while a model trains.")
        self.curves_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.curves_placeholder.setStyleSheet("color: #777; border: 1px dashed #bbb;")
        tv.addWidget(self.curves_placeholder, 1)
        vsplit.addWidget(top)
        self.result_box = QGroupBox("Result on the validation windows")
        rl = QVBoxLayout(self.result_box)
        self.result_label = QLabel("No model yet.")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.result_label)
        from harlab.gui.ml.confusion_view import ConfusionView

        self.confusion_view = ConfusionView()
        self.confusion_view.clicked_to_enlarge.connect(self.show_confusion_dialog)
        self.confusion_view.setVisible(False)
        rl.addWidget(self.confusion_view, 1)
        vsplit.addWidget(self.result_box)
        vsplit.setSizes([420, 380])
        split.addWidget(right)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 6)
        split.setSizes([560, 680])

        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self.cancel_training)
        self.save_button = QPushButton("Save model as…")
        self.save_button.clicked.connect(lambda: self.save_model())
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        outer.addLayout(buttons)

    @staticmethod
    def _spin(lo: float, hi: float, value: float, suffix: str, decimals: int) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setDecimals(decimals)
        s.setValue(value)
        s.setSuffix(suffix)
        return s

    # -- sessions ------------------------------------------------------------------------------
    def _ask_add(self) -> None:
        start = ""
        for src, _ in self._sources:
            if isinstance(src, str):
                start = str(Path(src).parent)
                break
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Sessions to train on", start, "harlab sessions (*.h5);;All files (*)"
        )
        self.add_sessions(paths)

    def add_sessions(self, paths: list[str] | list[Path]) -> list[str]:
        """Add session files (duplicates skipped); returns the error messages of files that failed."""
        errors = []
        have = {str(Path(s).resolve()) for s, _ in self._sources if isinstance(s, str)}
        open_ids = {sm.session_id for src, sm in self._sources if isinstance(src, Session) and sm.session_id}
        for p in paths:
            key = str(Path(p).resolve())
            if key in have:
                continue
            try:
                summary = summarise_file(p)
            except (HarlabError, OSError) as exc:
                errors.append(str(exc))
                continue
            if summary.session_id and summary.session_id in open_ids:
                continue  # the open session (maybe with unsaved labels) stands for this file
            self._sources.append((str(p), summary))
            have.add(key)
        self._refresh_sources()
        if errors:
            self._set_status("Could not add: " + "; ".join(errors), error=True)
        return errors

    def add_session(self, session: Session, name: str = "open session") -> None:
        """Add an in-memory session (the workbench's open one, unsaved labels included)."""
        self._sources.append((session, summarise(session, name)))
        self._refresh_sources()

    def remove_selected(self) -> None:
        chosen: set[int] = set()
        for item in self.sources_tree.selectedItems():
            idx = item.data(0, _ROLE_SOURCE)
            if idx is not None:
                chosen.add(int(idx))
            else:  # a participant: all of its sessions
                for k in range(item.childCount()):
                    chosen.add(int(item.child(k).data(0, _ROLE_SOURCE)))
        self._sources = [s for i, s in enumerate(self._sources) if i not in chosen]
        self._refresh_sources()

    @property
    def source_labels(self) -> list[str]:
        return [sm.label for _, sm in self._sources]

    def participants(self) -> dict[str, list[str]]:
        """Participant -> labels of their sessions, as grouped in the list."""
        out: dict[str, list[str]] = {}
        for _, sm in self._sources:
            out.setdefault(sm.participant or "(unknown participant)", []).append(sm.label)
        return out

    def _refresh_sources(self) -> None:
        track = self.track_combo.currentText()
        tracks: list[str] = []
        for _, sm in self._sources:
            tracks += [t for t in sm.tracks if t not in tracks]
        self.track_combo.blockSignals(True)
        self.track_combo.clear()
        self.track_combo.addItems(tracks)
        pick = (
            track
            if track in tracks
            else ("activity" if "activity" in tracks else (tracks[0] if tracks else ""))
        )
        self.track_combo.setCurrentText(pick)
        self.track_combo.blockSignals(False)
        self._fill_tree()
        self._fill_channels()
        self._rebuild_classes()

    def _fill_tree(self) -> None:
        track = self.track_combo.currentText()
        self.sources_tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for i, (src, sm) in enumerate(self._sources):
            who = sm.participant or "(unknown participant)"
            top = groups.get(who)
            if top is None:
                top = QTreeWidgetItem([who, "", ""])
                top.setFirstColumnSpanned(False)
                f = top.font(0)
                f.setBold(True)
                top.setFont(0, f)
                groups[who] = top
                self.sources_tree.addTopLevelItem(top)
            secs = sum(sm.tracks.get(track, {}).values())
            name = Path(sm.label).name if isinstance(src, str) else sm.label
            where = str(Path(sm.label).parent) if isinstance(src, str) else "in the workbench"
            child = QTreeWidgetItem([name, fmt_duration(secs), where])
            child.setToolTip(0, sm.label)
            child.setData(0, _ROLE_SOURCE, i)
            top.addChild(child)
        for who, top in groups.items():
            n = top.childCount()
            total = sum(
                sum(self._sources[int(top.child(k).data(0, _ROLE_SOURCE))][1].tracks.get(track, {}).values())
                for k in range(n)
            )
            top.setText(0, f"{who}  ({n} session{'s' if n != 1 else ''})")
            top.setText(1, fmt_duration(total))
            top.setExpanded(True)

    def _fill_channels(self) -> None:
        checked = {
            self.channel_list.item(i).text(): self.channel_list.item(i).checkState()
            for i in range(self.channel_list.count())
        }
        streams: dict[str, tuple[str, float | None]] = {}
        for _, sm in self._sources:
            for name, (kind, rate) in sm.streams.items():
                if rate and name not in streams:
                    streams[name] = (kind, rate)
        motion = [n for n, (k, r) in streams.items() if k in _MOTION_KINDS]
        default = set(motion) if motion else {n for n, (_, r) in streams.items() if r and r >= 10}
        self.channel_list.blockSignals(True)
        self.channel_list.clear()
        for name, (kind, rate) in streams.items():
            item = QListWidgetItem(f"{name}")
            item.setToolTip(f"{kind or 'stream'} at {rate:g} Hz")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            state = checked.get(name, Qt.CheckState.Checked if name in default else Qt.CheckState.Unchecked)
            item.setCheckState(state)
            self.channel_list.addItem(item)
        self.channel_list.blockSignals(False)
        rates = {r for n, (_, r) in streams.items() if n in self.channels()}
        if len(rates) > 1 and self.rate_spin.value() == 0:
            self.rate_spin.setValue(min(r for r in rates if r))

    def channels(self) -> list[str]:
        return [
            self.channel_list.item(i).text()
            for i in range(self.channel_list.count())
            if self.channel_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_channels(self, names: list[str]) -> None:
        for i in range(self.channel_list.count()):
            it = self.channel_list.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.text() in names else Qt.CheckState.Unchecked)

    def _rebuild_classes(self) -> None:
        track = self.track_combo.currentText()
        # one row per class however the sources spell it (Walking, WALKING), named as the first schema does
        spelling = spelling_map(c for _, sm in self._sources for c in sm.class_order)
        seconds: dict[str, float] = {}
        for _, sm in self._sources:
            for c, s in sm.tracks.get(track, {}).items():
                name = spelling.setdefault(class_key(c), c)
                seconds[name] = seconds.get(name, 0.0) + s
        ordered = [c for c in spelling.values() if c in seconds]
        self.class_table.set_classes({c: seconds[c] for c in ordered})
        self._fill_tree()
        self._update_state()

    # -- state ---------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        return self._job is not None

    def _update_state(self) -> None:
        spec = preset(self.preset_combo.currentText())
        self.preset_help.setText(spec.description)
        if not self.training and self.result is None:
            self.curves.show_for(spec.name)
        for widget, option in (
            (self.epochs_spin, "epochs"),
            (self.augment_combo, "augment"),
            (self.context_check, "context"),
            (self.orientation_check, "orientation"),
            (self.refit_check, "refit"),
            (self.neighbours_spin, "neighbours"),
        ):
            widget.setEnabled(spec.supports(option) and not self.training)
        if not self.class_table.class_names:
            note, ok = "Add sessions with a label track to see its classes here.", False
        else:
            note, ok = self._classes_note()
        self.classes_note.setText(note)
        self._blocker = self._why_not_ready(note if not ok else "")
        ready = not self._blocker and not self.training
        self.train_button.setEnabled(ready)
        self.curves.setVisible(self.training or self.result is not None or bool(self.curves.stages()))
        self.curves_placeholder.setVisible(not self.curves.isVisibleTo(self))
        self.cancel_button.setEnabled(self.training)
        self.save_button.setEnabled(self.result is not None and not self.training)
        for w in (
            self.add_button,
            self.remove_button,
            self.track_combo,
            self.class_table,
            self.window_spin,
            self.stride_spin,
            self.rate_spin,
            self.policy_combo,
            self.channel_list,
            self.preset_combo,
            self.seed_spin,
        ):
            w.setEnabled(not self.training)
        self._render_status()

    def _why_not_ready(self, classes_problem: str) -> str:
        """Why Train is disabled ("" when it is not): the status line says exactly this."""
        if not self._sources:
            return "Add labelled sessions (one participant is enough), then Train."
        if not self.class_table.class_names:
            return f"The sessions have no labelled time in track {self.track_combo.currentText()!r}."
        if classes_problem:
            return f"Cannot train yet: {classes_problem}"
        if not self.channels():
            return "Cannot train yet: choose at least one stream."
        return ""

    def ready_text(self) -> str:
        """What Train will do now, including how it will validate (see choose_validation)."""
        who = [sm.participant for _, sm in self._sources]
        known = sorted({p for p in who if p})
        if len(known) >= 2 and all(who):
            split = (
                f"held-out participants of {len(known)} (time blocks of each recording if they have "
                "classes the others lack)"
            )
        else:
            split = (
                "time blocks of each recording (one participant"
                if len(known) == 1
                else "time blocks of each recording (no participants recorded"
            ) + ": other minutes of the same people)"
        try:
            n = len(output_classes(class_mapping(self.class_table.rules()), self.class_table.class_names))
        except HarlabError:
            n = 0
        return (
            f"Ready: Train learns {n} classes from {counted(len(self._sources), 'session')} with "
            f"{self.preset_combo.currentText()}; validation on {split}."
        )

    def _render_status(self) -> None:
        """While training: the run's progress. Otherwise the last outcome (a run's end, a failed
        add or save) followed by why Train is disabled, or else what Train would do."""
        if self.training:
            text, error = self._outcome, self._outcome_error
        elif self._blocker:
            text = (self._outcome + "\n" if self._outcome else "") + self._blocker
            error = self._outcome_error
        else:
            text, error = self._outcome or self.ready_text(), self._outcome_error
        self.status_label.setStyleSheet("color: #b00020;" if error else "")
        self.status_label.setText(text)

    def _classes_note(self) -> tuple[str, bool]:
        """What the class rules amount to, and whether they leave enough to train."""
        try:
            mapping = class_mapping(self.class_table.rules())
            out = output_classes(mapping, self.class_table.class_names)
        except HarlabError as exc:
            return str(exc), False
        note = f"{self.class_table.summary()}: the model will learn {len(out)} classes"
        if out:
            note += f" ({', '.join(out)})"
        return note, len(out) >= 2

    # -- training ------------------------------------------------------------------------------
    def build_request(self) -> TrainRequest:
        """What Train will run, from the widgets (raises HarlabError when something is missing)."""
        from harlab.ml.training import TrainConfig

        if not self._sources:
            raise HarlabError("add at least one session")
        track = self.track_combo.currentText()
        if not track:
            raise HarlabError("the sessions have no label track")
        mapping = class_mapping(self.class_table.rules())
        learn = output_classes(mapping, self.class_table.class_names)
        if len(learn) < 2:
            raise HarlabError(f"training needs at least two classes; the class rules leave {learn or 'none'}")
        chans = self.channels()
        if not chans:
            raise HarlabError("choose at least one stream")
        sources: list[str | Path | Session] = []
        names: list[str] = []
        for src, sm in self._sources:
            # the open session is relabelled now, on the GUI thread: later edits cannot race the run
            sources.append(relabeled_view(src, track, mapping) if isinstance(src, Session) else src)
            stem = Path(sm.label).stem if isinstance(src, str) else sm.label
            names.append(stem if stem not in names else f"{stem}-{len(names) + 1}")
        preset = self.preset_combo.currentText()
        cfg = TrainConfig(
            preset=preset,
            epochs=self.epochs_spin.value(),
            seed=self.seed_spin.value(),
            augment=self.augment_combo.currentText(),
            context=self.context_check.isChecked(),
            orientation=self.orientation_check.isChecked(),
            cnn_refit=self.refit_check.isChecked(),
            gbm_refit=self.refit_check.isChecked(),
            gbm_neighbours=self.neighbours_spin.value(),
        )
        rate = self.rate_spin.value() or None
        return TrainRequest(
            sources=sources,
            config=cfg,
            names=names,
            track=track,
            mapping=mapping,
            classes=learn,
            window_s=self.window_spin.value(),
            stride_s=self.stride_spin.value(),
            rate_hz=rate,
            channels=chans,
            policy=self.policy_combo.currentText(),
            model_name=f"{names[0]}-{preset}",
        )

    def start_training(self) -> bool:
        """Start a run on a worker thread; False (and the reason in the status line) if it cannot."""
        if self.training:
            return False
        try:
            req = self.build_request()
        except HarlabError as exc:
            self._set_status(str(exc), error=True)
            return False
        from harlab.gui.ml.train_worker import training_work
        from harlab.ml.training import TrainingCancelled

        self.result = None
        self.saved_path = None
        self.curves.clear(req.config.preset)
        self.result_label.setText("Training…")
        self.confusion_view.set_report(None)
        self.confusion_view.setVisible(False)
        self._outcome, self._outcome_error = "", False
        job = BackgroundJob(
            training_work(req, self._tmp.name), self, cancel_errors=(TrainingCancelled,), owner=self
        )
        job.connect_to(
            progress=self._on_progress,
            status=self._set_status,
            finished=self._on_finished,
            cancelled=self._on_cancelled,
            failed=self._on_failed,
            ended=self._on_job_ended,
        )
        self._job = job
        self._set_status(f"Starting: {req.config.preset} on {counted(len(req.sources), 'session')}…")
        self._update_state()
        job.start()
        return True

    def cancel_training(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._set_status("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _on_progress(self, p: object) -> None:
        self.curves.add(p)
        stage, epoch, epochs = getattr(p, "stage", ""), getattr(p, "epoch", 0), getattr(p, "epochs", 0)
        unit = "round" if stage == "lightgbm" else "epoch"
        parts = [f"Training {stage}: {unit} {epoch}/{epochs}"]
        for key, label in (
            ("loss", "loss"),
            ("val_loss", "val loss"),
            ("val_acc", "val acc"),
            ("val_f1", "val F1"),
        ):
            v = float(getattr(p, key, float("nan")))
            if v == v:
                parts.append(f"{label} {v:.3f}")
        self._set_status("   ".join(parts))

    def _on_finished(self, outcome: object) -> None:
        result, png = outcome  # type: ignore[misc]
        self.result = result
        rep = result.report
        counts = ", ".join(f"{c} {n}" for c, n in result.class_counts.items())
        text = (
            f"<b>{result.model.info.preset}</b>, {len(result.model.classes)} classes, "
            f"{result.n_windows} windows ({counts}); {result.seconds:.1f} s.<br>"
        )
        if rep is not None:
            text += (
                f"Validation accuracy <b>{rep['accuracy']:.3f}</b>, macro-F1 <b>{rep['macro_f1']:.3f}</b> "
                f"on {rep['n']} windows: {html.escape(result.validation_split)}."
            )
        else:
            text += "No validation windows: accuracy cannot be estimated."
        for line in result.notes:
            text += f"<br>{html.escape(line)}."
        for w in result.warnings:
            text += f"<br><span style='color:#a05a00'>Warning: {html.escape(w)}.</span>"
        self.result_label.setText(text)
        self.result_box.setTitle(
            "Result on held-out participants"
            if result.group_kind == "participant"
            else "Result on the validation windows"
        )
        self.confusion_view.set_report(rep)
        self.confusion_view.setVisible(rep is not None)
        self.confusion_png = png
        tracked = f" The run is tracked in MLflow as {result.run_id[:8]}." if result.run_id else ""
        self._set_status(
            "Done. Save the model to use it for predictions (click the matrix to enlarge it)." + tracked
        )
        self.training_finished.emit(result)

    def _on_cancelled(self) -> None:
        self.result = None
        self.result_label.setText("No model: training was cancelled.")
        self._set_status("Training cancelled; no model was written.")
        self.training_cancelled.emit()

    def _on_failed(self, msg: str) -> None:
        self.result = None
        self.result_label.setText("No model.")
        self._set_status(f"Training failed: {msg}", error=True)
        self.training_failed.emit(msg)

    def _on_job_ended(self) -> None:
        self._job = None
        self._update_state()

    def _set_status(self, msg: str, error: bool = False) -> None:
        self._outcome, self._outcome_error = msg, error
        self._render_status()

    def show_confusion_dialog(self) -> QDialog | None:
        """The validation confusion matrix, large, in its own window (a click on the small one)."""
        if self.result is None or self.result.report is None:
            return None
        from harlab.gui.ml.confusion_view import ConfusionDialog

        dlg = ConfusionDialog(self.result.report, self._validation_title(self.result), self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        self.confusion_dialog = dlg
        return dlg

    @staticmethod
    def _validation_title(result: TrainResult) -> str:
        rep = result.report
        head = (
            f"Validation: accuracy {rep['accuracy']:.3f}, macro-F1 {rep['macro_f1']:.3f} on {rep['n']} windows"
            if rep is not None
            else "No validation windows"
        )
        return f"{head}. {result.validation_split[:1].upper()}{result.validation_split[1:]}."

    # -- saving --------------------------------------------------------------------------------
    def default_save_path(self) -> Path:
        first = next((s for s, _ in self._sources if isinstance(s, str)), None)
        preset = self.result.model.info.preset if self.result else self.preset_combo.currentText()
        return default_model_path(first, preset, self.source_labels)

    def save_model(self, path: str | Path | None = None) -> Path | None:
        """Write the trained model (asking where when ``path`` is None); emits ``model_trained``."""
        if self.result is None:
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                "Save model as",
                str(self.default_save_path()),
                f"harlab models (*{MODEL_SUFFIX});;All files (*)",
            )
            if not chosen:
                return None
            path = chosen if Path(chosen).suffix else chosen + MODEL_SUFFIX
        path = Path(path)
        model = self.result.model
        model.info.name = path.name.removesuffix(MODEL_SUFFIX) or model.info.name
        try:
            saved = model.save(path)
        except OSError as exc:
            self._set_status(f"Could not save {path}: {exc}", error=True)
            return None
        self.saved_path = saved
        self._set_status(f"Saved {saved}")
        self.model_trained.emit(str(saved))
        return saved

    # -- closing -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._stop_thread()
        super().closeEvent(event)

    def reject(self) -> None:
        self._stop_thread()
        super().reject()

    def _stop_thread(self) -> None:
        """Cancel a running job and wait for its thread (cancel is checked every batch)."""
        if self._job is not None:
            self._job.stop()

    def done(self, r: int) -> None:
        self._stop_thread()
        super().done(r)
