"""Sensor Logger importer on exports built here (zip and folder) in the app's documented layout."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from harlab.core.errors import ImportFormatError
from harlab.importers import ImportOptions, detect, get_importer

IMP = get_importer("sensor_logger")
T0 = 1698501144401773000  # UTC epoch ns, from the app's README example


def sensor_csv(n: int, rate: float, cols: list[str], start_ns: int = T0, fn=None) -> str:
    """time,seconds_elapsed,<cols> with rows every 1/rate s (values from fn(i, col))."""
    fn = fn or (lambda i, c: 0.01 * i + len(c))
    lines = ["time,seconds_elapsed," + ",".join(cols)]
    for i in range(n):
        t = start_ns + round(i * 1e9 / rate)
        lines.append(f"{t},{(t - T0) / 1e9 + 0.2}," + ",".join(repr(fn(i, c)) for c in cols))
    return "\n".join(lines) + "\n"


def export_files() -> dict[str, str]:
    return {
        "Accelerometer.csv": sensor_csv(
            200, 100, ["z", "y", "x"], fn=lambda i, c: {"x": 0.1, "y": 0.2, "z": 0.3}[c]
        ),
        "Gyroscope.csv": sensor_csv(200, 100, ["z", "y", "x"], start_ns=T0 + 3_000_000),
        "Gravity.csv": sensor_csv(100, 50, ["z", "y", "x"], fn=lambda i, c: 9.80665 if c == "z" else 0.0),
        "TotalAcceleration.csv": sensor_csv(
            200, 100, ["z", "y", "x"], fn=lambda i, c: 9.9 if c == "z" else 0.1
        ),
        "Orientation.csv": sensor_csv(100, 50, ["qz", "qy", "qx", "qw", "roll", "pitch", "yaw"]),
        "HeartRate.csv": sensor_csv(3, 1, ["bpm"], start_ns=T0 - 500_000_000, fn=lambda i, c: 70 + i),
        "Location.csv": sensor_csv(2, 1, ["latitude", "longitude", "altitude"]),
        "Battery.csv": f"time,seconds_elapsed,batteryLevel,batteryState\n{T0},0.2,0.5,charging\n",
        "Metadata.csv": "version,device name,recording epoch time,recording time,recording timezone,"
        "platform,appVersion,device id,sensors,sampleRateMs,standardisation,platform version\n"
        "3,Pixel 7,1698501144201,2023-10-28_13-52-24,Europe/London,android,1.30,abc,"
        "Accelerometer|Gyroscope,10,false,14\n",
        "Annotation.csv": "time,seconds_elapsed,text,millisecond_press_duration\n"
        f"{T0 + 1_000_000_000},1.2,start walking,350\n"
        f"{T0 + 1_500_000_000},1.7,,120\n",
    }


def make_zip(path: Path, files: dict[str, str], folder: str = "2023-10-28_13-52-24/") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(folder + name, text)
    return path


def make_folder(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def check_session(s) -> None:
    # streams named after files, channels reordered to x y z, documented units
    assert set(s.streams) == {
        "accelerometer",
        "gyroscope",
        "gravity",
        "total_acceleration",
        "orientation",
        "heart_rate",
        "location",
    }
    acc = s.streams["accelerometer"]
    assert acc.channels == ["x", "y", "z"] and acc.units == ["m/s^2"] * 3
    assert acc.kind == "linear_acceleration"  # Accelerometer.csv excludes gravity
    np.testing.assert_allclose(acc.read()[1][0], [0.1, 0.2, 0.3], rtol=1e-6)
    assert s.streams["gyroscope"].units == ["rad/s"] * 3
    assert s.streams["heart_rate"].units == ["bpm"]
    assert s.streams["orientation"].channels[:4] == ["qx", "qy", "qz", "qw"]
    assert s.streams["accelerometer"].rate_hz == pytest.approx(100.0)
    assert s.streams["gravity"].rate_hz == pytest.approx(50.0)
    total = s.streams["total_acceleration"].read()[1]
    assert np.linalg.norm(total, axis=1).mean() == pytest.approx(9.9, abs=0.01)
    # one clock: time zero is the earliest sample of any file (the heart rate, 0.5 s early)
    hr_t, hr_v = s.streams["heart_rate"].read()
    assert hr_t[0] == 0.0 and list(hr_v[:, 0]) == [70, 71, 72]
    assert s.streams["accelerometer"].read()[0][0] == pytest.approx(0.5)
    assert s.streams["gyroscope"].read()[0][0] == pytest.approx(0.503)
    start = datetime.fromtimestamp((T0 - 500_000_000) / 1e9, UTC)
    assert abs((s.metadata.start_utc - start).total_seconds()) < 1e-5
    assert s.metadata.timezone == "Europe/London"
    assert s.metadata.devices[0].name == "Pixel 7"
    assert "Battery.csv" in s.metadata.extra["skipped_files"]
    ann = list(s.label_tracks["annotations"])
    assert [(a.label, a.start, a.end) for a in ann] == [
        ("start walking", pytest.approx(1.5), pytest.approx(1.5)),
        ("annotation", pytest.approx(2.0), pytest.approx(2.0)),
    ]
    assert ann[0].note == "pressed 350 ms"
    assert s.metadata.provenance.importer == "sensor_logger"


def test_zip_export(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "2023-10-28_13-52-24.zip", export_files())
    assert detect(z).name == "sensor_logger"
    (s,) = IMP.read(z, ImportOptions(participant="p1"))
    check_session(s)
    assert s.metadata.participant_id == "p1"
    assert [Path(f.path).name for f in s.metadata.provenance.sources] == [z.name]


def test_folder_export_and_expand(tmp_path: Path) -> None:
    d = make_folder(tmp_path / "exports" / "rec1", export_files())
    assert IMP.sniff(d) > 0.5 and detect(d).name == "sensor_logger"
    (s,) = IMP.read(d, ImportOptions())
    check_session(s)
    make_zip(tmp_path / "exports" / "rec2.zip", export_files())
    assert [p.name for p in IMP.expand(tmp_path / "exports")] == ["rec2.zip", "rec1"]


def test_single_csv_and_unsorted_duplicates(tmp_path: Path) -> None:
    text = sensor_csv(50, 100, ["z", "y", "x"])
    lines = text.splitlines()
    # swap two rows and repeat one exactly (the app's docs warn about cached repeats)
    lines[5], lines[6] = lines[6], lines[5]
    lines.insert(10, lines[9])
    p = tmp_path / "Accelerometer.csv"
    p.write_text("\n".join(lines) + "\n")
    (s,) = IMP.read(p, ImportOptions())
    acc = s.streams["accelerometer"]
    assert acc.n_samples == 50
    assert np.all(np.diff(acc.read()[0]) > 0)
    assert s.metadata.extra["duplicates_dropped_accelerometer"] == "1"
    assert s.metadata.extra["rows_reordered_accelerometer"] == "true"


def test_wrist_motion_units_follow_standardisation(tmp_path: Path) -> None:
    files = {
        "WristMotion.csv": sensor_csv(10, 50, ["rotationRateX", "accelerationX", "gravityZ"]),
        "Metadata.csv": "version,device name,standardisation\n3,Watch,true\n",
    }
    (s,) = IMP.read(make_zip(tmp_path / "w.zip", files), ImportOptions())
    wm = s.streams["wrist_motion"]
    assert dict(zip(wm.channels, wm.units, strict=True)) == {
        "accelerationX": "m/s^2",
        "rotationRateX": "rad/s",
        "gravityZ": "m/s^2",
    }
    files["Metadata.csv"] = "version,device name,standardisation\n3,Watch,false\n"
    (s,) = IMP.read(make_zip(tmp_path / "w2.zip", files), ImportOptions())
    assert s.streams["wrist_motion"].units[0] == "g"


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("Accelerometer.csv", f"time,seconds_elapsed,z,y,x\n{T0},0.1,1,2,abc\n", "'abc' is not a finite"),
        ("Accelerometer.csv", f"time,seconds_elapsed,z,y,x\n{T0},0.1,1,2,nan\n", "not a finite"),
        ("Accelerometer.csv", f"time,seconds_elapsed,z,y,x\n{T0},0.1,1,2,inf\n", "not a finite"),
        ("Accelerometer.csv", "time,seconds_elapsed,z,y,x\nnoon,0.1,1,2,3\n", "integer nanoseconds"),
        ("Accelerometer.csv", f"time,seconds_elapsed,z,y\n{T0},0.1,1,2\n", "missing column"),
        ("Gyroscope.csv", f"time,seconds_elapsed,z,y,x\n{T0},0.1,1,2,3\n{T0},0.1,1,2,3,4,5\n", "line 3"),
    ],
)
def test_bad_member_names_zip_member_and_line(tmp_path: Path, name: str, text: str, match: str) -> None:
    z = make_zip(tmp_path / "bad.zip", {name: text, "Metadata.csv": "version\n3\n"}, folder="")
    with pytest.raises(ImportFormatError, match=match) as ei:
        IMP.read(z, ImportOptions())
    assert name in str(ei.value.path)
    assert ei.value.line is not None


def test_zip_without_sensor_files(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "x.zip", {"notes.csv": "a,b\n1,2\n", "more.csv": "c\n3\n"})
    assert IMP.sniff(z) == 0.0
    with pytest.raises(ImportFormatError, match="no sensor CSV"):
        IMP.read(z, ImportOptions())


def test_a_row_with_a_broken_clock_still_gives_a_valid_rate(tmp_path: Path) -> None:
    """One heart-rate row stamped 1 ns after 1970 makes the median spacing decades: the stream's rate
    is then tiny, never 0 Hz (which a session file cannot hold)."""
    from harlab.importers.run import import_one
    from harlab.storage import validate_file

    files = export_files()
    rows = files["HeartRate.csv"].splitlines()
    rows[2] = "1" + rows[2][rows[2].index(",") :]
    files["HeartRate.csv"] = "\n".join(rows) + "\n"
    root = make_folder(tmp_path / "export", files)
    (s,) = IMP.read(root, ImportOptions())
    assert 0 < s.streams["heart_rate"].rate_hz < 1e-8
    out = tmp_path / "out"
    out.mkdir()
    report = import_one(root, out, ImportOptions(), "sensor_logger")
    assert report.ok and [validate_file(p) for p in report.outputs] == [[]]
