"""``harlab demo``: simulate a demo session, save it, print its path and open it.

The session comes from :func:`harlab.simulate.make_demo_session`: a participant
working through every activity the simulator knows (walking, running, stairs,
sitting, standing, lying, jumping, cycling, squats, sit-ups and the transitions
between postures), with wrist accelerometer, gyroscope, heart rate and the
matching activity labels, plus the shipped demo model's predictions beside
the labels (a prediction track "demo model"; see
:func:`harlab.ml.demo_predictions.add_demo_predictions`). With ``--video`` it also
renders the participant's video beside the session, attached in sync
(:mod:`harlab.simulate.demo_video`); rendering takes about 4 s per simulated minute, so it
is asked for, not done by default. ``--duration`` takes minutes or a unit (``90m``, ``2h``,
``7d``); past two hours the demo is free-living days (:func:`harlab.simulate.week_plan`: sleep,
work, exercise, the watch taken off), streamed into the file as it is simulated, so a week at
100 Hz never sits in memory. An existing file is never overwritten unless
``--force`` is given: it may hold labels someone edited.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from harlab.cli.workbench_launch import open_workbench
from harlab.core.errors import HarlabError

DEFAULT_DIR = "recordings"
#: Sessions longer than this many hours are free-living days streamed into the file.
STREAM_ABOVE_H = 2.0
#: Where a streamed demo starts: a Monday at local midnight in the demo's zone, so days are days.
DEMO_ZONE = "Europe/Berlin"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="write a simulated demo session and open it",
        description=(
            "Simulate a participant doing every known activity (wrist accelerometer, gyroscope, "
            "heart rate, activity labels), save it as a session file, print its path, and open it "
            "in the workbench unless --no-open is given."
        ),
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=DEFAULT_DIR,
        help=f"folder to write into, created if missing (default: ./{DEFAULT_DIR}); "
        "a path ending in .h5 names the file itself",
    )
    p.add_argument(
        "--duration",
        metavar="TIME",
        default="10",
        help="length of the session: minutes, or a number with a unit s, min, h or d (90m, 2h, 7d; at "
        f"most a week; default: 10 minutes). Up to {STREAM_ABOVE_H:g} h the participant works through every "
        "activity; longer sessions follow free-living days (sleep, work, exercise, the watch taken off) "
        "and are written to the file as they are simulated, in bounded memory, without predictions",
    )
    p.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=0,
        help="random seed; the same seed gives the same signals (default: 0)",
    )
    p.add_argument(
        "--rate",
        metavar="HZ",
        type=float,
        default=100.0,
        help="accelerometer and gyroscope sample rate (default: 100)",
    )
    p.add_argument(
        "--video",
        action="store_true",
        help="also render a video of the participant beside the session (<name>.mp4, 320x240, with a "
        "clap at the start) and attach it in sync; takes about 4 s per simulated minute",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file of the same name")
    p.add_argument("--no-open", action="store_true", help="only write the file; do not open the workbench")
    p.add_argument(
        "--no-predictions",
        action="store_true",
        help="leave out the demo model's predictions (faster: no model is loaded)",
    )
    p.add_argument(
        "--model",
        metavar="FILE",
        default=None,
        help="apply this model file instead of the built-in demo model",
    )
    p.set_defaults(func=run)


def duration_label(minutes: float) -> str:
    """``10min``, ``2h``, ``7d``: the duration as a file name shows it."""
    for unit, size in (("d", 1440.0), ("h", 60.0)):
        if minutes >= size and (minutes / size) == round(minutes / size, 2):
            return f"{minutes / size:g}{unit}"
    return f"{minutes:g}min"


def _target(output: str, duration: float, seed: int, force: bool) -> Path:
    out = Path(output).expanduser()
    if out.suffix.lower() == ".h5":
        if out.exists() and not force:
            raise HarlabError(f"{out} already exists; pass --force to overwrite it")
        out.parent.mkdir(parents=True, exist_ok=True)
        return out
    if out.exists() and not out.is_dir():
        raise HarlabError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    stem = f"demo-{duration_label(duration)}-seed{seed}"
    path = out / f"{stem}.h5"
    n = 2
    while path.exists() and not force:
        path = out / f"{stem}-{n}.h5"
        n += 1
    return path


def _stream_demo(path: Path, minutes: float, args: argparse.Namespace) -> Path:
    """Simulate free-living days straight into the file (:class:`~harlab.simulate.SimulatedRun`
    into a :class:`~harlab.storage.session_writer.SessionWriter`): a week never sits in memory."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from harlab.simulate import SimulatedRun, week_plan
    from harlab.storage.session_writer import SessionWriter

    run = SimulatedRun(
        week_plan(minutes * 60.0, args.seed),
        rate_hz=args.rate,
        seed=args.seed,
        participant="demo",
        start_utc=datetime(2024, 4, 22, tzinfo=ZoneInfo(DEMO_ZONE)),
        timezone=DEMO_ZONE,
    )
    if not args.quiet:
        print(f"simulating {duration_label(minutes)} at {args.rate:g} Hz into {path} ...", file=sys.stderr)
    try:
        with SessionWriter(path, run.metadata, run.schema) as writer:
            run.write_into(writer)
    except OSError as exc:
        raise HarlabError(f"cannot write {path}: {exc}") from exc
    return path


