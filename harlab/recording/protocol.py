"""Guided recording protocols: a sequence of activities with durations.

A protocol file is JSON (``{"name": ..., "steps": [{"activity": "walking",
"duration_s": 60, "instruction": "Walk at your normal pace"}]}``), TOML with
``[[steps]]`` tables, or plain text with one ``activity seconds [instruction]``
per line (``#`` starts a comment). The recorder prompts each step and writes the
labels itself, like the seed's watch app (pick an activity, record 60 s).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harlab.core.errors import HarlabError


class ProtocolError(HarlabError):
    pass


@dataclass(frozen=True)
class ProtocolStep:
    activity: str
    duration_s: float
    instruction: str = ""

    def __post_init__(self) -> None:
        if not self.activity.strip():
            raise ProtocolError("a protocol step needs an activity")
        if not self.duration_s > 0:
            raise ProtocolError(f"step {self.activity!r}: duration must be positive, got {self.duration_s}")

    @property
    def prompt(self) -> str:
        return self.instruction or f"Now: {self.activity.replace('_', ' ')}"


@dataclass
class Protocol:
    steps: list[ProtocolStep]
    name: str = "protocol"
    labels_track: str = "activity"
    countdown_s: float = 3.0  #: "get ready" before each step; not labelled
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s + self.countdown_s for s in self.steps)


def _step(d: dict[str, Any], where: str) -> ProtocolStep:
    try:
        return ProtocolStep(str(d["activity"]), float(d["duration_s"]), str(d.get("instruction", "")))
    except KeyError as exc:
        raise ProtocolError(f"{where}: missing {exc.args[0]!r} (expected activity and duration_s)") from exc
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"{where}: {exc}") from exc


def load_protocol(path: str | Path) -> Protocol:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{p}: cannot read protocol: {exc}") from exc
    if p.suffix.lower() in (".json", ".toml"):
        try:
            data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ProtocolError(f"{p}: not valid {p.suffix[1:].upper()}: {exc}") from exc
        steps = data.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ProtocolError(f"{p}: expected a non-empty 'steps' list")
        return Protocol(
            [_step(s, f"{p}, step {i + 1}") for i, s in enumerate(steps)],
            name=str(data.get("name", p.stem)),
            countdown_s=float(data.get("countdown_s", 3.0)),
        )
    steps = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise ProtocolError(f"{p}, line {no}: expected 'activity seconds [instruction]', got {raw!r}")
        try:
            steps.append(ProtocolStep(parts[0], float(parts[1]), parts[2] if len(parts) > 2 else ""))
        except ValueError as exc:
            raise ProtocolError(f"{p}, line {no}: {exc}") from exc
    if not steps:
        raise ProtocolError(f"{p}: the protocol has no steps")
    return Protocol(steps, name=p.stem)


#: Seconds per class of a calibration protocol: enough windows of each activity to adapt a model
#: (the issue's 30–60 s), short enough that a participant does it in a few minutes.
CALIBRATION_SECONDS = (30.0, 60.0)
CALIBRATION_REST_S = 10.0
#: Bouts of each class in a calibration protocol. Calibration judges its fit on the last bout of
#: an activity recorded more than once (:mod:`harlab.ml.calibration`): a second bout, minutes
#: later and after other activities, tells whether the fit carries over to a new bout, which the
#: end of a single bout cannot (on UCI HAPT a fit that the end of its own bout favoured lost 0.10
#: macro-F1 on later bouts; docs/ML.md, "Personal models").
CALIBRATION_BOUTS = 2
MAX_CALIBRATION_BOUTS = 4


def _round_order(names: list[str], k: int) -> list[str]:
    """The classes in the order of round ``k``: rotated by half the list each round, so that with
    three classes or more a round never starts with the activity the previous one ended with
    (two bouts back to back would be one bout with a rest in it)."""
    n = len(names)
    shift = (k * (n // 2)) % n if n >= 3 else 0
    return names[shift:] + names[:shift]


def calibration_protocol(
    classes: list[str],
    model_name: str,
    seconds_per_class: float = 45.0,
    rest_s: float = CALIBRATION_REST_S,
    bouts: int = CALIBRATION_BOUTS,
) -> Protocol:
    """ "Calibration for MODEL": every class of the model, ``seconds_per_class`` seconds in all,
    in ``bouts`` rounds (each class once per round, for its share of the seconds), labelled by the
    recorder, with an unlabelled rest ("get ready") before each step, so the transitions between
    activities never land in a class's windows."""
    names = [c for c in dict.fromkeys(str(c).strip() for c in classes) if c]
    if not names:
        raise ProtocolError(f"{model_name}: the model has no classes to calibrate")
    if not rest_s >= 0:
        raise ProtocolError(f"rest between activities must be zero or more seconds, got {rest_s}")
    if isinstance(bouts, bool) or not isinstance(bouts, int) or not 1 <= bouts <= MAX_CALIBRATION_BOUTS:
        raise ProtocolError(f"bouts of each activity must be 1 to {MAX_CALIBRATION_BOUTS}, got {bouts!r}")
    if not seconds_per_class > 0:
        raise ProtocolError(f"seconds per activity must be positive, got {seconds_per_class}")
    share = float(seconds_per_class) / bouts
    steps = []
    for k in range(bouts):
        for c in _round_order(names, k):
            name = c.replace("_", " ").capitalize()
            again = " again," if k else ""
            steps.append(ProtocolStep(c, share, f"{name}{again} as you usually do"))
    return Protocol(
        steps,
        name=f"Calibration for {model_name}",
        countdown_s=float(rest_s),
        extra={"calibration_model": model_name, "calibration_bouts": str(bouts)},
    )
