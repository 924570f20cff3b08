"""One phone, two paths: a live Sensor Logger push and an imported export of the same samples give the same
streams (names, kinds, channels, units) with the same values and the same timing."""

from __future__ import annotations

import json
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from harlab.core.session import Session
from harlab.devices.sensor_logger_push import SensorLoggerSource
from harlab.importers import ImportOptions, get_importer
from harlab.recording import Recorder
from harlab.storage import read_session

RATE = 50.0
N = 40  # samples per sensor
PER_MSG = 10
#: sensor -> (export file, the export's column order (as the app writes it), value of field f at sample i)
PHONE = {
    "accelerometer": ("Accelerometer.csv", ["z", "y", "x"]),
    "totalacceleration": ("TotalAcceleration.csv", ["z", "y", "x"]),
    "gravity": ("Gravity.csv", ["z", "y", "x"]),
    "gyroscope": ("Gyroscope.csv", ["z", "y", "x"]),
    "magnetometer": ("Magnetometer.csv", ["z", "y", "x"]),
    "orientation": ("Orientation.csv", ["qz", "qy", "qx", "qw", "roll", "pitch", "yaw"]),
    "heartRate": ("HeartRate.csv", ["bpm"]),
}


def value(sensor: str, field: str, i: int) -> float:
    """A distinct, plausible value per sensor, field and sample (quaternion parts stay below 1)."""
    if sensor == "heartRate":
        return 60.0 + i
    return len(sensor) / 100 + (sum(map(ord, field)) % 97) / 1000 + i / 256


def sample_ns(t0_ns: int, sensor: str, i: int) -> int:
    period = 10**9 if sensor == "heartRate" else round(1e9 / RATE)
    return t0_ns + 1000 * len(sensor) + i * period


def count(sensor: str) -> int:
    return 4 if sensor == "heartRate" else N


def export_zip(path: Path, t0_ns: int) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for sensor, (file, cols) in PHONE.items():
            lines = ["time,seconds_elapsed," + ",".join(cols)]
            for i in range(count(sensor)):
                t = sample_ns(t0_ns, sensor, i)
                lines.append(f"{t},{(t - t0_ns) / 1e9}," + ",".join(repr(value(sensor, c, i)) for c in cols))
            zf.writestr("2026-12-06_10-00-00/" + file, "\n".join(lines) + "\n")
    return path


def push_all(url: str, t0_ns: int) -> None:
    payload = [
        {
            "name": sensor,
            "time": sample_ns(t0_ns, sensor, i),
            "values": {c: value(sensor, c, i) for c in cols},
        }
        for sensor, (_, cols) in PHONE.items()
        for i in range(count(sensor))
    ]
    for m, start in enumerate(range(0, len(payload), PER_MSG * len(PHONE))):
        body = {
            "messageId": m,
            "sessionId": "s-1",
            "deviceId": "phone-1",
            "payload": payload[start : start + PER_MSG * len(PHONE)],
        }
        req = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200


def recorded(tmp_path: Path, t0_ns: int) -> Session:
    src = SensorLoggerSource(0, hold_s=0.1, flush_interval_s=0.02)
    rec = Recorder(tmp_path / "live.h5", [src])
    rec.start()
    push_all(src.url, t0_ns)
    end = time.monotonic() + 10
    while rec.status().streams["accelerometer"].samples < N:
        assert time.monotonic() < end, "the pushed samples never arrived"
        time.sleep(0.01)
    return read_session(rec.stop())


def test_live_push_and_imported_export_give_the_same_streams(tmp_path: Path) -> None:
    t0_ns = time.time_ns() - 5 * 10**9
    live = recorded(tmp_path, t0_ns)
    (imported,) = get_importer("sensor_logger").read(
        export_zip(tmp_path / "export.zip", t0_ns), ImportOptions()
    )
    assert (
        set(live.streams)
        == set(imported.streams)
        == {
            "accelerometer",
            "total_acceleration",
            "gravity",
            "gyroscope",
            "magnetometer",
            "orientation",
            "heart_rate",
        }
    )
    first_live = live.streams["accelerometer"].read()[0][0]
    first_imported = imported.streams["accelerometer"].read()[0][0]
    for name, a in live.streams.items():
        b = imported.streams[name]
        assert (a.kind, list(a.channels), list(a.units)) == (b.kind, list(b.channels), list(b.units)), name
        ta, va = a.read()
        tb, vb = b.read()
        assert len(ta) == len(tb) > 0, name
        np.testing.assert_allclose(va, vb, rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(ta - first_live, tb - first_imported, atol=1e-5, err_msg=name)
    assert live.streams["orientation"].channels[:4] == ["qx", "qy", "qz", "qw"]
