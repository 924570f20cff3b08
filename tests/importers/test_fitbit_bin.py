"""The seed watch .bin importer: the reference's byte-exact batch, the 14 real files, bad input."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_CLIPPED, FLAG_SUSPECT
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.importer import import_warnings

# §2.2 of fitbit-formats.md: the first real batch of sensor_raw_20200421152535.csv (Standing).
REFERENCE_BATCH = bytes.fromhex(
    "27 c8 52 c8 6f c8 86 c8 94 c8 7c c8 52 c8 9e c8 3d c8 6d c8"
    "58 c2 88 c1 30 c2 40 c2 af c1 56 c1 28 c1 0a c1 53 c0 bf be"
    "22 44 ef 43 f5 42 fd 42 cf 42 c0 42 b7 42 e5 42 f5 42 2b 43"
    "d4 35 00 a6 b0 b4 a3 a7 97 a9 97 b1 dd 2d e6 31 fa 34 60 32"
    "31 33 4c 30 ba 2d ce 30 ae 2a 86 ad 17 a8 66 30 09 32 74 2d"
    "2c 32 b4 33 03 31 20 30 43 30 69 2a 11 2e 4c 34 a3 2c 3a 28" + " 04" * 10
)

# Measured once with numpy on the real files (size / 130 * 10 samples; runs of the code block).
REAL_FILES = {
    "Downstairs_20200421175831.bin": [("Downstairs", 600)],
    "Jumping_20200421180713.bin": [("Jumping", 460)],
    "Jumping_20200421180715.bin": [("Jumping", 150)],
    "Laying_20200421152545.bin": [("Laying", 600)],
    "Running_20200421200520.bin": [("Running", 600)],
    "Sitting_20200421152537.bin": [("Sitting", 260)],
    "Sitting_20200421152539.bin": [("Sitting", 240)],
    "Sitting_20200421152541.bin": [("Sitting", 90)],
    "Situp_20200421180453.bin": [("Situp", 170)],
    "Squad_20200421180142.bin": [("Squat", 590)],
    "Squad_20200421180451.bin": [("Squat", 10), ("Situp", 390)],
    "Standing_20200421152535.bin": [("Standing", 590)],
    "Upstairs_20200421175828.bin": [("Upstairs", 590)],
    "Walking_20200421155113.bin": [("Walking", 590)],
}


def read(path: Path, **kw: object):
    return get_importer("fitbit_bin").read(path, ImportOptions(**kw))  # type: ignore[arg-type]


def decode_independently(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(values N x 6, codes N) straight from the bytes, the way §2.7 describes."""
    raw = np.fromfile(path, np.uint8).reshape(-1, 130)
    vals = raw[:, :120].copy().view("<f2").reshape(-1, 6, 10).transpose(0, 2, 1).reshape(-1, 6)
    return vals.astype(np.float32), raw[:, 120:].reshape(-1)


def test_reference_batch_decodes_to_the_documented_values(tmp_path: Path) -> None:
    assert len(REFERENCE_BATCH) == 130
    p = tmp_path / "Standing_20200421102535.bin"
    p.write_bytes(REFERENCE_BATCH)
    assert detect(p).name == "fitbit_bin"
    (s,) = read(p, timezone="Europe/Berlin")
    _, acc = s.streams["accelerometer"].read()
    _, gyr = s.streams["gyroscope"].read()
    assert acc[0].tolist() == [-8.3046875, -3.171875, 4.1328125]
    assert acc[1].tolist() == [-8.640625, -2.765625, 3.966796875]
    assert gyr[0].tolist() == [0.3642578125, 0.2247314453125, 0.19287109375]
    assert gyr[1].tolist() == [-0.0234375, 0.13427734375, 0.24072265625]
    assert s.streams["accelerometer"].units == ["m/s^2"] * 3
    assert s.streams["gyroscope"].units == ["rad/s"] * 3
    (seg,) = list(s.label_tracks["activity"])
    assert (seg.label, seg.start, seg.end, seg.source) == ("Standing", 0.0, 1.0, "imported")
    # 10:25:35 in Berlin summer time (UTC+2) is 08:25:35 UTC
    assert s.metadata.start_utc == datetime(2020, 4, 21, 8, 25, 35, tzinfo=UTC)
    assert s.metadata.timezone == "Europe/Berlin"
    assert s.metadata.provenance.importer == "fitbit_bin"
    assert len(s.metadata.provenance.sources[0].sha256) == 64
    assert not any("timezone" in w for w in import_warnings(s))


