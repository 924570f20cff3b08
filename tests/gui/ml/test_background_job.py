"""BackgroundJob: completion, error, cancel, signals on the GUI thread, and no thread left
running after its window closes."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtWidgets import QPushButton, QWidget

from harlab.core.errors import HarlabError
from harlab.gui.background_job import BackgroundJob

pytestmark = pytest.mark.gui


class Stopped(Exception):
    """The work's own way of saying it stopped on request."""


def counting(n: int):
    def work(progress, status, cancel):
        status("counting")
        for i in range(n):
            progress(i)
        return sum(range(n))

    return work


def until_cancelled(progress, status, cancel: threading.Event):
    status("waiting")
    while not cancel.wait(0.01):
        progress(threading.current_thread().name)
    raise Stopped()


def _events(job: BackgroundJob) -> list[tuple[str, object, str]]:
    """Every signal of the job with the thread it arrived on (lambdas: they must run on the GUI thread too)."""
    seen: list[tuple[str, object, str]] = []
    name = lambda: threading.current_thread().name  # noqa: E731
    job.progress.connect(lambda v: seen.append(("progress", v, name())))
    job.status.connect(lambda s: seen.append(("status", s, name())))
    job.finished.connect(lambda r: seen.append(("finished", r, name())))
    job.cancelled.connect(lambda: seen.append(("cancelled", None, name())))
    job.failed.connect(lambda m: seen.append(("failed", m, name())))
    job.ended.connect(lambda: seen.append(("ended", None, name())))
    return seen


def test_completion_delivers_progress_then_the_result_on_the_gui_thread(qtbot):
    job = BackgroundJob(counting(5))
    seen = _events(job)
    with qtbot.waitSignal(job.ended, timeout=10_000):
        job.start()
    kinds = [k for k, _, _ in seen]
    assert kinds == ["status"] + ["progress"] * 5 + ["finished", "ended"]
    assert seen[-2][1] == 10 and [v for k, v, _ in seen if k == "progress"] == [0, 1, 2, 3, 4]
    assert {t for _, _, t in seen} == {threading.main_thread().name}
    assert not job.running and job.worker is None


def test_an_error_becomes_failed_with_its_message(qtbot):
    def broken(progress, status, cancel):
        raise HarlabError("the model file is damaged")

    job = BackgroundJob(broken)
    seen = _events(job)
    with qtbot.waitSignal(job.ended, timeout=10_000):
        job.start()
    assert [(k, v) for k, v, _ in seen] == [("failed", "the model file is damaged"), ("ended", None)]


def test_cancel_stops_the_work_and_reports_cancelled_not_failed(qtbot):
    job = BackgroundJob(until_cancelled, cancel_errors=(Stopped,))
    seen = _events(job)
    job.start()
    qtbot.waitUntil(lambda: any(k == "progress" for k, _, _ in seen), timeout=10_000)
    worker_threads = {v for k, v, _ in seen if k == "progress"}
    assert threading.main_thread().name not in worker_threads  # the work ran on the job's thread
    with qtbot.waitSignal(job.ended, timeout=10_000):
        job.cancel()
    kinds = [k for k, _, _ in seen]
    assert kinds[-2:] == ["cancelled", "ended"] and "failed" not in kinds and "finished" not in kinds


def test_an_error_after_cancel_counts_as_cancelled(qtbot):
    def work(progress, status, cancel):
        cancel.wait(10)
        raise RuntimeError("the file closed under the reader")

    job = BackgroundJob(work)
    seen = _events(job)
    job.start()
    with qtbot.waitSignal(job.ended, timeout=10_000):
        job.cancel()
    assert [k for k, _, _ in seen] == ["cancelled", "ended"]


def test_closing_the_owner_window_cancels_and_joins_the_thread(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    job = BackgroundJob(until_cancelled, window, cancel_errors=(Stopped,), owner=window)
    seen = _events(job)
    job.start()
    qtbot.waitUntil(lambda: any(k == "progress" for k, _, _ in seen), timeout=10_000)
    thread = job._thread
    assert thread is not None and thread.isRunning()
    window.close()
    assert not thread.isRunning() and not job.running and job.cancel_requested
    assert ("ended", None, threading.main_thread().name) in seen


def test_progress_dialog_cancel_button_cancels_the_job(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    job = BackgroundJob(
        until_cancelled, window, cancel_errors=(Stopped,), owner=window, progress_label="Working…"
    )
    seen = _events(job)
    assert job.dialog is not None
    job.start()
    job.set_progress(3, 10, "3 of 10")
    assert job.dialog.maximum() == 10 and job.dialog.labelText() == "3 of 10"
    (button,) = job.dialog.findChildren(QPushButton)
    with qtbot.waitSignal(job.ended, timeout=10_000):
        button.click()
    assert "cancelled" in [k for k, _, _ in seen] and job.dialog is None


def test_stop_before_the_work_ends_returns_promptly(qtbot):
    job = BackgroundJob(until_cancelled, cancel_errors=(Stopped,))
    job.start()
    t0 = time.perf_counter()
    assert job.stop(10_000)
    assert time.perf_counter() - t0 < 5 and not job.running


def test_connect_to_wires_each_given_slot_to_its_signal_and_leaves_the_rest(qtbot):
    seen: list[tuple[str, object]] = []
    job = BackgroundJob(counting(2))
    assert (
        job.connect_to(
            progress=lambda v: seen.append(("progress", v)),
            finished=lambda r: seen.append(("finished", r)),
            ended=lambda: seen.append(("ended", None)),
        )
        is job
    )
    with qtbot.waitSignal(job.ended, timeout=10_000):
        job.start()
    # status was not given: not connected; the others arrive in order
    assert seen == [("progress", 0), ("progress", 1), ("finished", 1), ("ended", None)]

    failures: list[str] = []

    def broken(progress, status, cancel):
        raise HarlabError("no such model")

    failing = BackgroundJob(broken).connect_to(failed=failures.append, status=failures.append)
    with qtbot.waitSignal(failing.ended, timeout=10_000):
        failing.start()
    assert failures == ["no such model"]
