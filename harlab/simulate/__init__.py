"""harlab.simulate."""
