"""Ctrl+C during ``harlab calibrate``: exit 130, no personal model written, through the helper
``harlab train`` uses too (:func:`harlab.cli.ml_options.run_pipeline`; see
tests/ml/test_cli_cancel.py for the helper itself)."""

from __future__ import annotations

import pytest

from harlab.cli import main
from harlab.cli.shared_options import CANCELLED_EXIT
from harlab.storage import save_session
from tests.ml.test_cli_cancel import interrupt_once_handled, pytestmark  # noqa: F401 - same skip

from .conftest import UNUSUAL, activity_session


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path / "harlab-data"))


def test_ctrl_c_during_harlab_calibrate_exits_130_and_writes_no_model(general_model, tmp_path, capsys):
    _, parent = general_model
    session = save_session(activity_session(UNUSUAL, 100, seconds=30), tmp_path / "unusual.h5")
    out = tmp_path / "me.harmodel"
    watcher = interrupt_once_handled()
    code = main(["calibrate", str(parent), str(session), "-o", str(out), "--no-track", "--threads", "1"])
    watcher.join(5)
    err = capsys.readouterr().err
    assert code == CANCELLED_EXIT, err
    assert f"harlab: cancelled: calibration cancelled, {out} not written" in err
    assert not list(tmp_path.glob("me.harmodel*"))
