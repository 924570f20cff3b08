"""Repository-wide test setup: Qt runs headless (offscreen); MLflow tracking is off unless a test turns it on."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never write MLflow runs into the user's store; tests/mlops opts back in with a temporary one.
os.environ.setdefault("HARLAB_TRACKING", "off")
