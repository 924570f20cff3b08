"""Signal processing below exporters and models: cutting windows and resampling onto a grid.

Both the training-window export and the models' datasets cut the same windows from the
same resampled grid; this package is the one place that does it, so a model sees at
prediction time exactly what it was trained on. Plain numpy (scipy for the anti-alias
filter); it imports nothing from :mod:`harlab.exporters` or :mod:`harlab.ml`.
"""
