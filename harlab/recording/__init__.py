"""Live recording: sources into the crash-safe writer, with live labels and guided protocols (Qt-free)."""

from harlab.recording.protocol import Protocol, ProtocolStep, load_protocol
from harlab.recording.recorder import Recorder, RecorderStatus

__all__ = ["Protocol", "ProtocolStep", "Recorder", "RecorderStatus", "load_protocol"]
