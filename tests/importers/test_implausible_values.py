"""Implausible values (docs/FORMAT.md, "Implausible values"): refused at their line or byte, or marked
NaN + suspect and counted in the import report; huge and zero-filled watch files refused before or
instead of importing months of zeros."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_SUSPECT
from harlab.importers import ImportOptions, get_importer
from harlab.importers.fitbit_bin import MAX_BATCHES
from harlab.importers.importer import import_warnings
from harlab.importers.run import import_paths
from harlab.storage import read_session, validate_file
from tests.importers.test_fitbit_bin import REFERENCE_BATCH
from tests.importers.test_fitbit_takeout import make_export

WATCH_NAME = "Walking_20200421155113.bin"


def read(fmt: str, path: Path, **kw: object):
    return get_importer(fmt).read(path, ImportOptions(**kw))  # type: ignore[arg-type]


def marked_rows(stream) -> np.ndarray:  # noqa: ANN001
    return np.flatnonzero(stream.data.read_flags() & FLAG_SUSPECT)


# -- the watch's binary files ---------------------------------------------------------------


def test_sparse_gigabyte_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    p = tmp_path / WATCH_NAME
    with open(p, "wb") as f:
        f.truncate(1 << 30)  # 1 GiB of zeros that takes no disk: 89 days of 10 Hz batches
    importer = get_importer("fitbit_bin")  # loading the importer modules is not what is measured
    tracemalloc.start()
    try:
        with pytest.raises(ImportFormatError) as err:
            importer.read(p, ImportOptions())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "1,073,741,824 bytes" in str(err.value) and str(p) in str(err.value)
    assert err.value.offset == MAX_BATCHES * 130
    assert peak < 20 * 2**20  # the file was never read into memory


def test_gzip_past_24_hours_is_refused(tmp_path: Path) -> None:
    p = tmp_path / (WATCH_NAME + ".gz")
    p.write_bytes(gzip.compress(REFERENCE_BATCH * (MAX_BATCHES + 1), compresslevel=1))
    with pytest.raises(ImportFormatError, match="more than") as err:
        read("fitbit_bin", p)
    assert err.value.offset == MAX_BATCHES * 130


def test_zero_filled_stretch_is_refused_at_its_first_byte(tmp_path: Path) -> None:
    p = tmp_path / WATCH_NAME
    p.write_bytes(REFERENCE_BATCH * 20 + bytes(130 * 10))  # a third of the file is zeros
    with pytest.raises(ImportFormatError, match="zero-filled") as err:
        read("fitbit_bin", p)
    assert err.value.offset == 20 * 130
    assert "100 of 300 accelerometer samples" in str(err.value)


def test_a_short_zero_stretch_is_marked_in_both_streams(tmp_path: Path) -> None:
    p = tmp_path / WATCH_NAME
    p.write_bytes(REFERENCE_BATCH * 30 + bytes(130) + REFERENCE_BATCH * 9)
    (s,) = read("fitbit_bin", p)
    for name in ("accelerometer", "gyroscope"):
        stream = s.streams[name]
        assert marked_rows(stream).tolist() == list(range(300, 310))
        v = stream.read()[1]
        assert np.isnan(v[300:310]).all() and np.isfinite(v[:300]).all() and np.isfinite(v[310:]).all()
    assert any("10 samples are exactly 0 in all six values" in w for w in import_warnings(s))


def test_bit_flip_past_the_watch_range_is_marked_and_reported(tmp_path: Path) -> None:
    data = bytearray(REFERENCE_BATCH * 40)
    data[130 * 7 + 20 + 2 * 3 : 130 * 7 + 20 + 2 * 3 + 2] = np.float16(868.0).tobytes()  # ay of sample 73
    p = tmp_path / WATCH_NAME
    p.write_bytes(bytes(data))
    (report,) = import_paths([p], tmp_path / "out", ImportOptions(timezone="UTC"))
    assert report.ok, report.reason
    assert any(
        "1 of 400 accelerometer samples set to NaN and flagged suspect" in w and "byte 916" in w
        for w in report.warnings
    ), report.warnings
    (out,) = report.outputs
    assert validate_file(out) == []
    acc = read_session(out).streams["accelerometer"]
    assert marked_rows(acc).tolist() == [73]
    v = acc.read()[1]
    ax3 = float(np.frombuffer(REFERENCE_BATCH[6:8], "<f2")[0])
    assert np.isnan(v[73, 1]) and v[73, 0] == ax3  # only the flipped value is gone
    assert np.isfinite(np.delete(v, 73, axis=0)).all()


# -- text formats: 1e39 is refused at its line, never turned into infinity -------------------

OVERFLOW_CASES = {
    "fitbit_csv": (
        "sensor_raw_20200421152535.csv",
        "ActivityID,AccelX,AccelY,AccelZ,GyroX,GyroY,GyroZ\n"
        + "4,1,2,9.8,0.1,0.2,0.3\n" * 5
        + "4,1,2,1e39,0.1,0.2,0.3\n",
        7,
    ),
    "fitbit_fetcher_csv": (
        "17.csv",
        "".join(f"{885987 + 30 * i},0.01,-0.09,9.73\r\n" for i in range(5)) + "886137,0.01,1e39,9.73\r\n",
        6,
    ),
    "uci_hapt": ("acc_exp01_user01.txt", "0.918 -0.112 0.509\n" * 4 + "0.918 1e39 0.509\n", 5),
    "wisdm": (
        "data_1600_accel_watch.txt",
        "".join(f"1600,A,{90426708196641 + 50_000_000 * i},7.09,-0.59,8.19;\n" for i in range(4))
        + "1600,A,90426908196641,7.09,-1e39,8.19;\n",
        5,
    ),
    "csv": (
        "table.csv",
        "time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2]\n0,1,2\n0.1,1,2\n0.2,1e39,2\n",
        4,
    ),
    "sensor_logger": (
        "Gyroscope.csv",
        "time,seconds_elapsed,z,y,x\n1698501144401773000,0.2,1,2,3\n1698501144411773000,0.21,1,2e39,3\n",
        3,
    ),
}


@pytest.mark.parametrize("fmt", sorted(OVERFLOW_CASES))
def test_past_float32_is_refused_at_its_line(tmp_path: Path, fmt: str) -> None:
    name, text, line = OVERFLOW_CASES[fmt]
    p = tmp_path / name
    p.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ImportFormatError, match="float32") as err:
            read(fmt, p)
    assert err.value.line == line and str(p) in str(err.value)


def test_a_timestamp_centuries_away_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A clock reading 1e300 s imported as a stream of 1e-300 Hz; every importer's stream rules
    reach the caller as an ImportFormatError of the input."""
    p = tmp_path / "clock.csv"
    p.write_text("time_s,accelerometer.x [m/s^2]\n0,1\n0.01,1\n1e300,2\n")
    with pytest.raises(ImportFormatError, match="timestamp 2 is 1e\\+300 s from the start") as err:
        read("csv", p)
    assert err.value.path == p


