"""harlab.ml."""
