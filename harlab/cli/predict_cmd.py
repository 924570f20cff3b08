"""``harlab predict MODEL SESSION...``: add a prediction track to each session file.

Every window of each session is classified in batches; probabilities are kept per
window and smoothed into segments (sticky HMM, optional minimum duration). The track
is saved into the session file, replacing an earlier one of the same name.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harlab.cli.ml_options import note, session_file
from harlab.core.classnames import class_key, describe_unmatched, find_class
from harlab.core.errors import HarlabError
from harlab.core.files import input_file
from harlab.core.metadata import sha256_of
from harlab.core.wording import counted

if TYPE_CHECKING:
    from harlab.core.session import Session


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "predict",
        help="apply a model to session files and store its predictions in them",
        description="Classify every window of each session and save a prediction track into the file.",
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="model file written by 'harlab train', or a registered model: models:/NAME@ALIAS or models:/NAME/VERSION",
    )
    p.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI for models:/ (default: the local store)"
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION", help="session files (.h5), changed in place")
    p.add_argument("--name", default=None, help="prediction track name (default: TRACK-predicted)")
    p.add_argument(
        "--stride", type=float, default=None, metavar="S", help="window stride (default: the model's)"
    )
    p.add_argument(
        "--p-switch",
        type=float,
        default=0.02,
        help="HMM probability of switching class between windows (0.02)",
    )
    p.add_argument("--no-hmm", action="store_true", help="no HMM smoothing (argmax per window)")
    p.add_argument(
        "--min-duration",
        type=float,
        default=0.0,
        metavar="S",
        help="merge predicted segments shorter than S seconds into a neighbour",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harlab.storage import open_session

    for path in args.sessions:  # a missing, special, broken or hostile file is refused before the model loads
        if not Path(path).exists():
            raise HarlabError(f"{path}: no such session file")
        open_session(session_file(input_file(path, "a session file"))).close()
    from harlab.ml.modelfile import ActivityModel
    from harlab.ml.predict import SmoothingConfig, predict_session

    params: dict[str, str] = {}
    if args.model.startswith("models:/"):
        from harlab.mlops.registry import load_model_spec, prediction_provenance

        model, ref = load_model_spec(args.model, args.tracking_uri)
        assert ref is not None
        version, params = prediction_provenance(ref, model)
    else:
        model = ActivityModel.load(args.model)
        version = f"{model.info.preset} {model.info.created_utc} sha256:{sha256_of(args.model)[:12]}"
    sm = SmoothingConfig(None if args.no_hmm else args.p_switch, args.min_duration)
    warned: set[str] = set()
    for path in args.sessions:
        note(f"predicting {path}")
        t0 = time.perf_counter()
        with open_session(path, writable=True) as sf:
            sf.require_sound()  # before the work: a file that fails validate is not written into
            unknown_label_classes(path, sf.session, model.info.track, model.classes, warned)
            track = predict_session(
                model,
                sf.session,
                args.name,
                args.stride,
                sm,
                version,
                progress=lambda d, n: note(f"  {d}/{n} windows"),
            )
            track.params.update(params)  # the exact registered version it came from
            sf.save()
        dt = time.perf_counter() - t0
        counts = Counter(s.label for s in track.segments)
        note(
            f"  {counted(len(track), 'window')}, {counted(len(track.segments), 'segment')} in {dt:.1f} s "
            f"-> track {track.name!r}"
        )
        if track.params.get("orientation", "as worn") != "as worn":
            note(
                f"  the device was worn differently from the training recordings ({track.params['orientation']}); "
                "mapped into their orientation"
            )
        print(f"{path}: {track.name}: " + ", ".join(f"{c} {n}" for c, n in counts.most_common()))
    return 0


def unknown_label_classes(
    path: str, session: Session, track: str, classes: Sequence[str], warned: set[str]
) -> None:
    """Warn once about classes the session's labels have that the model does not know.

    Their stretches are still predicted, as one of the model's classes, so comparing the
    prediction with the labels would look like the model's mistakes; a WISDM or UCI HAPT
    session under the demo model is the usual case. Names are matched as everywhere
    (:mod:`harlab.core.classnames`: case and separators do not count); ``warned`` holds the
    class keys already named, so several sessions name each class once.
    """
    labels = session.label_tracks.get(track)
    if labels is None:
        return
    unknown: list[str] = []
    for seg in labels:
        key = class_key(seg.label)
        if key not in warned and find_class(seg.label, classes) is None:
            warned.add(key)
            unknown.append(seg.label)
    if unknown:
        note(
            f"warning: {path}: its {track!r} labels have classes the model does not know: "
            f"{describe_unmatched(unknown, classes)}; the model predicts only {', '.join(classes)}, "
            "so its prediction cannot match those labels"
        )
