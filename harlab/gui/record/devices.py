"""What the Record panel can record from, and how a picked row becomes a running source.

The simulated entries are always offered, so the panel works (and can be demonstrated and
tested) on machines without Bluetooth. Real devices come from a bleak scan that runs on a
worker thread; its failure is turned into one readable sentence, never a traceback, because
"no Bluetooth" is an ordinary situation on desktops and CI machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from harlab.devices.source import Source

#: (device key for :func:`harlab.devices.factory.make_source`, row title, profile shown)
SIMULATED_DEVICES: tuple[tuple[str, str, str], ...] = (
    ("simulated", "Simulated wrist (activity simulator)", "wrist IMU + heart rate"),
    ("sim-h10", "Simulated Polar H10", "polar-h10"),
    ("sim-hrs", "Simulated HR strap", "hrs"),
    ("sim-witmotion", "Simulated WitMotion", "witmotion"),
    ("sim-hip", "Simulated DIY board (HIP)", "hip"),
)

Scanner = Callable[[float], list]  # timeout -> list[FoundDevice]; runs on a worker thread


@dataclass(frozen=True)
class DeviceChoice:
    """One row of the device picker."""

    key: str  #: "simulated", "sim-h10", ... or "ble:<address>"
    title: str
    profile: str | None
    rssi: int | None = None
    found: object | None = None  #: the FoundDevice of a scanned device

    @property
    def simulated(self) -> bool:
        return self.found is None

    @property
    def recordable(self) -> bool:
        return self.simulated or self.profile is not None


def simulated_choices() -> list[DeviceChoice]:
    return [DeviceChoice(key, title, profile) for key, title, profile in SIMULATED_DEVICES]


def choice_from_found(row: object) -> DeviceChoice:
    """A picker row of a scanned device (``row`` is a :class:`harlab.devices.bleak_link.FoundDevice`)."""
    name = getattr(row, "name", "") or "(unnamed)"
    address = getattr(row, "address", "")
    return DeviceChoice(
        f"ble:{address}",
        f"{name}  [{address}]",
        getattr(row, "profile", None),
        getattr(row, "rssi", None),
        row,
    )


def default_scanner(timeout: float) -> list:
    """Scan the real radio with bleak (blocking; call it off the GUI thread)."""
    from harlab.devices.bleak_link import scan

    return asyncio.run(scan(timeout))


def bluetooth_problem(exc: BaseException) -> str:
    """One sentence saying why scanning failed, for the picker's status line."""
    text = str(exc).strip()
    if isinstance(exc, FileNotFoundError) and sys.platform.startswith("linux"):
        reason = "BlueZ/D-Bus not found (is bluetoothd installed and running?)"
    elif isinstance(exc, PermissionError):
        reason = f"permission denied ({text or 'check Bluetooth permissions for this app'})"
    elif isinstance(exc, TimeoutError):
        reason = "the adapter did not answer in time"
    else:
        reason = text or type(exc).__name__
        if len(reason) > 160:
            reason = reason[:157] + "..."
    return f"Bluetooth unavailable: {reason}"


class ScanRunner(QObject):
    """Runs one scan on a daemon thread and reports back on the GUI thread (queued signals).

    The runner is parentless and kept alive by its thread, so a panel closed mid-scan
    only loses the connection; the late result goes nowhere instead of crashing.
    """

    found = Signal(list)
    failed = Signal(str)

    def __init__(self, scanner: Scanner, timeout: float) -> None:
        super().__init__()
        self._scanner = scanner
        self._timeout = timeout
        self.thread = threading.Thread(target=self._run, name="record-scan", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            rows = list(self._scanner(self._timeout))
        except Exception as exc:  # any radio failure is a message, not a crash
            self._emit(self.failed, bluetooth_problem(exc))
        else:
            self._emit(self.found, rows)

    @staticmethod
    def _emit(signal, value: object) -> None:  # noqa: ANN001 - a bound Signal
        with contextlib.suppress(RuntimeError):  # the receiver's window is gone
            signal.emit(value)


def build_sources(
    choices: list[DeviceChoice],
    *,
    clock: Callable[[], float] | None = None,
    speed: float = 1.0,
    ble_client_backend: type | None = None,
    simulator_knobs: dict | None = None,
) -> list[Source]:
    """Create (not start) one source per picked row. Blocking (a simulated BLE device is
    found by a short simulated scan), so the panel calls it on a worker thread."""
    from harlab.devices.factory import make_source

    sources: list[Source] = []
    for i, c in enumerate(choices):
        if c.key == "simulated":
            from harlab.devices.simulated import SimulatedSource
            from harlab.simulate.engine import Simulator

            kwargs = dict(simulator_knobs or {})
            if clock is not None:
                kwargs["clock"] = clock
            sources.append(
                SimulatedSource(
                    Simulator(rate_hz=100.0, seed=i, activity="standing"), speed=speed, seed=i, **kwargs
                )
            )
        elif c.simulated:
            sources.append(make_source(c.key, seed=i))
        else:
            from harlab.devices.ble_profiles import PROFILES
            from harlab.devices.ble_source import BleSource
            from harlab.devices.bleak_link import BleakLink

            assert c.profile is not None and c.found is not None
            link = BleakLink(c.found.device, client_backend=ble_client_backend)  # type: ignore[attr-defined]
            sources.append(BleSource(link, PROFILES[c.profile](None)))
    return sources
