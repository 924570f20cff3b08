"""Repository-wide test setup: Qt always runs headless (offscreen), never on a real display."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
