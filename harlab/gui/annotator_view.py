"""Who made a label track, as the workbench shows it, and the label-blind mode.

A track's annotator and its created/modified times live on the track itself
(:class:`harlab.core.labels.LabelTrack`); this module only words them for a row title, a
tooltip and the track dialogs, and decides which tracks label-blind mode hides.

Label-blind mode is for one annotator labelling without being steered: while it is on the
timeline draws none of the tracks another annotator made, nor the model's predictions. It
hides, it never removes: the session is untouched, and leaving the mode shows everything
again. A track nobody claimed (no annotator recorded, an older file) stays visible: it is
nobody else's.
"""

from __future__ import annotations

from datetime import datetime

from harlab.core.labels import LabelTrack
from harlab.core.session import Session
from harlab.gui import settings

ANNOTATOR_KEY = "annotator"  #: settings key of the person labelling at this computer
BLIND_KEY = "label_blind"  #: settings key: label-blind mode on at start


def current_annotator() -> str:
    """The person labelling here (File > Annotator…, stored in the settings); "" when unset."""
    return settings.get_str(ANNOTATOR_KEY, "").strip()


def set_current_annotator(name: str) -> None:
    settings.set_value(ANNOTATOR_KEY, name.strip())


def track_annotator(track: LabelTrack) -> str:
    """Who made ``track`` ("" when nobody is recorded)."""
    return (track.annotator or "").strip()


def _when(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M UTC")


def row_title(track: LabelTrack) -> str:
    """The short title of a track's row: its name and, when known and not the name itself,
    who made it ("posture · alice"; a track named after its annotator is just "alice")."""
    who = track_annotator(track)
    return f"{track.name} · {who}" if who and who != track.name else track.name


def describe_track(track: LabelTrack) -> str:
    """Several lines for a tooltip or a dialog: name, annotator, created and modified times,
    segment count and overlap policy."""
    lines = [track.name]
    who = track_annotator(track)
    lines.append(f"by {who}" if who else "annotator not recorded")
    if track.created is not None:
        lines.append(f"created {_when(track.created)}")
    if track.modified is not None:
        lines.append(f"modified {_when(track.modified)}")
    lines.append(f"{len(track):,} segments, {track.policy}")
    return "\n".join(lines)


def blind_hidden(session: Session, me: str) -> set[str]:
    """The label tracks label-blind mode hides from ``me``: those another annotator made.
    With nobody set as the current annotator every claimed track is someone else's."""
    return {
        name
        for name, track in session.label_tracks.items()
        if track_annotator(track) and track_annotator(track) != me.strip()
    }
