"""harlab.exporters."""
