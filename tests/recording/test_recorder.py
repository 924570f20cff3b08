"""The recorder end to end: simulated and simulated-BLE sources into real session files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harlab.core.streams import FLAG_GAP_BEFORE
from harlab.devices.factory import make_source
from harlab.devices.simlink import SimClock
from harlab.devices.simulated import SimulatedSource
from harlab.recording import Protocol, ProtocolStep, Recorder, load_protocol
from harlab.recording.protocol import ProtocolError
from harlab.simulate.engine import Simulator
from harlab.storage import has_unrecovered_journal, read_session

ROOT = Path(__file__).resolve().parents[2]


def wait_for(cond, timeout: float = 20.0) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


def test_protocol_prompts_and_labels_itself(tmp_path: Path) -> None:
    clock = SimClock(speed=20)
    src = SimulatedSource(Simulator(rate_hz=50, seed=1), speed=20, clock=clock.now)
    rec = Recorder(tmp_path / "p.h5", [src], clock=clock.now)
    steps = [ProtocolStep("walking", 10), ProtocolStep("sitting", 8), ProtocolStep("running", 6)]
    prompts: list[tuple[str, str]] = []
    rec.events.connect(
        lambda e: prompts.append((e.data["phase"], e.data["activity"])) if e.kind == "protocol_step" else None
    )
    rec.start()
    rec.run_protocol(Protocol(steps, countdown_s=2))
    wait_for(lambda: rec.protocol_done)
    path = rec.stop()
    s = read_session(path)
    segs = list(s.label_tracks["activity"])
    assert [x.label for x in segs] == ["walking", "sitting", "running"]
    durations = [x.end - x.start for x in segs]
    assert durations == pytest.approx([10, 8, 6], abs=1e-9)
    assert segs[1].start - segs[0].end == pytest.approx(2)  # the countdown is not labelled
    assert all(x.source == "recorded" for x in segs)
    assert prompts[:2] == [("countdown", "walking"), ("active", "walking")]
    # The simulated participant did as prompted: running shakes the wrist far more than sitting.
    acc = s.streams["accel"]

    def spread(seg) -> float:  # noqa: ANN001
        _, v = acc.read(seg.start + 2, seg.end)
        return float(np.linalg.norm(v, axis=1).std())

    assert spread(segs[2]) > 5 * spread(segs[1])


def test_live_hotkey_labels_and_pause(tmp_path: Path) -> None:
    clock = SimClock(speed=10)
    src = SimulatedSource(Simulator(rate_hz=100, seed=2), speed=10, clock=clock.now)
    rec = Recorder(tmp_path / "h.h5", [src], clock=clock.now)
    rec.start()
    wait_for(lambda: rec.now() > 2)
    rec.toggle_label("walking")
    wait_for(lambda: rec.now() > 6)
    rec.toggle_label("standing")  # another hotkey closes walking and opens standing
    wait_for(lambda: rec.now() > 9)
    rec.toggle_label("standing")
    rec.pause()
    wait_for(lambda: rec.now() > 13)
    rec.resume()
    paused_from, resumed_at = rec._excluded[-1]
    wait_for(lambda: rec.now() > 16)
    st = rec.status()
    assert st.streams["accel"].recent_rate_hz == pytest.approx(100, rel=0.25)
    path = rec.stop()
    s = read_session(path)
    segs = list(s.label_tracks["activity"])
    assert [x.label for x in segs] == ["walking", "standing"]
    assert segs[0].end == segs[1].start
    t, _ = s.streams["accel"].read()
    flags = s.streams["accel"].data.read_flags()
    gap_at = t[flags & FLAG_GAP_BEFORE > 0]
    # The paused span is missing from the file and marked where the data resumes.
    assert len(gap_at) == 1 and resumed_at <= gap_at[0] < resumed_at + 0.05
    assert not np.any((t >= paused_from) & (t < resumed_at))
    assert t[t < paused_from][-1] > paused_from - 0.05


def test_two_devices_into_one_session(tmp_path: Path) -> None:
    h10 = make_source("sim-h10", seed=3)
    sim = SimulatedSource(Simulator(rate_hz=50, seed=4))
    rec = Recorder(tmp_path / "two.h5", [h10, sim])
    rec.start()
    wait_for(lambda: all(q.samples > 100 for n, q in rec.quality.items() if "accel" in n), timeout=15)
    path = rec.stop()
    s = read_session(path)
    names = set(s.streams)
    assert {"polar_h10_sim0001_accel", "harlab_simulator_accel", "harlab_simulator_gyro"} <= names
    h10_acc = s.streams["polar_h10_sim0001_accel"]
    assert h10_acc.rate_hz == 200 and h10_acc.measured_rate_hz() == pytest.approx(200, rel=0.05)
    assert s.streams["harlab_simulator_accel"].measured_rate_hz() == pytest.approx(50, rel=0.05)
    # End to end through bytes: what the file holds is the simulated wearer's motion,
    # sample for sample, up to the H10's 1 mG resolution.
    _, v = h10_acc.read()
    ref = Simulator(rate_hz=200, seed=3, activity="walking").next_samples(len(v)).accel
    np.testing.assert_allclose(v, ref, atol=0.0099)
    assert [d.name for d in s.metadata.devices] == ["Polar H10 SIM0001", "harlab simulator"]


def test_protocol_files(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("# warm-up\nwalking 60 Walk at your normal pace\nsitting 30\n")
    p = load_protocol(tmp_path / "p.txt")
    assert [(s.activity, s.duration_s) for s in p.steps] == [("walking", 60), ("sitting", 30)]
    assert p.steps[0].prompt == "Walk at your normal pace"
    (tmp_path / "p.json").write_text(
        '{"steps": [{"activity": "running", "duration_s": 5}], "countdown_s": 0}'
    )
    assert load_protocol(tmp_path / "p.json").duration_s == 5
    (tmp_path / "bad.txt").write_text("walking sixty\n")
    with pytest.raises(ProtocolError, match=r"bad.txt, line 1"):
        load_protocol(tmp_path / "bad.txt")
    (tmp_path / "bad.json").write_text('{"steps": [{"activity": "x"}]}')
    with pytest.raises(ProtocolError, match="step 1: missing 'duration_s'"):
        load_protocol(tmp_path / "bad.json")


CHILD = """
import sys, time
from harlab.devices.simulated import SimulatedSource
from harlab.recording import Recorder
from harlab.simulate.engine import Simulator
src = SimulatedSource(Simulator(rate_hz=200, seed=5))
rec = Recorder(sys.argv[1], [src])
rec.start()
rec.start_label("walking")
while True:
    time.sleep(0.05)
    print(f"{rec.status().streams['accel'].samples}", flush=True)
