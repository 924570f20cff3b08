"""harlab.storage."""
