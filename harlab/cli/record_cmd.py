"""``harlab record``: record live from devices into a crash-safe session file."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harlab.cli.shared_options import add_quiet
from harlab.core.errors import HarlabError
from harlab.core.metadata import Metadata
from harlab.core.wording import counted

if TYPE_CHECKING:  # imported when recording starts, to keep the CLI quick
    from harlab.recording import Recorder, RecorderStatus


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "record",
        help="record from a Bluetooth LE wearable or a simulated device",
        description=(
            "Record live into a session file. --device takes 'simulated' (the activity simulator), "
            "sim-h10 / sim-verity / sim-hrs / sim-witmotion / sim-hip / sim-microbit (byte-exact simulated BLE devices through bleak), "
            "or a Bluetooth address or name prefix. Repeat --device to record several devices into one "
            "session. With --protocol the participant is prompted through a sequence of activities and "
            "the labels are written automatically; otherwise, on a terminal, type an activity name and "
            "Enter to start a label, Enter alone to stop it."
        ),
    )
    p.add_argument("--device", action="append", required=True, help="device to record (repeatable)")
    p.add_argument(
        "--profile",
        help="BLE profile for a real device (hrs, polar-h10, polar-verity, witmotion, hip, microbit)",
    )
    p.add_argument("--rate", type=float, help="sample rate in Hz where the device allows a choice")
    p.add_argument(
        "--duration",
        type=float,
        help="stop after this many seconds (default: the protocol's length, else until Ctrl+C)",
    )
    p.add_argument(
        "--protocol", type=Path, help="guided protocol file (JSON, TOML or 'activity seconds' lines)"
    )
    p.add_argument("--participant", default="", help="participant id")
    p.add_argument("--placement", default="", help="where the device is worn, e.g. 'left wrist'")
    p.add_argument("-o", "--output", type=Path, help="output .h5 (default recordings/<time>.h5)")
    p.add_argument(
        "--speed", type=float, default=1.0, help=argparse.SUPPRESS
    )  # simulated device only: faster than real time
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harlab.devices.factory import make_source
    from harlab.devices.simlink import SimClock
    from harlab.recording import Recorder, load_protocol

    out = args.output or Path("recordings") / f"{datetime.now():%Y%m%d-%H%M%S}.h5"
    out.parent.mkdir(parents=True, exist_ok=True)
    protocol = load_protocol(args.protocol) if args.protocol else None
    duration = args.duration or (protocol.duration_s + 0.5 if protocol else None)
    if args.speed != 1.0 and any(d != "simulated" for d in args.device):
        raise HarlabError("--speed works only with --device simulated")
    clock = SimClock(args.speed) if args.speed != 1.0 else None
    sources = []
    for i, dev in enumerate(args.device):
        kwargs: dict[str, Any] = {"clock": clock.now} if clock and dev == "simulated" else {}
        sources.append(
            make_source(dev, profile=args.profile, rate_hz=args.rate, seed=i, speed=args.speed, **kwargs)
        )
    md = Metadata(participant_id=args.participant)
    timing: dict[str, Any] = {"clock": clock.now} if clock else {}
    rec = Recorder(out, sources, metadata=md, placement=args.placement, **timing)
    live = (
        not args.quiet and sys.stderr.isatty()
    )  # a status line redrawn with \r is for a terminal, not a log
    stop = threading.Event()
    restore_signals = _stop_on_signals(stop)  # before the journal exists: a signal is never lost
    try:
        rec.start()
        if protocol:
            rec.run_protocol(protocol)
        elif sys.stdin is not None and sys.stdin.isatty():
            threading.Thread(target=_keyboard_labels, args=(rec,), daemon=True).start()
        while not stop.wait(0.2):
            st = rec.status()
            if live:
                _print_status(st)
            if duration is not None and st.elapsed_s >= duration:
                break
            if protocol and rec.protocol_done:
                break
            if all(s == "error" for s in st.sources.values()):
                raise HarlabError("every source failed: " + "; ".join(st.messages))
        else:
            print("\nstopping..." if live else "stopping...", file=sys.stderr)
    finally:
        restore_signals()
    path = rec.stop()
    st = rec.status()
    if live:
        print(file=sys.stderr)
    for name, q in st.streams.items():
        print(f"{name}: {counted(q.samples, 'sample')}, {counted(q.gaps, 'gap')}", file=sys.stderr)
    print(path)
    return 0


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Ctrl+C, SIGTERM (``kill``, ``timeout``) and a closing terminal's SIGHUP set ``stop``, so the
    recording is stopped and saved instead of the process ending with the session still in its
    journal. Setting a flag (rather than raising KeyboardInterrupt) means a signal that lands
    while the recorder is starting is kept, not half-handled. Returns the function that puts the
    previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    names = [n for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    old = {n: signal.signal(getattr(signal, n), request_stop) for n in names}

    def restore() -> None:
        for n, h in old.items():
            signal.signal(getattr(signal, n), h)

    return restore


def _print_status(st: RecorderStatus) -> None:
    parts = [f"{st.elapsed_s:7.1f} s"]
    parts += [f"{k} {q.recent_rate_hz:5.1f} Hz" for k, q in st.streams.items() if q.recent_rate_hz]
    if st.protocol_prompt:
        parts.append(f"{st.protocol_prompt} ({st.protocol_remaining_s:.0f} s)")
    elif st.open_label:
        parts.append(f"label: {st.open_label}")
    print("\r" + " | ".join(parts)[:150].ljust(150), end="", file=sys.stderr, flush=True)


def _keyboard_labels(rec: Recorder) -> None:
    for line in sys.stdin:
        label = line.strip()
        if label:
            rec.start_label(label)
        else:
            rec.stop_label()
