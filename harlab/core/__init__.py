"""Qt-free session model: streams, labels, predictions, metadata and change events."""

from harlab.core.errors import (
    FileLockedError,
    HarlabError,
    ImportFormatError,
    SessionError,
    SessionFileError,
    UnsupportedVersionError,
)
from harlab.core.events import Event, EventEmitter
from harlab.core.labels import LabelClass, LabelSchema, LabelTrack, Segment
from harlab.core.metadata import DeviceInfo, Metadata, Provenance, SourceFile
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.core.streams import ArrayStreamData, Envelope, Stream, StreamData
from harlab.core.videos import VideoLink, VideoReference, VideoSync

__all__ = [
    "ArrayStreamData",
    "DeviceInfo",
    "Envelope",
    "Event",
    "EventEmitter",
    "FileLockedError",
    "HarlabError",
    "ImportFormatError",
    "LabelClass",
    "LabelSchema",
    "LabelTrack",
    "Metadata",
    "PredictionTrack",
    "Provenance",
    "Segment",
    "Session",
    "SessionError",
    "SessionFileError",
    "SourceFile",
    "Stream",
    "StreamData",
    "UnsupportedVersionError",
    "VideoLink",
    "VideoReference",
    "VideoSync",
]
