"""Every label format harlab exports imports back: same segments, labels, times to the format's
precision, and the annotator where the format carries it."""

from __future__ import annotations

import json

import pytest

from harlab.cli import main
from harlab.labelfiles import ImportRequest, import_into_file
from tests.labelfiles.label_sessions import empty_target, export, segs, source_session


def expected(track: str, precision: float | None = None, annotator: bool = True):
    out = []
    for s in source_session().label_tracks[track]:
        a, b = s.start, s.end
        if precision is not None:
            a, b = round(a / precision) * precision, round(b / precision) * precision
        out.append((a, b, s.label, s.annotator if annotator else ""))
    return out


def close(got, want, tol):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g[2:] == w[2:]
        assert g[0] == pytest.approx(w[0], abs=tol) and g[1] == pytest.approx(w[1], abs=tol)


@pytest.mark.parametrize("track,policy", [("activity", "exclusive"), ("posture", "overlapping")])
def test_eaf_round_trip_to_the_millisecond_with_annotator_and_events(tmp_path, track, policy):
    (eaf,) = export("eaf", source_session(), tmp_path / "out.eaf", tracks=[track])
    target = empty_target(tmp_path)
    import_into_file(target, eaf, ImportRequest(policy=policy))
    got = segs(target, track)
    want = expected(track, 1e-3)
    if track == "activity":  # the tier holds two annotators: ELAN's ANNOTATOR attribute lists both
        want = [(a, b, c, "ann1, ann2") for a, b, c, _ in want]
    close(got, want, 1e-9)
    assert any(a == b for a, b, _, _ in got) == (track == "posture")  # the event is an event again


@pytest.mark.parametrize("track,policy", [("activity", "exclusive"), ("posture", "overlapping")])
def test_audacity_round_trip_to_the_microsecond(tmp_path, track, policy):
    (txt,) = export("audacity", source_session(), tmp_path / "aud", tracks=[track])
    target = empty_target(tmp_path)
    import_into_file(target, txt, ImportRequest(track_name=track, policy=policy))
    close(segs(target, track), expected(track, 1e-6, annotator=False), 1e-9)


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_segment_table_round_trip_exactly_with_annotators(tmp_path, suffix):
    (table,) = export("segments", source_session(), tmp_path / f"seg{suffix}")
    target = empty_target(tmp_path)
    import_into_file(target, table, ImportRequest(policy="overlapping"))
    for track in ("activity", "posture"):
        assert segs(target, track) == expected(track)


@pytest.mark.parametrize("track,policy", [("activity", "exclusive"), ("posture", "overlapping")])
def test_labelstudio_round_trip_exactly_with_annotators(tmp_path, track, policy):
    (js,) = export("labelstudio", source_session(), tmp_path / "ls.json", tracks=[track])
    data = json.loads(js.read_text())
    results = [r for a in data[0]["annotations"] for r in a["result"]]
    assert {r["type"] for r in results} == {"timeserieslabels"}
    target = empty_target(tmp_path)
    import_into_file(target, js, ImportRequest(policy=policy))
    assert segs(target, track) == expected(track)


def test_cli_round_trip_through_harlab_export_and_labels_import(tmp_path, capsys):
    src = tmp_path / "src.h5"
    from harlab.storage import save_session

    save_session(source_session(), src)
    out = tmp_path / "ls.json"
    assert main(["export", str(src), "--to", "labelstudio", "-o", str(out), "--track", "activity"]) == 0
    target = empty_target(tmp_path)
    code = main(["labels", "import", str(target), str(out), "--track", "coder2", "--annotator", "Kim", "-q"])
    assert code == 0
    got = segs(target, "coder2")
    assert [(a, b, c) for a, b, c, _ in got] == [(a, b, c) for a, b, c, _ in expected("activity")]
    assert {w for *_, w in got} == {"Kim"}  # --annotator overrides what the file says
    assert "activity (3 segments)" in capsys.readouterr().out.replace("coder2", "activity")
