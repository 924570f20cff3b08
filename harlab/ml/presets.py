"""Names of the model presets and augmentations, importable without torch (the command line
lists them in --help)."""

PRESETS = ("ensemble", "cnn1d", "seed2d", "features")

#: training-time augmentation of the networks (harlab.ml.training.augment_batch)
AUGMENT_MODES = ("none", "jitter", "flip", "warp")
