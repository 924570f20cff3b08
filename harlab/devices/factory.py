"""Turn a ``--device`` argument into a running source.

``simulated`` is the activity simulator itself; ``sim-h10``, ``sim-hrs``,
``sim-witmotion`` and ``sim-hip`` are byte-exact simulated BLE peripherals reached
through bleak's front end and harlab's simulated backend, so they run the real
decoders; anything else is a Bluetooth address or a name prefix to scan for.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harlab.core.errors import HarlabError
from harlab.devices.ble_profiles import PROFILES, DeviceProfile
from harlab.devices.ble_source import BleSource
from harlab.devices.peripherals import (
    HeartRatePeripheral,
    HipPeripheral,
    Knobs,
    MicrobitPeripheral,
    PolarH10Peripheral,
    PolarVeritySensePeripheral,
    WitMotionPeripheral,
)
from harlab.devices.sensor_logger_push import SensorLoggerSource
from harlab.devices.simulated import SimulatedSource, simulator_signals
from harlab.devices.source import Source
from harlab.simulate.engine import Simulator

SIMULATED_BLE = {
    "sim-h10": ("polar-h10", 200.0),
    "sim-verity": ("polar-verity", 52.0),
    "sim-hrs": ("hrs", 100.0),
    "sim-witmotion": ("witmotion", 50.0),
    "sim-hip": ("hip", 100.0),
    "sim-microbit": ("microbit", 50.0),
}


def device_choices() -> list[str]:
    return ["simulated", *SIMULATED_BLE]


def make_simulated_ble(
    kind: str, *, seed: int = 0, drop_rate: float = 0.0, drift_ppm: float = 0.0
) -> BleSource:
    from harlab.devices.bleak_link import BleakLink, scan
    from harlab.devices.sim_bleak import SimBleakClient, SimBleakScanner, SimWorld

    key, rate = SIMULATED_BLE[kind]
    sim = Simulator(rate_hz=rate, seed=seed, activity="walking")
    imu, heart = simulator_signals(sim)
    knobs = Knobs(drop_rate=drop_rate, drift_ppm=drift_ppm, seed=seed)
    periph = {
        "polar-h10": lambda: PolarH10Peripheral(imu, heart, knobs),
        "polar-verity": lambda: PolarVeritySensePeripheral(imu, knobs),
        "hrs": lambda: HeartRatePeripheral(heart, knobs),
        "witmotion": lambda: WitMotionPeripheral(imu, knobs),
        "hip": lambda: HipPeripheral(imu, knobs),
        "microbit": lambda: MicrobitPeripheral(imu, knobs),
    }[key]()
    world = SimWorld()
    world.add(periph, f"5E:00:00:00:00:{len(world.devices) + 1:02X}")
    rows = asyncio.run(scan(0.1, scanner_backend=SimBleakScanner, world=world))
    profile: DeviceProfile = PROFILES[key](rate if key != "hrs" else None)
    src = BleSource(BleakLink(rows[0].device, client_backend=SimBleakClient), profile)
    src.simulator = sim  # type: ignore[attr-defined]  # lets a protocol steer the simulated wearer
    src.set_activity = sim.set_activity  # type: ignore[method-assign]  # the simulated wearer takes the protocol's activities
    return src


def make_source(
    device: str,
    *,
    profile: str | None = None,
    rate_hz: float | None = None,
    seed: int = 0,
    speed: float = 1.0,
    scan_timeout: float = 8.0,
    **knobs: Any,
) -> Source:
    if device == "simulated":
        return SimulatedSource(
            Simulator(rate_hz=rate_hz or 100.0, seed=seed, activity="standing"),
            speed=speed,
            seed=seed,
            **knobs,
        )
    if device in SIMULATED_BLE:
        return make_simulated_ble(device, seed=seed, **knobs)
    if device.split(":")[0] == "sensorlogger":  # Sensor Logger HTTP push: sensorlogger[:lan][:PORT]
        return SensorLoggerSource.from_device_arg(device)
    return _real_ble(device, profile, rate_hz, scan_timeout)


def _real_ble(device: str, profile: str | None, rate_hz: float | None, scan_timeout: float) -> Source:
    from bleak.exc import BleakError

    from harlab.devices.bleak_link import BleakLink, scan

    try:
        rows = asyncio.run(scan(scan_timeout))
    except (BleakError, OSError, FileNotFoundError) as exc:
        raise HarlabError(
            f"Bluetooth is not available on this machine ({exc}); use --device simulated or sim-h10 to try harlab without hardware"
        ) from exc
    match = [r for r in rows if r.address.lower() == device.lower() or r.name.startswith(device)]
    if not match:
        seen = ", ".join(f"{r.name or '?'} ({r.address})" for r in rows) or "none"
        raise HarlabError(f"no device {device!r} found in {scan_timeout:.0f} s of scanning; seen: {seen}")
    row = match[0]
    key = profile or row.profile
    if key is None or key not in PROFILES:
        raise HarlabError(
            f"{row.name or row.address}: no known profile; choose one with --profile ({', '.join(PROFILES)})"
        )
    return BleSource(BleakLink(row.device), PROFILES[key](rate_hz))
