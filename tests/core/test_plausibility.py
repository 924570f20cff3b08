"""The table of physical limits: what it answers, and that docs/FORMAT.md states exactly this table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harlab.core.plausibility import LIMITS, limit_for, too_many_marked

DOC = Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md"


@pytest.mark.parametrize(
    ("kind", "unit", "low", "high"),
    [
        ("accelerometer", "m/s^2", -490, 490),
        ("accelerometer", "m/s²", -490, 490),
        ("accelerometer", "g", -50, 50),
        ("gyroscope", "rad/s", -70, 70),
        ("gyroscope", "dps", -4000, 4000),
        ("heart_rate", "bpm", 20, 300),
        ("wrist_motion", "rad/s", -70, 70),
    ],
)
def test_limit_for_kind_and_unit(kind: str, unit: str, low: float, high: float) -> None:
    lim = limit_for(kind, unit)
    assert lim is not None and (lim.low, lim.high) == (low, high)


def test_unknown_kind_or_unit_has_no_limit() -> None:
    assert limit_for("pressure", "mbar") is None
    assert limit_for("accelerometer", "") is None  # an uncalibrated sensor in raw counts
    assert limit_for("", "m/s^2") is None


def test_refusing_starts_past_a_tenth() -> None:
    assert not too_many_marked(0, 0)
    assert not too_many_marked(10, 100)
    assert too_many_marked(11, 100)
    assert too_many_marked(1, 3)


def test_format_doc_states_the_table() -> None:
    text = DOC.read_text()
    section = text[text.index("### Implausible values") :]
    section = section[: section.index("\n## ")]
    rows = re.findall(r"^\| ([a-z_, ]+) \| (\S+) \| (-?[\d.]+) \| (-?[\d.]+) \| (yes)? ?\|$", section, re.M)
    documented = {(k, u, float(lo), float(hi), bool(z)) for k, u, lo, hi, z in rows}
    table = {(", ".join(r.kinds), r.unit, r.low, r.high, r.zero_impossible) for r in LIMITS}
    assert documented == table
