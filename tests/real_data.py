"""Where the real data sets are: ``../shared/data`` beside the checkout, or where
``HARLAB_SHARED_DATA`` points (a git worktree elsewhere, CI). One definition for every test
that reads them; each skips when its files are absent."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get("HARLAB_SHARED_DATA") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
)
