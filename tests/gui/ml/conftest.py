"""Small simulated session files for the train dialog: three participants, a few minutes each."""

from __future__ import annotations

from pathlib import Path

import pytest

from harlab.simulate import simulate_session
from harlab.storage import save_session

#: Four clearly different activities in 25 s bouts, twice round: 200 s per session.
PLAN = [("walking", 25), ("sitting", 25), ("running", 25), ("lying", 25)] * 2
RATE = 25.0


def write_sessions(folder: Path, participants: tuple[str, ...] = ("P01", "P02", "P03")) -> list[str]:
    paths = []
    for i, who in enumerate(participants):
        # each participant does the activities in another order, so no split is trivial
        plan = PLAN[i % 4 :] + PLAN[: i % 4]
        s = simulate_session(plan, rate_hz=RATE, seed=10 + i, participant=who, transition_s=1.0)
        paths.append(str(save_session(s, folder / f"{who.lower()}-rec.h5")))
    return paths


@pytest.fixture
def session_files(tmp_path) -> list[str]:
    return write_sessions(tmp_path)


@pytest.fixture
def make_dialog(qtbot):
    """Factory of train dialogs, closed (and any run cancelled and joined) at teardown."""
    from harlab.gui.ml.train_dialog import TrainDialog

    made = []

    def factory(**kw) -> TrainDialog:
        d = TrainDialog(**kw)
        qtbot.addWidget(d)
        d.show()
        qtbot.waitExposed(d)
        made.append(d)
        return d

    yield factory
    for d in made:
        d.close()
        assert not d.training


@pytest.fixture(autouse=True)
def _runs_in_tmp(tmp_path_factory, monkeypatch):
    """The dialog's runs are tracked like the command line's: their records go to a temporary data folder
    (not the test's own tmp_path, whose contents some tests check)."""
    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path_factory.mktemp("harlab-data")))
