"""Bad input for the WISDM, UCI HAPT, Sensor Logger and generic CSV importers.

Every failure must be an ImportFormatError that names the file and the line or byte
and says what was expected; never a bare pandas/numpy/zipfile exception.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.importers import ImportOptions, get_importer

WISDM_OK = "1600,A,90426708196641,7.091625,-0.5916671,8.195502;\n1600,A,90426757696641,4.97,-1.5E-4,6.69;\n"
UCI_OK = "0.918 -0.112 0.509\n0.911 -0.093 0.537\n"
SL_OK = "time,seconds_elapsed,z,y,x\n1698501144401773000,0.2,1,2,3\n1698501144411773000,0.21,1,2,3\n"
CSV_OK = "time_s,acc.x,acc.y\n0,1,2\n0.1,1,2\n"

#: (importer, file name to write the bytes under)
CASES = [
    ("wisdm", "data_1600_accel_watch.txt"),
    ("uci_hapt", "acc_exp01_user01.txt"),
    ("sensor_logger", "Accelerometer.csv"),
    ("sensor_logger", "export.zip"),
    ("csv", "table.csv"),
]


def attempt(name: str, path: Path) -> ImportFormatError | None:
    try:
        sessions = get_importer(name).read(path, ImportOptions())
    except ImportFormatError as exc:
        assert exc.path.name in {path.name} or path.name in str(exc.path)
        assert exc.line is not None or exc.offset is not None or exc.expected
        return exc
    assert sessions and all(s.streams or s.label_tracks for s in sessions)
    return None


def must_fail(name: str, path: Path, match: str | None = None, located: bool = True) -> ImportFormatError:
    exc = attempt(name, path)
    assert exc is not None, f"{name} accepted {path.name}"
    if match:
        assert match.lower() in str(exc).lower(), str(exc)
    if located:
        assert exc.line is not None or exc.offset is not None, str(exc)
    return exc


@pytest.mark.parametrize(("name", "fname"), CASES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=400))
def test_random_bytes(tmp_path: Path, name: str, fname: str, data: bytes) -> None:
    p = tmp_path / fname
    p.write_bytes(data)
    attempt(name, p)


@pytest.mark.parametrize(
    ("name", "fname", "good"),
    [
        ("wisdm", "data_1600_accel_watch.txt", WISDM_OK),
        ("uci_hapt", "acc_exp01_user01.txt", UCI_OK),
        ("sensor_logger", "Accelerometer.csv", SL_OK),
        ("csv", "table.csv", CSV_OK),
    ],
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(min_size=1, max_size=80))
def test_valid_start_then_garbage(tmp_path: Path, name: str, fname: str, good: str, tail: bytes) -> None:
    p = tmp_path / fname
    p.write_bytes(good.encode() + tail)
    attempt(name, p)


@pytest.mark.parametrize(("name", "fname"), [c for c in CASES if c[1] != "export.zip"])
def test_empty_files(tmp_path: Path, name: str, fname: str) -> None:
    p = tmp_path / fname
    p.write_bytes(b"")
    exc = must_fail(name, p, located=False)
    assert "empty" in str(exc).lower() or "no " in str(exc).lower()


# -- WISDM -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match", "line"),
    [
        (WISDM_OK + "1600,N,90426807196641,1,2,3;\n", "unknown activity code 'N'", 3),
        (WISDM_OK + "1600,Z,90426807196641,1,2,3;\n", "unknown activity code 'Z'", 3),
        (WISDM_OK + "1600,A,90426807196641,1,abc,3;\n", "'abc' is not a number", 3),
        (WISDM_OK + "1600,A,90426807196641,1,NaN,3;\n", "not finite", 3),
        (WISDM_OK + "1600,A,90426807196641,1,Infinity,3;\n", "not finite", 3),
        (WISDM_OK + "1600,A,90426807196641,1,2;\n", "5 comma-separated fields", 3),
        (WISDM_OK + "1600,A,90426807196641,1,2,3E39;\n", "float32 range", 3),
        ("subject,activity,timestamp,x,y,z\n" + WISDM_OK, "not an integer", 1),
        (WISDM_OK + "1601,A,90426807196641,1,2,3;\n", "subject 1601", 3),
        (WISDM_OK + "\n" + WISDM_OK, "empty line", 3),
        (WISDM_OK + "1600,A,9042680.5,1,2,3;\n", "timestamp", 3),
        (WISDM_OK[:70], "fields", 2),  # truncated in the middle of line 2
    ],
)
def test_wisdm_bad_lines(tmp_path: Path, text: str, match: str, line: int) -> None:
    p = tmp_path / "data_1600_accel_watch.txt"
    p.write_text(text)
    exc = must_fail("wisdm", p, match)
    assert exc.line == line


def test_wisdm_line_without_semicolon_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "data_1600_accel_watch.txt"
    p.write_text(WISDM_OK + "1600,A,90426807196641,1,2,3\n")
    (s,) = get_importer("wisdm").read(p, ImportOptions())
    assert s.streams["accelerometer"].n_samples == 3


def test_wisdm_truncated_gzip(tmp_path: Path) -> None:
    p = tmp_path / "data_1600_accel_watch.txt.gz"
    p.write_bytes(gzip.compress((WISDM_OK * 200).encode())[:-20])
    must_fail("wisdm", p, "cannot read", located=False)


def test_wisdm_binary_names_byte(tmp_path: Path) -> None:
    p = tmp_path / "data_1600_accel_watch.txt"
    p.write_bytes(WISDM_OK.encode() + b"\xff\xfe")
    exc = must_fail("wisdm", p, "not text")
    assert exc.offset == len(WISDM_OK)


def test_wisdm_real_file_truncated(tmp_path: Path, shared_data: Path) -> None:
    src = (
        shared_data / "wisdm2019" / "wisdm-dataset" / "raw" / "watch" / "accel" / "data_1611_accel_watch.txt"
    )
    if not src.exists():
        pytest.skip("1611 not present")
    data = src.read_bytes()
    cut = data[: len(data) // 2 + 17]
    p = tmp_path / src.name
    p.write_bytes(cut)
    exc = must_fail("wisdm", p)
    assert exc.line == cut.count(b"\n") + 1


def test_wisdm_given_other_formats(tmp_path: Path) -> None:
    p = tmp_path / "data_1600_accel_watch.txt"
    p.write_text(UCI_OK)
    must_fail("wisdm", p)
    p.write_text(SL_OK)
    must_fail("wisdm", p)


# -- UCI HAPT --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match", "line"),
    [
        (UCI_OK + "0.9 x 0.5\n", "'x' is not a number", 3),
        (UCI_OK + "0.9 nan 0.5\n", "not finite", 3),
        (UCI_OK + "0.9 inf 0.5\n", "not finite", 3),
        (UCI_OK + "0.9 0.5\n", "2 space-separated fields", 3),
        ("x y z\n" + UCI_OK, "not a number", 1),
        (UCI_OK + "0.9,0.1,0.5\n", "1 space-separated fields", 3),
        (UCI_OK[:25], "fields", 2),  # truncated
    ],
)
def test_uci_bad_lines(tmp_path: Path, text: str, match: str, line: int) -> None:
    p = tmp_path / "acc_exp01_user01.txt"
    p.write_text(text)
    exc = must_fail("uci_hapt", p, match)
    assert exc.line == line


def test_uci_given_wisdm_file(tmp_path: Path) -> None:
    p = tmp_path / "acc_exp01_user01.txt"
    p.write_text(WISDM_OK)
    must_fail("uci_hapt", p, "fields")


def test_uci_unknown_name(tmp_path: Path) -> None:
    p = tmp_path / "walk.txt"
    p.write_text(UCI_OK)
    must_fail("uci_hapt", p, "acc_expXX_userYY", located=False)


# -- Sensor Logger ---------------------------------------------------------------------------


def test_sensor_logger_broken_zip(tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Accelerometer.csv", SL_OK * 50)
        zf.writestr("Metadata.csv", "version\n3\n")
    p = tmp_path / "cut.zip"
    p.write_bytes(good.read_bytes()[:-30])  # the central directory is gone
    exc = attempt("sensor_logger", p)
    assert exc is not None


def test_sensor_logger_wrong_header_and_other_format(tmp_path: Path) -> None:
    p = tmp_path / "Accelerometer.csv"
    p.write_text("timestamp,x,y,z\n1,2,3,4\n")
    must_fail("sensor_logger", p, "time,seconds_elapsed")
    p.write_text(WISDM_OK)
    must_fail("sensor_logger", p, "time,seconds_elapsed")


def test_sensor_logger_truncated_row(tmp_path: Path) -> None:
    p = tmp_path / "Accelerometer.csv"
    p.write_text(SL_OK + "1698501144421773000,0.22,1,2")
    exc = must_fail("sensor_logger", p)
    assert exc.line == 4


# -- generic CSV -----------------------------------------------------------------------------


def test_csv_given_a_zip_and_wisdm(tmp_path: Path) -> None:
    z = tmp_path / "table.csv"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.csv", CSV_OK)
    must_fail("csv", z, located=True)
    p = tmp_path / "w.csv"
    p.write_text(WISDM_OK)  # no header, no time column: needs a spec
    must_fail("csv", p, "spec")


def test_csv_ragged_rows(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("time_s,a\n0,1\n0.1,2,3,4\n")
    exc = must_fail("csv", p, "consistent")
    assert exc.line == 3


def test_importers_leave_no_files(tmp_path: Path) -> None:
    """Reading never writes: a failed import leaves the folder as it was."""
    p = tmp_path / "data_1600_accel_watch.txt"
    p.write_text(WISDM_OK + "1600,Z,1,1,2,3;\n")
    before = sorted(tmp_path.iterdir())
    must_fail("wisdm", p)
    assert sorted(tmp_path.iterdir()) == before
    assert np.isfinite(0.0)
