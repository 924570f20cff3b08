"""Shared fixtures of the importer tests: where the real data is, skipping when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.real_data import SHARED_DATA


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
