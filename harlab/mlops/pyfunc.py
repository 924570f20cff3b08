"""The MLflow pyfunc flavour of a harlab model: raw sensor windows in, classes and probabilities out.

The logged MLflow model holds the harlab model file as an artifact (``harlab_model``)
and this class as its code (MLflow's *models from code*: no pickled Python objects,
the same rule as harlab's own model file). Everything between the request and the
network (channel order, window length, resampling, normalisation) is harlab's own
code in :mod:`harlab.mlops.scoring`, so ``mlflow models serve``, ``spark_udf``,
``mlflow.pyfunc.load_model`` and ``harlab serve`` answer the same windows alike.

Importing this module imports MLflow; harlab only does so when it logs or loads a model.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc.model import PythonModel  # mlflow.pyfunc is a lazy module to mypy

from harlab.ml.modelfile import ActivityModel
from harlab.mlops.scoring import ScoringInputError, WindowScorer, windows_from_model_input

ARTIFACT_KEY = "harlab_model"


class HarlabActivityPyfunc(PythonModel):
    """Scores windows N×T×C (or a table of flattened windows, or the seed's N×T×6×1 under ``data``).

    Returns a DataFrame, one row per window: ``class``, ``class_index``, ``confidence`` and
    ``p_<class>`` for every class. ``params={"rate_hz": ...}`` resamples windows sent at
    another rate (through ``mlflow.pyfunc.load_model(...).predict``; the REST server drops
    params a model without a signature does not declare).
    """

    def __init__(self) -> None:
        self.scorer: WindowScorer | None = None

    def load_context(self, context: Any) -> None:
        self.scorer = WindowScorer(ActivityModel.load(context.artifacts[ARTIFACT_KEY]))

    # The hint is one MLflow reads as "no schema to infer": it neither converts nor validates the input
    # (harlab.mlops.scoring does), and it stops MLflow's "add type hints" warning. ndarrays, dicts and
    # lists arrive as well.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if self.scorer is None:
            self.load_context(context)
        assert self.scorer is not None
        try:
            X = windows_from_model_input(self.scorer, model_input, params)
        except ScoringInputError as exc:
            # MLflow's scoring server turns this error code into HTTP 400 with the message
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
        return self.scorer.score(X).frame()
