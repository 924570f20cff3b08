"""The real bleak front end (BleakScanner, BleakClient) over harlab's simulated backend.

This exercises BleakLink, the code real hardware runs, through bleak's own
``backend=`` hook: characteristic resolution, callback wrapping and the
disconnected callback are bleak's, the bytes are the simulated devices'.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from harlab.devices.ble_profiles import PolarH10Profile
from harlab.devices.ble_source import BleSource
from harlab.devices.bleak_link import BleakLink, scan
from harlab.devices.peripherals import HeartRatePeripheral, PolarH10Peripheral, WitMotionPeripheral
from harlab.devices.protocols import hrs, polar_pmd
from harlab.devices.sim_bleak import SimBleakClient, SimBleakScanner, SimWorld
from harlab.devices.source import SourceState


def imu(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, float)
    return np.stack([np.sin(t), np.cos(t), np.full_like(t, 9.81)], 1), np.zeros((len(t), 3))


def world() -> SimWorld:
    w = SimWorld()
    w.add(PolarH10Peripheral(imu, lambda t: 65.0), "A0:9E:1A:00:00:01", rssi=-55)
    w.add(HeartRatePeripheral(lambda t: 70.0), "C0:FF:EE:00:00:02", rssi=-70)
    w.add(WitMotionPeripheral(imu), "D1:00:00:00:00:03", rssi=-80)
    return w


def test_scan_filters_and_recognises_profiles() -> None:
    w = world()
    rows = asyncio.run(scan(0.2, scanner_backend=SimBleakScanner, world=w))
    assert [r.profile for r in rows] == ["polar-h10", "hrs", "witmotion"]  # strongest first
    assert rows[0].name == "Polar H10 SIM0001"
    only_hr = asyncio.run(
        scan(0.2, scanner_backend=SimBleakScanner, world=w, service_uuids=[hrs.SERVICE_UUID])
    )
    assert {r.address for r in only_hr} == {"A0:9E:1A:00:00:01", "C0:FF:EE:00:00:02"}
    strong = asyncio.run(scan(0.2, scanner_backend=SimBleakScanner, world=w, min_rssi=-60))
    assert [r.address for r in strong] == ["A0:9E:1A:00:00:01"]


def test_polar_through_bleak_with_reconnect() -> None:
    w = world()
    w.devices[0].disconnect_after_s = [1.0]
    row = asyncio.run(scan(0.2, scanner_backend=SimBleakScanner, world=w, name_prefix="Polar"))[0]
    link = BleakLink(row.device, client_backend=SimBleakClient)
    src = BleSource(link, PolarH10Profile(100), backoff=(0.1,))
    src.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (src.reconnects < 1 or src.stats.samples.get("accel", 0) < 250):
        time.sleep(0.05)
    src.stop()
    assert src.state == SourceState.STOPPED, src.error
    assert src.reconnects == 1
    batches = [b for b in src.drain() if b.stream == "accel"]
    t = np.concatenate([b.time for b in batches])
    v = np.concatenate([b.values for b in batches])
    assert np.all(np.diff(t) > 0)
    assert sum(b.gap_before for b in batches) == 1
    np.testing.assert_allclose(v[:, 2], 9.81, atol=0.01)
    starts = [r for r in src.profile.responses if r.opcode == polar_pmd.OP_START]
    assert len(starts) == 2  # the start command was sent again after the reconnect
