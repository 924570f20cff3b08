"""UCI HAR raw (HAPT) importer: real experiments from ../shared/data and built files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harlab.core.errors import ImportFormatError
from harlab.importers import ImportOptions, detect, get_importer

IMP = get_importer("uci_hapt")


def raw(shared_data: Path) -> Path:
    p = shared_data / "uci-hapt" / "RawData"
    if not p.is_dir():
        pytest.skip("uci-hapt not present")
    return p


def read(path: Path, **kw) -> object:
    sessions = IMP.read(path, ImportOptions(**kw))
    assert len(sessions) == 1
    return sessions[0]


def test_exp01_counts_units_labels(shared_data: Path) -> None:
    d = raw(shared_data)
    acc_path = d / "acc_exp01_user01.txt"
    assert detect(acc_path).name == "uci_hapt"
    s = read(acc_path)
    ref = np.loadtxt(acc_path)
    ref_g = np.loadtxt(d / "gyro_exp01_user01.txt")
    acc, gyr = s.streams["accelerometer"], s.streams["gyroscope"]
    assert acc.n_samples == gyr.n_samples == len(ref) == len(ref_g)
    t, v = acc.read()
    np.testing.assert_allclose(v, ref * 9.80665, rtol=1e-6)  # g -> m/s^2
    assert acc.units == ["m/s^2"] * 3 and gyr.units == ["rad/s"] * 3
    assert acc.measured_rate_hz() == pytest.approx(50.0)
    assert t[-1] == pytest.approx((len(ref) - 1) / 50)
    # |a| about 9.8 m/s^2 (|a| median ~1.02 g)
    assert 9.6 < float(np.median(np.linalg.norm(v, axis=1))) < 10.3
    labels = pd.read_csv(d / "labels.txt", sep=" ", header=None, names=["e", "u", "a", "s", "e2"])
    mine = labels[labels.e == 1]
    segs = list(s.label_tracks["activity"])
    assert len(segs) == len(mine)
    first = mine.iloc[0]
    assert segs[0].start == pytest.approx((first.s - 1) / 50) and segs[0].end == pytest.approx(first.e2 / 50)
    assert segs[0].label == "STANDING" and first.a == 5  # names from activity_labels.txt, stripped
    assert sum(x.duration for x in segs) == pytest.approx(((mine.e2 - mine.s + 1) / 50).sum())
    # the first ~5 s are unlabelled, not class 0
    assert s.label_tracks["activity"].at(1.0) == []
    assert s.metadata.participant_id == "user 01"
    assert s.metadata.start_utc is None
    names = {Path(f.path).name for f in s.metadata.provenance.sources}
    assert names == {"acc_exp01_user01.txt", "gyro_exp01_user01.txt", "labels.txt", "activity_labels.txt"}


def test_exp12_long_unlabelled_and_gz(shared_data: Path) -> None:
    d = raw(shared_data)
    s = read(d / "gyro_exp12_user06.txt")  # from the gyro file, finds acc
    acc = s.streams["accelerometer"]
    covered = sum(x.duration for x in s.label_tracks["activity"])
    assert 0.35 < covered / acc.duration_s < 0.43  # SOURCE.md: only 39 % labelled
    assert acc.duration_s == pytest.approx(641.76)
    gz = d / "acc_exp05_user03.txt.gz"
    if not gz.exists():
        pytest.skip("gz experiment not present")
    s2 = read(gz)
    assert s2.streams["accelerometer"].n_samples == s2.streams["gyroscope"].n_samples > 1000
    assert len(s2.label_tracks["activity"]) > 10
    assert len(IMP.experiment_inputs(d)) == 42  # one session per experiment
    assert IMP.expand(d.parent.parent) == [d.parent]  # the dataset folder is one input


def make(
    folder: Path, n: int = 100, labels: str = "1 1 1 11 40\n1 1 4 41 60\n", gyro_rows: int | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.savetxt(folder / "acc_exp01_user01.txt", rng.normal(0, 0.1, (n, 3)) + [0, 0, 1], fmt="%.10f")
    np.savetxt(folder / "gyro_exp01_user01.txt", rng.normal(0, 0.1, (gyro_rows or n, 3)), fmt="%.10f")
    (folder / "labels.txt").write_text(labels)
    return folder / "acc_exp01_user01.txt"


def test_synthetic_builtin_names_and_touching_segments(tmp_path: Path) -> None:
    p = make(tmp_path / "RawData")
    s = read(p, participant="alice")
    segs = list(s.label_tracks["activity"])
    assert [(x.label, x.start, x.end) for x in segs] == [("WALKING", 0.2, 0.8), ("SITTING", 0.8, 1.2)]
    assert (
        s.metadata.participant_id == "user 01"
    )  # the source names its subject; --participant never renames it


def test_no_labels_file_gives_unlabelled_session(tmp_path: Path) -> None:
    p = make(tmp_path)
    (tmp_path / "labels.txt").unlink()
    s = read(p)
    assert len(s.label_tracks["activity"]) == 0
    assert "none found" in s.metadata.extra["labels"]


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ("1 1 13 1 10\n", "unknown activity 13"),
        ("1 1 1 1 101\n", "outside 1..100"),
        ("1 1 1 1 10\n1 1 2 5 20\n", "overlap"),
        ("1 2 1 1 10\n", "user 2"),
        ("1 1 x 1 10\n", "5 integers"),
    ],
)
def test_bad_labels(tmp_path: Path, labels: str, match: str) -> None:
    p = make(tmp_path, labels=labels)
    with pytest.raises(ImportFormatError, match=match) as ei:
        read(p)
    assert ei.value.path.name == "labels.txt" and ei.value.line is not None


def test_row_count_mismatch(tmp_path: Path) -> None:
    p = make(tmp_path, gyro_rows=90)
    with pytest.raises(ImportFormatError, match="90 rows") as ei:
        read(p)
    assert ei.value.path.name == "gyro_exp01_user01.txt"


def test_folder_gives_one_session_per_experiment(tmp_path: Path) -> None:
    make(tmp_path / "RawData")
    np.savetxt(tmp_path / "RawData" / "acc_exp02_user01.txt", np.zeros((30, 3)) + [0, 0, 1])
    np.savetxt(tmp_path / "RawData" / "gyro_exp02_user01.txt", np.zeros((30, 3)))
    assert IMP.sniff(tmp_path) > 0.5 and detect(tmp_path).name == "uci_hapt"
    sessions = IMP.read(tmp_path, ImportOptions())
    assert [s.metadata.extra["import_part"] for s in sessions] == ["exp01_user01", "exp02_user01"]
    assert [len(s.label_tracks["activity"]) for s in sessions] == [2, 0]
