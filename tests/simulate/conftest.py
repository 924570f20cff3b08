"""Shared simulated sessions for the simulator tests (generated once per test run)."""

from __future__ import annotations

import pytest

from harlab.simulate import Participant, simulate_session
from tests.simulate.sim_helpers import PROTOCOL


@pytest.fixture(scope="session")
def neutral() -> Participant:
    """A participant with the table's cadence and amplitudes (no personal scaling)."""
    return Participant("neutral")


@pytest.fixture(scope="session")
def protocol_session(neutral: Participant):
    return simulate_session(PROTOCOL, rate_hz=100.0, seed=11, participant=neutral)