# -- out-of-range values are marked; too many are refused -----------------------------------


def test_generic_csv_marks_an_acceleration_past_50_g(tmp_path: Path) -> None:
    rows = [f"{i / 10},0.1,0.2,9.8" for i in range(30)]
    rows[12] = "1.2,0.1,868,9.8"
    p = tmp_path / "lab.csv"
    p.write_text(
        "time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2]\n"
        + "\n".join(rows)
        + "\n"
    )
    (s,) = read("csv", p)
    acc = s.streams["accelerometer"]
    assert marked_rows(acc).tolist() == [12]
    assert np.isnan(acc.read()[1][12, 1]) and acc.read()[1][12, 2] == pytest.approx(9.8)
    assert any("1 of 30 accelerometer samples set to NaN" in w and "line 14" in w for w in import_warnings(s))


def test_generic_csv_refuses_a_wrong_unit(tmp_path: Path) -> None:
    p = tmp_path / "lab.csv"
    p.write_text("t,ax,ay,az\n" + "".join(f"{i},12,-30,1004\n" for i in range(20)))  # milli-g, not m/s^2
    spec = {
        "time_column": "t",
        "streams": [
            {
                "name": "accelerometer",
                "columns": ["ax", "ay", "az"],
                "units": "m/s^2",
                "kind": "accelerometer",
            }
        ],
    }
    with pytest.raises(ImportFormatError, match="wrong unit") as err:
        read("csv", p, extra={"spec": spec})
    assert err.value.line == 2


def test_export_heart_rate_outside_20_to_300_is_marked(tmp_path: Path) -> None:
    root = make_export(tmp_path)
    hr = next(root.rglob("heart_rate-*.json"))
    records = [
        {"dateTime": f"01/25/23 13:{m:02d}:07", "value": {"bpm": 60 + m, "confidence": 2}} for m in range(20)
    ]
    records[5]["value"]["bpm"] = 350
    hr.write_text(json.dumps(records, indent=1))
    (s,) = read("fitbit_takeout", root, timezone="Australia/Sydney")
    stream = s.streams["heart_rate"]
    t, v = stream.read()
    bad = int(np.flatnonzero(np.isnan(v[:, 0]))[0])
    assert t[bad] == 5 * 60 + 7.0 and marked_rows(stream).tolist().count(bad) == 1
    assert np.isfinite(np.delete(v, bad)).all()
    assert any(
        "1 of 20 heart_rate samples set to NaN" in w and "20..300 bpm" in w for w in import_warnings(s)
    )


def test_sensor_logger_gyroscope_past_4000_dps_is_marked(tmp_path: Path) -> None:
    rows = [f"{1698501144401773000 + 10_000_000 * i},{0.2 + i / 100},0.1,0.2,0.3" for i in range(20)]
    rows[3] = "1698501144431773000,0.23,0.1,95.5,0.3"
    p = tmp_path / "Gyroscope.csv"
    p.write_text("time,seconds_elapsed,z,y,x\n" + "\n".join(rows) + "\n")
    (s,) = read("sensor_logger", p)
    g = s.streams["gyroscope"]
    assert marked_rows(g).tolist() == [3]
    assert any("1 of 20 gyroscope samples set to NaN" in w and "line 5" in w for w in import_warnings(s))
