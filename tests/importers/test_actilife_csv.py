"""ActiLife's raw CSV export as a format of its own: header fields, units, the same recording as its .gt3x."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.core.plausibility import G
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.importer import import_warnings
from harlab.importers.run import import_one

HEADER = """------------ Data File Created By ActiGraph wGT3XBT ActiLife v6.13.4 Firmware v1.9.2 date format {fmt} at 50 Hz  Filter Normal -----------
Serial Number: MOS2E12345678
Start Time 23:59:59
Start Date {date}
Epoch Period (hh:mm:ss) {epoch}
Download Time 12:09:58
Download Date 12/20/2021
Current Memory Address: 0
Current Battery Voltage: 4.26     Mode = 12
--------------------------------------------------
"""


@pytest.fixture
def actigraph(shared_data: Path) -> Path:
    p = shared_data / "actigraph"
    if not (p / "neo.csv").is_file():
        pytest.skip("../shared/data/actigraph not present")
    return p


def read(path: Path, **kw: object):
    (session,) = get_importer("actilife_csv").read(path, ImportOptions(**kw))  # type: ignore[arg-type]
    return session


def write(
    tmp_path: Path, rows: str, fmt: str = "M/d/yyyy", date: str = "2/29/2024", epoch: str = "00:00:00"
) -> Path:
    p = tmp_path / "export.csv"
    p.write_text(HEADER.format(fmt=fmt, date=date, epoch=epoch) + rows)
    return p


def test_the_export_and_its_gt3x_are_the_same_recording(actigraph: Path) -> None:
    csv = read(actigraph / "neo.csv", timezone="Etc/GMT+6")
    (gt3x,) = get_importer("actigraph_gt3x").read(actigraph / "neo.gt3x", ImportOptions())
    tc, vc = csv.streams["accelerometer"].data.read()
    tg, vg = gt3x.streams["accelerometer"].data.read()
    assert csv.metadata.start_utc == gt3x.metadata.start_utc
    assert np.array_equal(tc, tg)
    assert np.abs(vc - vg).max() / G <= 1e-3 / 2 + 1e-6  # ActiLife rounds to 3 decimals
    assert csv.metadata.device.address == "NEO1C04110003" and csv.metadata.extra["fs_nominal"] == "30"
    assert detect(actigraph / "neo.csv").name == "actilife_csv"


def test_calibrated_wrist_export(actigraph: Path, tmp_path: Path) -> None:
    path = actigraph / "WRIST_rawCalibrated_032Hz.csv"
    assert detect(path).name == "actilife_csv"
    report = import_one(path, tmp_path, ImportOptions(timezone="Europe/Berlin"))
    assert report.ok, report.reason
    session = read(path, timezone="Europe/Berlin")
    t, v = session.streams["accelerometer"].data.read()
    ref = np.loadtxt(path, delimiter=",", skiprows=11)
    assert len(t) == len(ref) == 1920
    assert np.allclose(v / G, ref, atol=1e-6)
    assert np.allclose(t, np.arange(1920) / 32)
    assert session.metadata.start_utc == datetime(2017, 11, 1, 10, 45, tzinfo=UTC)  # 11:45 CET


def test_header_fields_and_a_timestamp_column(tmp_path: Path) -> None:
    rows = "Timestamp,Accelerometer X,Accelerometer Y,Accelerometer Z\n"
    rows += "".join(f"29.02.2024 23:59:59.{20 * i:03d},0.1,{i / 100},-0.98\n" for i in range(30))
    session = read(write(tmp_path, rows, fmt="dd.MM.yyyy", date="29.02.2024"))
    t, v = session.streams["accelerometer"].data.read()
    assert session.metadata.start_utc == datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    assert np.allclose(t, np.arange(30) / 50) and np.allclose(v[:, 1] / G, np.arange(30) / 100)
    assert any("no timezone given" in w for w in import_warnings(session))
    assert (
        session.metadata.device.model == "ActiGraph wGT3XBT" and session.metadata.device.firmware == "1.9.2"
    )


def test_without_a_column_header(tmp_path: Path) -> None:
    session = read(write(tmp_path, "0.1,0.2,0.97\n0.1,0.2,0.98\n"))
    assert session.streams["accelerometer"].data.n_samples == 2


@pytest.mark.parametrize(
    ("rows", "kw", "match", "line"),
    [
        (
            "Accelerometer X,Accelerometer Y,Accelerometer Z\n0.1,0.2,0.9\n0.1,oops,0.9\n",
            {},
            "not a number",
            13,
        ),
        ("Accelerometer X,Accelerometer Y,Accelerometer Z\n0.1,0.2,0.9\n0.1,inf,0.9\n", {}, "not finite", 13),
        ("Axis1,Axis2,Axis3\n10,20,30\n", {"epoch": "00:01:00"}, "activity counts", 5),
        ("Accelerometer X,Accelerometer Z\n0.1,0.9\n", {}, "Accelerometer Y", 11),
        ("0.1,0.2,0.9\n", {"date": "31/12/2024"}, "date", 4),
    ],
)
def test_bad_exports_name_the_line(tmp_path: Path, rows: str, kw: dict, match: str, line: int) -> None:
    p = write(tmp_path, rows, **kw)
    with pytest.raises(ImportFormatError, match=match) as err:
        read(p)
    assert err.value.line == line and str(p) in str(err.value)
    out = tmp_path / "out"
    out.mkdir()
    assert not import_one(p, out, ImportOptions()).ok and list(out.iterdir()) == []


def test_not_an_actilife_file(tmp_path: Path) -> None:
    p = tmp_path / "plain.csv"
    p.write_text("x,y,z\n1,2,3\n")
    assert get_importer("actilife_csv").sniff(p) == 0.0
    with pytest.raises(ImportFormatError, match="ActiLife's title"):
        read(p)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_export_gives_a_session_or_a_clear_error(actigraph: Path, tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    """Byte flips, cuts and insertions in the first 100 lines of the wrist export: a session or an
    ImportFormatError naming the file, never another exception; nothing written on error."""
    lines = (actigraph / "WRIST_rawCalibrated_032Hz.csv").read_bytes().splitlines(keepends=True)[:100]
    raw = bytearray(b"".join(lines))
    pos = data.draw(st.integers(0, len(raw) - 1))
    kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    if kind == "flip":
        raw[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del raw[pos : pos + data.draw(st.integers(1, 300))]
    else:
        raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=12))
    work = tmp_path_factory.mktemp("fuzz")
    p = work / "export.csv"
    p.write_bytes(bytes(raw))
    try:
        read(p)
        failed = False
    except ImportFormatError as exc:
        failed = True
        assert str(p) in str(exc)
    out = work / "out"
    out.mkdir()
    report = import_one(p, out, ImportOptions(), fmt="actilife_csv")
    assert report.ok != failed
    if failed:
        assert list(out.iterdir()) == []
