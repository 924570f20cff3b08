"""harlab.gui."""
