"""``GattLink``: the narrow interface between device protocols and a radio.

Device sessions (``harlab.devices.ble_profiles``) speak only this interface, so the
same code runs over bleak (``BleakLink``) and over simulated peripherals
(``SimLink``) in tests and demo mode. Notification callbacks receive the bytes and
the host arrival time in ns, and must only enqueue them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

NotifyCallback = Callable[[bytes, int], None]


class LinkError(Exception):
    """The link failed (disconnected, characteristic missing, write refused)."""


class GattLink(Protocol):
    name: str
    address: str

    @property
    def mtu(self) -> int: ...

    @property
    def is_connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def read(self, uuid: str) -> bytes: ...

    async def write(self, uuid: str, data: bytes, response: bool = True) -> None: ...

    async def subscribe(self, uuid: str, callback: NotifyCallback) -> None: ...

    def on_disconnect(self, callback: Callable[[], None]) -> None: ...

    def has_service(self, uuid: str) -> bool: ...
