"""``harlab export`` end to end on saved session files, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harlab import storage
from harlab.cli import main
from tests.exporters.export_sessions import ten_second_session


def run(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_csv_export_of_a_session_file(tmp_path, saved_session, capsys):
    rc, out, err = run(capsys, "export", str(saved_session), "--to", "csv", "-o", str(tmp_path / "csv"))
    assert rc == 0, err
    assert "wrote 2 files" in out
    df = pd.read_csv(tmp_path / "csv" / "rec1.accel.csv", keep_default_na=False)
    assert len(df) == 100 and df["label.activity"][45] == "sit"
    np.testing.assert_array_equal(df["time_s"].to_numpy(), np.arange(100) / 10)


def test_windows_export_of_two_files_in_a_folder(tmp_path, capsys):
    folder = tmp_path / "sessions"
    folder.mkdir()
    storage.save_session(ten_second_session("sess-a", "P01"), folder / "a.h5")
    storage.save_session(ten_second_session("sess-b", "P02"), folder / "b.h5")
    out = tmp_path / "train.h5"
    rc, stdout, err = run(
        capsys,
        "export",
        str(folder),
        "--to",
        "windows",
        "-o",
        str(out),
        "--track",
        "activity",
        "--window",
        "1",
        "--stride",
        "0.5",
        "--streams",
        "accel",
        "--label-policy",
        "center",
    )
    assert rc == 0, err
    assert "32 windows (walk 20, sit 12)" in stdout
    manifest = json.loads((tmp_path / "train.h5.json").read_text())
    assert manifest["n_windows"] == 32 and manifest["label_policy"] == "centre"
    assert manifest["channels"] == ["accel.x", "accel.y", "accel.z"]
    assert [s["name"] for s in manifest["sessions"]] == ["a", "b"]
    assert manifest["class_counts"] == {"walk": 20, "sit": 12}


@pytest.mark.parametrize(
    ("fmt", "out", "expected"),
    [
        ("segments", "seg.tsv", ["seg.tsv"]),
        ("audacity", "aud", ["aud/rec1.activity.txt", "aud/rec1.posture.txt"]),
        ("eaf", "rec.eaf", ["rec.eaf"]),
        ("csv", "merged.csv", ["merged.csv"]),
    ],
)
def test_other_formats(tmp_path, saved_session, capsys, fmt, out, expected):
    extra = ["--rate", "5"] if fmt == "csv" else []
    rc, _, err = run(
        capsys, "export", str(saved_session), "--to", fmt, "-o", str(tmp_path / out), "-q", *extra
    )
    assert rc == 0, err
    for e in expected:
        assert (tmp_path / e).is_file()


def test_list_formats(capsys):
    rc, out, _ = run(capsys, "export", "--list-formats")
    assert rc == 0
    for name in ("csv", "segments", "audacity", "windows", "eaf"):
        assert name in out


@pytest.mark.parametrize(
    ("out", "args", "message"),
    [
        ("out", ["--to", "csv", "--window", "2"], "--window does not apply to the 'csv' format"),
        (
            "w.npz",
            ["--to", "windows", "--track", "activity", "--window", "0.25"],
            "not a whole number of samples",
        ),
        ("w.npz", ["--to", "windows", "--track", "nope"], "no session has a label track 'nope'"),
        (
            "w.npz",
            ["--to", "windows", "--window", "1"],
            "several label tracks (activity, posture); choose one",
        ),
        ("w.csv", ["--to", "windows", "--track", "activity"], "one .npz or .h5/.hdf5 file"),
        ("out", ["--to", "csv", "--streams", "magnet"], "no stream or channel 'magnet'"),
        ("out", ["--to", "segments"], "name it .csv or .tsv"),
    ],
)
def test_bad_arguments_give_clear_errors(tmp_path, saved_session, capsys, out, args, message):
    rc, _, err = run(capsys, "export", str(saved_session), "-o", str(tmp_path / out), *args)
    assert rc == 2
    assert err.startswith("harlab: error:") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec1.h5"]


def test_missing_input_and_missing_options(tmp_path, saved_session, capsys):
    rc, _, err = run(capsys, "export", str(tmp_path / "nothing.h5"), "--to", "csv", "-o", str(tmp_path / "o"))
    assert rc == 2 and "no such file or folder" in err
    rc, _, err = run(capsys, "export", str(saved_session), "-o", str(tmp_path / "o"))
    assert rc == 2 and "--to" in err
    rc, _, err = run(capsys, "export", str(saved_session), "--to", "csv")
    assert rc == 2 and "-o OUT" in err
    with pytest.raises(SystemExit) as exc:
        main(["export", str(saved_session), "--to", "xlsx", "-o", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_existing_output_needs_force(tmp_path, saved_session, capsys):
    out = tmp_path / "seg.csv"
    assert run(capsys, "export", str(saved_session), "--to", "segments", "-o", str(out))[0] == 0
    before = out.read_bytes()
    rc, _, err = run(capsys, "export", str(saved_session), "--to", "segments", "-o", str(out))
    assert rc == 2 and "--force" in err and out.read_bytes() == before
    assert run(capsys, "export", str(saved_session), "--to", "segments", "-o", str(out), "--force")[0] == 0


def test_not_a_session_file(tmp_path, capsys):
    bogus = tmp_path / "bogus.h5"
    bogus.write_bytes(b"not hdf5 at all")
    rc, _, err = run(capsys, "export", str(bogus), "--to", "segments", "-o", str(tmp_path / "s.csv"))
    assert rc == 2 and "bogus.h5" in err
    assert not (tmp_path / "s.csv").exists()
