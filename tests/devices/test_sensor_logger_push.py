"""The Sensor Logger HTTP push receiver, driven by real HTTP requests on 127.0.0.1.

A "fake phone" builds messages in Sensor Logger's push format (UTC ns times,
``payload`` entries with ``values``) and POSTs them with urllib, in order and
shuffled. The receiver must emit the same sorted streams either way, drop late
and repeated samples without ever writing out of order, check the token, answer
malformed bodies with a clear 400, and feed the recorder a readable session.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.core.streams import FLAG_GAP_BEFORE
from harlab.devices.sensor_logger_push import SensorLoggerSource
from harlab.devices.source import SampleBatch, SourceState
from harlab.recording import Recorder
from harlab.storage import read_session

RATE = 50.0
PER_MSG = 10  # samples per sensor per message (a 0.2 s batch period at 50 Hz)


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("condition not met")
        time.sleep(0.01)


def post(url: str, body: bytes | dict, headers: dict[str, str] | None = None) -> tuple[int, str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def phone_messages(t0_ns: int, n_messages: int, device: str = "phone-1") -> list[dict]:
    """Sensor Logger messages: accelerometer and gyroscope at 50 Hz, plus an unrecorded 'location'."""
    msgs = []
    for m in range(n_messages):
        payload = []
        for k in range(PER_MSG):
            i = m * PER_MSG + k
            t = t0_ns + int(round(i * 1e9 / RATE))
            payload.append(
                {
                    "name": "accelerometer",
                    "time": t,
                    "values": {"x": 0.01 * i, "y": -0.5 * np.sin(i / 7), "z": 1.0 + i % 3},
                }
            )
            payload.append(
                {"name": "gyroscope", "time": t + 1000, "values": {"z": 0.002 * i, "y": 0.1, "x": -0.003 * i}}
            )
        payload.append(
            {"name": "location", "time": t0_ns + m * 10**9, "values": {"latitude": 51.5, "longitude": 0.1}}
        )
        random.Random(m).shuffle(payload)  # the app does not promise any order inside a message either
        msgs.append({"messageId": m, "sessionId": "s-1", "deviceId": device, "payload": payload})
    return msgs


def expected(t0_ns: int, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    i = np.arange(n)
    t_ns = t0_ns + np.round(i * 1e9 / RATE).astype(np.int64)
    acc = np.stack([0.01 * i, -0.5 * np.sin(i / 7), 1.0 + i % 3], axis=1).astype(np.float32)
    gyro = np.stack([-0.003 * i, np.full(n, 0.1), 0.002 * i], axis=1).astype(np.float32)
    return {"accelerometer": (t_ns / 1e9, acc), "gyroscope": ((t_ns + 1000) / 1e9, gyro)}


def collect(batches: list[SampleBatch]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, list[SampleBatch]] = {}
    for b in batches:
        out.setdefault(b.stream, []).append(b)
    return {
        k: (np.concatenate([b.time for b in v]), np.concatenate([b.values for b in v]))
        for k, v in out.items()
    }


class ManualClock:
    """Arrival times under the test's control, so the reorder window is exercised deterministically."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def make_receiver():  # noqa: ANN201
    started: list[SensorLoggerSource] = []

    def make(**kwargs) -> SensorLoggerSource:  # noqa: ANN003
        kwargs.setdefault("flush_interval_s", 0.02)
        src = SensorLoggerSource(0, **kwargs)
        src.start()
        started.append(src)
        return src

    yield make
    for src in started:
        if src.accepting:
            src.stop()


