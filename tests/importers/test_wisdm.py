"""WISDM 2019 importer: real files from ../shared/data and small files built in tmp_path."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_GAP_BEFORE
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.wisdm import BUILTIN_NAMES, partner_of

IMP = get_importer("wisdm")


def watch(shared_data: Path) -> Path:
    p = shared_data / "wisdm2019" / "wisdm-dataset" / "raw" / "watch"
    if not p.is_dir():
        pytest.skip("wisdm2019 not present")
    return p


def plain(path: Path) -> pd.DataFrame:
    """An independent reading of a raw file (pandas, ';' stripped as a comment)."""
    return pd.read_csv(path, header=None, names=["s", "a", "t", "x", "y", "z"], comment=";")


def read(path: Path, **kw) -> object:
    sessions = IMP.read(path, ImportOptions(**kw))
    assert len(sessions) == 1
    return sessions[0]


# -- real data -----------------------------------------------------------------------------


def test_1600_counts_rates_labels_and_gravity(shared_data: Path) -> None:
    w = watch(shared_data)
    acc_path = w / "accel" / "data_1600_accel_watch.txt"
    assert detect(acc_path).name == "wisdm"
    s = read(acc_path)
    ref_a, ref_g = plain(acc_path), plain(w / "gyro" / "data_1600_gyro_watch.txt")
    acc, gyr = s.streams["accelerometer"], s.streams["gyroscope"]
    # datasets.md: 65 462 accel rows vs 65 435 gyro rows; nothing dropped for 1600
    assert acc.n_samples == len(ref_a) == 65462
    assert gyr.n_samples == len(ref_g) == 65435
    assert acc.units == ["m/s^2"] * 3 and gyr.units == ["rad/s"] * 3
    # rate measured from timestamps: median dt 49.92-49.99 ms
    dt = np.median(np.diff(np.sort(ref_a["t"].to_numpy()))) * 1e-9
    assert 0.0499 < dt < 0.0500
    assert acc.measured_rate_hz() == pytest.approx(1 / dt, rel=1e-6)
    assert 20.0 <= acc.rate_hz <= 20.05
    # one clock: time zero is the first accelerometer tick, gyro ticks are a subset
    t_a, v_a = acc.read()
    t_g, _ = gyr.read()
    assert t_a[0] == 0.0
    assert np.isin(np.round(t_g * 1e9), np.round(t_a * 1e9)).all()
    assert np.all(np.diff(t_a) > 0)  # sorted by time, not by letter
    assert s.metadata.start_utc is None
    assert s.metadata.extra["t0_uptime_ns"] == str(ref_a["t"].min())
    # 18 activities, one segment per block, ~180 s each, in recording order D E K ...
    segs = list(s.label_tracks["activity"])
    assert len(segs) == 18
    assert [x.label for x in segs[:3]] == ["sitting", "standing", "drinking"]
    for x in segs:
        assert 175 < x.duration < 185
    # |a| at rest (sitting, standing) is about 9.8 m/s^2 (median 9.60-9.93 in D/E)
    for seg in segs[:2]:
        _, v = acc.read(seg.start, seg.end)
        assert 9.5 < float(np.median(np.linalg.norm(v, axis=1))) < 10.0
    # the values are the file's values (float32), in time order
    order = np.argsort(ref_a["t"].to_numpy(), kind="stable")
    np.testing.assert_allclose(v_a, ref_a[["x", "y", "z"]].to_numpy()[order], rtol=1e-6)
    # provenance
    prov = s.metadata.provenance
    assert prov.importer == "wisdm" and prov.harlab_version
    names = {Path(f.path).name for f in prov.sources}
    assert {"data_1600_accel_watch.txt", "data_1600_gyro_watch.txt", "activity_key.txt"} <= names


def test_1649_duplicates_kept_once_in_catch(shared_data: Path) -> None:
    w = watch(shared_data)
    s = read(w / "gyro" / "data_1649_gyro_watch.txt")  # the gyro file finds its accel partner
    ref = plain(w / "accel" / "data_1649_accel_watch.txt")
    dup = ref.duplicated(["t", "x", "y", "z"], keep=False)
    assert dup.sum() == 2 * 1160
    assert set(ref.loc[dup, "a"]) == {"M", "O"}
    acc = s.streams["accelerometer"]
    assert acc.n_samples == len(ref) - 1160
    assert s.metadata.extra["duplicates_dropped_accelerometer"] == "1160"
    assert s.metadata.extra["duplicates_dropped_gyroscope"] == "1159"
    t, _ = acc.read()
    assert np.all(np.diff(t) > 0)  # no repeated timestamp left
    segs = {x.label: x for x in s.label_tracks["activity"]}
    assert s.label_tracks["activity"].policy == "exclusive"
    # catch keeps its full ~180 s, kicking loses the misfiled 58 s copy but keeps its 56.7 s gap
    assert 175 < segs["catch"].duration < 185
    assert segs["kicking"].end <= segs["catch"].start
    assert segs["kicking"].duration == pytest.approx(351.4 - 58.0, abs=1.0)
    gaps = acc.gaps()
    assert any(55 < b - a < 58 for a, b in gaps)
    assert any("repeat other rows" in w for w in s.metadata.extra["import_warnings"].splitlines())


def test_1621_bursts_and_gzip_subject(shared_data: Path) -> None:
    w = watch(shared_data)
    s = read(w / "accel" / "data_1621_accel_watch.txt")
    acc = s.streams["accelerometer"]
    sitting = next(x for x in s.label_tracks["activity"] if x.label == "sitting")
    t, _ = acc.read(sitting.start, sitting.end)
    assert len(t) == 7920  # datasets.md: 7 920 samples in the 180 s sitting block
    assert np.isclose(np.diff(t), 0.0099, atol=2e-4).sum() > 1000  # ~101 Hz bursts kept, not resampled
    flags = acc.data.read_flags()
    assert (flags & FLAG_GAP_BEFORE).sum() >= 17  # at least every block boundary
    gz = next((w / "accel").glob("data_1601_accel_watch.txt.gz"), None)
    if gz is None:
        pytest.skip("gzip subject not present")
    s2 = read(gz)
    with gzip.open(gz, "rb") as f:
        n = f.read().count(b"\n")
    assert s2.streams["accelerometer"].n_samples == n
    assert s2.streams["gyroscope"].n_samples > 60000


def test_1616_without_jogging_and_expand(shared_data: Path) -> None:
    w = watch(shared_data)
    s = read(w / "accel" / "data_1616_accel_watch.txt", participant="P16")
    labels = [x.label for x in s.label_tracks["activity"]]
    assert len(labels) == 17 and "jogging" not in labels
    assert "jogging" in s.schema  # the full 18-class schema, for consistent training sets
    assert s.metadata.participant_id == "1616"  # the source names its subject; --participant never renames it
    inputs = IMP.pair_inputs(w)
    assert len(inputs) == 41  # one per subject and device
    assert all("_accel_" in p.name for p in inputs)
    # a folder is claimed whole (with its activity_key.txt and README), so the batch
    # driver does not import the gyroscope files again as inputs of their own
    assert IMP.expand(shared_data) == [(shared_data / "wisdm2019" / "wisdm-dataset")]


# -- synthetic files ---------------------------------------------------------------------------


def write_pair(
    folder: Path, rows_a: list[str], rows_g: list[str] | None, sid: int = 7, gz: bool = False
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    a = folder / f"data_{sid}_accel_watch.txt"
    g = folder / f"data_{sid}_gyro_watch.txt"
    for p, rows in ((a, rows_a), (g, rows_g)):
        if rows is None:
            continue
        data = "".join(r + "\n" for r in rows).encode()
        if gz:
            p = p.with_name(p.name + ".gz")
            p.write_bytes(gzip.compress(data))
        else:
            p.write_bytes(data)
    return a.with_name(a.name + ".gz") if gz else a


def rows(sid: int, code: str, t0: int, n: int, dt: int = 50_000_000, z: float = 9.81) -> list[str]:
    return [f"{sid},{code},{t0 + i * dt},0.5,-1.5E-4,{z};" for i in range(n)]


def test_synthetic_pair_same_folder_gz_and_builtin_names(tmp_path: Path) -> None:
    # file order B then A, but A was recorded first
    acc = rows(7, "B", 10_000_000_000, 40) + rows(7, "A", 1_000_000_000, 30)
    gyr = rows(7, "B", 10_000_000_000, 40, z=0.1)[1:-1] + rows(7, "A", 1_000_000_000, 30, z=0.1)[1:-1]
    a = write_pair(tmp_path / "d", acc, gyr, gz=True)
    assert partner_of(a) == tmp_path / "d" / "data_7_gyro_watch.txt.gz"
    s = read(a)
    segs = list(s.label_tracks["activity"])
    assert [x.label for x in segs] == [BUILTIN_NAMES["A"], BUILTIN_NAMES["B"]]
    assert segs[0].start == 0.0 and segs[0].end == pytest.approx(30 * 0.05)
    assert segs[1].start == pytest.approx(9.0)
    assert s.streams["gyroscope"].n_samples == 66
    assert s.streams["accelerometer"].read()[1][0, 1] == pytest.approx(-1.5e-4)
    assert s.metadata.extra["gyro_ticks_not_in_accel"] == "0"


def test_accel_only_and_sibling_folders(tmp_path: Path) -> None:
    a = write_pair(tmp_path / "raw" / "watch" / "accel", rows(9, "D", 5, 20), None, sid=9)
    s = read(a)
    assert list(s.streams) == ["accelerometer"]
    (tmp_path / "raw" / "watch" / "gyro").mkdir()
    g = tmp_path / "raw" / "watch" / "gyro" / "data_9_gyro_watch.txt"
    g.write_text("".join(r + "\n" for r in rows(9, "D", 5, 20, z=0.2)))
    assert partner_of(a) == g and partner_of(g) == a
    s = read(g)
    assert set(s.streams) == {"accelerometer", "gyroscope"}
    # a folder holding exactly one subject pair is one input
    assert IMP.sniff(tmp_path / "raw") > 0.5
    assert IMP.expand(tmp_path) == [tmp_path / "raw" / "watch"]
    assert len(IMP.read(tmp_path / "raw", ImportOptions())) == 1
    # a folder of several subjects gives one session each
    write_pair(tmp_path / "raw" / "watch" / "accel", rows(10, "E", 5, 20), None, sid=10)
    sessions = IMP.read(tmp_path, ImportOptions())
    assert [s.metadata.participant_id for s in sessions] == ["9", "10"]
    assert [s.metadata.extra["import_part"] for s in sessions] == ["9_watch", "10_watch"]


def test_activity_key_near_the_files_renames(tmp_path: Path) -> None:
    a = write_pair(tmp_path / "ds" / "raw", rows(3, "A", 0, 10), None, sid=3)
    (tmp_path / "ds" / "activity_key.txt").write_text("strolling = A\n\n")
    s = read(a)
    assert [x.label for x in s.label_tracks["activity"]] == ["strolling"]


def test_crlf_without_semicolons_is_read(tmp_path: Path) -> None:
    p = tmp_path / "data_5_accel_watch.txt"
    p.write_bytes(b"".join(r[:-1].encode() + b"\r\n" for r in rows(5, "E", 0, 12)))
    s = read(p)
    assert s.streams["accelerometer"].n_samples == 12


def test_mismatched_subject_between_partners(tmp_path: Path) -> None:
    a = write_pair(tmp_path, rows(7, "A", 0, 5), rows(8, "A", 0, 5))
    with pytest.raises(ImportFormatError, match="subject 8"):
        read(a)


def test_folder_import_isolates_a_broken_subject(tmp_path: Path) -> None:
    """A dataset folder is read subject by subject: one broken subject fails alone, the others
    are written, and partner files are never imported on their own."""
    from harlab.importers.run import expand_inputs, import_paths

    d = tmp_path / "wisdm"
    write_pair(d, rows(7, "A", 1_000_000_000, 30), rows(7, "A", 1_000_000_000, 30, z=0.1))
    write_pair(d, rows(8, "A", 1_000_000_000, 30), rows(8, "A", 1_000_000_000, 30, z=0.1), sid=8)
    bad = d / "data_8_accel_watch.txt"
    bad.write_text(bad.read_text().replace("8,A,1000000000,", "8,A,not-a-time,", 1))
    (d / "README.txt").write_text("the dataset's readme\n")
    inputs = expand_inputs([d])
    assert [p.name for p in inputs] == ["data_7_accel_watch.txt", "data_8_accel_watch.txt"]
    out = tmp_path / "out"
    report = import_paths([d], out)
    ok = [r for r in report if r.ok]
    failed = [r for r in report if not r.ok]
    assert [r.path.name for r in ok] == ["data_7_accel_watch.txt"]
    assert [r.path.name for r in failed] == ["data_8_accel_watch.txt"] and "line 1" in failed[0].reason
    assert len(list(out.glob("*.h5"))) == 1


def test_arrow_and_pandas_parsers_agree(shared_data: Path) -> None:
    """The fast pyarrow path and the pandas fallback read a real file identically."""
    from harlab.importers.wisdm import _columns_arrow, _columns_pandas, read_all

    path = watch(shared_data) / "accel" / "data_1600_accel_watch.txt"
    data = read_all(path)
    fast = _columns_arrow(data)
    assert fast is not None
    slow = _columns_pandas(path, data)
    for a, b in zip(fast[:2] + fast[3:4], slow[:2] + slow[3:4], strict=True):
        np.testing.assert_array_equal(a, b)
    assert fast[2] == slow[2]
    for a, b in zip(fast[4], slow[4], strict=True):
        np.testing.assert_array_equal(a, b)
    # Text pyarrow refuses (a sixth comma) is left to pandas and the line-by-line diagnosis.
    assert _columns_arrow(data.replace(b"\n", b",9\n", 1)) is None
