"""The shipped demo model applied to a simulated demo session.

The demo session itself comes from the simulator (:func:`harlab.simulate.make_demo_session`);
applying a model is the learning layer's work, so the two meet here, above both.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from harlab.core.errors import HarlabError
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.ml.modelfile import ActivityModel
from harlab.ml.predict import predict_session
from harlab.simulate.batch_session import demo_model_path, make_demo_session

#: The prediction track the demo model writes into the demo session.
DEMO_PREDICTION_TRACK = "demo model"


def add_demo_predictions(session: Session, model_path: str | Path | None = None) -> PredictionTrack | None:
    """Apply the demo model to ``session`` as prediction track :data:`DEMO_PREDICTION_TRACK`.

    Predictions are an extra: when the model cannot be loaded or applied (file missing,
    corrupt, a dependency of its members missing) this warns with the reason and returns
    None, and the session stays as it was. Nothing is downloaded.
    """
    path = Path(model_path) if model_path is not None else demo_model_path()
    try:
        model = ActivityModel.load(path)  # plain arrays + JSON; never executes code from the file
        return predict_session(
            model,
            session,
            name=DEMO_PREDICTION_TRACK,
            model_version=f"{model.info.preset} {model.info.created_utc} ({path.name})",
        )
    except (HarlabError, ImportError, OSError, ValueError) as exc:
        warnings.warn(
            f"the demo model could not be applied, so the demo has no predictions: {exc}",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def make_demo_session_with_predictions(
    duration_min: float = 10.0, seed: int = 0, *, rate_hz: float = 100.0, model_path: str | Path | None = None
) -> Session:
    """:func:`~harlab.simulate.make_demo_session` plus the demo model's predictions beside its
    labels (see :func:`add_demo_predictions`; without a usable model it warns and has none)."""
    session = make_demo_session(duration_min, seed, rate_hz=rate_hz)
    add_demo_predictions(session, model_path)
    return session
