"""The readers on files written by hand: ELAN's unvalued slots and reference tiers, CSV tables in
seconds, clock times and sample indices, Audacity point labels, Label Studio's own export shape."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from harlab.core.errors import ImportFormatError
from harlab.importers._csvspec import CsvSpec
from harlab.labelfiles import detect_format, read_label_file
from tests.labelfiles.label_sessions import START, source_session

EAF_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<ANNOTATION_DOCUMENT AUTHOR="someone" FORMAT="3.0" VERSION="3.0">\n<HEADER TIME_UNITS="milliseconds"/>\n'


def eaf(tmp_path, slots: str, tiers: str, name="t.eaf"):
    p = tmp_path / name
    p.write_text(
        EAF_HEAD + f"<TIME_ORDER>{slots}</TIME_ORDER>{tiers}</ANNOTATION_DOCUMENT>\n", encoding="utf-8"
    )
    return p


def slot(i, ms=None):
    return f'<TIME_SLOT TIME_SLOT_ID="ts{i}"' + ("" if ms is None else f' TIME_VALUE="{ms}"') + "/>"


def ann(aid, a, b, value):
    return (
        f'<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="{aid}" TIME_SLOT_REF1="ts{a}" TIME_SLOT_REF2="ts{b}">'
        f"<ANNOTATION_VALUE>{value}</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>"
    )


def test_eaf_unvalued_slots_are_placed_evenly_between_valued_neighbours(tmp_path):
    # ts1=1000, ts2 and ts3 unvalued, ts4=4000: ELAN places them at 2000 and 3000
    slots = slot(1, 1000) + slot(2) + slot(3) + slot(4, 4000)
    tier = (
        '<TIER TIER_ID="coder A" ANNOTATOR="Ana">'
        + ann("a1", 1, 2, "walk")
        + ann("a2", 2, 3, "sit")
        + ann("a3", 3, 4, "walk")
        + "</TIER>"
    )
    f = read_label_file(eaf(tmp_path, slots, tier), source_session())
    (track,) = f.tracks
    assert track.name == "coder A" and track.annotator == "Ana"
    assert [(s.start, s.end, s.label) for s in track.segments] == [
        (1.0, 2.0, "walk"),
        (2.0, 3.0, "sit"),
        (3.0, 4.0, "walk"),
    ]
    assert track.segments[1].where == "tier coder A, annotation a2"


def test_eaf_unvalued_slot_without_a_valued_neighbour_is_refused_naming_it(tmp_path):
    slots = slot(1, 1000) + slot(2)
    tier = '<TIER TIER_ID="A">' + ann("a1", 1, 2, "walk") + "</TIER>"
    with pytest.raises(ImportFormatError, match="time slot ts2 has no time and no slot with a time after it"):
        read_label_file(eaf(tmp_path, slots, tier), source_session())


def test_eaf_reference_tiers_take_their_parents_span_and_subdivide_it(tmp_path):
    slots = slot(1, 0) + slot(2, 3000)
    parent = '<TIER TIER_ID="words">' + ann("a1", 1, 2, "walk") + "</TIER>"
    assoc = (
        '<TIER TIER_ID="gloss" PARENT_REF="words"><ANNOTATION><REF_ANNOTATION ANNOTATION_ID="r1" '
        'ANNOTATION_REF="a1"><ANNOTATION_VALUE>brisk</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION></TIER>'
    )
    subdiv = (
        '<TIER TIER_ID="parts" PARENT_REF="words">'
        '<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="s2" ANNOTATION_REF="a1" PREVIOUS_ANNOTATION="s1">'
        "<ANNOTATION_VALUE>b</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>"
        '<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="s1" ANNOTATION_REF="a1">'
        "<ANNOTATION_VALUE>a</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>"
        '<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="s3" ANNOTATION_REF="a1" PREVIOUS_ANNOTATION="s2">'
        "<ANNOTATION_VALUE>c</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION></TIER>"
    )
    f = read_label_file(eaf(tmp_path, slots, parent + assoc + subdiv), source_session())
    tracks = {t.name: [(s.start, s.end, s.label) for s in t.segments] for t in f.tracks}
    assert tracks["gloss"] == [(0.0, 3.0, "brisk")]
    assert tracks["parts"] == [(0.0, 1.0, "a"), (1.0, 2.0, "b"), (2.0, 3.0, "c")]


def test_eaf_empty_values_are_left_out_and_counted(tmp_path):
    slots = slot(1, 0) + slot(2, 1000) + slot(3, 2000)
    tier = (
        '<TIER TIER_ID="A">' + ann("a1", 1, 2, "walk") + ann("a2", 2, 3, " ") + "</TIER><TIER TIER_ID='B'/>"
    )
    f = read_label_file(eaf(tmp_path, slots, tier), source_session())
    assert [t.name for t in f.tracks] == ["A"]
    assert any("1 annotation with an empty value" in n for n in f.notes)
    assert any("'B' has no annotations" in n for n in f.notes)


def test_csv_in_seconds_found_by_column_names(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text("onset,offset,Activity,coder\n1.5,3.25,walk,Bo\n3.25,4,sit,Bo\n", encoding="utf-8")
    (track,) = read_label_file(p, source_session()).tracks
    assert [(s.start, s.end, s.label, s.annotator) for s in track.segments] == [
        (1.5, 3.25, "walk", "Bo"),
        (3.25, 4.0, "sit", "Bo"),
    ]
    assert [s.where for s in track.segments] == ["line 2", "line 3"]


def test_csv_clock_times_are_placed_by_the_session_start_and_zone(tmp_path):
    # the session starts 2024-03-01 12:00:00 UTC = 13:00:00 in Berlin (CET, +01:00)
    session = source_session()
    session.metadata.timezone = "Europe/Berlin"
    p = tmp_path / "clock.csv"
    p.write_text(
        "from,to,what\n2024-03-01 13:00:10,2024-03-01 13:00:20.5,walk\n2024-03-01 13:00:30,2024-03-01 13:00:31,sit\n",
        encoding="utf-8",
    )
    spec = CsvSpec(time_column="from", end_column="to", time_unit="iso", labels={"activity": "what"})
    (track,) = read_label_file(p, session, spec=spec).tracks
    assert track.name == "activity"
    assert [(s.start, s.end) for s in track.segments] == [(10.0, 20.5), (30.0, 31.0)]
    p.write_text("from,to,what\n2024-03-01T12:00:10Z,2024-03-01T14:00:20.5+02:00,walk\n", encoding="utf-8")
    (track,) = read_label_file(p, session, spec=spec).tracks  # zones given: the session's does not apply
    assert [(s.start, s.end) for s in track.segments] == [(10.0, 20.5)]


def test_csv_epoch_milliseconds_are_clock_times(tmp_path):
    ms = int(START.timestamp() * 1000)
    p = tmp_path / "epoch.csv"
    p.write_text(f"start_ms,end_ms,label\n{ms + 2500},{ms + 4000},walk\n", encoding="utf-8")
    spec = CsvSpec(time_column="start_ms", end_column="end_ms", time_unit="ms", labels={"a": "label"})
    (track,) = read_label_file(p, source_session(), spec=spec).tracks
    assert [(s.start, s.end) for s in track.segments] == [(2.5, 4.0)]


def test_csv_sample_indices_at_the_session_rate_or_the_spec_rate(tmp_path):
    p = tmp_path / "idx.csv"
    p.write_text("first,last,label\n0,25,walk\n25,100,sit\n", encoding="utf-8")
    spec = CsvSpec(time_column="first", end_column="last", time_unit="samples", labels={"a": "label"})
    (track,) = read_label_file(p, source_session(), spec=spec).tracks  # the session: 10 Hz
    assert [(s.start, s.end) for s in track.segments] == [(0.0, 2.5), (2.5, 10.0)]
    spec.rate_hz = 50.0
    (track,) = read_label_file(p, source_session(), spec=spec).tracks
    assert [(s.start, s.end) for s in track.segments] == [(0.0, 0.5), (0.5, 2.0)]


def test_csv_clock_times_need_a_session_start(tmp_path):
    session = source_session()
    session.metadata.start_utc = None
    p = tmp_path / "clock.csv"
    p.write_text("start,end,label\n2024-03-01T12:00:10Z,2024-03-01T12:00:20Z,walk\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="session's start time is unknown"):
        read_label_file(p, session, spec=CsvSpec(time_unit="iso"))


def test_csv_spec_file_is_the_generic_importers_spec(tmp_path):
    spec_file = tmp_path / "spec.toml"
    CsvSpec(time_column="b", end_column="e", time_unit="ms", labels={"coded": "c"}, delimiter=";").save(
        spec_file
    )
    p = tmp_path / "x.csv"
    p.write_text("b;e;c\n1000;2000;walk\n", encoding="utf-8")
    (track,) = read_label_file(p, source_session(), spec=CsvSpec.load(spec_file)).tracks
    assert (track.name, track.segments[0].start, track.segments[0].end) == ("coded", 1.0, 2.0)


def test_audacity_point_labels_and_spectral_lines(tmp_path):
    p = tmp_path / "aud.txt"
    p.write_text("1.000000\t2.500000\twalk\n\\\t100.0\t2000.0\n3.0\t3.0\ttap\n4.5\tclap\n", encoding="utf-8")
    f = read_label_file(p, source_session())
    assert f.format == "audacity"
    assert [(s.start, s.end, s.label) for s in f.tracks[0].segments] == [
        (1.0, 2.5, "walk"),
        (3.0, 3.0, "tap"),
        (4.5, 4.5, "clap"),
    ]
    assert any("spectral" in n for n in f.notes)


def test_labelstudio_export_shape_with_two_annotators_and_clock_times(tmp_path):
    t0 = START + timedelta(seconds=5)
    tasks = [
        {
            "id": 7,
            "data": {"csv": "s3://bucket/p01.csv"},
            "annotations": [
                {
                    "completed_by": {"id": 3, "email": "ana@lab.org"},
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "ts",
                            "type": "timeserieslabels",
                            "value": {
                                "start": 1.0,
                                "end": 2.0,
                                "instant": False,
                                "timeserieslabels": ["Walk"],
                            },
                        },
                        {"from_name": "q", "to_name": "ts", "type": "choices", "value": {"choices": ["ok"]}},
                    ],
                },
                {
                    "completed_by": 9,
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "ts",
                            "type": "timeserieslabels",
                            "value": {
                                "start": t0.isoformat(),
                                "end": t0.isoformat(),
                                "instant": True,
                                "timeserieslabels": ["Tap"],
                            },
                        },
                    ],
                },
            ],
        }
    ]
    p = tmp_path / "project-1.json"
    p.write_text(json.dumps(tasks), encoding="utf-8")
    f = read_label_file(p, source_session())
    got = {t.name: [(s.start, s.end, s.label, s.annotator) for s in t.segments] for t in f.tracks}
    assert got == {
        "label": [(1.0, 2.0, "Walk", "ana@lab.org")],
        "label-labelstudio user 9": [(5.0, 5.0, "Tap", "labelstudio user 9")],
    }
    assert any("1 result of other types" in n for n in f.notes)


def test_format_detection_by_suffix_and_content(tmp_path):
    cases = {
        "a.eaf": "<x/>",
        "b.json": "[]",
        "c.csv": "start,end,label\n",
        "d.txt": "1.0\t2.0\twalk\n",
        "e.txt": "start,end,label\n1,2,walk\n",
        "f.xml": "<ANNOTATION_DOCUMENT/>",
        "g.txt": '[{"annotations": []}]',
    }
    want = {
        "a.eaf": "eaf",
        "b.json": "labelstudio",
        "c.csv": "csv",
        "d.txt": "audacity",
        "e.txt": "csv",
        "f.xml": "eaf",
        "g.txt": "labelstudio",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert detect_format(tmp_path / name) == want[name], name
