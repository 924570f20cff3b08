"""``harlab import``: batch over files and folders, per-file report, failures isolated, nothing partial."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from harlab.cli import main
from harlab.importers.run import expand_inputs, import_paths
from harlab.storage import read_session


@pytest.fixture
def inbox(fitbit_seed: Path, tmp_path: Path) -> Path:
    box = tmp_path / "in"
    box.mkdir()
    for name in ("Walking_20200421155113.bin", "Squad_20200421180451.bin"):
        shutil.copy(fitbit_seed / "watch-bin" / name, box / name)
    shutil.copy(fitbit_seed / "training" / "sensor_original.csv", box / "sensor_original.csv")
    (box / "Running_20200421200520.bin").write_bytes(b"\x00" * 131)  # truncated
    (box / "broken.csv").write_text("ActivityID,AccelX,AccelY,AccelZ,GyroX,GyroY,GyroZ\n4,1,2,x,4,5,6\n")
    return box


@pytest.mark.slow
def test_cli_batch_with_failures(inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = main(["import", str(inbox), "-o", str(out), "--participant", "P07", "--timezone", "Europe/Berlin"])
    text, err = capsys.readouterr()
    assert rc == 1
    assert "FAILED" in text and "byte 130" in text and "line 2" in text
    assert "3 of 5 inputs imported, 12 session files" in text
    assert "[5/5]" in err  # progress on stderr
    names = sorted(p.name for p in out.iterdir() if p.suffix == ".h5")
    assert len(names) == 12
    assert not any(n.startswith(("Running", "broken")) for n in names)  # nothing for failed inputs
    s = read_session(out / "Squad_20200421180451.h5")
    assert s.metadata.participant_id == "P07"
    assert s.metadata.timezone == "Europe/Berlin"
    assert s.metadata.provenance.importer == "fitbit_bin"
    assert s.metadata.provenance.sources[0].sha256
    assert [(g.label, g.duration) for g in s.label_tracks["activity"]] == [("Squat", 1.0), ("Situp", 39.0)]
    np.testing.assert_array_equal(s.streams["accelerometer"].read()[0][:3], [0.0, 0.1, 0.2])
    # second run: outputs exist, refused per file unless --overwrite
    rc2 = main(["import", str(inbox / "Walking_20200421155113.bin"), "-o", str(out), "--quiet"])
    assert rc2 == 1 and "already exists" in capsys.readouterr().out
    assert (
        main(["import", str(inbox / "Walking_20200421155113.bin"), "-o", str(out), "--overwrite", "--quiet"])
        == 0
    )


def test_cli_errors_and_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--list-formats"]) == 0
    listing = capsys.readouterr().out
    assert "fitbit_bin" in listing and "NO raw motion data" in listing
    assert main(["import", str(tmp_path), "-o", str(tmp_path / "o"), "--timezone", "Nowhere/City"]) == 2
    assert main(["import", str(tmp_path), "-o", str(tmp_path / "o"), "--format", "nope"]) == 2


def test_forced_format_on_the_wrong_file(fitbit_seed: Path, tmp_path: Path) -> None:
    reports = import_paths(
        [fitbit_seed / "training" / "sensor_original.csv"], tmp_path / "o", fmt="fitbit_bin"
    )
    (r,) = reports
    assert not r.ok and "sensor_original.csv" in r.reason
    assert not list((tmp_path / "o").iterdir())


def test_folder_expansion_claims_exports(tmp_path: Path) -> None:
    export = tmp_path / "box" / "Takeout"
    export.mkdir(parents=True)
    (export / "heart_rate_2023-01-26.csv").write_text("timestamp,beats per minute\n2023-01-25T13:00:07Z,54\n")
    (tmp_path / "box" / "Walking_20200421155113.bin").write_bytes(b"")
    inputs = expand_inputs([tmp_path / "box"])
    assert export in inputs
    assert export / "heart_rate_2023-01-26.csv" not in inputs  # read once, as part of the export
    assert tmp_path / "box" / "Walking_20200421155113.bin" in inputs