def test_in_order_and_shuffled_pushes_give_the_same_sorted_streams(make_receiver) -> None:  # noqa: ANN001
    t0_ns = 1_698_501_144_401_773_000
    msgs = phone_messages(t0_ns, 25)
    results = []
    for order in ("in order", "shuffled"):
        src = make_receiver(hold_s=0.5)
        sequence = list(msgs)
        if order == "shuffled":
            random.Random(5).shuffle(sequence)
        for m in sequence:
            status, text = post(src.url, m)
            assert status == 200, text
        n = 25 * PER_MSG
        got: list[SampleBatch] = []
        wait_for(lambda got=got, src=src, n=n: got.extend(src.drain()) or sum(len(b) for b in got) == 2 * n)
        src.stop()
        got.extend(src.drain())
        assert src.state == SourceState.STOPPED
        assert sum(src.late.values()) == 0
        assert src.ignored == {"location": 25}
        assert any("location" in w for w in src.warnings)
        results.append(collect(got))
    want = expected(t0_ns, 25 * PER_MSG)
    for res in results:
        assert set(res) == {"accelerometer", "gyroscope"}
        for name, (t, v) in res.items():
            assert np.all(np.diff(t) > 0), f"{name} not strictly increasing"
            np.testing.assert_allclose(t, want[name][0], rtol=0, atol=1e-6)
            np.testing.assert_array_equal(v, want[name][1])
    for name in results[0]:
        np.testing.assert_array_equal(results[0][name][0], results[1][name][0])
        np.testing.assert_array_equal(results[0][name][1], results[1][name][1])


def test_late_and_repeated_samples_are_dropped_never_written_out_of_order(make_receiver) -> None:  # noqa: ANN001
    clock = ManualClock(1000.0)
    src = make_receiver(hold_s=1.0, clock=clock)
    t0_ns = 1_700_000_000 * 10**9
    msgs = phone_messages(t0_ns, 4)
    assert post(src.url, msgs[1])[0] == 200
    clock.t += 0.4
    assert post(src.url, msgs[0])[0] == 200  # out of order but inside the window: reordered
    time.sleep(0.1)
    assert src.drain() == []  # still held
    clock.t += 0.7  # msgs[1] has waited 1.1 s: everything up to its newest sample is due, msgs[0] included
    got: list[SampleBatch] = []
    wait_for(
        lambda: (
            got.extend(src.drain()) or sum(len(b) for b in got if b.stream == "accelerometer") == 2 * PER_MSG
        )
    )
    assert post(src.url, msgs[1])[0] == 200  # a retried message: ignored as a whole
    assert src.duplicate_messages == 1
    late = dict(msgs[2])
    late["payload"] = [*msgs[2]["payload"], *[p for p in msgs[0]["payload"] if p["name"] == "accelerometer"]]
    late["messageId"] = 2
    msgs[3]["messageId"] = 4  # id 3 never arrives: a lost push
    assert post(src.url, msgs[3])[0] == 200
    assert post(src.url, late)[0] == 200
    src.stop()
    got.extend(src.drain())
    res = collect(got)
    want = expected(t0_ns, 4 * PER_MSG)
    t, v = res["accelerometer"]
    np.testing.assert_allclose(t, want["accelerometer"][0], atol=1e-6)
    np.testing.assert_array_equal(v, want["accelerometer"][1])
    assert src.late["accelerometer"] == PER_MSG  # msgs[0]'s samples a second time, after they were emitted
    assert src.stats.lost_packets == 1
    assert "late samples dropped" in src.summary()


def test_token_is_checked_from_query_or_bearer_header(make_receiver) -> None:  # noqa: ANN001
    src = make_receiver(token="s3cret")
    assert src.url.endswith("?token=s3cret")
    base = f"http://127.0.0.1:{src.port}/push"
    msg = phone_messages(1_700_000_000 * 10**9, 1)[0]
    status, text = post(base, msg)
    assert status == 401 and "token" in text
    assert post(base + "?token=wrong", msg)[0] == 401
    assert post(base, msg, {"Authorization": "Bearer wrong"})[0] == 401
    assert post(base + "?token=s3cret", msg)[0] == 200
    msg2 = dict(msg, messageId=1)
    assert post(base, msg2, {"Authorization": "Bearer s3cret"})[0] == 200
    assert src.rejected[401] == 3
    assert src.messages == 2


