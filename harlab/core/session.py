"""The session: one recording of one participant.

A :class:`Session` holds streams, a label schema, label tracks, prediction tracks,
the videos linked to it (:class:`~harlab.core.videos.VideoLink`, never the files) and
metadata. Its ``events`` emitter forwards every change of its parts, so a view
subscribes once (``session.events.connect(callback)``) and hears about all of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from harlab.core.errors import SessionError
from harlab.core.events import Event, EventEmitter
from harlab.core.labels import LabelClass, LabelSchema, LabelTrack, Policy, Segment
from harlab.core.metadata import Metadata
from harlab.core.predictions import PredictionTrack
from harlab.core.quality_tracks import MAX_QUALITY_TRACKS, QualityTrack
from harlab.core.streams import Stream
from harlab.core.videos import VideoLink


class Session:
    def __init__(
        self,
        metadata: Metadata | None = None,
        schema: LabelSchema | None = None,
    ) -> None:
        self.events = EventEmitter()
        self.metadata = metadata or Metadata()
        self.schema = schema or LabelSchema()
        self.schema.events.connect(self._forward)
        self.streams: dict[str, Stream] = {}
        self.label_tracks: dict[str, LabelTrack] = {}
        self.prediction_tracks: dict[str, PredictionTrack] = {}
        self.videos: dict[str, VideoLink] = {}  #: by name; insertion order is display order
        self.quality_tracks: dict[str, QualityTrack] = {}  #: non-wear and the like (core/quality_tracks.py)

    def _forward(self, event: Event) -> None:
        self.events.emit(event.kind, event.source, **event.data)

    # -- streams -----------------------------------------------------------------
    def add_stream(self, stream: Stream) -> Stream:
        if stream.name in self.streams:
            raise SessionError(f"the session already has a stream {stream.name!r}")
        self.streams[stream.name] = stream
        self.events.emit("stream_added", self, name=stream.name)
        return stream

    def remove_stream(self, name: str) -> Stream:
        stream = self.streams.pop(name)
        self.events.emit("stream_removed", self, name=name)
        return stream

    # -- labels ------------------------------------------------------------------
    def add_label_track(self, track: LabelTrack | str, policy: Policy = "exclusive") -> LabelTrack:
        if isinstance(track, str):
            track = LabelTrack(track, policy)
        if track.name in self.label_tracks:
            raise SessionError(f"the session already has a label track {track.name!r}")
        for seg in track:
            self.schema.ensure(seg.label)
        self.label_tracks[track.name] = track
        track.events.connect(self._forward)
        self.events.emit("label_track_added", self, name=track.name)
        return track

    def label_track(self, name: str, policy: Policy = "exclusive") -> LabelTrack:
        """The track called ``name``, created empty if missing."""
        track = self.label_tracks.get(name)  # not `or`: an empty track is falsy (len 0)
        return track if track is not None else self.add_label_track(name, policy)

    def remove_label_track(self, name: str) -> LabelTrack:
        track = self.label_tracks.pop(name)
        track.events.disconnect(self._forward)
        self.events.emit("label_track_removed", self, name=name)
        return track

    def add_segments(self, track: str, segments: Iterable[Segment]) -> list[Segment]:
        """Bulk-add segments to a track (created if needed), adding unknown classes to the schema."""
        segs = list(segments)
        for s in segs:
            self.schema.ensure(s.label)
        return self.label_track(track).add_many(segs)

    # -- predictions -------------------------------------------------------------
    def add_prediction_track(self, track: PredictionTrack, replace: bool = False) -> PredictionTrack:
        if track.name in self.prediction_tracks and not replace:
            raise SessionError(f"the session already has a prediction track {track.name!r}")
        self.prediction_tracks[track.name] = track
        self.events.emit("prediction_track_added", self, name=track.name)
        return track

    def remove_prediction_track(self, name: str) -> PredictionTrack:
        track = self.prediction_tracks.pop(name)
        self.events.emit("prediction_track_removed", self, name=name)
        return track

    # -- quality -----------------------------------------------------------------
    def set_quality_track(self, track: QualityTrack) -> QualityTrack:
        """Add ``track`` or replace the one of its name: a quality track is recomputed, never edited."""
        if not isinstance(track, QualityTrack):
            raise SessionError(f"a quality track must be a QualityTrack, not {type(track).__name__}")
        if track.name not in self.quality_tracks and len(self.quality_tracks) >= MAX_QUALITY_TRACKS:
            raise SessionError(f"a session holds at most {MAX_QUALITY_TRACKS} quality tracks")
        self.quality_tracks[track.name] = track
        self.events.emit("quality_track_changed", self, name=track.name)
        return track

    def remove_quality_track(self, name: str) -> QualityTrack:
        track = self.quality_tracks.pop(name)
        self.events.emit("quality_track_changed", self, name=name)
        return track

    # -- videos ------------------------------------------------------------------
    def add_video(self, link: VideoLink, index: int | None = None) -> VideoLink:
        """Link a video under its unique name, last (or at ``index`` in display order: undoing a detach)."""
        if not isinstance(link, VideoLink):
            raise SessionError(f"a video link must be a VideoLink, not {type(link).__name__}")
        if link.name in self.videos:
            raise SessionError(f"the session already has a video {link.name!r}")
        items = list(self.videos.items())
        at = len(items) if index is None else max(0, min(index, len(items)))
        items.insert(at, (link.name, link))
        self.videos = dict(items)
        self.events.emit("video_added", self, name=link.name)
        return link

    def remove_video(self, name: str) -> VideoLink:
        try:
            link = self.videos.pop(name)
        except KeyError:
            raise SessionError(f"the session has no video {name!r}") from None
        self.events.emit("video_removed", self, name=name)
        return link

    def replace_video(self, link: VideoLink) -> VideoLink:
        """Put a changed link (new sync or region) in place of the one of its name, keeping its position."""
        if link.name not in self.videos:
            raise SessionError(f"the session has no video {link.name!r}")
        self.videos[link.name] = link
        self.events.emit("video_changed", self, name=link.name)
        return link

    # -- whole-session facts -----------------------------------------------------
    def time_bounds(self) -> tuple[float, float]:
        """Earliest and latest time over all streams and segments (0, 0 when empty)."""
        lo, hi = math.inf, -math.inf
        for s in self.streams.values():
            if s.n_samples:
                a, b = s.time_bounds()
                lo, hi = min(lo, a), max(hi, b)
        for t in self.label_tracks.values():
            if len(t):
                starts, ends, _ = t.arrays()
                lo, hi = min(lo, float(starts[0])), max(hi, float(ends.max()))
        if lo == math.inf:
            return (0.0, 0.0)
        return (lo, hi)

    @property
    def duration_s(self) -> float:
        a, b = self.time_bounds()
        return b - a

    def ensure_class(self, name: str) -> LabelClass:
        return self.schema.ensure(name)
