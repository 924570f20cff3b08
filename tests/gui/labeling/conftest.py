"""Fixtures for the labeling widget tests (offscreen Qt; tests/conftest.py sets the platform)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from harlab.core import Segment, Session  # noqa: E402
from harlab.labeling.history import EditHistory  # noqa: E402
from harlab.labeling.schema_presets import preset  # noqa: E402
from harlab.simulate import synthetic_session  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_session(n: int = 40) -> Session:
    """``n`` labelled 8 s segments every 10 s over the fitbit-seed classes; labels only, no streams."""
    schema = preset("fitbit-seed")
    names = schema.names
    segs = [
        Segment(
            i * 10.0,
            i * 10.0 + 8.0,
            names[i % len(names)],
            note="check video" if i % 7 == 3 else "",
            annotator="ab" if i % 2 else "",
            created=T0 + timedelta(seconds=i),
            modified=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]
    s = synthetic_session(n * 10.0, streams=(), classes=schema, segments=segs)
    s.add_label_track("posture", policy="overlapping")
    return s


@pytest.fixture
def lab_session() -> Session:
    return make_session()


@pytest.fixture
def history(lab_session) -> EditHistory:
    return EditHistory(lab_session)


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
