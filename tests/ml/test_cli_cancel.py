"""Ctrl+C during ``harlab train`` (and, in tests/calibration, ``harlab calibrate``): the run stops
at its next check, nothing is written and the command exits 130, through the one helper
:func:`harlab.cli.ml_options.run_pipeline`.

A real SIGINT is sent to this process once the command's handler is in place (a thread watches
:func:`signal.getsignal` for it), so no test waits for a time: the signal arrives before the run
reaches its first check, however loaded the machine is.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from harlab.cli.ml_options import run_pipeline
from harlab.cli.shared_options import CANCELLED_EXIT
from harlab.ml.training import TrainingCancelled

from .conftest import make_session

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals reach the main thread only"
)


def interrupt_once_handled() -> threading.Thread:
    """A thread that sends SIGINT to this process as soon as a handler other than the current one
    is installed (the command's :func:`~harlab.cli.ml_options.cancel_on_interrupt`)."""
    before = signal.getsignal(signal.SIGINT)

    def watch() -> None:
        while signal.getsignal(signal.SIGINT) is before:
            threading.Event().wait(0.001)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def pipeline(req, *, output=None, tracking=None, progress=None, say=print, cancel=None):  # noqa: ANN001
    """A pipeline as run_training is called: ``req`` says what it does."""
    if req == "interrupt":
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C: the handler sets the event, nothing is raised here
        assert cancel.wait(30)
        raise TrainingCancelled("cancelled at the next batch")
    return req, output, tracking, cancel.is_set()


def test_run_pipeline_passes_the_result_and_restores_ctrl_c(tmp_path):
    before = signal.getsignal(signal.SIGINT)
    out = tmp_path / "m"
    assert run_pipeline(pipeline, "go", output=out, tracking=None, what="training") == (
        "go",
        out,
        None,
        False,
    )
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_sets_the_cancel_and_the_run_ends_with_a_note(tmp_path, capsys):
    before = signal.getsignal(signal.SIGINT)
    out = tmp_path / "me.harmodel"
    assert run_pipeline(pipeline, "interrupt", output=out, tracking=None, what="calibration") is None
    assert capsys.readouterr().err.strip() == f"harlab: cancelled: calibration cancelled, {out} not written"
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_during_harlab_train_exits_130_and_writes_no_model(tmp_path, capsys):
    from harlab.cli import main
    from harlab.storage import save_session

    paths = [str(save_session(make_session(f"P{i}", seed=i), tmp_path / f"p{i}.h5")) for i in range(3)]
    out = tmp_path / "m.harmodel"
    watcher = interrupt_once_handled()
    code = main(["train", *paths, "-o", str(out), "--window", "2", "--preset", "features", "--no-track"])
    watcher.join(5)
    err = capsys.readouterr().err
    assert code == CANCELLED_EXIT, err
    assert f"harlab: cancelled: training cancelled, {out} not written" in err
    assert not out.exists() and not list(Path(tmp_path).glob("m.harmodel*"))
