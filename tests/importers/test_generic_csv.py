"""Generic CSV importer and its reusable spec (TOML/JSON)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from harlab.core import Metadata, Segment, Session, Stream
from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_SUSPECT
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers._csvspec import CsvSpec, CsvSpecError, StreamSpec

IMP = get_importer("csv")


def read(path: Path, spec: object = None, **kw) -> Session:
    extra = {"spec": spec} if spec is not None else {}
    (s,) = IMP.read(path, ImportOptions(extra=extra, **kw))
    return s


def test_export_layout_without_spec(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text(
        "time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],"
        "heart_rate.bpm,label.activity\n"
        "0.0,1,2,3,,walk\n0.02,1.5,2,3,70,walk\n0.04,1,2,3,,sit\n0.06,1,2,3,71,\n"
    )
    assert detect(p).name == "csv" and IMP.sniff(p) == pytest.approx(0.3)
    s = read(p)
    acc = s.streams["accelerometer"]
    assert acc.units == ["m/s^2"] * 3 and acc.kind == "accelerometer"
    assert acc.n_samples == 4
    hr_t, hr_v = s.streams["heart_rate"].read()
    assert list(hr_t) == [0.02, 0.06] and list(hr_v[:, 0]) == [70, 71]
    assert [(x.label, x.start, x.end) for x in s.label_tracks["activity"]] == [
        ("walk", 0.0, 0.04),
        ("sit", 0.04, 0.06),
    ]
    assert s.metadata.start_utc is None


def test_round_trip_through_the_wide_csv_exporter(tmp_path: Path) -> None:
    from harlab.exporters.exporter import ExportOptions
    from harlab.exporters.wide_csv import WideCsvExporter

    rng = np.random.default_rng(1)
    s = Session(Metadata(start_utc=datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)))
    t = np.cumsum(rng.uniform(0.015, 0.025, 400))
    s.add_stream(
        Stream.from_arrays(
            "accelerometer", t, rng.normal(0, 3, (400, 3)) * 1e3, ["x", "y", "z"], "m/s^2", rate_hz=50
        )
    )
    s.add_segments("activity", [Segment(1.0, 3.0, "walk"), Segment(3.0, 5.5, "sit down")])
    (path,) = WideCsvExporter().export([s], tmp_path, ExportOptions(names=["s1"]))
    back = read(path)
    t0, v0 = s.streams["accelerometer"].read()
    t1, v1 = back.streams["accelerometer"].read()
    np.testing.assert_array_equal(t1, t0)  # float64 times exactly
    np.testing.assert_array_equal(v1, v0)  # float32 values exactly
    assert back.metadata.start_utc == s.metadata.start_utc
    # per-sample labels come back as segments over the same samples
    for seg in back.label_tracks["activity"]:
        orig = next(x for x in s.label_tracks["activity"] if x.label == seg.label)
        inside = (t0 >= orig.start) & (t0 < orig.end)
        assert seg.start == t0[inside][0]
        assert seg.end == pytest.approx(t0[np.flatnonzero(inside)[-1] + 1])


def test_spec_toml_and_json_round_trip(tmp_path: Path) -> None:
    spec = CsvSpec(
        time_column="ts",
        time_unit="ms",
        streams=[StreamSpec("acc", ["ax", "ay", "az"], ["x", "y", "z"], "g", "accelerometer", scale=9.80665)],
        labels={"activity": "label"},
        participant="p7",
    )
    for name in ("spec.toml", "spec.json"):
        path = spec.save(tmp_path / name)
        assert CsvSpec.load(path) == spec
    assert json.loads((tmp_path / "spec.json").read_text())["time_unit"] == "ms"
    p = tmp_path / "d.csv"
    p.write_text("ts,ax,ay,az,label\n1000,0,0,1,a\n1020,0,0,1,a\n1040,0,0,1,b\n")
    s = read(p, str(tmp_path / "spec.toml"))
    t, v = s.streams["acc"].read()
    np.testing.assert_allclose(t, [1.0, 1.02, 1.04])
    np.testing.assert_allclose(v[0], [0, 0, 9.80665], rtol=1e-6)
    assert s.metadata.participant_id == "p7"
    assert [x.label for x in s.label_tracks["activity"]] == ["a", "b"]


def test_stream_option_parse() -> None:
    st = StreamSpec.parse("accelerometer=ax, ay,az:m/s^2")
    assert (st.name, st.columns, st.units) == ("accelerometer", ["ax", "ay", "az"], "m/s^2")
    with pytest.raises(CsvSpecError):
        StreamSpec.parse("no-equals-sign")


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"time_unit": "hours"}, "time_unit"),
        ({"streams": [{"name": "a"}]}, "name and columns"),
        ({"streams": [{"name": "a", "columns": ["x"], "channels": ["x", "y"]}]}, "channel names"),
        ({"colour": "red"}, "unknown CSV spec keys"),
        ({"rate_hz": -5}, "positive"),
    ],
)
def test_bad_specs(bad: dict, match: str) -> None:
    with pytest.raises(CsvSpecError, match=match):
        CsvSpec.from_dict(bad)


def test_bad_spec_file_names_file(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text("time_column = [unclosed\n")
    with pytest.raises(CsvSpecError, match="s.toml"):
        CsvSpec.load(p)


@pytest.mark.parametrize(
    ("cell", "expected_utc"),
    [
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01 12:00:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),  # local, Europe/Berlin (CEST)
    ],
)
def test_iso_times(tmp_path: Path, cell: str, expected_utc: datetime) -> None:
    p = tmp_path / "iso.csv"
    second = cell.replace("12:00:00", "12:00:00.5").replace("10:00:00", "10:00:00.5")
    p.write_text(f"timestamp,v\n{cell},1\n{second},2\n")
    s = read(p, timezone="Europe/Berlin")
    assert s.metadata.start_utc == expected_utc
    np.testing.assert_allclose(s.streams["data"].read()[0], [0.0, 0.5])


@pytest.mark.parametrize(
    ("column", "values", "unit_s"),
    [
        ("time_ns", ["1714557600000000000", "1714557600010000001"], 0.010000001),
        ("time_ms", ["0", "20"], 0.02),
        ("time", ["1714557600.5", "1714557601.0"], 0.5),
    ],
)
def test_numeric_time_units(tmp_path: Path, column: str, values: list[str], unit_s: float) -> None:
    p = tmp_path / "n.csv"
    p.write_text(f"{column},v\n{values[0]},1\n{values[1]},2\n")
    s = read(p)
    t, _ = s.streams["data"].read()
    assert t[1] - t[0] == pytest.approx(unit_s, abs=1e-9)
    if float(values[0]) > 1e9:
        assert s.metadata.start_utc is not None and s.metadata.start_utc.year == 2024


def test_time_utc_alone_is_the_time(tmp_path: Path) -> None:
    p = tmp_path / "u.csv"
    p.write_text("time_utc,acc.x\n2024-05-01T10:00:00.000000Z,1\n2024-05-01T10:00:00.020000Z,2\n")
    s = read(p)
    assert s.metadata.start_utc == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    np.testing.assert_allclose(s.streams["acc"].read()[0], [0.0, 0.02])


def test_rate_instead_of_time(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("a,b\n1,2\n3,4\n5,6\n")
    with pytest.raises(ImportFormatError, match="spec is needed"):
        read(p)
    s = read(p, rate_hz=25.0)
    np.testing.assert_allclose(s.streams["data"].read()[0], [0, 0.04, 0.08])
    s = read(p, {"rate_hz": 10, "streams": [{"name": "x", "columns": ["b"]}]})
    assert s.streams["x"].channels == ["b"]


def test_headerless_semicolon_decimal_comma(tmp_path: Path) -> None:
    p = tmp_path / "h.txt"
    p.write_text("# exported by a logger\n0,0;1,5\n0,1;2,5\n")
    spec = {
        "header": False,
        "skip_rows": 1,
        "delimiter": ";",
        "decimal": ",",
        "time_column": "0",
        "time_unit": "s",
        "streams": [{"name": "temp", "columns": ["1"], "units": "degC"}],
    }
    s = read(p, spec)
    t, v = s.streams["temp"].read()
    np.testing.assert_allclose(t, [0.0, 0.1])
    np.testing.assert_allclose(v[:, 0], [1.5, 2.5])


def test_partial_empty_row_is_nan_and_flagged(tmp_path: Path) -> None:
    p = tmp_path / "p.csv"
    p.write_text("time_s,acc.x,acc.y\n0,1,2\n0.1,,3\n0.2,1,2\n")
    s = read(p)
    _, v = s.streams["acc"].read()
    assert np.isnan(v[1, 0])
    assert s.streams["acc"].data.read_flags()[1] & FLAG_SUSPECT
    assert "line 3" in s.metadata.extra["import_warnings"]


@pytest.mark.parametrize(
    ("text", "match", "line"),
    [
        ("time_s,v\n0,1\n0.1,abc\n", "'abc' is not a finite number", 3),
        ("time_s,v\n0,1\n0.1,NaN\n", "not a finite", 3),
        ("time_s,v\n0,1\n0.1,-inf\n", "not a finite", 3),
        ("time_s,v\n0,1\n,2\n", "time column 'time_s' is empty", 3),
        ("time_s,v\n0.2,1\n0.1,2\n", "backwards", 3),
        ("time,v\n2024-05-01T10:00:00Z,1\nyesterday,2\n", "not an ISO 8601", 3),
        ("time_s,v\n", "no data rows", 2),
    ],
)
def test_bad_cells_name_the_line(tmp_path: Path, text: str, match: str, line: int) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(ImportFormatError, match=match) as ei:
        read(p)
    assert ei.value.line == line and ei.value.path == p


def test_spec_names_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("time_s,ax\n0,1\n")
    with pytest.raises(ImportFormatError, match="no column 'ay'"):
        read(p, {"time_column": "time_s", "streams": [{"name": "a", "columns": ["ax", "ay"]}]})
