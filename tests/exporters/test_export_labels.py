"""Segment table, Audacity labels and ELAN EAF: parsed back and compared with the tracks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from harlab.core import Segment
from harlab.exporters import ExportError, ExportOptions, get_exporter
from tests.exporters.export_sessions import ten_second_session


def export(fmt, sessions, out, **opts):
    return get_exporter(fmt).export(sessions, out, ExportOptions(**opts))


# -- segment table ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_segment_table_round_trips_every_field(tmp_path, suffix):
    a = ten_second_session("sess-a", "P01")
    b = ten_second_session("sess-b", "P02", start_utc=None)
    (f,) = export("segments", [a, b], tmp_path / f"seg{suffix}", names=["a", "b"])
    df = pd.read_csv(f, sep="\t" if suffix == ".tsv" else ",", keep_default_na=False, dtype=str)
    assert list(df.columns[:11]) == [
        "session",
        "session_id",
        "participant",
        "track",
        "segment_id",
        "class",
        "start_utc",
        "end_utc",
        "start_s",
        "end_s",
        "duration_s",
    ]
    assert {"annotator", "source", "confidence", "note"} <= set(df.columns)
    assert len(df) == 12  # 3 activity + 3 posture per session
    first = df.iloc[0]
    assert (first["session"], first["track"], first["class"]) == ("a", "activity", "walk")
    assert (first["start_utc"], first["end_utc"]) == (
        "2024-03-01T12:00:00.000000Z",
        "2024-03-01T12:00:04.000000Z",
    )
    assert (
        float(first["start_s"]) == 0.0 and float(first["end_s"]) == 4.0 and float(first["duration_s"]) == 4.0
    )
    assert (first["annotator"], first["source"], first["confidence"]) == ("ann1", "manual", "0.9")
    assert first["note"] == "first, with comma"
    imported = df[(df["session"] == "a") & (df["source"] == "imported")]
    assert imported["start_s"].astype(float).tolist() == [8.0] and imported["confidence"].tolist() == [""]
    unknown_start = df[df["session"] == "b"]
    assert (unknown_start["start_utc"] == "").all() and (unknown_start["end_utc"] == "").all()
    event = df[df["class"] == "tap"].iloc[0]
    assert float(event["duration_s"]) == 0.0 and float(event["start_s"]) == 2.5
    for seg in a.label_tracks["posture"]:
        row = df[(df["session"] == "a") & (df["track"] == "posture") & (df["segment_id"] == str(seg.id))]
        assert float(row["start_s"].item()) == seg.start and row["class"].item() == seg.label


def test_segment_table_full_precision_and_track_choice(tmp_path):
    s = ten_second_session()
    s.label_tracks["activity"].add(Segment(7.123456789012345, 7.5, "sit"))
    (f,) = export("segments", [s], tmp_path / "s.csv", tracks=["activity"])
    df = pd.read_csv(f)
    assert set(df["track"]) == {"activity"}
    assert 7.123456789012345 in df["start_s"].tolist()


def test_segment_table_needs_csv_or_tsv(tmp_path, session):
    with pytest.raises(ExportError, match=r"\.csv or \.tsv"):
        export("segments", [session], tmp_path / "seg.xlsx")


# -- Audacity -------------------------------------------------------------------------------------


def test_audacity_one_file_per_track(tmp_path, session):
    files = export("audacity", [session], tmp_path / "aud", names=["rec"])
    assert [f.name for f in files] == ["rec.activity.txt", "rec.posture.txt"]
    lines = files[0].read_text().splitlines()
    assert lines == ["0.000000\t4.000000\twalk", "4.000000\t7.000000\tsit", "8.000000\t10.000000\twalk"]
    rows = [line.split("\t") for line in files[1].read_text().splitlines()]
    assert [(float(a), float(b), c) for a, b, c in rows] == [
        (0, 6, "upright"),
        (2.5, 2.5, "tap"),
        (5, 10, "moving"),
    ]


def test_audacity_chosen_track_to_one_file_and_clean_labels(tmp_path, session):
    session.label_tracks["activity"].add(Segment(7.0000004, 7.5, "odd\tname"))
    (f,) = export("audacity", [session], tmp_path / "labels.txt", tracks=["activity"])
    lines = f.read_text().splitlines()
    assert lines[2] == "7.000000\t7.500000\todd name"
    with pytest.raises(ExportError, match="writes 2 files"):
        export("audacity", [session], tmp_path / "both.txt")


# -- ELAN ------------------------------------------------------------------------------------------


def parse_eaf(path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    slots = {ts.get("TIME_SLOT_ID"): int(ts.get("TIME_VALUE")) for ts in root.iter("TIME_SLOT")}
    tiers = {}
    for tier in root.findall("TIER"):
        anns = []
        for a in tier.iter("ALIGNABLE_ANNOTATION"):
            anns.append(
                (
                    slots[a.get("TIME_SLOT_REF1")],
                    slots[a.get("TIME_SLOT_REF2")],
                    a.find("ANNOTATION_VALUE").text,
                )
            )
        tiers[tier.get("TIER_ID")] = anns
    return root, tiers


def test_eaf_is_well_formed_and_round_trips(tmp_path, session):
    (f,) = export("eaf", [session], tmp_path / "s.eaf")
    assert f.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root, tiers = parse_eaf(f)
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0" and root.get("VERSION") == "3.0"
    assert root.find("HEADER").get("TIME_UNITS") == "milliseconds"
    assert [c.tag for c in root][:2] == ["HEADER", "TIME_ORDER"]
    assert tiers["activity"] == [(0, 4000, "walk"), (4000, 7000, "sit"), (8000, 10000, "walk")]
    # overlapping posture spread over two tiers without overlaps; the event becomes 1 ms long
    assert tiers["posture"] == [(0, 6000, "upright")]
    assert tiers["posture-2"] == [(2500, 2501, "tap"), (5000, 10000, "moving")]
    for anns in tiers.values():
        for (_, end, _), (start, _, _) in zip(anns, anns[1:], strict=False):
            assert start >= end
    lt = root.find("LINGUISTIC_TYPE")
    assert lt.get("TIME_ALIGNABLE") == "true"
    assert all(t.get("LINGUISTIC_TYPE_REF") == lt.get("LINGUISTIC_TYPE_ID") for t in root.findall("TIER"))
    cv = root.find("CONTROLLED_VOCABULARY")
    assert cv.get("CV_ID") == lt.get("CONTROLLED_VOCABULARY_REF")
    values = [e.find("CVE_VALUE").text for e in cv.findall("CV_ENTRY_ML")]
    assert values[:2] == ["walk", "sit"] and {"upright", "moving", "tap"} <= set(values)
    ids = [a.get("ANNOTATION_ID") for a in root.iter("ALIGNABLE_ANNOTATION")]
    assert len(ids) == len(set(ids)) == 6
    props = {p.get("NAME"): p.text for p in root.iter("PROPERTY")}
    assert props["lastUsedAnnotationId"] == "6" and props["harlab:session_id"] == "sess-a"


def test_eaf_escapes_and_rounds_to_milliseconds(tmp_path, session):
    session.label_tracks["activity"].add(Segment(7.0004, 7.9996, 'a<b & "c"'))
    (f,) = export("eaf", [session], tmp_path / "e.eaf", tracks=["activity"])
    _, tiers = parse_eaf(f)
    assert (7000, 8000, 'a<b & "c"') in tiers["activity"]
    assert set(tiers) == {"activity"}


def test_eaf_one_file_per_session(tmp_path):
    a, b = ten_second_session("sess-a"), ten_second_session("sess-b")
    files = export("eaf", [a, b], tmp_path / "elan", names=["x", "x"])
    assert [f.name for f in files] == ["x.eaf", "x-2.eaf"]


def test_a_file_name_of_another_format_is_refused(tmp_path, session):
    with pytest.raises(ExportError, match="looks like a file name"):
        export("eaf", [session], tmp_path / "labels.txt")
    assert list(tmp_path.iterdir()) == []
