"""Fitbit account export / Takeout (folder and zip) and Web API intraday heart rate, built in tmp_path."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_SUSPECT
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.importer import import_warnings

HR_JSON = """[{
  "dateTime" : "01/25/23 13:00:07",
  "value" : {
    "bpm" : 54,
    "confidence" : 2
  }
},{
  "dateTime" : "01/25/23 13:00:22",
  "value" : {
    "bpm" : 55,
    "confidence" : 0
  }
}]"""
STEPS = (
    '[{"dateTime" : "01/25/23 13:00:00", "value" : "0"},{"dateTime" : "01/25/23 13:01:00", "value" : "12"}]'
)
SLEEP = [
    {
        "logId": 1,
        "dateOfSleep": "2023-01-27",
        "startTime": "2023-01-26T22:47:30.000",
        "endTime": "2023-01-26T23:24:30.000",
        "duration": 2220000,
        "type": "stages",
        "mainSleep": True,
        "levels": {
            "summary": {},
            "data": [
                {"dateTime": "2023-01-26T22:47:30.000", "level": "wake", "seconds": 420},
                {"dateTime": "2023-01-26T22:54:30.000", "level": "light", "seconds": 1800},
            ],
        },
    }
]
EXERCISE = [
    {
        "logId": 7,
        "activityName": "Walk",
        "activityTypeId": 90013,
        "startTime": "01/26/23 01:08:57",
        "duration": 1800000,
        "steps": 3000,
    }
]
HR_CSV = "timestamp,beats per minute,data source\n2023-01-25T13:00:07Z,54.0,Pixel Watch\n2023-01-25T13:00:30Z,60.0,Pixel Watch\n"


def make_export(root: Path) -> Path:
    g = root / "Takeout" / "Fitbit" / "Global Export Data"
    c = root / "Takeout" / "Fitbit" / "Physical Activity_GoogleData"
    g.mkdir(parents=True)
    c.mkdir(parents=True)
    (g / "heart_rate-2023-01-26.json").write_text(HR_JSON)
    (g / "steps-2023-01-25.json").write_text(STEPS)
    (g / "sleep-2023-01-26.json").write_text(json.dumps(SLEEP))
    (g / "exercise-0.json").write_text(json.dumps(EXERCISE))
    (g / "calories-2023-01-25.json").write_text("[]")  # not used: no error
    (c / "heart_rate_2023-01-26.csv").write_text(HR_CSV)
    return root / "Takeout"


def read(path: Path, **kw: object):
    (s,) = get_importer("fitbit_takeout").read(path, ImportOptions(**kw))  # type: ignore[arg-type]
    return s


def check_session(s) -> None:  # noqa: ANN001
    # earliest record: the steps minute 2023-01-25 13:00:00 UTC
    assert s.metadata.start_utc == datetime(2023, 1, 25, 13, 0, 0, tzinfo=UTC)
    t, v = s.streams["heart_rate"].read()
    # 13:00:07 appears in the JSON and the CSV: kept once
    assert t.tolist() == [7.0, 22.0, 30.0] and v[:, 0].tolist() == [54.0, 55.0, 60.0]
    assert s.streams["heart_rate"].units == ["bpm"]
    assert s.streams["heart_rate"].data.read_flags().tolist() == [0, FLAG_SUSPECT, 0]  # confidence 0
    st, sv = s.streams["steps"].read()
    assert st.tolist() == [0.0, 60.0] and sv[:, 0].tolist() == [0.0, 12.0]
    track = s.label_tracks["context"]
    assert track.policy == "overlapping"
    segs = {g.label: (g.start, g.duration) for g in track}
    # exercise 2023-01-26 01:08:57 UTC is 12 h 08 min 57 s after the start
    assert segs["exercise: Walk"] == (43737.0, 1800.0)
    # sleep 22:47:30 Sydney (UTC+11) is 11:47:30 UTC, 22 h 47 min 30 s after the start
    assert segs["sleep: wake"] == (82050.0, 420.0)
    assert segs["sleep: light"] == (82470.0, 1800.0)
    assert any("no raw motion data" in w for w in import_warnings(s))
    assert "accelerometer" not in s.streams


def test_folder_export(tmp_path: Path) -> None:
    root = make_export(tmp_path)
    assert detect(root).name == "fitbit_takeout"
    s = read(root, timezone="Australia/Sydney")
    check_session(s)
    assert len(s.metadata.provenance.sources) == 5
    assert not any("timezone" in w for w in import_warnings(s))


def test_zip_export(tmp_path: Path) -> None:
    root = make_export(tmp_path / "src")
    z = tmp_path / "takeout-20230201.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(root.parent).as_posix())
    assert detect(z).name == "fitbit_takeout"
    check_session(read(z, timezone="Australia/Sydney"))


def test_no_timezone_sleep_as_utc_with_a_hint(tmp_path: Path) -> None:
    s = read(make_export(tmp_path))
    segs = {g.label: g.start for g in s.label_tracks["context"]}
    assert segs["sleep: wake"] == 82050.0 + 11 * 3600
    (w,) = [w for w in import_warnings(s) if "timezone" in w]
    assert "UTC+11:00" in w  # heart-rate file 2023-01-26 starts at 13:00 UTC the day before


def test_wrong_timezone_is_questioned(tmp_path: Path) -> None:
    s = read(make_export(tmp_path), timezone="Europe/Berlin")
    assert any("check the timezone" in w for w in import_warnings(s))


@pytest.mark.parametrize(
    ("name", "content", "line", "needle"),
    [
        ("heart_rate-2023-01-26.json", HR_JSON.replace('"bpm" : 55', '"bpm" : '), 10, "invalid JSON"),
        ("heart_rate-2023-01-26.json", HR_JSON.replace("01/25/23 13:00:22", "yesterday"), 8, "not a time"),
        ("heart_rate-2023-01-26.json", HR_JSON.replace('"bpm" : 55', '"bpm" : NaN'), 10, "NaN"),
        ("heart_rate-2023-01-26.json", HR_JSON.replace('"bpm" : 55', '"bpm" : "fast"'), 8, "not a number"),
        ("steps-2023-01-25.json", STEPS.replace('"12"', '"1e999"'), 1, "steps"),
        ("heart_rate_2023-01-26.csv", "time,bpm\n", 1, "header"),
        ("heart_rate_2023-01-26.csv", HR_CSV + "2023-01-25T13:00:40Z,abc,Pixel Watch\n", 4, "not a number"),
        ("heart_rate-2023-01-26.json", "", 1, "empty"),
    ],
    ids=["json-syntax", "time", "nan", "non-numeric", "inf-steps", "csv-header", "csv-value", "empty"],
)
def test_bad_files_name_file_and_line(
    tmp_path: Path, name: str, content: str, line: int, needle: str
) -> None:
    root = tmp_path / "export"
    root.mkdir()
    (root / name).write_text(content)
    with pytest.raises(ImportFormatError) as err:
        read(root)
    assert err.value.line == line, str(err.value)
    assert needle in str(err.value) and name in str(err.value)


def test_folder_without_export_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert get_importer("fitbit_takeout").sniff(tmp_path) == 0.0
    with pytest.raises(ImportFormatError, match="no Fitbit export files"):
        read(tmp_path)


def test_random_bytes_in_an_export_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for i in range(20):
        root = tmp_path / f"e{i}"
        root.mkdir()
        (root / "heart_rate-2023-01-26.json").write_bytes(rng.bytes(int(rng.integers(1, 400))))
        with pytest.raises(ImportFormatError, match="heart_rate-2023-01-26.json"):
            read(root)


WEBAPI = {
    "activities-heart": [{"dateTime": "2024-01-15", "value": {"restingHeartRate": 62}}],
    "activities-heart-intraday": {
        "dataset": [
            {"time": "23:59:50", "value": 64},
            {"time": "23:59:58", "value": 63},
            {"time": "00:00:10", "value": 65},
        ],
        "datasetInterval": 1,
        "datasetType": "second",
    },
}


def test_webapi_intraday(tmp_path: Path) -> None:
    p = tmp_path / "heart.json"
    p.write_text(json.dumps(WEBAPI, indent=1))
    assert detect(p).name == "fitbit_webapi_hr"
    (s,) = get_importer("fitbit_webapi_hr").read(p, ImportOptions(timezone="America/Chicago"))
    # 23:59:50 in Chicago (UTC-6 in January) is 05:59:50 UTC the next day; the range crosses midnight
    assert s.metadata.start_utc == datetime(2024, 1, 16, 5, 59, 50, tzinfo=UTC)
    t, v = s.streams["heart_rate"].read()
    assert t.tolist() == [0.0, 8.0, 20.0] and v[:, 0].tolist() == [64, 63, 65]
    assert any("no raw motion data" in w for w in import_warnings(s))


def test_webapi_without_a_date(tmp_path: Path) -> None:
    data = json.loads(json.dumps(WEBAPI))
    data["activities-heart"][0]["dateTime"] = "today"
    p = tmp_path / "heart.json"
    p.write_text(json.dumps(data))
    with pytest.raises(ImportFormatError, match="which day"):
        get_importer("fitbit_webapi_hr").read(p, ImportOptions())
    (s,) = get_importer("fitbit_webapi_hr").read(p, ImportOptions(extra={"date": "2024-01-15"}))
    assert s.metadata.start_utc == datetime(2024, 1, 15, 23, 59, 50, tzinfo=UTC)


def test_webapi_bad_value_names_line(tmp_path: Path) -> None:
    data = json.loads(json.dumps(WEBAPI))
    data["activities-heart-intraday"]["dataset"][1]["value"] = "NaN"
    p = tmp_path / "heart.json"
    p.write_text(json.dumps(data, indent=1))
    with pytest.raises(ImportFormatError) as err:
        get_importer("fitbit_webapi_hr").read(p, ImportOptions())
    assert err.value.line is not None and "dataset item 1" in str(err.value)
