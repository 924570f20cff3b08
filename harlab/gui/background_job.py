"""One way to run long work off the GUI thread: thread, worker, optional progress dialog,
cancellation and teardown.

The work is a plain function ``work(progress, status, cancel) -> result`` (Qt-free, so the
core's pipelines run as they do on the command line): ``progress(value)`` and
``status(text)`` report, ``cancel`` is a :class:`threading.Event` the work checks, raising
one of the job's ``cancel_errors`` when it stops on request (a work that returns has finished,
even if a cancel came too late to stop it, or it chose to return what it did before). A
:class:`BackgroundJob` runs it on a :class:`QThread` and emits exactly one of
``finished(result)``, ``cancelled()`` or ``failed(message)``, then ``ended()`` once the
thread has stopped.

Every signal of the job is emitted on the GUI thread: the worker's signals reach the job's
own slots as queued connections (the job lives in the GUI thread), so whatever a caller
connects, a lambda included, may touch widgets. The worker is not ``deleteLater``-ed on its
thread (that raced PySide's wrapper teardown with the GUI thread, a segfault in
``Shiboken::Object::destroy`` now and then); the job drops it after the thread has finished,
and Python deletes it on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

#: ``work(progress, status, cancel)``: what a job runs on its thread
Work = Callable[[Callable[[object], None], Callable[[str], None], threading.Event], object]


class JobWorker(QObject):
    """Runs the work on the job's thread and reports through signals (see the module docstring)."""

    progress = Signal(object)
    status = Signal(str)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(
        self, work: Work, cancel: threading.Event, cancel_errors: tuple[type[BaseException], ...]
    ) -> None:
        super().__init__()
        self._work = work
        self._cancel = cancel
        self._cancel_errors = cancel_errors

    @Slot()
    def run(self) -> None:
        try:
            result = self._work(self.progress.emit, self.status.emit, self._cancel)
        except self._cancel_errors:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - reported to the user; the thread must end cleanly
            if self._cancel.is_set():  # a cancel that surfaced as another error is still a cancel
                self.cancelled.emit()
            else:
                self.failed.emit(str(exc) or type(exc).__name__)
            return
        self.finished.emit(result)


class BackgroundJob(QObject):
    """One run of ``work`` on its own thread; see the module docstring.

    ``cancel_errors`` are the exceptions by which the work says it stopped on request.
    ``owner``: closing this widget cancels the job and waits for its thread, so no thread
    outlives its window. ``progress_label``: show a window-modal progress dialog whose Cancel
    cancels the job (busy until :meth:`set_progress` gives a total); without a Cancel button
    when the work cannot stop early (``cancellable=False``).
    """

    progress = Signal(object)
    status = Signal(str)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str)
    ended = Signal()  #: the thread has stopped (after exactly one of the three above)

    def __init__(
        self,
        work: Work,
        parent: QObject | None = None,
        *,
        cancel_errors: tuple[type[BaseException], ...] = (),
        owner: QWidget | None = None,
        progress_label: str | None = None,
        cancellable: bool = True,
    ) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self._thread: QThread | None = QThread(self)
        self.worker: JobWorker | None = JobWorker(work, self.cancel_event, cancel_errors)
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.run)
        for signal in (self.worker.finished, self.worker.cancelled, self.worker.failed):
            signal.connect(self._thread.quit)
        queued = Qt.ConnectionType.QueuedConnection
        self.worker.progress.connect(self._on_progress, queued)
        self.worker.status.connect(self._on_status, queued)
        self.worker.finished.connect(self._on_finished, queued)
        self.worker.cancelled.connect(self._on_cancelled, queued)
        self.worker.failed.connect(self._on_failed, queued)
        self._thread.finished.connect(self._on_thread_done)
        self._owner = owner
        if owner is not None:
            owner.installEventFilter(self)
        self.dialog: QProgressDialog | None = None
        if progress_label is not None:
            dialog = QProgressDialog(progress_label, "Cancel", 0, 0, owner)
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(300)
            dialog.setValue(0)
            if not cancellable:
                dialog.setCancelButton(None)
            dialog.canceled.connect(self.cancel)
            self.dialog = dialog

    def connect_to(
        self,
        *,
        progress: Callable[[object], None] | None = None,
        status: Callable[[str], None] | None = None,
        finished: Callable[[object], None] | None = None,
        cancelled: Callable[[], None] | None = None,
        failed: Callable[[str], None] | None = None,
        ended: Callable[[], None] | None = None,
    ) -> BackgroundJob:
        """Connect each given slot to the job's signal of that name (None: left unconnected);
        returns the job. One call, so every dialog that runs a job wires it the same way."""
        slots = {
            self.progress: progress,
            self.status: status,
            self.finished: finished,
            self.cancelled: cancelled,
            self.failed: failed,
            self.ended: ended,
        }
        for signal, slot in slots.items():
            if slot is not None:
                signal.connect(slot)
        return self

    # -- control -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and not self._thread.isRunning():
            self._thread.start()

    @property
    def running(self) -> bool:
        """True from construction until the thread has stopped and been torn down."""
        return self._thread is not None

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        """Ask the work to stop at its next check; ``cancelled()`` follows."""
        self.cancel_event.set()

    def stop(self, timeout_ms: int = 30_000) -> bool:
        """Cancel, wait for the thread and tear down now; False if it did not stop in time."""
        if self._thread is None:
            return True
        self.cancel()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            return False
        self._on_thread_done()
        return True

    def set_progress(self, done: int, total: int, label: str | None = None) -> None:
        """Move the progress dialog (if any) to ``done`` of ``total``."""
        dialog = self.dialog  # setValue on a modal dialog processes events: the job may end inside it
        if dialog is not None:
            dialog.setMaximum(max(total, 1))
            if label is not None:
                dialog.setLabelText(label)
            dialog.setValue(done)

    # -- signals from the worker, on the GUI thread ------------------------------------------
    @Slot(object)
    def _on_progress(self, value: object) -> None:
        if self.running:
            self.progress.emit(value)

    @Slot(str)
    def _on_status(self, text: str) -> None:
        if self.running:
            self.status.emit(text)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self._close_dialog()
        self.finished.emit(result)

    @Slot()
    def _on_cancelled(self) -> None:
        self._close_dialog()
        self.cancelled.emit()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._close_dialog()
        self.failed.emit(message)

    @Slot()
    def _on_thread_done(self) -> None:
        if self._thread is None:
            return
        thread, self._thread, self.worker = self._thread, None, None
        thread.deleteLater()
        self._close_dialog()
        if self._owner is not None:
            self._owner.removeEventFilter(self)
            self._owner = None
        self.ended.emit()

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            dialog, self.dialog = self.dialog, None
            dialog.canceled.disconnect(self.cancel)
            dialog.reset()
            dialog.deleteLater()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self._owner and event.type() == QEvent.Type.Close:
            self.stop()
        return False
