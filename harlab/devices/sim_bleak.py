"""A bleak backend backed by harlab's simulated peripherals.

``BleakScanner(backend=SimBleakScanner, world=w)`` and
``BleakClient(dev, backend=SimBleakClient)`` drive the unmodified bleak front end
(characteristic resolution, callback wrapping, disconnect callbacks) over the
byte-exact peripheral models, so :class:`~harlab.devices.bleak_link.BleakLink`
and everything above it runs in tests and demo mode exactly as with a radio.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError

from harlab.devices.peripherals import SimPeripheral
from harlab.devices.protocols import hip, hrs, microbit, polar_pmd, witmotion

# The characteristics each simulated service exposes, with their properties.
GATT: dict[str, list[tuple[str, list[str]]]] = {
    hrs.SERVICE_UUID: [(hrs.MEASUREMENT_UUID, ["notify"]), (hrs.BODY_SENSOR_LOCATION_UUID, ["read"])],
    polar_pmd.SERVICE_UUID: [
        (polar_pmd.CONTROL_POINT_UUID, ["read", "write", "indicate"]),
        (polar_pmd.DATA_UUID, ["notify"]),
    ],
    witmotion.SERVICE_UUID: [
        (witmotion.NOTIFY_UUID, ["notify"]),
        (witmotion.WRITE_UUID, ["write", "write-without-response"]),
    ],
    hip.SERVICE_UUID: [(hip.DATA_UUID, ["notify"]), (hip.CONTROL_UUID, ["write"])],
    "0000180f-0000-1000-8000-00805f9b34fb": [("00002a19-0000-1000-8000-00805f9b34fb", ["read", "notify"])],
    microbit.SERVICE_UUID: [
        (microbit.DATA_UUID, ["notify", "read"]),
        (microbit.PERIOD_UUID, ["read", "write"]),
    ],
}


@dataclass
class SimDevice:
    peripheral: SimPeripheral
    address: str
    rssi: int = -60
    mtu: int = 247
    interval_s: float = 0.03
    disconnect_after_s: list[float] = field(
        default_factory=list
    )  #: drop the link this long after each connect


@dataclass
class SimWorld:
    """The simulated radio neighbourhood: which devices advertise, and a clock speed."""

    devices: list[SimDevice] = field(default_factory=list)
    speed: float = 1.0

    def add(self, peripheral: SimPeripheral, address: str, **kwargs: Any) -> SimDevice:
        dev = SimDevice(peripheral, address, **kwargs)
        self.devices.append(dev)
        return dev


class SimBleakScanner(BaseBleakScanner):
    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        world: SimWorld,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self.world = world
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._advertise())

    async def _advertise(self) -> None:
        await asyncio.sleep(0)  # adverts arrive after start() returns, as from a radio
        for d in self.world.devices:
            services = list(d.peripheral.services)
            if not self.is_allowed_uuid(services):
                continue
            adv = AdvertisementData(d.peripheral.name, {}, {}, services, None, d.rssi, ())
            device = self.create_or_update_device(d.address, d.address, d.peripheral.name, d, adv)
            self.call_detection_callbacks(device, adv)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


class SimBleakClient(BaseBleakClient):
    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        if not isinstance(address_or_ble_device, BLEDevice) or not isinstance(
            address_or_ble_device.details, SimDevice
        ):
            raise BleakError("the simulated backend connects only to devices found by SimBleakScanner")
        self.sim: SimDevice = address_or_ble_device.details
        self.speed: float = kwargs.get("speed", 1.0)
        self._connected = False
        self._notify: dict[str, NotifyCallback] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected_at = 0.0

    @property
    def name(self) -> str:
        return self.sim.peripheral.name

    @property
    def mtu_size(self) -> int:
        return self.sim.mtu

    @property
    def is_connected(self) -> bool:
        return self._connected

    def _now(self) -> float:
        return time.time()

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        services = BleakGATTServiceCollection()
        handle = 1
        for suuid in self.sim.peripheral.services:
            service = BleakGATTService(None, handle, suuid)
            services.add_service(service)
            handle += 1
            for cuuid, props in GATT.get(suuid, []):
                char = BleakGATTCharacteristic(None, handle, cuuid, props, lambda: self.sim.mtu - 3, service)  # type: ignore[arg-type]
                services.add_characteristic(char)
                handle += 1
        self.services = services
        self.sim.peripheral.mtu = self.sim.mtu
        self._connected = True
        self._connected_at = self._now()
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        drops = list(self.sim.disconnect_after_s)
        try:
            while self._connected:
                await asyncio.sleep(self.sim.interval_s)
                now = self._now()
                if drops and now - self._connected_at >= drops[0]:
                    self.sim.disconnect_after_s.pop(0)
                    self._lose()
                    return
                for uuid, data in self.sim.peripheral.tick(now):
                    cb = self._notify.get(uuid)
                    if cb is not None:
                        cb(bytearray(data))
        except asyncio.CancelledError:
            pass

    def _lose(self) -> None:
        self._connected = False
        self._notify.clear()
        self.sim.peripheral.on_disconnect()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self._connected:
            self._connected = False
            self._notify.clear()
            self.sim.peripheral.on_disconnect()
            if self._task is not None:
                self._task.cancel()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def unpair(self) -> None:
        return None

    def _check(self) -> None:
        if not self._connected:
            raise BleakError("Not connected")

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        self._check()
        try:
            return bytearray(self.sim.peripheral.read(characteristic.uuid))
        except KeyError as exc:
            raise BleakError(f"characteristic {characteristic.uuid} is not readable") from exc

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        raise BleakError("descriptors are not simulated")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        self._check()
        for uuid, reply in self.sim.peripheral.on_write(characteristic.uuid, bytes(data), self._now()):
            cb = self._notify.get(uuid)
            if cb is not None:
                cb(bytearray(reply))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("descriptors are not simulated")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._check()
        self._notify[characteristic.uuid] = callback
        self.sim.peripheral.on_subscribe(characteristic.uuid)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._notify.pop(characteristic.uuid, None)
