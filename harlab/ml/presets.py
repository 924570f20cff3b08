"""Names of the model presets, importable without torch (the command line lists them in --help)."""

PRESETS = ("ensemble", "cnn1d", "seed2d", "features")
