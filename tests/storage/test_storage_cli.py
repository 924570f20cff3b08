"""``harlab info`` and ``harlab validate`` on good and bad files."""

from __future__ import annotations

import json

import h5py

from harlab.cli import main
from harlab.storage import save_session


def test_info_text_and_json(full_session, tmp_path, capsys):
    path = save_session(full_session, tmp_path / "s.h5")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "P07" in out and "acc" in out and "walking (1)" in out and "cnn1d 2024.05-rc1" in out
    assert main(["info", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    acc = next(s for s in d["streams"] if s["name"] == "acc")
    t0, t1 = full_session.streams["acc"].time_bounds()
    assert acc["n_samples"] == 30_000 and acc["rate_hz"] == 100.0 and acc["units"] == ["m/s^2"] * 3
    assert acc["start"] == t0 and abs(acc["duration_s"] - (t1 - t0)) < 1e-9
    rr = next(s for s in d["streams"] if s["name"] == "rr")
    assert rr["n_samples"] == 0 and rr["start"] is None
    act = next(t for t in d["label_tracks"] if t["name"] == "activity")
    assert act["n_segments"] == 3 and act["classes"] == {"walking": 1, "jump": 1, "sitting": 1}
    assert d["prediction_tracks"][0]["model_version"] == "2024.05-rc1"
    assert d["metadata"]["provenance"]["sources"][0]["sha256"].endswith("1")


def test_validate_exit_codes(full_session, tmp_path, capsys):
    path = save_session(full_session, tmp_path / "s.h5")
    assert main(["validate", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
    with h5py.File(path, "r+") as f:
        f["streams/acc/time"][10] = -100.0
    assert main(["validate", str(path)]) == 1
    assert "time goes backwards at sample 10" in capsys.readouterr().out
    bad = tmp_path / "bad.h5"
    bad.write_text("hello")
    assert main(["validate", str(bad)]) == 1
    assert "not an HDF5 file" in capsys.readouterr().out
    assert main(["info", str(bad)]) == 2
    assert "harlab: error:" in capsys.readouterr().err


def test_validate_takes_several_files(full_session, tmp_path, capsys):
    """``validate *.h5``: a verdict per file; exit 0 only when every one is sound."""
    good = [save_session(full_session, tmp_path / f"s{i}.h5") for i in range(2)]
    assert main(["validate", *map(str, good)]) == 0
    out = capsys.readouterr().out
    assert all(f"{p}: OK" in out for p in good)
    assert "2 files checked: 2 sound, 0 with problems" in out
    bad = tmp_path / "bad.h5"
    bad.write_text("hello")
    assert main(["validate", str(good[0]), str(bad), str(good[1])]) == 1
    out = capsys.readouterr().out
    assert f"{good[0]}: OK" in out and f"{good[1]}: OK" in out
    assert f"{bad}: 1 problem\n" in out and "not an HDF5 file" in out
    assert "3 files checked: 2 sound, 1 with problems" in out


def test_info_lists_quality_tracks(full_session, tmp_path, capsys):
    import numpy as np

    from harlab.core.quality_tracks import QualityTrack

    full_session.set_quality_track(
        QualityTrack("nonwear", "nonwear", np.array([10.0, 100.0]), np.array([40.0, 160.0]), "van Hees 2013")
    )
    path = save_session(full_session, tmp_path / "q.h5")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "quality tracks (1):" in out and "2 spans" in out and "1.5 min" in out and "van Hees 2013" in out
    assert main(["info", str(path), "--json"]) == 0
    q = json.loads(capsys.readouterr().out)["quality_tracks"]
    assert q == [
        {"name": "nonwear", "kind": "nonwear", "method": "van Hees 2013", "n_spans": 2, "total_s": 90.0}
    ]