def run(args: argparse.Namespace) -> int:
    from harlab.simulate import make_demo_session
    from harlab.simulate.plan import parse_duration

    minutes = parse_duration(str(args.duration), default_unit="min") / 60.0
    if not 0 < minutes <= 7 * 24 * 60:
        raise HarlabError(
            f"--duration must be more than 0 and at most 10080 minutes (a week), got {minutes:g}"
        )
    if args.seed < 0:
        raise HarlabError(f"--seed must be a non-negative integer, got {args.seed}")
    streamed = minutes > STREAM_ABOVE_H * 60
    if streamed and args.video:
        raise HarlabError(
            f"--video renders at most {STREAM_ABOVE_H:g} h (about 4 s per simulated minute); "
            "give a shorter --duration"
        )
    try:
        path = _target(args.output, minutes, args.seed, args.force)
    except OSError as exc:
        raise HarlabError(f"cannot create the output folder {args.output}: {exc}") from exc

    from harlab.storage import save_session  # imported late: `harlab --help` stays fast

    if streamed:
        saved = _stream_demo(path, minutes, args)
        if not args.no_predictions and not args.quiet:
            print(
                f"harlab: predictions are left out of demos longer than {STREAM_ABOVE_H:g} h; "
                f"add them with 'harlab predict'",
                file=sys.stderr,
            )
        return _finish(saved, args)
    session = make_demo_session(duration_min=minutes, seed=args.seed, rate_hz=args.rate)
    if args.video:
        from harlab.simulate.demo_video import add_demo_video, demo_video_path

        video = demo_video_path(path)
        if video.exists() and not args.force:
            raise HarlabError(f"{video} already exists; pass --force to overwrite it")
        if not args.quiet:
            print(f"rendering the video {video} ...", file=sys.stderr)
        try:
            add_demo_video(session, path)
        except OSError as exc:
            raise HarlabError(f"cannot write {video}: {exc}") from exc
    if not args.no_predictions:
        from harlab.ml.demo_predictions import add_demo_predictions

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            add_demo_predictions(session, args.model)
        for w in caught:  # the demo still works without predictions; say why they are missing
            print(f"harlab: warning: {w.message}", file=sys.stderr)
    try:
        saved = save_session(session, path)
    except OSError as exc:
        raise HarlabError(f"cannot write {path}: {exc}") from exc
    return _finish(saved, args)


def _finish(saved: Path, args: argparse.Namespace) -> int:
    """Print the path and open the workbench unless told not to."""
    print(saved)
    sys.stdout.flush()
    if args.no_open:
        return 0
    return open_workbench(
        [str(saved)],
        without_display=(
            f"harlab: the demo session is written: {saved}\n"
            f"harlab: open it with 'harlab {saved}' where a display is available, "
            "or pass --no-open to only write the file"
        ),
    )
