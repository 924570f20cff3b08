"""``harlab FILE``: what the command line does before the window exists (issue 21).

A week-long file took 2.8 s from the shell to its first frame, most of it spent in turn: the
parser imported every command's module (pandas among them), then Qt and the window started,
then the hostile-file probe started its child and scanned the file. These tests hold the
mechanism that makes those overlap, never a time: the probe's child is started before Qt is
imported, the launch imports no command module's heavy libraries, and that early child's
verdict is the one the open uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest

from harlab.simulate import make_demo_session
from harlab.storage import save_session

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "statsmodels", "torch", "sklearn", "lightgbm", "mlflow", "harlab.gui.record.panel")

#: Runs ``harlab FILE`` through the command line's main until it imports Qt; at that moment it
#: prints which probe children run and which heavy modules are loaded, and stops the launch.
#: Then it lets the probe collect the early child's verdict, as the window's open would.
UNTIL_QT = textwrap.dedent(
    """
    import importlib.abc, json, sys
    from pathlib import Path

    HEAVY = {heavy!r}
    seen = {{}}

    class AtQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6") and not seen:
                from harlab.storage import probe

                seen["early"] = probe.early_pids()
                seen["heavy"] = sorted(m for m in HEAVY if m in sys.modules)
                raise ImportError("the test stops the launch where Qt is imported")
            return None

    sys.meta_path.insert(0, AtQt())
    from harlab.cli import main

    path = Path(sys.argv[1])
    try:
        main([str(path)])
    except ImportError as exc:
        assert "the test stops" in str(exc), exc
    from harlab.storage import probe

    refused = ""
    try:
        probe.probe_metadata(path)
    except Exception as exc:
        refused = str(exc)
    seen.update(trusted=probe.is_trusted(path), left=probe.early_pids(), refused=refused)
    print(json.dumps(seen))
    """
).format(heavy=HEAVY)


def launch_until_qt(path: Path) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", UNTIL_QT, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def from_elsewhere(path: Path) -> Path:
    """``path`` changed by another program: a new process has not written it, and no earlier probe
    of these bytes is recorded anywhere."""
    with h5py.File(path, "r+") as f:
        f["metadata"].attrs["notes"] = "copied from another computer"
    return path


@pytest.fixture
def session_file(tmp_path) -> Path:
    return from_elsewhere(save_session(make_demo_session(1.0, seed=5), tmp_path / "week.h5"))


def test_harlab_file_starts_the_probe_before_qt_and_imports_no_heavy_library(session_file):
    seen = launch_until_qt(session_file)
    assert len(seen["early"]) == 1, "the probe's child must be running before Qt is imported"
    assert seen["heavy"] == [], f"the launch imported {seen['heavy']} before the window"
    assert seen["trusted"] and seen["refused"] == ""  # the early child's verdict was collected
    assert seen["left"] == []


def test_the_early_probe_refuses_a_damaged_file_with_the_scan_s_message(session_file):
    data = bytearray(session_file.read_bytes())
    at = data.find(b"GCOL")
    assert at > 0
    data[at + 8 : at + 16] = (len(data) * 2).to_bytes(8, "little")  # a heap collection past the end
    session_file.write_bytes(bytes(data))
    seen = launch_until_qt(session_file)
    assert len(seen["early"]) == 1
    assert not seen["trusted"]
    assert f"the global heap (strings) at byte {at} is corrupt" in seen["refused"]


def test_a_file_that_is_not_a_session_starts_no_probe(tmp_path):
    csv = tmp_path / "export.csv"
    csv.write_text("time,x\n0,1\n")
    seen = launch_until_qt(csv)
    assert seen["early"] == []


def test_the_command_names_known_without_imports_are_the_parser_s():
    """``harlab FILE`` tells a file from a command by :func:`command_names` (module NAME_cmd
    registers NAME), without building the parser: a command named otherwise would open a file of
    that name in the workbench instead of running."""
    from harlab.cli import build_parser, command_names
    from harlab.cli.shared_options import subcommand_groups

    parsed = {name for group in subcommand_groups(build_parser()) for name in group.choices}
    assert command_names() == parsed, "name the command in OTHER_COMMANDS (harlab/cli/__init__.py)"
