"""Fixtures for the labeling tests."""

from __future__ import annotations

import pytest

from harlab.core import Session
from harlab.simulate import synthetic_session
from tests.labeling.labeling_helpers import seg


@pytest.fixture
def session() -> Session:
    s = synthetic_session(
        40.0,
        streams=(),
        classes=["walk", "sit"],
        segments=[seg(0, 10, "walk", 0), seg(10, 20, "sit", 1), seg(30, 40, "walk", 2)],
    )
    s.add_label_track("events", policy="overlapping")
    return s
