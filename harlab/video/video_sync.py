"""The mapping between a video's clock and the session's clock (see :mod:`harlab.core.videos`).

The sync is session data, so it lives in the core; it is re-exported here because it is
also what the video tools (:mod:`harlab.video.auto_sync`, the player) work with.
"""

from harlab.core.videos import MAX_DRIFT_PPM, MAX_OFFSET_S, VideoSync, VideoSyncError, fit_sync

__all__ = ["MAX_DRIFT_PPM", "MAX_OFFSET_S", "VideoSync", "VideoSyncError", "fit_sync"]
