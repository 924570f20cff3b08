"""Classes mapped onto the schema, conflicts reported and settled as the user chooses, and the
session file unchanged whenever the import does not go ahead."""

from __future__ import annotations

import pytest

from harlab.cli import main
from harlab.core.errors import SessionError
from harlab.labelfiles import ImportRequest, LabelImportError, import_into_file, plan_import, read_label_file
from harlab.labeling.history import EditHistory
from harlab.storage import read_session
from tests.labelfiles.label_sessions import digest, empty_target, segs, source_session


def audacity(tmp_path, lines, name="coder.txt"):
    p = tmp_path / name
    p.write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in lines), encoding="utf-8")
    return p


def plan(tmp_path, lines, **request):
    session = source_session()
    for n in list(session.label_tracks):
        session.remove_label_track(n)
    f = read_label_file(audacity(tmp_path, lines), session)
    return session, plan_import(session, f, ImportRequest(**request))


# -- classes ------------------------------------------------------------------------------------
def test_classes_match_the_schema_ignoring_case_and_separators(tmp_path):
    _, p = plan(tmp_path, [(0, 1, "Walking Upstairs"), (1, 2, "WALKING-UPSTAIRS"), (2, 3, "Sitting")])
    assert p.ready and not p.unknown
    assert [s.label for s in p.tracks[0][1]] == ["walking_upstairs", "walking_upstairs", "sitting"]
    assert p.respelled == {
        "Walking Upstairs": "walking_upstairs",
        "WALKING-UPSTAIRS": "walking_upstairs",
        "Sitting": "sitting",
    }


def test_unknown_classes_are_listed_never_dropped(tmp_path):
    _, p = plan(tmp_path, [(0, 1, "sitting"), (1, 2, "jogging"), (2, 3, "Jogging"), (3, 4, "lying")])
    assert not p.ready
    assert p.unknown == {"jogging": 1, "Jogging": 1, "lying": 1}
    assert any("unknown classes" in line and "lying (1)" in line for line in p.report())


def test_unknown_classes_added_to_the_schema_in_the_files_first_spelling(tmp_path):
    session, p = plan(tmp_path, [(0, 1, "jogging"), (1, 2, "Jogging")], add_unknown=True)
    assert p.ready and p.added == ["jogging"]
    assert [s.label for s in p.tracks[0][1]] == ["jogging", "jogging"]
    history = EditHistory(session)
    history.push(p.command())
    assert "jogging" in session.schema and len(session.label_tracks["coder"]) == 2
    history.undo()  # one step takes the track and the class away
    assert "jogging" not in session.schema and "coder" not in session.label_tracks


def test_unknown_classes_mapped_onto_existing_ones(tmp_path):
    _, p = plan(
        tmp_path, [(0, 1, "jog"), (1, 2, "lying")], class_map={"JOG": "Walking upstairs", "lying": "sitting"}
    )
    assert p.ready
    assert [s.label for s in p.tracks[0][1]] == ["walking_upstairs", "sitting"]


def test_mapping_onto_a_class_the_schema_lacks_is_an_error(tmp_path):
    with pytest.raises(LabelImportError, match="the schema has no class 'flying'"):
        plan(tmp_path, [(0, 1, "jog")], class_map={"jog": "flying"})


# -- conflicts ----------------------------------------------------------------------------------
CONFLICTED = [
    (-5, 2, "sitting"),  # starts before the recording (0..59.9 s)
    (10, 20, "sitting"),
    (15, 25, "walking_upstairs"),  # overlaps the one before on an exclusive track
    (30, 28, "sitting"),  # ends before it starts
    (55, 70, "sitting"),  # ends after the recording
    (80, 90, "sitting"),  # wholly outside
]


