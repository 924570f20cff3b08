"""A device profile over a GATT link, run on its own thread and event loop.

bleak objects belong to one asyncio loop that must keep running, and a GUI
redraw or a model inference must never delay a notification. So every device
gets a thread with its own loop; the notification callback only appends
``(uuid, bytes, arrival_ns)`` to a deque, and a task on the same thread decodes
every 50 ms and pushes :class:`SampleBatch` objects onto the source's queue.
A dropped link is reconnected with exponential back-off; subscriptions and start
commands are sent again (devices forget them), and the gap stays a gap.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import traceback
from collections.abc import Awaitable, Callable

from harlab.devices.ble_profiles import DeviceProfile
from harlab.devices.link import GattLink, LinkError
from harlab.devices.source import Source, SourceState

Sleep = Callable[[float], Awaitable[None]]

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


class BleSource(Source):
    def __init__(
        self,
        link: GattLink,
        profile: DeviceProfile,
        *,
        reconnect: bool = True,
        backoff: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0),
        max_attempts: int = 20,
        sleep: Sleep | None = None,
        decode_interval_s: float = 0.05,
    ) -> None:
        super().__init__()
        self.link = link
        self.profile = profile
        self.name = link.name
        self.streams = list(profile.streams)
        self.reconnect = reconnect
        self.backoff = backoff
        self.max_attempts = max_attempts
        self._sleep = sleep or asyncio.sleep
        self._decode_interval = decode_interval_s
        self._raw: collections.deque[tuple[str, bytes, int]] = collections.deque()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._lost: asyncio.Event | None = None
        self.reconnects = 0
        self.error: str | None = None
        self._fatal: LinkError | None = None
        self.battery_percent: int | None = None

    # -- called from any thread ----------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._thread_main, name=f"ble-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and self.running:
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile (error or stop)
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the BLE thread ------------------------------------------------------------
    async def _read_battery(self) -> None:
        """Battery level (0x2A19) where the device offers the Battery Service; never fatal."""
        if not self.link.has_service(BATTERY_SERVICE_UUID):
            return
        try:
            data = await self.link.read(BATTERY_LEVEL_UUID)
        except LinkError:
            return
        if data:
            self.battery_percent = int(data[0])
            self.events.emit("battery", self, percent=self.battery_percent)

    def _thread_main(self) -> None:
        asyncio.run(self._main())

    def _on_raw(self, uuid: str, data: bytes, arrival_ns: int) -> None:
        self._raw.append((uuid, bytes(data), arrival_ns))

    def _on_lost(self) -> None:
        if self._loop is not None and self._lost is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._lost.set)

    async def _decode_loop(self) -> None:
        while True:
            self._decode_pending()
            await asyncio.sleep(self._decode_interval)

    def _decode_pending(self) -> None:
        while self._raw:
            uuid, data, t = self._raw.popleft()
            try:
                batches = self.profile.decode(uuid, data, t)
            except LinkError as exc:  # the device refused a command: stop with its reason
                self._fatal = exc
                if self._stop is not None:
                    self._stop.set()
                continue
            except ValueError:
                self.profile.decode_errors += 1
                continue
            for b in batches:
                self.emit_batch(b)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self.link.on_disconnect(self._on_lost)
        decoder = asyncio.create_task(self._decode_loop())
        attempt = 0
        try:
            while not self._stop.is_set():
                self.set_state(
                    SourceState.CONNECTING
                    if attempt == 0 and not self.reconnects
                    else SourceState.RECONNECTING
                )
                try:
                    self._lost.clear()
                    await self.link.connect()
                    await self._read_battery()
                    await self.profile.start(self.link, self._on_raw)
                except (TimeoutError, LinkError, OSError) as exc:
                    attempt += 1
                    if not self.reconnect or attempt >= self.max_attempts:
                        raise LinkError(
                            f"{self.name}: could not connect after {attempt} attempts: {exc}"
                        ) from exc
                    await self._sleep(self.backoff[min(attempt - 1, len(self.backoff) - 1)])
                    continue
                attempt = 0
                self.set_state(SourceState.STREAMING)
                stop_wait = asyncio.create_task(self._stop.wait())
                lost_wait = asyncio.create_task(self._lost.wait())
                await asyncio.wait({stop_wait, lost_wait}, return_when=asyncio.FIRST_COMPLETED)
                stop_wait.cancel()
                lost_wait.cancel()
                if self._stop.is_set():
                    break
                if not self.reconnect:
                    raise LinkError(f"{self.name}: connection lost")
                self.reconnects += 1
                self._decode_pending()
                self.profile.after_reconnect()
                self.set_state(SourceState.RECONNECTING, "connection lost")
                await self._sleep(self.backoff[0])
            if self._fatal is not None:
                raise self._fatal
            with contextlib.suppress(LinkError):
                await self.profile.stop(self.link)
            await self.link.disconnect()
            self._decode_pending()
            self.set_state(SourceState.STOPPED)
        except Exception as exc:  # the thread must report, not die silently
            self.error = f"{exc}"
            self.set_state(SourceState.ERROR, f"{exc}\n{traceback.format_exc(limit=3)}")
        finally:
            decoder.cancel()
            if self.link.is_connected:
                with contextlib.suppress(LinkError, OSError):
                    await self.link.disconnect()
