"""The Import labels dialog: a label file's tracks onto the open session, as the user decides.

It shows the tracks the file offers (import or not, the new track's name), who made the labels,
the classes the schema lacks (each added or mapped onto a class of the schema) and every conflict
(outside the recording, end before start, overlap on an exclusive track) with the choice of clip,
skip or refuse. Every change re-plans (:func:`harlab.labelfiles.plan_import`, Qt-free) and the
report below shows exactly what OK will do; OK is enabled only when the plan is ready. The
dialog only asks: :meth:`LabelImportDialog.command` is the edit the window pushes on its history,
so the import is one undoable step.

Reading a file of 100 000 segments takes about a second, and planning it a second or more, so
both run on a :class:`~harlab.gui.background_job.BackgroundJob`: given a path, the dialog opens at
once saying what it reads, fills in the file's tracks and classes when the read is in, or emits
``read_failed`` (the window reports it and the dialog closes). Planning runs on another job
over the choices read on the GUI thread (the
dialog is window-modal: the session does not change under it). A new choice cancels the running
plan and starts another; only the plan of the latest choices is shown. A long plan shows its
progress under the report with a Stop button. OK (or Enter) pressed before the plan of the
latest choices is in (right after typing, or while it runs) waits for it and imports only if
that plan can be imported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.core.session import Session
from harlab.core.wording import counted
from harlab.gui import settings
from harlab.gui.background_job import BackgroundJob
from harlab.labelfiles import (
    ImportPlan,
    ImportRequest,
    LabelFile,
    PlanCancelled,
    plan_import,
    read_label_file,
)
from harlab.labelfiles.label_import import unknown_classes
from harlab.labeling.commands import EditCommand

#: the file dialog's filter for label files
LABEL_FILTER = "Label files (*.eaf *.txt *.csv *.tsv *.json);;All files (*)"
ADD = "\x00add"  #: the class choice "add it to the schema"
POLICIES = (("refuse", "Refuse: import nothing"), ("clip", "Clip to fit"), ("skip", "Skip those segments"))
#: Quiet time after a keystroke in a name before the import is planned again.
TYPING_PAUSE_MS = 250
STOPPED = "Planning stopped: change a choice, or press Plan again."


class LabelImportDialog(QDialog):
    """Choices for importing ``file`` into ``session``; :meth:`plan` is what OK does.

    ``file`` is a label file already read, or its path, read on a job (see the module docstring).
    ``planned`` is emitted when the plan of the current choices (or why there is none) is shown;
    ``read_failed(message)`` when the path could not be read (nothing is planned then)."""

    planned = Signal()
    read_failed = Signal(str)

    def __init__(
        self,
        session: Session,
        file: LabelFile | str | Path,
        annotator: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("label_import_dialog")
        path = file.path if isinstance(file, LabelFile) else Path(file)
        self.setWindowTitle(f"Import labels from {path.name}")
        self.session = session
        self.file: LabelFile | None = None  #: None while it is read
        self._reader: BackgroundJob | None = None  #: reading the file
        self._plan: ImportPlan | None = None
        self._error = ""
        self._job: BackgroundJob | None = None  #: planning the latest choices
        self._threads: set[BackgroundJob] = set()  #: every job whose thread still runs (stale ones too)
        self._accept_when_planned = False
        # typing re-plans once the keys pause: planning a file of 100 000 segments takes seconds
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        self._typing.timeout.connect(self.replan)
        layout = QVBoxLayout(self)
        self.head = QLabel(f"<b>{path.name}</b>")
        self.head.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.head)

        self.tracks = QTableWidget(0, 4)
        self.tracks.setObjectName("import_tracks")
        self.tracks.setHorizontalHeaderLabels(["Import", "In the file", "Segments", "New track name"])
        self.tracks.verticalHeader().hide()
        self.tracks.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tracks.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tracks.horizontalHeader().setStretchLastSection(True)
        self.name_edits: list[QLineEdit] = []
        self.checks: list[QCheckBox] = []
        self.tracks.setMaximumHeight(70)  # one row's height while the file is read
        layout.addWidget(self.tracks)

        form = QFormLayout()
        self.annotator = QLineEdit(annotator)
        self.annotator.setObjectName("import_annotator")
        self.annotator.setPlaceholderText("who made these labels")
        self.annotator.textChanged.connect(self.replan_soon)
        form.addRow("Annotator", self.annotator)
        self.overlapping = QCheckBox("Segments may overlap (an overlapping track)")
        self.overlapping.toggled.connect(self.replan)
        form.addRow("", self.overlapping)
        layout.addLayout(form)

        self.classes_box = QGroupBox("Classes the schema does not have")
        self.classes = QTableWidget(0, 3)
        self.classes.setObjectName("import_classes")
        self.classes.setHorizontalHeaderLabels(["Class in the file", "Segments", "Import as"])
        self.classes.verticalHeader().hide()
        self.classes.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.classes.horizontalHeader().setStretchLastSection(True)
        QVBoxLayout(self.classes_box).addWidget(self.classes)
        layout.addWidget(self.classes_box)
        self.class_choices: dict[str, QComboBox] = {}
        self.classes_box.setVisible(False)

        self.conflict_box = QGroupBox("Conflicts")
        box = QVBoxLayout(self.conflict_box)
        policy_row = QHBoxLayout()
        self.policy = QButtonGroup(self)
        self.policy_buttons: dict[str, QRadioButton] = {}
        for key, text in POLICIES:
            b = QRadioButton(text)
            b.setObjectName(f"conflict_{key}")
            self.policy.addButton(b)
            self.policy_buttons[key] = b
            policy_row.addWidget(b)
            b.toggled.connect(self.replan)
        self.policy_buttons["refuse"].setChecked(True)
        policy_row.addStretch(1)
        box.addLayout(policy_row)
        layout.addWidget(self.conflict_box)

        self.report = QPlainTextEdit()
        self.report.setObjectName("import_report")
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        layout.addWidget(self.report, 1)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("import_plan_progress")
        self.progress.setFormat("Planning: %v of %m segments")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("import_plan_stop")
        self.stop_button.clicked.connect(self._stop_or_plan_again)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.stop_button)
        layout.addLayout(progress_row)
        self._show_progress(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)  # until planned
        self.resize(720, 560)
        if isinstance(file, LabelFile):
            self._show_file(file)
        else:
            self._read(path)

    # -- the file -----------------------------------------------------------------------------
    def _read(self, path: Path) -> None:
        """Read ``path`` on a job (:func:`read_label_file` cannot stop early: closing waits for it)."""
        session = self.session

        def work(
            progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
        ) -> LabelFile:
            return read_label_file(path, session)

        job = BackgroundJob(work, self, owner=self)
        job.connect_to(finished=self._on_read, failed=self._on_read_failed, ended=self._on_ended)
        self._reader = job
        self._threads.add(job)
        self.status.setText(f"Reading {path.name}…")
        self.progress.setRange(0, 0)  # busy: the read does not say how far it is
        self.progress.setVisible(True)
        job.start()

    def _on_read(self, file: object) -> None:
        if self._reader is None or self.sender() is not self._reader:
            return  # closed meanwhile
        self._reader = None
        assert isinstance(file, LabelFile)
        self.progress.setVisible(False)
        accept = self._accept_when_planned  # OK pressed while reading: the plan decides
        self._show_file(file)
        self._accept_when_planned = accept

    def _on_read_failed(self, message: str) -> None:
        if self._reader is None or self.sender() is not self._reader:
            return
        self._reader = None
        self._accept_when_planned = False
        self.progress.setVisible(False)
        self.status.setText(message)
        self.status.setStyleSheet("color: #d62728")
        self.read_failed.emit(message)

    def _show_file(self, file: LabelFile) -> None:
        """The file's tracks and classes as choices, then the first plan."""
        self.file = file
        self.head.setText(
            f"<b>{file.path.name}</b> ({file.format}): {counted(len(file.tracks), 'track')}, "
            f"{counted(sum(len(t.segments) for t in file.tracks), 'segment')}"
        )
        self.tracks.setRowCount(len(file.tracks))
        taken = set(self.session.label_tracks)
        for row, t in enumerate(file.tracks):
            check = QCheckBox()
            check.setChecked(True)
            check.toggled.connect(self.replan)
            self.checks.append(check)
            self.tracks.setCellWidget(row, 0, _centred(check))
            self.tracks.setItem(row, 1, _item(t.name + (f" ({t.annotator})" if t.annotator else "")))
            self.tracks.setItem(row, 2, _item(str(len(t.segments))))
            edit = QLineEdit(_free(t.name, taken))
            taken.add(edit.text())
            edit.textChanged.connect(self.replan_soon)
            self.name_edits.append(edit)
            self.tracks.setCellWidget(row, 3, edit)
        self.tracks.setMaximumHeight(40 + 30 * min(len(file.tracks), 5))
        file_people = sorted({t.annotator for t in file.tracks if t.annotator})
        self.annotator.setPlaceholderText(
            "as the file says: " + ", ".join(file_people) if file_people else "who made these labels"
        )
        self._fill_classes()
        self.replan()

    # -- the choices --------------------------------------------------------------------------
    def _fill_classes(self) -> None:
        """One row per class of the file the schema lacks (after case/separator matching)."""
        assert self.file is not None
        unknown = sorted(unknown_classes(self.session, self.file).items())
        self.classes.setRowCount(len(unknown))
        schema = self.session.schema.names
        for row, (name, n) in enumerate(unknown):
            self.classes.setItem(row, 0, _item(name))
            self.classes.setItem(row, 1, _item(str(n)))
            combo = QComboBox()
            combo.addItem("Add it to the schema", ADD)
            for c in schema:
                combo.addItem(f"Map to {c}", c)
            combo.currentIndexChanged.connect(self.replan)
            self.class_choices[name] = combo
            self.classes.setCellWidget(row, 2, combo)
        self.classes_box.setVisible(bool(unknown))
        self.classes.setMaximumHeight(40 + 30 * min(len(unknown), 5))

    def set_class_choice(self, name: str, target: str | None) -> None:
        """``target`` None adds ``name`` to the schema; a class name maps it onto that class."""
        combo = self.class_choices[name]
        combo.setCurrentIndex(combo.findData(ADD if target is None else target))

    def set_on_conflict(self, key: str) -> None:
        self.policy_buttons[key].setChecked(True)

    def request(self) -> ImportRequest:
        assert self.file is not None
        chosen = [t.name for t, c in zip(self.file.tracks, self.checks, strict=True) if c.isChecked()]
        names = {t.name: e.text().strip() for t, e in zip(self.file.tracks, self.name_edits, strict=True)}
        mapping = {k: c.currentData() for k, c in self.class_choices.items() if c.currentData() != ADD}
        policy = next(k for k, b in self.policy_buttons.items() if b.isChecked())
        return ImportRequest(
            tracks=chosen,
            names=names,
            annotator=self.annotator.text().strip(),
            class_map=mapping,
            add_unknown=any(c.currentData() == ADD for c in self.class_choices.values()),
            on_conflict=policy,  # type: ignore[arg-type]
            policy="overlapping" if self.overlapping.isChecked() else "exclusive",
        )

    # -- the plan -----------------------------------------------------------------------------
    @property
    def planning(self) -> bool:
        """A plan of newer choices is on its way (the file is read, typing has not paused, or a job runs)."""
        return self._reader is not None or self._typing.isActive() or self._job is not None

    def replan_soon(self) -> None:
        """A keystroke: plan again once the typing pauses (OK plans at once if it comes first)."""
        self._typing.start()

    def replan(self) -> None:
        """Plan the current choices on a background job (the running one, now stale, is cancelled).
        A choice changed after OK was pressed takes that OK back: what is imported is then seen first."""
        self._typing.stop()
        self._accept_when_planned = False
        if not hasattr(self, "status") or self.file is None:
            return  # still building (the last widget's signal comes first), or reading
        if self._job is not None:
            self._job.cancel()  # its result is not shown: only the latest job's is
        session, file, request = self.session, self.file, self.request()

        def work(
            progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
        ) -> ImportPlan:
            def step(done: int, total: int) -> None:
                if cancel.is_set():
                    raise PlanCancelled()
                progress((done, total))

            return plan_import(session, file, request, step)

        job = BackgroundJob(work, self, cancel_errors=(PlanCancelled,), owner=self)
        # bound methods, which tell the jobs apart by sender(), rather than lambdas holding the
        # dialog: those are kept by the child job's connections and released while Qt destroys the
        # dialog (suspected in a rare segfault of the tests while events were processed mid-plan)
        job.connect_to(
            progress=self._on_progress,
            finished=self._on_finished,
            failed=self._on_failed,
            cancelled=self._on_cancelled,
            ended=self._on_ended,
        )
        self._job = job
        self._threads.add(job)
        self.stop_button.setText("Stop")
        job.start()

    def _latest(self) -> bool:
        """Whether the job that sent the signal being handled plans the latest choices."""
        return self._job is not None and self.sender() is self._job

    def _on_progress(self, value: object) -> None:
        if not self._latest():
            return
        assert isinstance(value, tuple)
        done, total = value
        if done < total:  # a plan long enough to report: show how far it is, and Stop
            self._show_progress(True)
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.status.setText("Planning the import…")
            self.status.setStyleSheet("")

    def _on_finished(self, plan: object) -> None:
        if self._latest():
            self._on_planned(plan, "")

    def _on_failed(self, message: str) -> None:
        if self._latest():
            self._on_planned(None, message)

    def _on_cancelled(self) -> None:
        if self._latest():
            self._on_planned(None, STOPPED)

    def _on_ended(self) -> None:
        self._threads = {j for j in self._threads if j.running}

    def _on_planned(self, plan: object, error: str) -> None:
        """The latest job's outcome (a stale job's, whose choices changed while it ran, is dropped)."""
        self._job = None
        assert plan is None or isinstance(plan, ImportPlan)
        self._plan, self._error = plan, error
        self._show_progress(False)
        self.stop_button.setText("Plan again")
        self.stop_button.setVisible(error == STOPPED)  # stopped: the way to plan the same choices
        self._show_plan()
        self.planned.emit()
        if self._accept_when_planned:
            self._accept_when_planned = False
            if self._importable():
                super().accept()

    def _stop_or_plan_again(self) -> None:
        if self._job is not None:
            self._accept_when_planned = False
            self._job.cancel()
        else:
            self.replan()

    def _show_progress(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.stop_button.setVisible(on)

    def _importable(self) -> bool:
        return self._plan is not None and self._plan.ready and self._plan.n_segments > 0

    def _show_plan(self) -> None:
        plan = self._plan
        lines = plan.report() if plan is not None else []
        self.report.setPlainText("\n".join(lines))
        self.conflict_box.setTitle(
            f"Conflicts: {counted(len(plan.conflicts), 'segment')} (each listed below)"
            if plan is not None and plan.conflicts
            else "Conflicts: none"
        )
        ok = self._importable()
        if plan is None:
            status = self._error
        elif plan.unknown:
            status = "Choose what each unknown class becomes."
        elif plan.conflicts and plan.request.on_conflict == "refuse":
            status = (
                "Some segments conflict: choose Clip or Skip to import the rest (each is listed), or Cancel."
            )
        elif not plan.n_segments:
            status = "No segment is left to import."
        else:
            status = (
                f"Import {counted(plan.n_segments, 'segment')} into "
                + ", ".join(n for n, _ in plan.tracks)
                + "."
            )
        self.status.setText(status)
        self.status.setStyleSheet("" if ok else "color: #d62728")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def accept(self) -> None:
        """OK (or Enter): imports the plan of the current choices. Right after typing, or while
        that plan is made, it waits for it, and the dialog closes only if it can be imported."""
        if self._typing.isActive():
            self.replan()
        if self._reader is not None:
            self._accept_when_planned = True  # kept through the read; the first plan decides
            return
        if self._job is not None:
            self._accept_when_planned = True
            self.status.setText("Planning the import; it follows if it can be imported…")
            self.status.setStyleSheet("")
            return
        if self._importable():
            super().accept()

    def done(self, result: int) -> None:
        """Closing (OK, Cancel, Escape) stops a plan still running: no thread outlives the dialog."""
        self._typing.stop()
        self._job = self._reader = None
        for job in list(self._threads):  # a cancelled plan may still be on its way to its next step
            job.stop()
        super().done(result)

    @property
    def plan(self) -> ImportPlan | None:
        """The plan shown (of the current choices unless :attr:`planning`)."""
        return self._plan

    def command(self) -> EditCommand:
        if self.planning or self._plan is None or not self._plan.ready:
            raise HarlabError(self._error or "the import is not ready")
        return self._plan.command()


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    return item


def _centred(w: QWidget) -> QWidget:
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(w, alignment=Qt.AlignmentFlag.AlignCenter)
    return holder


def _free(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... when the session already has it."""
    if name not in taken:
        return name
    k = 2
    while f"{name}-{k}" in taken:
        k += 1
    return f"{name}-{k}"


def open_label_import(
    parent: QWidget,
    session: Session,
    path: str | Path,
    annotator: str,
    push: Callable[[EditCommand], bool],
    report: Callable[[str], None],
) -> LabelImportDialog:
    """Open the dialog at once (window-modal, not blocking) and read ``path`` against ``session``
    on a job; on Import its command goes through ``push`` (the window's history). A file that
    cannot be read is reported and the dialog closed. The annotator typed is remembered for the
    next import."""
    dialog = LabelImportDialog(session, Path(path), annotator, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def unreadable(message: str) -> None:
        report(f"Cannot import labels: {message}")
        dialog.reject()

    dialog.read_failed.connect(unreadable)

    def done(result: int) -> None:
        if result != QDialog.DialogCode.Accepted:
            return
        settings.set_value("annotator", dialog.annotator.text().strip())
        try:
            cmd = dialog.command()
        except HarlabError as exc:
            report(f"Not imported: {exc}")
            return
        push(cmd)

    dialog.finished.connect(done)
    dialog.open()
    return dialog
