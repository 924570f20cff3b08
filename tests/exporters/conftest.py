"""Fixtures of the exporter tests (builders live in export_sessions.py)."""

from __future__ import annotations

import pytest

from harlab import storage
from harlab.core import Session
from tests.exporters.export_sessions import ten_second_session


@pytest.fixture
def session() -> Session:
    return ten_second_session()


@pytest.fixture
def saved_session(tmp_path):
    """The ten-second session saved as a session file."""
    path = tmp_path / "rec1.h5"
    storage.save_session(ten_second_session(), path)
    return path