def test_bad_bodies_get_clear_answers(make_receiver) -> None:  # noqa: ANN001
    src = make_receiver(max_body=4096)
    status, text = post(src.url, b'{"messageId": 1, "payload": [')
    assert status == 400 and "malformed JSON" in text and "line 1" in text
    status, text = post(src.url, b"[1, 2]")
    assert status == 400 and "JSON object" in text
    status, text = post(src.url, {"messageId": 1})
    assert status == 400 and "payload" in text
    status, text = post(
        src.url,
        {
            "messageId": 1,
            "payload": [{"name": "accelerometer", "time": 1_698_501_144_401_773_000, "values": {"x": 1}}],
        },
    )
    assert status == 400 and "'y'" in text  # every sample unreadable: says which value is missing
    ms = {
        "messageId": 1,
        "payload": [{"name": "gravity", "time": 1_698_501_144_401, "values": {"x": 0, "y": 0, "z": 9.8}}],
    }
    status, text = post(src.url, ms)
    assert status == 400 and "milliseconds" in text
    status, text = post(src.url, b"\xff\xfe{}")
    assert status == 400 and "UTF-8" in text
    status, text = post(
        src.url, {"payload": [{"name": "gravity", "time": 1, "values": {"x": 0, "y": 0, "z": 9.8}}] * 200}
    )
    assert status == 413 and "limit" in text
    msgs = phone_messages(1_700_000_000 * 10**9, 2)
    assert post(src.url, msgs[0])[0] == 200
    status, text = post(src.url, phone_messages(1_700_000_000 * 10**9, 1, device="another-phone")[0])
    assert status == 499 and "another phone" in text  # Sensor Logger shows a 499's body to the participant
    # One unreadable sample among good ones: the good ones are kept and the bad one counted.
    bad = dict(msgs[1])
    bad["payload"] = [*msgs[1]["payload"], {"name": "gyroscope", "time": "soon", "values": {}}]
    assert post(src.url, bad)[0] == 200
    assert src.bad_samples == 1
    with urllib.request.urlopen(src.url, timeout=5) as resp:  # a browser check of the URL
        assert resp.status == 200 and b"harlab" in resp.read()
    # After all that the connection handling is intact and streams are still in order.
    src.stop()
    t, _ = collect(src.drain())["accelerometer"]
    assert len(t) == 2 * PER_MSG and np.all(np.diff(t) > 0)


def test_gaps_are_flagged_and_a_wrong_phone_clock_can_be_aligned(make_receiver) -> None:  # noqa: ANN001
    now_ns = time.time_ns()
    skewed = now_ns + 100 * 10**9  # a phone whose clock is 100 s ahead
    src = make_receiver(hold_s=0.05, align="arrival")
    msgs = phone_messages(skewed - 10**9, 2)
    later = phone_messages(skewed + 4 * 10**9, 1)[0]  # 4.6 s after the previous batch ended: a gap
    later["messageId"] = 2
    for m in [*msgs, later]:
        assert post(src.url, m)[0] == 200
    src.stop()
    batches = [b for b in src.drain() if b.stream == "accelerometer"]
    t = np.concatenate([b.time for b in batches])
    dev = np.concatenate([b.device_time for b in batches])
    assert np.all(np.diff(t) > 0)
    assert abs(t[-1] - time.time()) < 5  # on the host clock, not 100 s in the future
    assert dev[0] == pytest.approx((skewed - 10**9) / 1e9, abs=1e-6)
    assert src.clock_offset_s == pytest.approx(-100, abs=5)
    gaps = [b.gap_before for b in batches]
    assert gaps[0] is False and gaps.count(True) == 1


def test_recorder_writes_what_the_phone_pushed(tmp_path: Path) -> None:
    src = SensorLoggerSource(
        0, hold_s=0.2, flush_interval_s=0.02, streams=("accelerometer", "gyroscope", "heartrate")
    )
    rec = Recorder(tmp_path / "phone.h5", [src])
    rec.start()
    t0_ns = time.time_ns() - 2 * 10**9  # the phone's batches are a little in the past
    msgs = phone_messages(t0_ns, 6)
    msgs[3]["payload"].append({"name": "heartRate", "time": t0_ns + 10**9, "values": {"bpm": 72}})
    for m in reversed(msgs):
        assert post(src.url, m)[0] == 200
    wait_for(lambda: rec.status().streams["accelerometer"].samples == 6 * PER_MSG)
    assert rec.status().sources == {"Sensor Logger": "streaming"}
    path = rec.stop()
    s = read_session(path)
    assert set(s.streams) == {"accelerometer", "gyroscope", "heart_rate"}  # the names an imported export has
    acc = s.streams["accelerometer"]
    assert acc.kind == "linear_acceleration" and list(acc.channels) == ["x", "y", "z"]
    t, v = acc.read()
    want_t, want_v = expected(t0_ns, 6 * PER_MSG)["accelerometer"]
    assert rec.t0 is not None
    np.testing.assert_allclose(t, want_t - rec.t0, atol=1e-5)
    np.testing.assert_array_equal(v, want_v)
    assert not (s.streams["accelerometer"].data.read_flags() & FLAG_GAP_BEFORE).any()
    ht, hv = s.streams["heart_rate"].read()
    assert hv[:, 0].tolist() == [72.0]
    assert s.streams["gyroscope"].units[0] == "rad/s"


