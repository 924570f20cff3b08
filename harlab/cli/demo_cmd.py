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
is asked for, not done by default. An existing file is never overwritten unless
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
        metavar="MIN",
        type=float,
        default=10.0,
        help="length of the session in minutes (default: 10)",
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
    stem = f"demo-{duration:g}min-seed{seed}"
    path = out / f"{stem}.h5"
    n = 2
    while path.exists() and not force:
        path = out / f"{stem}-{n}.h5"
        n += 1
    return path


def run(args: argparse.Namespace) -> int:
    from harlab.simulate import make_demo_session

    if not 0 < args.duration <= 7 * 24 * 60:
        raise HarlabError(
            f"--duration must be more than 0 and at most 10080 minutes (a week), got {args.duration:g}"
        )
    if args.seed < 0:
        raise HarlabError(f"--seed must be a non-negative integer, got {args.seed}")
    try:
        path = _target(args.output, args.duration, args.seed, args.force)
    except OSError as exc:
        raise HarlabError(f"cannot create the output folder {args.output}: {exc}") from exc

    from harlab.storage import save_session  # imported late: `harlab --help` stays fast

    session = make_demo_session(duration_min=args.duration, seed=args.seed, rate_hz=args.rate)
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
