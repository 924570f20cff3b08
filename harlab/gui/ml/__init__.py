"""Activity models in the workbench: the Train dialog (Models > Train…).

Import :class:`harlab.gui.ml.train_dialog.TrainDialog` lazily: it pulls in torch
only when a run starts, but the dialog module itself is cheap.
"""
