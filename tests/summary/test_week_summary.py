"""The week summary: minutes per local day (hand-computed across midnight and a DST change),
non-wear taken out, CSV columns, and the ``harlab summary`` / ``harlab nonwear`` commands."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import numpy as np
import pytest

from harlab.cli import main
from harlab.core.labels import Segment
from harlab.core.predictions import PredictionTrack
from harlab.core.quality_tracks import QualityTrack
from harlab.simulate import synthetic_session
from harlab.storage import read_session, save_session
from harlab.summary import FIXED_COLUMNS, summarise_file, summarise_session, summary_rows

# 2024-11-02 22:30 in New York (EDT, UTC-4); clocks go back at 02:00 on 2024-11-03, so that
# day is 25 h long; the next midnight is in EST (UTC-5).
START = datetime(2024, 11, 3, 2, 30, tzinfo=UTC)
TZ = "America/New_York"
LABELS = [(0, 3600, "walking"), (3600, 20000, "sitting"), (21000, 50000, "lying"), (50000, 108000, "walking")]
NONWEAR = (90000.0, 100000.0)  # crosses local midnight (95400 s)


def week_session():
    s = synthetic_session(
        duration_s=108000.0,
        rate_hz=2.0,
        streams=["accel"],
        segments=LABELS,
        classes=["walking", "sitting", "lying"],
        start_utc=START,
        timezone=TZ,
        plan=[("sitting", 108000.0)],
    )
    s.set_quality_track(
        QualityTrack("nonwear", "nonwear", np.array([NONWEAR[0]]), np.array([NONWEAR[1]]), "m")
    )
    return s


def test_minutes_per_local_day_match_hand_computed_totals():
    w = summarise_session(week_session())
    assert [d.day for d in w.days] == [date(2024, 11, 2), date(2024, 11, 3), date(2024, 11, 4)]
    # midnights: 04:00 UTC (EDT) = 1.5 h after the start, then 05:00 UTC next day (EST) = 26.5 h
    assert [(d.start_s, d.end_s) for d in w.days] == [
        (-81000.0, 5400.0),
        (5400.0, 95400.0),
        (95400.0, 181800.0),
    ]
    want = [
        # recorded, non-wear, walking, sitting, lying, unclassified (minutes)
        (90, 0, 60, 30, 0, 0),
        (1500, 90, (95400 - 50000 - 5400) / 60, (20000 - 5400) / 60, 29000 / 60, 1000 / 60),
        (210, (100000 - 95400) / 60, (108000 - 100000) / 60, 0, 0, 0),
    ]
    for d, (rec, nw, walk, sit, lie, unc) in zip(w.days, want, strict=True):
        got = (d.recorded_min, d.nonwear_min, d.minutes["walking"], d.minutes["sitting"], d.minutes["lying"])
        assert got == pytest.approx((rec, nw, walk, sit, lie), abs=1e-6), d.title
        assert d.unclassified_min == pytest.approx(unc, abs=1e-6)
    assert w.totals["walking"] == pytest.approx(60 + 40000 / 60 + 8000 / 60)
    assert w.source == "labels activity" and w.timezone == TZ


def test_a_prediction_is_counted_before_the_labels():
    s = week_session()
    segs = [Segment(0.0, 54000.0, "running"), Segment(54000.0, 108000.0, "sitting")]
    s.add_prediction_track(
        PredictionTrack(
            "model", "m", "1", ["running", "sitting"], np.zeros(0), np.zeros(0), np.zeros((0, 2)), segs
        )
    )
    w = summarise_session(s)
    assert w.source == "prediction model" and w.classes == ["running", "sitting"]
    assert w.totals["running"] == pytest.approx(54000 / 60)
    assert w.totals["sitting"] == pytest.approx((54000 - 10000) / 60)
    assert summarise_session(s, labels="activity").source == "labels activity"


def test_csv_columns_and_rows():
    w = summarise_session(week_session())
    header, rows = summary_rows([w])
    assert header == [*FIXED_COLUMNS, "walking_min", "sitting_min", "lying_min"]
    assert [r[header.index("day")] for r in rows] == ["2024-11-02", "2024-11-03", "2024-11-04", "total"]
    total = rows[-1]
    assert float(total[header.index("recorded_min")]) == 1800.0
    assert float(total[header.index("nonwear_min")]) == pytest.approx(10000 / 60, abs=0.01)


def test_summary_command_writes_png_and_csv(tmp_path, capsys):
    path = save_session(week_session(), tmp_path / "p01.h5")
    other = save_session(synthetic_session(600.0, rate_hz=10.0, streams=["accel"]), tmp_path / "p02.h5")
    out_csv, out_png = tmp_path / "week.csv", tmp_path / "pictures"
    assert main(["summary", str(path), str(other), "--csv", str(out_csv), "--png", str(out_png) + "/"]) == 0
    text = capsys.readouterr().out
    assert "2024-11-03: recorded 1500 min, not worn 90" in text
    with open(out_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["file"] for r in rows} == {"p01.h5", "p02.h5"} and len(rows) == 3 + 1 + 1 + 1
    assert rows[1]["walking_min"] == f"{40000 / 60:.2f}"
    for name in ("p01.week.png", "p02.week.png"):
        png = (out_png / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert summarise_file(path).days[1].nonwear_min == pytest.approx(90.0)
    # one picture file for two sessions is a usage error, named
    assert main(["summary", str(path), str(other), "--png", str(tmp_path / "one.png")]) == 2
    assert "give a folder" in capsys.readouterr().err


def test_nonwear_command_stores_the_track(tmp_path, capsys):
    s = synthetic_session(
        plan=[("walking", 1800.0), ("sitting", 3 * 3600.0)], rate_hz=10.0, streams=["accel"]
    )
    acc = s.streams["accel"]
    t, v = acc.read()
    v = v.copy()
    still = t >= 1800.0  # the device put down after the walk (inline: the simulator never rests)
    v[still] = np.array([0.0, 0.0, 9.80665]) + np.random.default_rng(0).normal(0, 0.02, (int(still.sum()), 3))
    from dataclasses import replace

    from harlab.core.streams import ArrayStreamData

    s.remove_stream("accel")
    s.add_stream(replace(acc, data=ArrayStreamData(t, v.astype(np.float32))))
    path = save_session(s, tmp_path / "table.h5")
    assert main(["nonwear", str(path), "--dry-run"]) == 0
    assert read_session(path).quality_tracks == {}
    assert main(["nonwear", "-q", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 non-wear spans" in out
    track = read_session(path).quality_tracks["nonwear"]
    assert track.spans()[0][0] == pytest.approx(1800.0, abs=900.0)


def test_summary_never_writes_over_its_input_or_another_kind(tmp_path, capsys):
    path = save_session(week_session(), tmp_path / "p01.h5")
    other = save_session(synthetic_session(60.0, streams=["accel"]), tmp_path / "other.h5")
    before, other_before = path.read_bytes(), other.read_bytes()
    assert main(["summary", str(path), "--csv", str(path), "--force"]) == 2
    assert "also an input of this command" in capsys.readouterr().err
    assert main(["summary", str(path), "--png", str(other)]) == 2
    assert "is not a PNG picture; pass --force" in capsys.readouterr().err
    assert path.read_bytes() == before and other.read_bytes() == other_before
    assert main(["summary", str(path), "--labels", "nope"]) == 1
    assert "no label track 'nope'" in capsys.readouterr().out
