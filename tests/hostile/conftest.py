"""Fixtures of the hostile-input tests: the model corpus, written once per test session."""

from __future__ import annotations

import pytest

from .model_corpus import build, train_tiny


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A sound ensemble (cnn1d + LightGBM) on the demo session's channels."""
    return train_tiny(tmp_path_factory.mktemp("tiny") / "tiny.harmodel")


@pytest.fixture(scope="session")
def model_corpus(tmp_path_factory, tiny_model):
    return build(tmp_path_factory.mktemp("model-corpus"), tiny_model)