def test_device_argument_and_factory() -> None:
    from harlab.devices.factory import make_source

    src = SensorLoggerSource.from_device_arg("sensorlogger:0", announce=None)
    assert (
        src.host == "127.0.0.1" and src.requested_port == 0 and src.port > 0
    )  # bound early: the port is known
    # The port is taken now: a second receiver on it fails before any recording starts, saying why.
    with pytest.raises(HarlabError, match="cannot listen"):
        SensorLoggerSource.from_device_arg(f"sensorlogger:{src.port}")
    clash = SensorLoggerSource(src.port)
    clash.start()  # inside a recording: reported as the error state, like a BLE device that cannot connect
    assert clash.state == SourceState.ERROR
    clash.stop()
    src.stop()
    lan = SensorLoggerSource.from_device_arg("sensorlogger:lan:0", announce=None)
    assert (
        lan.host == "0.0.0.0" and lan.token and f"?token={lan.token}" in lan.url
    )  # a token is generated for the LAN
    lan.stop()
    for bad in ("sensorlogger:x", "sensorlogger:wan:1", "sensorlogger:70000", "sensorlogger:lan:1:2"):
        with pytest.raises(HarlabError):
            SensorLoggerSource.from_device_arg(bad)
    with pytest.raises(HarlabError, match="unknown Sensor Logger sensor"):
        SensorLoggerSource(0, streams=("accelerometer", "thermometer"))
    with pytest.raises(HarlabError, match="would all be the stream 'heart_rate'"):
        SensorLoggerSource(0, streams=("heartrate", "watchheartrate"))
    made = make_source("sensorlogger:0")
    assert isinstance(made, SensorLoggerSource)
    made.stop()
    assert [s.name for s in made.streams][:6] == [
        "accelerometer",
        "total_acceleration",
        "gravity",
        "gyroscope",
        "magnetometer",
        "orientation",
    ]


def test_hip_worked_example_in_the_docs_decodes() -> None:
    """docs/HIP.md's worked example, read from the file, decodes to the values its table states.

    (Kept here because this helper's files are the receiver's; it belongs with tests/devices/test_protocols.py.)
    """
    from harlab.devices.protocols import hip

    doc = Path(__file__).resolve().parents[2] / "docs" / "HIP.md"
    text = doc.read_text(encoding="utf-8")
    block = text.split("<!-- hip-example -->", 1)[1].split("```", 2)[1]
    data = bytes.fromhex(block.replace("\n", " "))
    assert len(data) == 36
    p = hip.decode(data)
    assert (p.seq, p.t0_us, p.period_us) == (42, 0xFFFFFED8, 5000)
    np.testing.assert_allclose(p.acc, [[0, 0, 9.80665], [-9.80665, 4.903325, 9.80665]], rtol=1e-6)
    np.testing.assert_allclose(p.gyro, [[0, 0, 0], [1.090831, -1.090831, 0]], rtol=1e-5)
    assert hip.sample_times_us(p).tolist() == [4_294_967_000, 4_294_972_000]
    nxt = hip.decode(hip.encode(43, 9704, 5000, np.zeros((2, 3)), np.zeros((2, 3))))
    assert bytes.fromhex("e8 25 00 00") == (9704).to_bytes(4, "little")
    assert hip.sample_times_us(nxt, unwrap_from=4_294_972_000)[0] == 4_294_977_000
    assert (
        "c8 00 08 d0 07 01" in text
        and hip.control_command(200, 8, 2000, True).hex(" ") == "c8 00 08 d0 07 01"
    )
    assert hip.control_command(200, 8, 2000, False).hex(" ") == "c8 00 08 d0 07 00"
    for uuid in (hip.SERVICE_UUID, hip.DATA_UUID, hip.CONTROL_UUID):
        assert uuid in text
    assert hip.MAX_SAMPLES_AT_MTU_247 == 19
