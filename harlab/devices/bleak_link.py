"""``BleakLink``: the :class:`~harlab.devices.link.GattLink` over bleak, and scanning.

This is the production radio path. bleak's ``backend=`` hook lets the very same
code run against :mod:`harlab.devices.sim_bleak` in tests and demo mode, so the
glue that real hardware exercises is exercised without a radio too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from harlab.devices.ble_profiles import PROFILES, profile_for_services
from harlab.devices.link import LinkError, NotifyCallback


@dataclass(frozen=True)
class FoundDevice:
    """A row of the device picker."""

    name: str
    address: str
    rssi: int
    services: tuple[str, ...]
    profile: str | None  #: key of a recognised harlab profile, or None
    device: BLEDevice


async def scan(
    timeout: float = 5.0,
    *,
    name_prefix: str | None = None,
    recognised_only: bool = False,
    min_rssi: int | None = None,
    scanner_backend: type | None = None,
    **scanner_kwargs: Any,
) -> list[FoundDevice]:
    """Scan and return devices sorted by signal strength, with their recognised profile."""
    kwargs: dict[str, Any] = dict(scanner_kwargs)
    if scanner_backend is not None:
        kwargs["backend"] = scanner_backend
    found = await BleakScanner.discover(timeout=timeout, return_adv=True, **kwargs)
    out = []
    for dev, adv in found.values():
        name = adv.local_name or dev.name or ""
        services = tuple(u.lower() for u in adv.service_uuids)
        cls = profile_for_services(list(services), name)
        row = FoundDevice(name, dev.address, adv.rssi, services, cls.key if cls else None, dev)
        if name_prefix and not name.startswith(name_prefix):
            continue
        if recognised_only and row.profile is None:
            continue
        if min_rssi is not None and row.rssi < min_rssi:
            continue
        out.append(row)
    return sorted(out, key=lambda r: -r.rssi)


class BleakLink:
    """One connection through bleak. Create it on the thread whose loop will use it."""

    def __init__(
        self,
        device: BLEDevice | str,
        *,
        name: str = "",
        client_backend: type | None = None,
        timeout: float = 20.0,
        **client_kwargs: Any,
    ) -> None:
        self._device = device
        self.address = device.address if isinstance(device, BLEDevice) else device
        self.name = name or (device.name if isinstance(device, BLEDevice) and device.name else self.address)
        self._client_backend = client_backend
        self._client_kwargs = client_kwargs
        self._timeout = timeout
        self._client: BleakClient | None = None
        self._on_disconnect: list[Callable[[], None]] = []
        self._services: set[str] = set()

    def _make_client(self) -> BleakClient:
        kwargs = dict(self._client_kwargs)
        if self._client_backend is not None:
            kwargs["backend"] = self._client_backend
        return BleakClient(self._device, self._disconnected, timeout=self._timeout, **kwargs)

    def _disconnected(self, _client: BleakClient) -> None:
        for cb in list(self._on_disconnect):
            cb()

    @property
    def mtu(self) -> int:
        return self._client.mtu_size if self._client is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        self._on_disconnect.append(callback)

    def has_service(self, uuid: str) -> bool:
        return uuid.lower() in self._services

    async def connect(self) -> None:
        # A fresh client per connection: bleak clients are not reusable after a drop.
        self._client = self._make_client()
        try:
            await self._client.connect()
        except (BleakError, TimeoutError, OSError) as exc:
            raise LinkError(f"{self.name}: connect failed: {exc}") from exc
        self._services = {s.uuid.lower() for s in self._client.services}

    async def disconnect(self) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.disconnect()
            except BleakError as exc:
                raise LinkError(f"{self.name}: disconnect failed: {exc}") from exc

    def _require(self) -> BleakClient:
        if self._client is None or not self._client.is_connected:
            raise LinkError(f"{self.name}: not connected")
        return self._client

    async def read(self, uuid: str) -> bytes:
        try:
            return bytes(await self._require().read_gatt_char(uuid))
        except BleakError as exc:
            raise LinkError(f"{self.name}: read {uuid} failed: {exc}") from exc

    async def write(self, uuid: str, data: bytes, response: bool = True) -> None:
        try:
            await self._require().write_gatt_char(uuid, data, response=response)
        except BleakError as exc:
            raise LinkError(f"{self.name}: write {uuid} failed: {exc}") from exc

    async def subscribe(self, uuid: str, callback: NotifyCallback) -> None:
        def on_notify(_char: object, data: bytearray) -> None:
            # Stamp first, copy the bytes, do nothing else on the radio's loop.
            callback(bytes(data), time.time_ns())

        try:
            await self._require().start_notify(uuid, on_notify)
        except BleakError as exc:
            raise LinkError(f"{self.name}: subscribe {uuid} failed: {exc}") from exc


__all__ = ["PROFILES", "BleakLink", "FoundDevice", "scan"]
