"""Fixtures for the labeling tests."""

from __future__ import annotations

import pytest
from labeling_helpers import seg

from harlab.core import LabelSchema, Session


@pytest.fixture
def session() -> Session:
    s = Session(schema=LabelSchema())
    s.schema.add("walk")
    s.schema.add("sit")
    s.add_segments("activity", [seg(0, 10, "walk", 0), seg(10, 20, "sit", 1), seg(30, 40, "walk", 2)])
    s.add_label_track("events", policy="overlapping")
    return s
