"""``SimLink``: a :class:`~harlab.devices.link.GattLink` over a simulated peripheral.

It delivers the peripheral's notifications in bursts once per connection
interval, as a real radio does, with arrival times on a clock that can run
faster than real time (tests, benchmarks) and can drop the connection on cue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from harlab.devices.link import LinkError, NotifyCallback
from harlab.devices.peripherals import SimPeripheral


class SimClock:
    """Seconds since the Unix epoch, running ``speed`` times faster than real time."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        self.speed = speed
        self._t0 = time.monotonic()
        self._start = time.time() if start is None else start

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)


class SimLink:
    def __init__(
        self,
        peripheral: SimPeripheral,
        clock: SimClock | None = None,
        *,
        mtu: int = 247,
        interval_s: float = 0.03,
        disconnect_at: list[float] | None = None,
        address: str = "SIM:00:00:00:00:01",
    ) -> None:
        self.peripheral = peripheral
        self.peripheral.mtu = mtu
        self.clock = clock or SimClock()
        self.interval_s = interval_s
        self.name = peripheral.name
        self.address = address
        self._mtu = mtu
        self._connected = False
        self._callbacks: dict[str, NotifyCallback] = {}
        self._on_disconnect: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._disconnect_at = sorted(disconnect_at or [])
        self.writes: list[tuple[str, bytes]] = []  #: every write, in order (command-order tests)
        self.connects = 0

    @property
    def mtu(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connected

    def has_service(self, uuid: str) -> bool:
        return uuid in self.peripheral.services

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        self._on_disconnect.append(callback)

    async def connect(self) -> None:
        self._connected = True
        self.connects += 1
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def disconnect(self) -> None:
        self._drop(notify=False)

    def _drop(self, notify: bool) -> None:
        if not self._connected:
            return
        self._connected = False
        self._callbacks.clear()
        self.peripheral.on_disconnect()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        if notify:
            for cb in list(self._on_disconnect):
                cb()

    def _require(self) -> None:
        if not self._connected:
            raise LinkError(f"{self.name}: not connected")

    async def read(self, uuid: str) -> bytes:
        self._require()
        try:
            return self.peripheral.read(uuid)
        except KeyError as exc:
            raise LinkError(f"{self.name}: no readable characteristic {uuid}") from exc

    async def write(self, uuid: str, data: bytes, response: bool = True) -> None:
        self._require()
        self.writes.append((uuid, bytes(data)))
        replies = self.peripheral.on_write(uuid, bytes(data), self.clock.now())
        arrival = int(self.clock.now() * 1e9)
        for ruuid, rdata in replies:
            cb = self._callbacks.get(ruuid)
            if cb is not None:
                cb(rdata, arrival)

    async def subscribe(self, uuid: str, callback: NotifyCallback) -> None:
        self._require()
        self._callbacks[uuid] = callback
        self.peripheral.on_subscribe(uuid)

    async def _pump(self) -> None:
        try:
            while self._connected:
                await self.clock.sleep(self.interval_s)
                now = self.clock.now()
                if self._disconnect_at and now >= self._disconnect_at[0]:
                    self._disconnect_at.pop(0)
                    self._drop(notify=True)
                    return
                arrival = int(now * 1e9)
                for uuid, data in self.peripheral.tick(now):
                    cb = self._callbacks.get(uuid)
                    if cb is not None:
                        cb(data, arrival)
        except asyncio.CancelledError:
            pass
