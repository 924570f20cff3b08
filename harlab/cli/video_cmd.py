"""``harlab video attach|detach|list|relink|sync``: videos beside a session's sensors, from the command line.

The session file stores a reference to each video and its sync, never the video (see
:mod:`harlab.core.videos`). Changes are the workbench's own undoable commands
(:mod:`harlab.labeling.commands`), applied to the file and saved atomically; a file with
unsaved edits of a crashed workbench (its edit journal) is refused, so saving here never
strands them. An automatic sync prints its estimate and confidence and is applied only
when confident, or with ``--accept-low-confidence``.

Exit codes: 0 done, 1 a low-confidence sync not applied, 2 an error (the session or
video cannot be read, a name is unknown or taken).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harlab.cli.shared_options import add_quiet
from harlab.core.errors import HarlabError
from harlab.core.files import input_file
from harlab.core.session import Session
from harlab.core.videos import VideoLink, VideoSync, VideoSyncError, check_roi, fit_sync
from harlab.labeling.commands import AttachVideo, DetachVideo, EditCommand, RelinkVideo, SetVideoSync
from harlab.labeling.edit_journal import refuse_unsaved_edits
from harlab.storage import open_session

#: exit code of ``sync --auto`` when the estimate is low-confidence and was not applied
LOW_CONFIDENCE_EXIT = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "video",
        help="attach videos to a session, list them, and synchronise them with the sensors",
        description=(
            "Videos beside the sensors. The session stores a reference to each video (relative path "
            "when it lies beside the session, name, size, fingerprint, duration, frame rate) and its "
            "sync with the session clock, never the video itself."
        ),
    )
    sub = p.add_subparsers(dest="video_command", metavar="SUBCOMMAND", required=True)

    a = sub.add_parser("attach", help="probe a video file and attach it to the session")
    a.add_argument("session", metavar="SESSION", help="session file (.h5)")
    a.add_argument(
        "video", metavar="VIDEO", help="video file (anything FFmpeg opens: mp4, mov, mkv, webm, avi)"
    )
    a.add_argument("--name", help="the video's name in the session (default: the file's name without suffix)")
    a.add_argument(
        "--offset", type=float, default=0.0, metavar="S", help="session time of the video's start (default 0)"
    )
    a.set_defaults(func=run_attach)

    d = sub.add_parser("detach", help="remove a video from the session (the file is left alone)")
    d.add_argument("session", metavar="SESSION", help="session file (.h5)")
    d.add_argument("name", metavar="NAME", help="the video's name in the session (see 'harlab video list')")
    d.set_defaults(func=run_detach)

    r = sub.add_parser(
        "relink",
        help="point a video at its file's new place (a moved or renamed copy), keeping its sync",
    )
    r.add_argument("session", metavar="SESSION", help="session file (.h5)")
    r.add_argument("name", metavar="NAME", help="the video's name in the session")
    r.add_argument("video", metavar="VIDEO", help="where the video file is now")
    r.set_defaults(func=run_relink)

    ls = sub.add_parser("list", help="list the session's videos, their sync and whether each file is found")
    ls.add_argument("session", metavar="SESSION", help="session file (.h5)")
    ls.add_argument("--json", action="store_true", help="print JSON instead of text")
    ls.set_defaults(func=run_list)

    s = sub.add_parser(
        "sync",
        help="set a video's sync: an offset, marked moments, or found automatically",
        description=(
            "Set the sync between a video and the session: session_time = offset + video_time * "
            "(1 + drift_ppm / 1e6). --offset sets it directly; --mark VIDEO_T=SESSION_T (one pair: "
            "offset; two or more far apart: offset and drift) fits it to moments marked in both; "
            "--auto estimates it from the video's motion (and sound) against the accelerometer, "
            "prints the estimate and its confidence, and applies a low-confidence result only with "
            "--accept-low-confidence (otherwise exit code 1). Labels keep their session times unless "
            "--move-labels names their track."
        ),
    )
    s.add_argument("session", metavar="SESSION", help="session file (.h5)")
    s.add_argument("--video", metavar="NAME", help="which video (needed when the session has several)")
    how = s.add_mutually_exclusive_group(required=True)
    how.add_argument("--offset", type=float, metavar="S", help="session time of the video's time 0 (seconds)")
    how.add_argument(
        "--mark",
        action="append",
        metavar="VIDEO_T=SESSION_T",
        help="one moment in video time and in session time (seconds); repeat for drift",
    )
    how.add_argument("--auto", action="store_true", help="estimate the sync from motion and sound")
    s.add_argument("--drift", type=float, metavar="PPM", help="with --offset: clock drift in ppm (default 0)")
    s.add_argument(
        "--roi",
        metavar="X,Y,W,H",
        help="with --auto: look only at this region of the video (pixels), e.g. the wrist",
    )
    s.add_argument(
        "--max-offset",
        type=float,
        metavar="S",
        help="with --auto: search offsets up to this many seconds either way",
    )
    s.add_argument(
        "--accept-low-confidence",
        action="store_true",
        help="with --auto: apply the estimate even when its confidence is low",
    )
    s.add_argument(
        "--move-labels",
        action="append",
        default=[],
        metavar="TRACK",
        help="move this label track's segments with the video (they keep their video times); repeatable",
    )
    s.add_argument("--dry-run", action="store_true", help="print the sync but do not save it")
    add_quiet(s)  # its own: -q drops the progress note, never the low-confidence refusal
    s.set_defaults(func=run_sync)


# -- the session file ----------------------------------------------------------------------
def _apply(session_path: str, make: Any) -> EditCommand | None:
    """Open the session writable, build a command from it with ``make(session, path)``, do it, save.

    ``make`` returns None to leave the file as it is. Refuses a file with a crashed
    workbench's unsaved edits (saving would strand them) and one that fails validate.
    """
    path = input_file(session_path, "a session file")
    refuse_unsaved_edits(path)
    with open_session(path, writable=True) as sf:
        sf.require_sound()
        cmd = make(sf.session, path)
        if cmd is None:
            return None
        cmd.do(sf.session)
        sf.save()
        return cmd


def _pick(session: Session, name: str | None) -> VideoLink:
    if name is not None:
        if name not in session.videos:
            known = ", ".join(session.videos) or "none"
            raise HarlabError(f"the session has no video {name!r} (its videos: {known})")
        return session.videos[name]
    if len(session.videos) == 1:
        return next(iter(session.videos.values()))
    if not session.videos:
        raise HarlabError("the session has no video; attach one with 'harlab video attach SESSION VIDEO'")
    raise HarlabError(
        f"the session has {len(session.videos)} videos; choose one with --video ({', '.join(session.videos)})"
    )


def _free_name(session: Session, wanted: str | None, video: Path) -> str:
    if wanted is not None:
        if wanted in session.videos:
            raise HarlabError(f"the session already has a video named {wanted!r}; choose another --name")
        return wanted
    base = video.stem or video.name
    name, n = base, 2
    while name in session.videos:
        name, n = f"{base} ({n})", n + 1
    return name


def _sync_text(sync: VideoSync) -> str:
    return f"offset {sync.offset_s:+.3f} s, drift {sync.drift_ppm:+.1f} ppm"


# -- subcommands ---------------------------------------------------------------------------
def run_attach(args: argparse.Namespace) -> int:
    from harlab.video.video_reference import probe_video  # PyAV only when a video is opened

    video = input_file(args.video, "a video file")

    def make(session: Session, path: Path) -> EditCommand:
        ref = probe_video(video, path)
        return AttachVideo(VideoLink(_free_name(session, args.name, video), ref, VideoSync(args.offset, 0.0)))

    cmd = _apply(args.session, make)
    assert isinstance(cmd, AttachVideo)
    ref = cmd.link.reference
    print(
        f"attached {cmd.link.name!r}: {ref.path} ({ref.duration_s:.2f} s, {ref.frame_rate:.3g} fps, "
        f"{ref.frame_count} frames), {_sync_text(cmd.link.sync)}"
    )
    return 0


def run_detach(args: argparse.Namespace) -> int:
    _apply(args.session, lambda session, _: DetachVideo(_pick(session, args.name).name))
    print(f"detached {args.name!r}")
    return 0


def run_relink(args: argparse.Namespace) -> int:
    from harlab.video.video_reference import probe_video

    video = input_file(args.video, "a video file")
    notes: list[str] = []

    def make(session: Session, path: Path) -> EditCommand:
        old = _pick(session, args.name).reference
        ref = probe_video(video, path)
        if (ref.size, ref.sha256_head) != (old.size, old.sha256_head):
            notes.append(
                f"note: {video} is not the file the session was synced with ({old.name}, {old.size} bytes); "
                "check the sync ('harlab video sync')"
            )
        return RelinkVideo(args.name, ref)

    cmd = _apply(args.session, make)
    assert isinstance(cmd, RelinkVideo)
    print(f"relinked {args.name!r} to {cmd.reference.path}")
    for note in notes:
        print(note, file=sys.stderr)
    return 0


def describe_videos(session_path: str | Path) -> list[dict[str, Any]]:
    """Each video of the session with where its file is (found / found by name / different file / missing)."""
    from harlab.video.video_reference import resolve_video

    path = input_file(session_path, "a session file")
    with open_session(path) as sf:
        out = []
        for link in sf.session.videos.values():
            loc = resolve_video(link.reference, path)
            start, end = link.session_span
            out.append(
                {
                    "name": link.name,
                    "status": loc.status.value,
                    "file": None if loc.path is None else str(loc.path),
                    "stored_path": link.reference.path,
                    "message": loc.message,
                    "duration_s": link.reference.duration_s,
                    "frame_rate": link.reference.frame_rate,
                    "offset_s": link.sync.offset_s,
                    "drift_ppm": link.sync.drift_ppm,
                    "session_start": start,
                    "session_end": end,
                    "roi": None if link.roi is None else list(link.roi),
                }
            )
        return out


def run_list(args: argparse.Namespace) -> int:
    videos = describe_videos(args.session)
    if args.json:
        print(json.dumps(videos, indent=2))
        return 0
    if not videos:
        print(f"{args.session}: no videos")
    for v in videos:
        print(
            f"{v['name']}: {v['status']} - {v['file'] or v['stored_path']}\n"
            f"  {v['duration_s']:.2f} s at {v['frame_rate']:.3g} fps, session {v['session_start']:.3f}"
            f"..{v['session_end']:.3f} s, offset {v['offset_s']:+.3f} s, drift {v['drift_ppm']:+.1f} ppm"
            + (f", region {','.join(map(str, v['roi']))}" if v["roi"] else "")
        )
        if v["status"] not in ("found", "found by name"):
            print(f"  {v['message']}")
    return 0


def parse_mark(text: str) -> tuple[float, float]:
    """``VIDEO_T=SESSION_T`` in seconds."""
    try:
        video_t, session_t = text.split("=")
        return float(video_t), float(session_t)
    except ValueError:
        raise HarlabError(
            f"--mark {text!r}: write VIDEO_T=SESSION_T in seconds, e.g. --mark 3.2=15.75"
        ) from None


def parse_roi(text: str) -> tuple[int, int, int, int]:
    """``X,Y,W,H`` in whole pixels."""
    try:
        return check_roi([int(v) for v in text.split(",")])
    except (ValueError, VideoSyncError) as exc:
        why = f" ({exc})" if isinstance(exc, VideoSyncError) else ""
        raise HarlabError(
            f"--roi {text!r}: write X,Y,W,H in whole pixels, e.g. --roi 100,80,60,60{why}"
        ) from None


def run_sync(args: argparse.Namespace) -> int:
    if args.drift is not None and args.offset is None:
        raise HarlabError("--drift goes with --offset")
    if not args.auto and (args.roi or args.accept_low_confidence or args.max_offset is not None):
        raise HarlabError("--roi, --max-offset and --accept-low-confidence go with --auto")
    roi = parse_roi(args.roi) if args.roi else None
    marks = [parse_mark(m) for m in args.mark or ()]
    outcome: dict[str, Any] = {}

    def make(session: Session, path: Path) -> EditCommand | None:
        link = _pick(session, args.video)
        sync: VideoSync | None
        if args.offset is not None:
            sync = VideoSync(args.offset, args.drift or 0.0)
        elif marks:
            sync = fit_sync(marks)
        else:
            sync = _auto(session, path, link, roi or link.roi, args, outcome)
            if sync is None:
                return None
        outcome["sync"] = sync
        print(f"{link.name}: was {_sync_text(link.sync)}; now {_sync_text(sync)}")
        if args.dry_run:
            return None
        return SetVideoSync(link.name, sync, tuple(args.move_labels))

    cmd = _apply(args.session, make)
    if cmd is not None:
        moved = f", moving {', '.join(args.move_labels)}" if args.move_labels else ""
        print(f"saved the sync{moved}")
    elif outcome.get("low"):
        print(
            "not applied: the estimate is low-confidence; check it (e.g. mark a clap with --mark) "
            "or pass --accept-low-confidence",
            file=sys.stderr,
        )
        return LOW_CONFIDENCE_EXIT
    return 0


def _auto(
    session: Session,
    path: Path,
    link: VideoLink,
    roi: tuple[int, int, int, int] | None,
    args: Any,
    outcome: dict[str, Any],
) -> VideoSync | None:
    from harlab.video.auto_sync import estimate_sync
    from harlab.video.video_reference import resolve_video

    loc = resolve_video(link.reference, path)
    if not loc.usable or loc.path is None:
        raise HarlabError(loc.message)
    if not args.quiet:
        print(
            f"estimating the sync of {link.name} from {loc.path} (decodes the whole video)...",
            file=sys.stderr,
        )
    estimates = estimate_sync(loc.path, session, roi=roi, max_offset_s=args.max_offset)
    for e in estimates:
        print(e.message)
    best = estimates[0]
    if not best.confident and not args.accept_low_confidence:
        outcome["low"] = True
        return None
    return best.sync
