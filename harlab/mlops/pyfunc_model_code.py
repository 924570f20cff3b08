"""MLflow *models from code* entry point: MLflow copies this file into every logged harlab model
and runs it when the model is loaded. Never imported by harlab itself."""

from mlflow.models import set_model

from harlab.mlops.pyfunc import HarlabActivityPyfunc

set_model(HarlabActivityPyfunc())
