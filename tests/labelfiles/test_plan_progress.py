"""plan_import's progress: called every PROGRESS_EVERY segments and at the end, the same plan as
without it, and what it raises stops the planning (the workbench's Stop and stale plans)."""

from __future__ import annotations

import pytest

from harlab.labelfiles import ImportRequest, PlanCancelled, plan_import, read_label_file
from harlab.labelfiles.label_import import PROGRESS_EVERY
from harlab.simulate import synthetic_session


@pytest.fixture
def big(tmp_path):
    n = 2 * PROGRESS_EVERY + 7
    session = synthetic_session(2.0 * n + 10, rate_hz=1.0, streams=("accel",))
    p = tmp_path / "big.txt"
    p.write_text("".join(f"{2 * i}\t{2 * i + 1}\t{'Sitting' if i % 2 else 'jogging'}\n" for i in range(n)))
    return session, read_label_file(p, session), n


def test_progress_reports_and_changes_nothing(big):
    session, f, n = big
    seen: list[tuple[int, int]] = []
    req = ImportRequest(add_unknown=True)
    plan = plan_import(session, f, req, lambda done, total: seen.append((done, total)))
    assert seen == [(PROGRESS_EVERY, n), (2 * PROGRESS_EVERY, n), (n, n)]
    again = plan_import(session, f, req)
    assert [(s.start, s.end, s.label) for s in plan.tracks[0][1]] == [
        (s.start, s.end, s.label) for s in again.tracks[0][1]
    ]
    assert plan.respelled == {"Sitting": "sitting"} and plan.added == ["jogging"]
    assert len({(s.created, s.modified) for s in plan.tracks[0][1]}) == 1  # one import, one time


def test_raising_from_progress_stops_the_plan(big):
    session, f, _ = big
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        raise PlanCancelled()

    with pytest.raises(PlanCancelled, match="cancelled"):
        plan_import(session, f, ImportRequest(add_unknown=True), stop)
    assert calls == [PROGRESS_EVERY]
