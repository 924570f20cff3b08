"""``harlab demo`` where no window can open: it says so and how to proceed, and the file is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform in ("darwin", "win32"), reason="X11/Wayland display variables only"
)


def harlab_without_display(*args: str) -> subprocess.CompletedProcess[str]:
    """``harlab ARGS`` in a child with no DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM."""
    keep = ("PATH", "HOME", "PYTHONPATH", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "harlab", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_demo_without_a_display_says_so_and_still_writes_the_session(tmp_path):
    out = tmp_path / "demo.h5"
    proc = harlab_without_display("demo", "-o", str(out), "--duration", "0.5", "--no-predictions")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.strip() == str(out)
    assert "no display" in proc.stderr and "--no-open" in proc.stderr and str(out) in proc.stderr
    assert out.stat().st_size > 0

    from harlab.storage import read_session

    assert read_session(out).streams  # a whole session, readable


@pytest.mark.parametrize("minutes", ["0", "-1", "20000"])
def test_a_duration_out_of_range_says_the_range_it_breaks(minutes, tmp_path, capsys):
    from harlab.cli import main

    assert main(["demo", "--no-open", "-o", str(tmp_path), "--duration", minutes]) == 2
    err = capsys.readouterr().err
    assert "more than 0 and at most 10080 minutes" in err and f"got {float(minutes):g}" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("with_file", [False, True])
def test_the_workbench_without_a_display_says_so_instead_of_aborting_in_qt(with_file, tmp_path):
    """``harlab`` and ``harlab FILE`` open the workbench as ``harlab demo`` does: without a
    display they say why and what works instead (Qt used to abort with a plugin message)."""
    session = tmp_path / "s.h5"
    session.write_bytes(b"")  # opening is not reached: the display is checked first
    proc = harlab_without_display(*([str(session)] if with_file else []))
    assert proc.returncode == 1, proc.stderr
    assert "cannot open the workbench: no display" in proc.stderr
    assert "harlab --help" in proc.stderr
    assert (f"harlab info {session}" in proc.stderr) == with_file
    assert "qt.qpa" not in proc.stderr and "Qt platform plugin" not in proc.stderr