def test_refuse_reports_every_conflict_with_file_place_and_times(tmp_path):
    _, p = plan(tmp_path, CONFLICTED)
    assert not p.ready
    text = "\n".join(p.report())
    assert (
        "coder.txt, line 1: 'sitting' at -5.000-2.000 s lies outside the recording (0.000-59.900 s)" in text
    )
    assert (
        "coder.txt, line 3: 'walking_upstairs' at 15.000-25.000 s overlaps the segment before it (ends 20.000 s)"
        in text
    )
    assert "coder.txt, line 4: 'sitting' ends at 28.000 s before it starts at 30.000 s" in text
    assert "line 5" in text and "line 6" in text
    assert len(p.conflicts) == 5


def test_clip_cuts_to_the_recording_and_to_the_segment_before_and_says_so(tmp_path):
    _, p = plan(tmp_path, CONFLICTED, on_conflict="clip")
    assert p.ready
    assert [(s.start, s.end) for s in p.tracks[0][1]] == [(0.0, 2.0), (10, 20), (20, 25), (55, 59.9)]
    actions = [c.action for c in p.conflicts]
    assert actions == [
        "clipped to 0.000-2.000 s",
        "clipped to 20.000-25.000 s",
        "skipped (cannot be clipped)",
        "clipped to 55.000-59.900 s",
        "skipped (nothing inside the recording)",
    ]


def test_skip_leaves_out_each_conflicting_segment(tmp_path):
    _, p = plan(tmp_path, CONFLICTED, on_conflict="skip")
    assert p.ready
    assert [(s.start, s.end) for s in p.tracks[0][1]] == [(10, 20)]
    assert all(c.action == "skipped" for c in p.conflicts)


def test_an_overlapping_track_takes_overlaps_as_they_are(tmp_path):
    _, p = plan(tmp_path, [(10, 20, "sitting"), (15, 25, "sitting")], policy="overlapping")
    assert p.ready and not p.conflicts


def test_refused_import_leaves_the_session_file_unchanged_and_cli_exits_1(tmp_path, capsys):
    target = empty_target(tmp_path)
    before = digest(target)
    f = audacity(tmp_path, CONFLICTED)
    with pytest.raises(LabelImportError) as err:
        import_into_file(target, f, ImportRequest())
    assert err.value.plan is not None and "5 conflicts" in str(err.value)
    assert digest(target) == before
    assert main(["labels", "import", str(target), str(f)]) == 1
    assert "overlaps the segment before it" in capsys.readouterr().err
    assert digest(target) == before
    assert main(["labels", "import", str(target), str(f), "--on-conflict", "skip", "--dry-run"]) == 0
    assert digest(target) == before
    assert (
        main(["labels", "import", str(target), str(f), "--on-conflict", "clip", "--annotator", "Lee", "-q"])
        == 0
    )
    assert [(a, b, w) for a, b, _, w in segs(target, "coder")] == [
        (0.0, 2.0, "Lee"),
        (10.0, 20.0, "Lee"),
        (20.0, 25.0, "Lee"),
        (55.0, 59.9, "Lee"),
    ]
    track = read_session(target).label_tracks["coder"]
    assert track.policy == "exclusive" and track.annotator == "Lee"  # the track records who made it too


def test_cli_unknown_classes_then_add_or_map(tmp_path, capsys):
    target = empty_target(tmp_path)
    f = audacity(tmp_path, [(1, 2, "Jog"), (3, 4, "sitting")])
    before = digest(target)
    assert main(["labels", "import", str(target), str(f)]) == 1
    assert "Jog (1)" in capsys.readouterr().err and digest(target) == before
    assert main(["labels", "import", str(target), str(f), "--map", "jog=Sitting", "-q"]) == 0
    assert [c for _, _, c, _ in segs(target, "coder")] == ["sitting", "sitting"]
    assert main(["labels", "import", str(target), str(f), "--track", "coder-2", "--add-unknown", "-q"]) == 0
    assert "Jog" in read_session(target).schema