"""


@pytest.mark.slow
def test_sigkill_mid_recording_recovers(tmp_path: Path) -> None:
    out = tmp_path / "killed.h5"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    written = 0
    t_start = time.monotonic()
    assert proc.stdout is not None
    for line in proc.stdout:
        written = int(line)
        if time.monotonic() - t_start > 4 and written > 400:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert has_unrecovered_journal(out)
    s = read_session(out)  # recovers from the journal by itself
    n = s.streams["accel"].n_samples
    assert n >= written  # everything the recorder had written when it last reported
    assert n >= 200 * 2  # and at least the seconds before the kill
    t, _ = s.streams["accel"].read()
    assert np.all(np.diff(t) > 0)
    assert not has_unrecovered_journal(out)


def test_cli_record_simulated(tmp_path: Path) -> None:
    from harlab.cli import main

    (tmp_path / "proto.txt").write_text("walking 4\nlying 4\n")
    out = tmp_path / "cli.h5"
    rc = main(
        [
            "record",
            "--device",
            "simulated",
            "--protocol",
            str(tmp_path / "proto.txt"),
            "--speed",
            "10",
            "--participant",
            "P7",
            "--placement",
            "left wrist",
            "-o",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    s = read_session(out)
    assert s.metadata.participant_id == "P7"
    assert [x.label for x in s.label_tracks["activity"]] == ["walking", "lying"]
    assert s.metadata.devices[0].placement == "left wrist"


def test_cli_unknown_device_without_bluetooth_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harlab",
            "record",
            "--device",
            "AA:BB:CC:DD:EE:FF",
            "-o",
            str(tmp_path / "x.h5"),
            "--duration",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "harlab: error:" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_record_stopped_by_a_signal_saves_the_session(tmp_path: Path, sig: signal.Signals) -> None:
    """``kill`` (or ``timeout``) stops a recording as Ctrl+C does: a session file, exit 0, no journal
    left behind; and a log (stderr not a terminal) gets no status line redrawn with carriage returns.
    The signal goes the moment the journal appears: the handler is in place before the recorder
    starts, so a signal during start-up is kept, not lost or fatal."""
    out = tmp_path / "sig.h5"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harlab", "record", "--device", "simulated", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "sig.h5.journal").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert stdout.strip() == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sig.h5"]
    assert read_session(out).streams
    assert "\r" not in stderr and "stopping..." in stderr
