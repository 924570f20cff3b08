"""The device picker: simulated devices always, scanned devices through bleak, no crash without Bluetooth."""

from __future__ import annotations

import asyncio

import pytest
from bleak.exc import BleakError
from PySide6.QtCore import Qt

from harlab.devices.bleak_link import scan
from harlab.devices.peripherals import HeartRatePeripheral, Knobs, PolarH10Peripheral
from harlab.devices.sim_bleak import SimBleakClient, SimBleakScanner, SimWorld
from harlab.devices.simulated import simulator_signals
from harlab.gui.record.devices import SIMULATED_DEVICES, bluetooth_problem
from harlab.simulate.engine import Simulator
from harlab.storage import read_session

SIM_TITLES = [title for _key, title, _p in SIMULATED_DEVICES]


def test_bluetooth_unavailable_is_a_message_and_simulated_devices_still_work(
    make_record_window, qtbot
) -> None:
    calls = []

    def no_adapter(timeout: float) -> list:
        calls.append(timeout)
        raise BleakError("No Bluetooth adapters found.")

    w = make_record_window(scanner=no_adapter, auto_scan=True)
    p = w.panel
    # The scan starts by itself when the window opens, on a worker thread.
    qtbot.waitUntil(lambda: not p.picker.scanning and bool(calls), timeout=10_000)
    assert calls == [5.0]
    assert p.picker.status.text().startswith("Bluetooth unavailable: No Bluetooth adapters found.")
    assert "Simulated devices still work" in p.picker.status.text()
    assert "Traceback" not in p.picker.status.text()
    assert [c.title for c in p.picker.choices()] == SIM_TITLES
    assert p.picker.scan_button.isEnabled()  # one can try again
    p.picker.select_keys(["simulated", "sim-hrs"])
    assert [c.key for c in p.picker.selected()] == ["simulated", "sim-hrs"]
    # The button scans again, off the GUI thread, with the same outcome.
    with qtbot.waitSignal(p.picker.scan_finished, timeout=10_000):
        qtbot.mouseClick(p.picker.scan_button, Qt.MouseButton.LeftButton)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError(2, "No such file or directory"), "Bluetooth unavailable: BlueZ/D-Bus not found"),
        (
            BleakError("Bluetooth device is turned off"),
            "Bluetooth unavailable: Bluetooth device is turned off",
        ),
        (PermissionError("not allowed"), "Bluetooth unavailable: permission denied (not allowed)"),
        (OSError(), "Bluetooth unavailable: OSError"),
    ],
)
def test_bluetooth_problem_sentences(exc: BaseException, expected: str, monkeypatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    assert bluetooth_problem(exc).startswith(expected)


def _world() -> SimWorld:
    sim = Simulator(rate_hz=200, seed=11, activity="walking")
    imu, heart = simulator_signals(sim)
    world = SimWorld()
    world.add(PolarH10Peripheral(imu, heart, Knobs(seed=1)), "5E:00:00:00:00:0A", rssi=-48)
    world.add(HeartRatePeripheral(heart, Knobs(seed=2)), "5E:00:00:00:00:0B", rssi=-71)
    return world


def test_scanned_devices_are_listed_and_recorded_with_a_simulated_one(make_record_window, qtbot) -> None:
    """Through bleak's own scanner and client front ends (simulated backend), as with real hardware."""
    world = _world()
    w = make_record_window(
        scanner=lambda t: asyncio.run(scan(t, scanner_backend=SimBleakScanner, world=world)),
        scan_timeout=0.2,
        ble_client_backend=SimBleakClient,
    )
    p = w.panel
    with qtbot.waitSignal(p.picker.scan_finished, timeout=10_000) as sig:
        qtbot.mouseClick(p.picker.scan_button, Qt.MouseButton.LeftButton)
    assert sig.args[0] == "2 Bluetooth devices found, 2 with a profile harlab can record."
    table = p.picker.table
    rows = [[table.item(r, c).text() for c in range(3)] for r in range(table.rowCount())]
    assert rows[:5] == [[t, "—", prof] for _k, t, prof in SIMULATED_DEVICES]
    assert rows[5][1:] == ["-48 dBm", "polar-h10"] and "5E:00:00:00:00:0A" in rows[5][0]
    assert rows[6][1:] == ["-71 dBm", "hrs"]  # strongest first

    p.picker.select_keys(["ble:5E:00:00:00:00:0A", "simulated"])  # a chest strap and a wrist at once
    assert len(p.picker.selected()) == 2
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.state == "recording", timeout=15_000)
    rec = p.recorder
    h10 = next(n for n in rec.quality if n.startswith("polar") and n.endswith("_accel"))
    qtbot.waitUntil(
        lambda: rec.quality[h10].samples > 300 and rec.quality["harlab_simulator_accel"].samples > 150,
        timeout=15_000,
    )
    qtbot.waitUntil(lambda: set(p.chips.states.values()) == {"streaming"}, timeout=5_000)
    assert len(p.plots.plots) == len(rec.quality) >= 4
    with qtbot.waitSignal(p.recording_finished, timeout=20_000) as done:
        qtbot.mouseClick(p.stop_button, Qt.MouseButton.LeftButton)
    s = read_session(done.args[0])
    assert {h10, "harlab_simulator_accel", "harlab_simulator_gyro"} <= set(s.streams)
    assert s.streams[h10].measured_rate_hz() == pytest.approx(200, rel=0.1)
    assert s.streams["harlab_simulator_accel"].measured_rate_hz() == pytest.approx(100, rel=0.1)
    assert len(s.metadata.devices) == 2
