"""The seed CSV importer: the 14 per-recording files, the concatenated training CSV, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.importer import import_warnings

HEADER = "ActivityID,AccelX,AccelY,AccelZ,GyroX,GyroY,GyroZ"
NAMES = [
    "Walking",
    "Upstairs",
    "Downstairs",
    "Running",
    "Standing",
    "Sitting",
    "Jumping",
    "Squat",
    "Laying",
    "Situp",
]


def read(path: Path, **extra: object):
    return get_importer("fitbit_csv").read(path, ImportOptions(extra=dict(extra)))


def raw_files(seed: Path) -> list[Path]:
    return sorted((seed / "azure/fitbit/raw_input/20200421").glob("sensor_raw_*.csv"))


def test_each_raw_csv_is_one_recording(fitbit_seed: Path) -> None:
    files = raw_files(fitbit_seed)
    assert len(files) == 14
    total = 0
    for f in files:
        table = np.loadtxt(f, delimiter=",", skiprows=1)
        assert detect(f).name == "fitbit_csv"
        (s,) = read(f)
        acc = s.streams["accelerometer"]
        assert acc.n_samples == len(table)
        assert acc.measured_rate_hz() == pytest.approx(10.0)
        np.testing.assert_array_equal(acc.read()[1], table[:, 1:4].astype(np.float32))
        np.testing.assert_array_equal(s.streams["gyroscope"].read()[1], table[:, 4:].astype(np.float32))
        assert s.metadata.start_utc is None
        assert s.metadata.extra["t0_known"] == "false"
        assert any("unknown start" in w for w in import_warnings(s))
        codes = table[:, 0].astype(int)
        labelled = sum(round(g.duration * 10) for g in s.label_tracks["activity"])
        assert labelled == len(codes)
        total += len(table)
    assert total == 5930


def test_recording_with_a_code_change_stays_one_session(fitbit_seed: Path) -> None:
    (s,) = read(fitbit_seed / "azure/fitbit/raw_input/20200421/sensor_raw_20200421180451.csv")
    assert [(g.label, g.start, g.end) for g in s.label_tracks["activity"]] == [
        ("Squat", 0.0, 1.0),
        ("Situp", 1.0, 40.0),
    ]


@pytest.mark.parametrize("name", ["sensor_original.csv", "sensor_20200421194117.csv"])
def test_training_csv_is_split_into_runs(fitbit_seed: Path, name: str) -> None:
    path = fitbit_seed / "training" / name
    assert path.read_bytes().count(b"\r\n") == 5931  # CRLF, header + 5930 rows
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    codes = table[:, 0].astype(int)
    change = np.flatnonzero(np.diff(codes)) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(codes)]
    sessions = read(path)
    assert len(sessions) == len(starts) == 10
    # the runs measured here: Sitting 260+240+90, Squat 590+10, Situp 390+170, Jumping 460+150
    assert [e - s for s, e in zip(starts, ends, strict=True)] == [
        590,
        590,
        600,
        590,
        590,
        600,
        600,
        560,
        610,
        600,
    ]
    for sess, s, e in zip(sessions, starts, ends, strict=True):
        acc = sess.streams["accelerometer"]
        assert acc.n_samples == e - s
        np.testing.assert_array_equal(acc.read()[1], table[s:e, 1:4].astype(np.float32))
        (seg,) = list(sess.label_tracks["activity"])
        assert seg.label == NAMES[codes[s]]
        assert seg.duration == pytest.approx((e - s) / 10)
        assert sess.metadata.start_utc is None
    assert sorted(NAMES[codes[s]] for s in starts) == sorted(NAMES)


def test_training_csv_equals_the_raw_files_concatenated(fitbit_seed: Path) -> None:
    runs = read(fitbit_seed / "training" / "sensor_original.csv")
    joined = np.concatenate([s.streams["gyroscope"].read()[1] for s in runs])
    raw = np.concatenate([np.loadtxt(f, delimiter=",", skiprows=1)[:, 4:] for f in raw_files(fitbit_seed)])
    np.testing.assert_array_equal(joined, raw.astype(np.float32))


def test_split_modes(fitbit_seed: Path) -> None:
    path = fitbit_seed / "training" / "sensor_original.csv"
    (whole,) = read(path, split="none")
    assert whole.streams["accelerometer"].n_samples == 5930
    assert len(whole.label_tracks["activity"]) == 10
    small = fitbit_seed / "azure/fitbit/raw_input/20200421/sensor_raw_20200421180451.csv"
    assert len(read(small, split="runs")) == 2


def test_lf_and_crlf_read_the_same(tmp_path: Path) -> None:
    rows = [
        "4,-8.3046875,-3.171875,4.1328125,0.3642578125,0.2247314453125,0.19287109375",
        "5,1.5,2.5,3.5,0.5,0.25,0.125",
    ]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode())
    b.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode())
    (sa,), (sb,) = read(a), read(b)
    np.testing.assert_array_equal(
        sa.streams["accelerometer"].read()[1], sb.streams["accelerometer"].read()[1]
    )
    assert [g.label for g in sa.label_tracks["activity"]] == ["Standing", "Sitting"]


# -- bad input -------------------------------------------------------------------------

GOOD = "4,1.0,2.0,3.0,0.1,0.2,0.3"


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ("Activity,AccelX\n" + GOOD, 1, "header"),
        (HEADER + "\n" + GOOD + "\n4,1.0,abc,3.0,0.1,0.2,0.3", 3, "AccelY 'abc' is not a number"),
        (HEADER + "\n" + GOOD + "\n4,1.0,2.0,nan,0.1,0.2,0.3", 3, "AccelZ is 'nan'"),
        (HEADER + "\n" + GOOD + "\n" + GOOD + "\n4,1.0,2.0,3.0,inf,0.2,0.3", 4, "GyroX is 'inf'"),
        (HEADER + "\n" + GOOD + "\n12,1.0,2.0,3.0,0.1,0.2,0.3", 3, "unknown activity code 12"),
        (HEADER + "\n" + GOOD + "\n4,1.0,2.0,3.", 3, "4 fields"),
        (HEADER + "\n", 2, "no data rows"),
        ("", 1, "empty"),
        (HEADER + "\nx4,1,2,3,4,5,6", 2, "not an integer"),
    ],
    ids=["header", "non-numeric", "nan", "inf", "code", "truncated", "no-rows", "empty", "bad-id"],
)
def test_bad_rows_name_the_line(tmp_path: Path, body: str, line: int, needle: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(ImportFormatError) as err:
        read(p)
    assert err.value.line == line, str(err.value)
    assert needle in str(err.value)
    assert str(p) in str(err.value)


def test_another_formats_file(tmp_path: Path) -> None:
    p = tmp_path / "data_1600_accel_watch.csv"
    p.write_text("1600,A,252207666810782,-0.36476135,8.793503,1.0550842;\n")
    with pytest.raises(ImportFormatError, match="header"):
        read(p)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_random_bytes_after_the_header(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "random.csv"
    p.write_bytes((HEADER + "\n").encode() + data)
    try:
        sessions = read(p)
    except ImportFormatError as exc:
        assert str(p) in str(exc)
        return
    for s in sessions:
        assert np.isfinite(s.streams["accelerometer"].read()[1]).all()
