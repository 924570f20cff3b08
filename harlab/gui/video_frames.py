"""Frames of one video file for a Qt view: opened and decoded off the GUI thread, handed over by a signal.

:class:`FrameFeed` opens the file (the frame index is built by demuxing the whole file,
about a second for an hour) in a :class:`~harlab.gui.background_job.BackgroundJob`, then
runs a :class:`~harlab.video.frame_decoder.FrameServer`: ``request(t)`` returns at once,
the worker decodes the newest request only (scrubbing decodes a handful of frames, not
every position passed), converts the pixels to a ``QImage`` on its own thread and emits
:attr:`FrameFeed.frame_ready`, which Qt queues to the GUI thread. The GUI thread never
decodes and never converts pixels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from harlab.gui.background_job import BackgroundJob
from harlab.video.frame_decoder import (
    DecodedFrame,
    FrameDecoder,
    FrameIndex,
    FrameServer,
    open_container,
    video_stream,
)

#: frames are scaled down to at most this width when converted: a dock never shows more pixels
MAX_WIDTH = 1280
#: converted frames the decoder keeps (frame steps back and forth hit the cache)
CACHE_FRAMES = 48


def frame_qimage(frame: DecodedFrame) -> QImage:
    """The frame's RGB pixels as a QImage that owns its memory (safe to hand to another thread)."""
    image = frame.image
    h, w = image.shape[:2]
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888).copy()


class FrameFeed(QObject):
    """One open video file feeding frames to a view (see the module docstring).

    ``opened`` is emitted once the index is built and the worker runs; ``failed(message)``
    when FFmpeg cannot open or decode the file. ``frame_ready(t, frame, image)`` carries the
    requested video time, the :class:`DecodedFrame` (None: no video at ``t``) and its QImage.
    """

    opened = Signal()
    failed = Signal(str)
    frame_ready = Signal(float, object, object)

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.index: FrameIndex | None = None
        self.decoder: FrameDecoder | None = None
        self.server: FrameServer | None = None
        self.source_size = (0, 0)  #: the video's own width and height (regions are in these pixels)
        self._job: BackgroundJob | None = None
        self._closed = False

    @property
    def ready(self) -> bool:
        return self.server is not None

    def open(self) -> None:
        """Build the index and the decoder on a background thread; ``opened`` or ``failed`` follows."""
        path = self.path

        def work(
            _progress: Callable[[object], None], _status: Callable[[str], None], _cancel: threading.Event
        ) -> object:
            container = open_container(path)
            try:
                stream = video_stream(container, path)
                size = (int(stream.codec_context.width), int(stream.codec_context.height))
            finally:
                container.close()
            return size, FrameDecoder(path, max_width=MAX_WIDTH, cache_frames=CACHE_FRAMES)

        job = BackgroundJob(work, self)
        job.finished.connect(self._on_opened)
        job.failed.connect(self.failed)
        job.ended.connect(self._job_ended)
        self._job = job
        job.start()

    def _job_ended(self) -> None:
        self._job = None

    def _on_opened(self, result: object) -> None:
        assert isinstance(result, tuple)
        size, decoder = result
        assert isinstance(decoder, FrameDecoder)
        if self._closed:
            decoder.close()
            return
        self.decoder, self.index, self.source_size = decoder, decoder.index, size
        self.server = FrameServer(decoder, self._deliver, self._on_error).start()
        self.opened.emit()

    def _deliver(self, t: float, frame: DecodedFrame | None) -> None:
        """On the worker thread: convert, then emit (queued to the GUI thread)."""
        image = frame_qimage(frame) if frame is not None else None
        if not self._closed:
            self.frame_ready.emit(t, frame, image)

    def _on_error(self, exc: Exception) -> None:
        if not self._closed:
            self.failed.emit(str(exc))

    def request(self, video_t: float) -> None:
        """Ask for the frame at video time ``video_t`` (returns at once; the newest request wins)."""
        if self.server is not None:
            self.server.request(video_t)

    def close(self) -> None:
        """Stop the worker (joined: no thread outlives the feed) and close the file."""
        self._closed = True
        if self._job is not None:
            self._job.stop()
            self._job = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.decoder is not None:
            self.decoder.close()
            self.decoder = None
