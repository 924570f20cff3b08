"""Simulated devices built on the activity simulator.

:class:`SimulatedSource` streams the simulator's wrist IMU and heart rate in real
time (or faster), with the current activity changeable live and optional packet
loss, disconnects and clock drift, so the recorder, the GUI and the demo can be
exercised without hardware. :func:`simulator_signals` adapts the same simulator
to the byte-exact BLE peripheral models, so "Simulated Polar H10" runs the real
decoders on realistic motion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from harlab.devices.ble_profiles import ACC, GYRO, HR, _with_rate
from harlab.devices.source import SampleBatch, Source, SourceState
from harlab.simulate.engine import Chunk, Simulator


class SimulatedSource(Source):
    """The simulator as a live source.

    ``speed`` > 1 runs faster than real time (tests, benchmarks). ``drop_rate``
    loses whole chunks (flagged as gaps), ``disconnect_every_s`` pauses the
    stream for ``disconnect_s`` (reconnecting), ``drift_ppm`` makes the simulated
    device clock run fast or slow relative to the host.
    """

    name = "harlab simulator"

    def __init__(
        self,
        simulator: Simulator | None = None,
        *,
        speed: float = 1.0,
        chunk_s: float = 0.05,
        drop_rate: float = 0.0,
        disconnect_every_s: float | None = None,
        disconnect_s: float = 2.0,
        drift_ppm: float = 0.0,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.sim = simulator or Simulator(rate_hz=100.0, seed=seed)
        rate = self.sim.rate_hz
        self.streams = [_with_rate(ACC, rate), _with_rate(GYRO, rate), HR]
        self.speed = speed
        self.chunk_s = chunk_s
        self.drop_rate = drop_rate
        self.disconnect_every_s = disconnect_every_s
        self.disconnect_s = disconnect_s
        self.drift = drift_ppm * 1e-6
        self.rng = np.random.default_rng(seed + 7919)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.t0_host: float | None = None
        self.dropped_samples = 0

    def set_activity(self, activity: str) -> None:
        """Change what the simulated participant does, from the next chunk on."""
        with self._lock:
            self.sim.set_activity(activity)

    @property
    def activity(self) -> str:
        with self._lock:
            return self.sim.activity

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="simulated-source", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        self.set_state(SourceState.CONNECTING)
        self.t0_host = self._clock()
        wall0 = time.monotonic()
        self.set_state(SourceState.STREAMING)
        gap = False
        next_disconnect = self.disconnect_every_s
        try:
            while not self._stop.is_set():
                sim_now = (time.monotonic() - wall0) * self.speed
                with self._lock:
                    due = sim_now - self.sim.time
                    chunk = self.sim.next_chunk(due) if due > 0 else None
                if chunk is not None and chunk.n:
                    outage = next_disconnect is not None and chunk.t0 >= next_disconnect
                    if outage:
                        self.set_state(SourceState.RECONNECTING, "simulated disconnect")
                        end = chunk.t0 + self.disconnect_s
                        self.dropped_samples += chunk.n
                        # Everything until the link is back is lost.
                        while not self._stop.is_set() and self.sim.time < end:
                            with self._lock:
                                lost = self.sim.next_chunk(min(self.chunk_s, end - self.sim.time))
                            self.dropped_samples += lost.n
                            time.sleep(self.chunk_s / self.speed)
                        next_disconnect = end + (self.disconnect_every_s or 0)
                        self.set_state(SourceState.STREAMING)
                        gap = True
                    elif self.drop_rate and self.rng.random() < self.drop_rate:
                        self.dropped_samples += chunk.n
                        gap = True
                    else:
                        self._emit(chunk, gap)
                        gap = False
                time.sleep(max(0.0, self.chunk_s / self.speed))
            self.set_state(SourceState.STOPPED)
        except Exception as exc:  # report, never die silently
            self.set_state(SourceState.ERROR, str(exc))

    def _emit(self, chunk: Chunk, gap: bool) -> None:
        assert self.t0_host is not None
        host = self.t0_host + chunk.time * (1.0 + self.drift)
        self.emit_batch(SampleBatch("accel", host, chunk.accel, device_time=chunk.time, gap_before=gap))
        self.emit_batch(SampleBatch("gyro", host, chunk.gyro, device_time=chunk.time, gap_before=gap))
        if len(chunk.hr_time):
            self.emit_batch(
                SampleBatch(
                    "heart_rate",
                    self.t0_host + chunk.hr_time,
                    chunk.hr[:, None] if chunk.hr.ndim == 1 else chunk.hr,
                    gap_before=gap,
                )
            )
        clipped = int(chunk.accel_flags.astype(bool).sum())
        if clipped:
            self.stats.clipped["accel"] = self.stats.clipped.get("accel", 0) + clipped


def simulator_signals(
    sim: Simulator,
) -> tuple[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], Callable[[float], float]]:
    """``imu(t)`` and ``heart(t)`` callables for the BLE peripheral models.

    The peripheral asks for consecutive sample times at its own rate (which
    must equal the simulator's); each call takes the next samples of the stream.
    """
    state = {"hr": 70.0}

    def imu(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        chunk = sim.next_samples(len(t))
        if len(chunk.hr):
            state["hr"] = float(np.asarray(chunk.hr).reshape(-1)[-1])
        return chunk.accel.astype(np.float64), chunk.gyro.astype(np.float64)

    def heart(_t: float) -> float:
        return state["hr"]

    return imu, heart