def test_without_timezone_the_start_is_taken_as_utc_and_said_so(tmp_path: Path) -> None:
    p = tmp_path / "Standing_20200421102535.bin"
    p.write_bytes(REFERENCE_BATCH)
    (s,) = read(p)
    assert s.metadata.start_utc == datetime(2020, 4, 21, 10, 25, 35, tzinfo=UTC)
    assert any("UTC" in w and "timezone" in w for w in import_warnings(s))


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_watch_files(fitbit_seed: Path, name: str) -> None:
    path = fitbit_seed / "watch-bin" / name
    n_expected = path.stat().st_size // 130 * 10
    values, codes = decode_independently(path)
    assert detect(path).name == "fitbit_bin"
    (s,) = read(path, timezone="UTC")
    acc, gyr = s.streams["accelerometer"], s.streams["gyroscope"]
    assert acc.n_samples == gyr.n_samples == n_expected == sum(n for _, n in REAL_FILES[name])
    assert acc.rate_hz == 10.0
    assert acc.measured_rate_hz() == pytest.approx(10.0)
    t, a = acc.read()
    assert t[-1] == pytest.approx((n_expected - 1) / 10)
    np.testing.assert_array_equal(a, values[:, :3])
    np.testing.assert_array_equal(gyr.read()[1], values[:, 3:])
    segs = [(g.label, round(g.duration * 10)) for g in s.label_tracks["activity"]]
    assert segs == REAL_FILES[name]
    # the table above agrees with the code block decoded here
    change = np.flatnonzero(np.diff(codes)) + 1
    assert np.diff(np.r_[0, change, len(codes)]).tolist() == [n for _, n in REAL_FILES[name]]
    # the activity in the name is the first sample's (Squad is the author's spelling of squat)
    first = name.split("_")[0].replace("Squad", "Squat")
    assert segs[0][0] == first
    stamp = datetime.strptime(name.split("_")[1][:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    assert s.metadata.start_utc == stamp


@pytest.mark.parametrize("name", ["Standing_20200421152535.bin", "Laying_20200421152545.bin"])
def test_still_recordings_read_one_g(fitbit_seed: Path, name: str) -> None:
    (s,) = read(fitbit_seed / "watch-bin" / name)
    _, a = s.streams["accelerometer"].read()
    mag = np.linalg.norm(a.astype(np.float64), axis=1)
    assert mag.mean() == pytest.approx(9.75, abs=0.05)  # 9.73 standing, 9.77 laying
    assert mag.std() < 0.15


def test_jumping_saturates_and_is_flagged_clipped(fitbit_seed: Path) -> None:
    path = fitbit_seed / "watch-bin" / "Jumping_20200421180713.bin"
    values, _ = decode_independently(path)
    n_clipped = int((np.abs(values[:, :3]) >= 38.75).any(axis=1).sum())
    assert n_clipped == 22
    (s,) = read(path)
    flags = s.streams["accelerometer"].data.read_flags()
    assert int((flags & FLAG_CLIPPED).astype(bool).sum()) == n_clipped


def test_bin_equals_the_raw_csv_of_the_same_recording(fitbit_seed: Path) -> None:
    csv = fitbit_seed / "azure/fitbit/raw_input/20200421/sensor_raw_20200421180451.csv"
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    (s,) = read(fitbit_seed / "watch-bin" / "Squad_20200421180451.bin")
    np.testing.assert_array_equal(s.streams["accelerometer"].read()[1], table[:, 1:4].astype(np.float32))
    assert [(g.label, round(g.duration * 10)) for g in s.label_tracks["activity"]] == [
        ("Squat", int((table[:, 0] == 7).sum())),
        ("Situp", int((table[:, 0] == 9).sum())),
    ]


def test_gzip_is_transparent(fitbit_seed: Path, tmp_path: Path) -> None:
    src = fitbit_seed / "watch-bin" / "Walking_20200421155113.bin"
    gz = tmp_path / (src.name + ".gz")
    gz.write_bytes(gzip.compress(src.read_bytes()))
    assert detect(gz).name == "fitbit_bin"
    (a,) = read(src)
    (b,) = read(gz)
    np.testing.assert_array_equal(a.streams["gyroscope"].read()[1], b.streams["gyroscope"].read()[1])
    assert b.metadata.start_utc == a.metadata.start_utc


def test_unlabelled_120_byte_variant(fitbit_seed: Path, tmp_path: Path) -> None:
    src = fitbit_seed / "watch-bin" / "Running_20200421200520.bin"
    raw = np.fromfile(src, np.uint8).reshape(-1, 130)[:, :120]
    p = tmp_path / "sensor_20200421200520.bin"
    p.write_bytes(raw.tobytes())
    assert detect(p).name == "fitbit_bin"
    (s,) = read(p)
    values, _ = decode_independently(src)
    np.testing.assert_array_equal(s.streams["gyroscope"].read()[1], values[:, 3:])
    assert "activity" not in s.label_tracks
    assert s.metadata.extra["bytes_per_batch"] == "120"


# -- bad input -------------------------------------------------------------------------


def test_truncated_file_names_the_offset(tmp_path: Path) -> None:
    p = tmp_path / "Walking_20200421155113.bin"
    p.write_bytes(REFERENCE_BATCH * 2 + REFERENCE_BATCH[:50])
    with pytest.raises(ImportFormatError) as err:
        read(p)
    assert err.value.offset == 260 and err.value.path == p
    assert "multiple of 130" in str(err.value) and "byte 260" in str(err.value)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "Walking_20200421155113.bin"
    p.write_bytes(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        read(p)


def test_unknown_activity_code_names_offset_and_code(tmp_path: Path) -> None:
    data = bytearray(REFERENCE_BATCH * 3)
    data[130 + 120 + 7] = 12
    p = tmp_path / "Walking_20200421155113.bin"
    p.write_bytes(bytes(data))
    with pytest.raises(ImportFormatError) as err:
        read(p)
    assert err.value.offset == 257
    assert "code 12" in str(err.value)


@pytest.mark.parametrize("half", [b"\x00\x7e", b"\x00\x7c", b"\x00\xfc"], ids=["nan", "inf", "-inf"])
def test_non_finite_values_name_their_offset(tmp_path: Path, half: bytes) -> None:
    data = bytearray(REFERENCE_BATCH * 2)
    data[130 + 44 : 130 + 46] = half  # az of sample 12
    p = tmp_path / "Walking_20200421155113.bin"
    p.write_bytes(bytes(data))
    with pytest.raises(ImportFormatError) as err:
        read(p)
    assert err.value.offset == 174
    assert "az of sample 12" in str(err.value)


def test_another_formats_file(tmp_path: Path) -> None:
    text = (
        "ActivityID,AccelX,AccelY,AccelZ,GyroX,GyroY,GyroZ\n" + "4,1.0,2.0,3.0,0.1,0.2,0.3\n" * 5
    ).encode()
    text = text[: len(text) - len(text) % 130] or text
    p = tmp_path / "Walking_20200421155113.bin"
    p.write_bytes(text)
    with pytest.raises(ImportFormatError):
        read(p)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=1400))
def test_random_bytes_error_or_valid_session(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "Walking_20200421155113.bin"
    p.write_bytes(data)
    try:
        (s,) = read(p)
    except ImportFormatError as exc:
        assert str(p) in str(exc)
        return
    # random bytes that happen to be valid must still give a consistent session
    assert s.streams["accelerometer"].n_samples == len(data) // 130 * 10
    # implausible values are marked: NaN on a suspect sample, never infinity
    for stream in s.streams.values():
        v = stream.read()[1]
        assert not np.isinf(v).any()
        assert np.all(stream.data.read_flags()[np.isnan(v).any(axis=1)] & FLAG_SUSPECT)
