"""Shared fixtures of the importer tests: where the real data is, skipping when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: ``../shared/data`` beside the checkout, or where HARLAB_SHARED_DATA points (a git worktree
#: elsewhere still finds the real files).
SHARED_DATA = Path(
    os.environ.get("HARLAB_SHARED_DATA") or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (read-only real files)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return SHARED_DATA.resolve()


@pytest.fixture
def fitbit_seed(shared_data: Path) -> Path:
    p = shared_data / "fitbit-seed"
    if not p.is_dir():
        pytest.skip("../shared/data/fitbit-seed not present")
    return p
