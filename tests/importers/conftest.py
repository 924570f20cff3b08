"""Shared fixtures of the importer tests: where the real data is, skipping when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``shared/data`` beside the checkout, or beside a folder holding it (a worktree in ``wt/``)
SHARED_DATA = next((p / "shared" / "data" for p in Path(__file__).resolve().parents[2:]
                    if (p / "shared" / "data").is_dir()), Path(__file__).resolve().parents[2] / ".." / "shared" / "data")


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
