"""``harlab agreement`` and ``harlab consensus`` end to end on simulated sessions with simulated annotators."""

from __future__ import annotations

import csv
import json

import pytest

from harlab.cli import main
from harlab.simulate import annotated_session
from harlab.storage import FileLock, read_session, save_session


@pytest.fixture
def sessions(tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    sims = []
    for i in range(2):
        s, sim = annotated_session(
            240, ("ann", "bob"), confused={"ann": [1], "bob": [3]}, seed=10 + i, streams=[]
        )
        save_session(s, folder / f"s{i}.h5")
        sims.append(sim)
    return folder, sims


def test_agreement_json_per_session_and_pooled(sessions, capsys):
    folder, _ = sessions
    assert main(["agreement", str(folder), "--tracks", "ann,bob", "--tolerance", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p.rsplit("/", 1)[-1] for p in (s["session"] for s in out["sessions"])] == ["s0.h5", "s1.h5"]
    pooled = out["pooled"]
    assert pooled["units"] == sum(s["units"] for s in out["sessions"])
    assert pooled["annotators"] == ["ann", "bob"]
    assert 0 < pooled["cohen_kappa"] < 1 and 0 < pooled["krippendorff_alpha"] < 1
    ev = pooled["events"][0]
    assert ev["matched"] == sum(s["events"][0]["matched"] for s in out["sessions"])
    # each session's two confused segments cannot match; the rest are jittered well within 3 s
    for s in out["sessions"]:
        e = s["events"][0]
        assert e["matched"] == e["segments_first"] - 2


def test_agreement_text_report_and_csv(sessions, tmp_path, capsys):
    folder, _ = sessions
    report, table = tmp_path / "out" / "agree.html", tmp_path / "agree.csv"
    report.parent.mkdir()
    args = ["agreement", str(folder / "s0.h5"), "--tracks", "ann,bob", "--window", "5"]
    assert main([*args, "--report", str(report), "--csv", str(table)]) == 0
    text = capsys.readouterr().out
    assert "Cohen's kappa" in text and "5-s windows" in text and "specific agreement" in text
    html = report.read_text()
    png = report.parent / "agree-confusion-ann-bob.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.name in html
    assert "Krippendorff" in html and "<h2>Events</h2>" in html
    rows = list(csv.DictReader(table.open()))
    kappa = [r for r in rows if r["measure"] == "cohen_kappa" and r["section"] == "overall"]
    assert len(kappa) == 2 and kappa[0]["value"] == kappa[1]["value"]  # one session: pooled equals it


def test_consensus_writes_the_track_and_counts_what_is_left(sessions, tmp_path, capsys):
    folder, sims = sessions
    path = folder / "s0.h5"
    todo = tmp_path / "todo.csv"
    assert main(["consensus", str(path), "--tracks", "ann,bob", "--track", "agreed", "--boundary", "2.5",
                 "--csv", str(todo)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    written = read_session(path).label_tracks["agreed"]
    assert written.annotator == "consensus" and len(written) > 0
    rows = list(csv.DictReader(todo.open()))
    assert f"{len(rows)} disagreements left" in out
    # both confusions are on the list, with the labels the annotators gave
    for c in sims[0].confusions:
        mid = (c.start + c.end) / 2
        hit = [r for r in rows if float(r["start_s"]) <= mid <= float(r["end_s"])]
        assert len(hit) == 1 and hit[0][c.annotator] == c.given
    # the same name again is refused without --force, and replaced with it
    assert main(["consensus", str(path), "--tracks", "ann,bob", "--track", "agreed"]) == 2
    assert "already has a label track 'agreed'" in capsys.readouterr().err
    assert main(["consensus", str(path), "--tracks", "ann,bob", "--track", "agreed", "--rule", "annotator:bob",
                 "--force"]) == 0  # fmt: skip
    replaced = read_session(path).label_tracks["agreed"]
    for seg in sims[0].tracks[1]:  # bob wins wherever bob has a label
        assert [x.label for x in replaced.at((seg.start + seg.end) / 2)] == [seg.label]


def test_consensus_refuses_a_locked_session(sessions, capsys):
    folder, _ = sessions
    path = folder / "s1.h5"
    before = path.read_bytes()
    with FileLock(path):
        assert main(["consensus", str(path), "--tracks", "ann,bob", "--track", "c"]) == 2
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracks", "ann"], "name at least two tracks"),
        (["--tracks", "ann,ann"], "named twice"),
        (["--tracks", "ann,bob", "--window", "0"], "more than 0 seconds"),
        (["--tracks", "ann,bob", "--tolerance", "nan"], "finite"),
    ],
)
def test_agreement_argument_errors(sessions, capsys, args, message):
    folder, _ = sessions
    with pytest.raises(SystemExit) as exc:
        main(["agreement", str(folder), *args])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_a_track_in_no_session_is_an_error(sessions, capsys):
    folder, _ = sessions
    assert main(["agreement", str(folder), "--tracks", "ann,zed"]) == 2
    assert "track 'zed' is in none of the 2 session files" in capsys.readouterr().err


def test_agreement_on_an_empty_folder_or_a_session_lacking_the_tracks(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["agreement", str(empty), "--tracks", "a,b"]) == 2
    assert "holds no session files" in capsys.readouterr().err
    s, _ = annotated_session(60, ("ann", "bob"), seed=1, streams=[])
    save_session(s, tmp_path / "a.h5")
    plain, _ = annotated_session(60, ("ann",), seed=2, streams=[])
    save_session(plain, tmp_path / "b.h5")
    assert main(["agreement", str(tmp_path / "a.h5"), str(tmp_path / "b.h5"), "--tracks", "ann,bob"]) == 0
    assert "skipped" in capsys.readouterr().out
    assert main(["agreement", str(tmp_path / "b.h5"), "--tracks", "ann,bob"]) == 2
    assert "track 'bob' is in none" in capsys.readouterr().err
    assert main(["consensus", str(tmp_path / "b.h5"), "--tracks", "ann,bob", "--track", "c"]) == 2
    assert "has no label track 'bob' (it has: activity, ann)" in capsys.readouterr().err


def test_tracks_without_segments_give_an_empty_result_and_report(tmp_path, capsys):
    from harlab.core.labels import LabelTrack
    from harlab.simulate import synthetic_session

    s = synthetic_session(60, streams=[])
    s.add_label_track(LabelTrack("ann", annotator="ann"))
    s.add_label_track(LabelTrack("bob", annotator="bob"))
    path = save_session(s, tmp_path / "empty.h5")
    report = tmp_path / "r.html"
    assert main(["agreement", str(path), "--tracks", "ann,bob", "--report", str(report), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["pooled"]
    assert out["units"] == 0 and out["cohen_kappa"] is None and out["events"][0]["f1"] is None
    assert "Krippendorff" in report.read_text()
    assert main(["consensus", str(path), "--tracks", "ann,bob", "--track", "c"]) == 0
    assert "0 segments" in capsys.readouterr().out and len(read_session(path).label_tracks["c"]) == 0


def test_outputs_never_overwrite_the_session(sessions, capsys):
    folder, _ = sessions
    path = folder / "s0.h5"
    before = path.read_bytes()
    assert main(["agreement", str(path), "--tracks", "ann,bob", "--csv", str(path), "--force"]) == 2
    assert "also an input" in capsys.readouterr().err
    assert (
        main(["consensus", str(path), "--tracks", "ann,bob", "--track", "c", "--csv", str(path), "--force"])
        == 2
    )
    assert path.read_bytes() == before
    assert main(["consensus", str(path), "--tracks", "ann,bob", "--track", "ann"]) == 2
    assert "one of the tracks being merged" in capsys.readouterr().err
