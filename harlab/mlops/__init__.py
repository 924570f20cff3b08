"""MLOps on MLflow: tracked runs, a model registry, a scoring service and ONNX export.

Nothing in this package imports MLflow or ONNX at import time: ``harlab --help`` and
every command that does not track stay fast, and harlab works without the optional
``mlops`` extra (``pip install harlab[mlops]``). Modules that need MLflow import it
inside their functions through :func:`harlab.mlops.paths.require_mlflow`, which
turns a missing package into a :class:`~harlab.core.errors.HarlabError` that says
how to install it. See ``docs/MLOPS.md``.
"""
