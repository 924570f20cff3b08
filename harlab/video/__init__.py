"""Video beside the sensors, without Qt: references to video files, frame-accurate decoding, and sync.

* :mod:`~harlab.video.video_reference`: :class:`VideoReference` (what a session stores
  about a video file), :func:`probe_video`, :func:`resolve_video` (find a moved file,
  detect a different one with the same name).
* :mod:`~harlab.video.frame_decoder`: :class:`FrameIndex`, :class:`FrameDecoder` (the
  frame whose presentation time covers a time, or None), :class:`FrameServer` (one
  worker thread, latest request wins).
* :mod:`~harlab.video.video_sync`: :class:`VideoSync` (offset + drift between video and
  session clocks) and :func:`fit_sync` (from marked moments).
* :mod:`~harlab.video.auto_sync`: :func:`estimate_sync` from the video's motion and
  audio against the accelerometer, with a confidence.

PyAV (FFmpeg in its wheels) is imported by the decoding modules only, so a session
with a video reference loads where PyAV is missing.
"""

from harlab.video.video_reference import (
    VideoFileError,
    VideoLocation,
    VideoReference,
    VideoStatus,
    probe_video,
    resolve_video,
)
from harlab.video.video_sync import VideoSync, VideoSyncError, fit_sync

__all__ = [
    "VideoFileError",
    "VideoLocation",
    "VideoReference",
    "VideoStatus",
    "VideoSync",
    "VideoSyncError",
    "fit_sync",
    "probe_video",
    "resolve_video",
]