def test_cli_errors_exit_2_and_name_the_problem(tmp_path, capsys):
    target = empty_target(tmp_path)
    f = audacity(tmp_path, [(1, 2, "sitting")])
    assert main(["labels", "import", str(target), str(f), "-q"]) == 0
    assert main(["labels", "import", str(target), str(f)]) == 2  # the track exists now
    assert "already has a label track 'coder'" in capsys.readouterr().err
    assert main(["labels", "import", str(target), str(f), "--map", "nonsense"]) == 2
    assert main(["labels", "import", str(target), str(tmp_path / "missing.txt")]) == 2


def test_the_edit_refuses_overlaps_it_was_not_planned_for():
    from harlab.core import Segment
    from harlab.labeling.commands import AddSegments

    session = source_session()
    with pytest.raises(SessionError, match="exclusive"):
        AddSegments("new", [Segment(0, 2, "sitting"), Segment(1, 3, "sitting")]).do(session)
    assert "new" not in session.label_tracks


def test_a_crashed_workbenchs_unsaved_edits_are_never_stranded(tmp_path, capsys):
    from harlab.labeling.commands import LabelRange
    from harlab.labeling.document import LabelingDocument

    target = empty_target(tmp_path)
    doc = LabelingDocument.open(target)
    doc.push(LabelRange("coded", 1, 2, "sitting"))
    doc.close()  # the journal stays: recoverable edits
    before = digest(target)
    assert main(["labels", "import", str(target), str(audacity(tmp_path, [(3, 4, "sitting")]))]) == 2
    assert "unsaved edit" in capsys.readouterr().err and digest(target) == before


def test_a_segment_table_of_several_sessions_gives_this_sessions_rows(tmp_path):
    from harlab.exporters import ExportOptions, get_exporter
    from harlab.labelfiles.label_import import read_label_file as read

    a, b = source_session(), source_session()
    b.metadata.session_id = "sess-2"
    b.label_tracks["activity"].remove(next(iter(b.label_tracks["activity"])).id)
    (table,) = get_exporter("segments").export([a, b], tmp_path / "all.csv", ExportOptions(names=["a", "b"]))
    f = read(table, b)
    assert len(next(t for t in f.tracks if t.name == "activity").segments) == 2
    assert any("kept the" in n and "sess-2" in n for n in f.notes)
    b.metadata.session_id = "other"
    with pytest.raises(Exception, match="none is this session"):
        read(table, b)


def test_label_files_are_told_from_recordings_for_a_drop(tmp_path):
    from harlab.labelfiles import is_label_file

    files = {
        "a.eaf": ("<ANNOTATION_DOCUMENT/>", True),
        "b.txt": ("1.0\t2.0\twalk\n", True),
        "c.csv": ("onset,offset,label\n1,2,walk\n", True),
        "d.json": ('[{"id": 1, "annotations": []}]', True),
        "e.csv": ("time_s,accelerometer.x,accelerometer.y\n0,1,2\n", False),
        "f.json": ('{"samples": []}', False),
        "g.txt": ("some notes\n", False),
    }
    for name, (text, want) in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert is_label_file(tmp_path / name) == want, name


def test_cli_chooses_tiers_with_from_and_names_one_with_track(tmp_path, capsys):
    from tests.labelfiles.test_readers import ann, eaf, slot

    target = empty_target(tmp_path)
    tiers = (
        '<TIER TIER_ID="A" ANNOTATOR="Ana">' + ann("a1", 1, 2, "sitting") + "</TIER>"
        '<TIER TIER_ID="B" ANNOTATOR="Bo">' + ann("b1", 1, 2, "Sitting") + "</TIER>"
    )
    f = eaf(tmp_path, slot(1, 1000) + slot(2, 2500), tiers)
    assert main(["labels", "import", str(target), str(f), "--track", "X"]) == 2
    assert "choose one of them (--from TRACK)" in capsys.readouterr().err
    assert main(["labels", "import", str(target), str(f), "--from", "B", "--track", "coder B", "-q"]) == 0
    assert segs(target, "coder B") == [(1.0, 2.5, "sitting", "Bo")]
    assert main(["labels", "import", str(target), str(f), "--from", "A", "-q"]) == 0
    assert segs(target, "A") == [(1.0, 2.5, "sitting", "Ana")]
