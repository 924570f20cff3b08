"""harlab: record, import, label and learn from wearable motion data."""

__version__ = "0.1.0"
