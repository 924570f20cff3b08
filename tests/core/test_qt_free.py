"""The core must work where Qt is not installed (headless servers, CI, notebooks).

The check runs in a fresh interpreter that refuses to import PySide6, shiboken6
and pyqtgraph, then imports every module outside ``harlab.gui`` and exercises the
model. import-linter's contract in pyproject.toml says the same statically.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the core must not import Qt")
            return None
    sys.meta_path.insert(0, Block())
    """
)


def core_modules() -> list[str]:
    mods = []
    for path in sorted((ROOT / "harlab").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[1] == "gui" or parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods.append(".".join(parts))
    return mods


def test_core_imports_without_qt() -> None:
    modules = core_modules()
    assert "harlab.core.session" in modules
    code = BLOCKER + textwrap.dedent(
        f"""
        import importlib
        for m in {modules!r}:
            importlib.import_module(m)
        import numpy as np
        from harlab.core import Session, Stream, Segment
        s = Session()
        s.add_stream(Stream.from_arrays("a", np.arange(10.0), np.zeros((10, 3)), ["x", "y", "z"], "m/s^2"))
        s.add_segments("activity", [Segment(0, 1, "walking")])
        assert "PySide6" not in sys.modules and "pyqtgraph" not in sys.modules
        print("ok", len(sys.modules))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")


def test_blocker_really_blocks() -> None:
    """Guard the guard: the same preamble must make a Qt import fail."""
    code = BLOCKER + "import pyqtgraph\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "blocked" in proc.stderr


def test_import_linter_contract() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -e .[test])")
    proc = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_command_line_starts_light() -> None:
    """``harlab --help`` and every quick command must not pay for torch, MLflow or Qt."""
    code = (
        "import sys\nfrom harlab.cli import build_parser\nbuild_parser()\n"
        "heavy = [m for m in ('torch', 'mlflow', 'PySide6', 'pyqtgraph', 'lightgbm', 'onnxruntime') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "module",
    [
        "harlab.gui.main_window",
        # File > Import labels: pandas (the generic CSV reader) loads with a CSV label file, not
        # with the dialog, whose first import froze the window for about 0.6 s
        "harlab.gui.labeling.label_import_dialog",
        # `harlab demo` imports the demo video's renderer; PyAV loads when a video is written
        "harlab.simulate.demo_video",
    ],
)
def test_the_workbench_starts_without_the_heavy_libraries(module: str) -> None:
    """The main window is what a week opens in, under 400 MB: the models, the statistics of the
    agreement panel, pandas (label files, CSV imports) and PyAV (video) load when a command needs
    them, not with the window (statsmodels and pandas alone added 180 MB and a second, PyAV 50 ms)."""
    code = (
        f"import sys\nimport {module}\n"
        "heavy = [m for m in ('torch', 'mlflow', 'lightgbm', 'onnxruntime', 'statsmodels', 'krippendorff', "
        "'pandas', 'sklearn', 'dask', 'av') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
