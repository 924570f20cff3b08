"""The built wheel ships what pyproject.toml promises: the ``py.typed`` marker and the resources.

Package data is declared by pattern, so a missing file is silently left out of the wheel rather
than failing the build; only building one and looking inside shows it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _local_setuptools_builds() -> bool:
    """Whether this environment's setuptools can build the project offline (pyproject's minimum)."""
    try:
        return int(version("setuptools").split(".")[0]) >= 77
    except (PackageNotFoundError, ValueError):
        return False


@pytest.mark.slow
def test_wheel_contains_py_typed_and_the_resources(tmp_path):
    # A copy of the project, so the build's egg-info and build/ folders never land in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "harlab", src / "harlab", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    isolation = ["--no-build-isolation"] if _local_setuptools_builds() else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            *isolation,
            "-w",
            str(tmp_path / "out"),
            str(src),
        ],
        check=True,
        timeout=600,
    )
    (wheel,) = (tmp_path / "out").glob("harlab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "harlab/py.typed" in names
    assert "harlab/resources/demo-model.harmodel" in names
