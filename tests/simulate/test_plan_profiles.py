"""The activity table, plans and random plans."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.simulate import (
    ACTIVITIES,
    PROFILES,
    Plan,
    SimulationError,
    canonical_name,
    get_profile,
    label_schema,
    random_plan,
    simulate_session,
)
from harlab.simulate.plan import Step

SEED_CLASSES = [
    "Walking",
    "Upstairs",
    "Downstairs",
    "Running",
    "Standing",
    "Sitting",
    "Jumping",
    "Squad",
    "Laying",
    "Situp",
]


def test_table_covers_the_seed_and_common_har_classes():
    for name in [
        "walking",
        "running",
        "stairs_up",
        "stairs_down",
        "sitting",
        "standing",
        "lying",
        "jumping",
        "cycling",
        "transition",
    ]:
        assert name in ACTIVITIES
    # every Fitbit seed class (with the author's spellings) maps to a profile
    assert [canonical_name(c) for c in SEED_CLASSES] == [
        "walking",
        "stairs_up",
        "stairs_down",
        "running",
        "standing",
        "sitting",
        "jumping",
        "squat",
        "lying",
        "situp",
    ]
    assert canonical_name("WALKING_UPSTAIRS") == "stairs_up"


def test_schema_from_the_table_has_unique_colours_and_hotkeys():
    schema = label_schema()
    assert schema.names == list(ACTIVITIES)
    assert len({c.color for c in schema}) == len(schema)
    keys = [c.hotkey for c in schema]
    assert all(keys) and len(set(keys)) == len(keys)
    assert schema.by_hotkey("w").name == "walking"
    assert all(c.description for c in schema)


def test_profiles_are_physically_sensible():
    for p in PROFILES:
        assert np.isclose(np.linalg.norm(p.up_unit), 1.0)
        assert 1.0 <= p.met <= 12.0
        if p.static:
            assert p.vertical_amp == 0 and p.swing_amp == 0
    assert get_profile("running").gait_hz > get_profile("walking").gait_hz > get_profile("stairs_up").gait_hz
    assert get_profile("running").vertical_amp > get_profile("walking").vertical_amp
    assert get_profile("running").met > get_profile("walking").met > get_profile("sitting").met


def test_unknown_activity_is_a_clear_harlab_error():
    with pytest.raises(HarlabError, match="unknown activity 'moonwalk'.*walking"):
        get_profile("moonwalk")
    with pytest.raises(SimulationError, match="positive"):
        Plan([("walking", 0)])
    with pytest.raises(SimulationError, match="at least one step"):
        simulate_session(Plan([]))


def test_plan_spans_are_cumulative():
    plan = Plan([("sit", 10), ("Walking", 2.5), Step("lying", 7)])
    assert plan.duration_s == 19.5
    assert plan.spans() == [(0.0, 10.0, "sitting"), (10.0, 12.5, "walking"), (12.5, 19.5, "lying")]
    assert plan.activity_at(11.0) == "walking"
    assert Plan.parse(plan.to_json()) == plan


def test_plan_parse_text_with_units_and_errors():
    text = "# warm-up\nstanding 30\nwalking, 1.5 min\nrunning: 2m  # hard\nsitting\t1h\n"
    plan = Plan.parse(text)
    assert plan.to_list() == [["standing", 30.0], ["walking", 90.0], ["running", 120.0], ["sitting", 3600.0]]
    with pytest.raises(SimulationError, match="line 2: cannot read"):
        Plan.parse("walking 10\nwalking ten\n", "p.txt")
    with pytest.raises(SimulationError, match="line 1: unknown activity"):
        Plan.parse("flying 10\n")
    with pytest.raises(SimulationError, match="unknown duration unit"):
        Plan.parse("walking 10 weeks\n")  # days are a unit (UNIT_SECONDS), weeks are not


def test_plan_load_reports_the_file(tmp_path):
    p = tmp_path / "protocol.txt"
    p.write_text("sitting 60\nstanding 30\n")
    assert Plan.load(p).duration_s == 90.0
    with pytest.raises(SimulationError, match="protocol-missing.txt"):
        Plan.load(tmp_path / "protocol-missing.txt")


@pytest.mark.parametrize("duration", [0.5, 60.0, 599.5, 600.0, 3600.0, 7300.0, 86400.0])
def test_random_plan_lasts_exactly_and_is_deterministic(duration):
    a = random_plan(duration, seed=4)
    assert a.duration_s == duration
    assert a == random_plan(duration, seed=4)
    assert all(s.duration_s > 0 for s in a)
    assert all(x.activity != y.activity for x, y in zip(a, a[1:], strict=False))
    assert isinstance(a[1:], Plan) and len(a[1:]) == len(a) - 1
    if duration >= 600:
        assert a != random_plan(duration, seed=5)


def test_short_random_plan_shows_every_activity_and_labels_posture_changes():
    plan = random_plan(20 * 60, seed=0)
    seen = {s.activity for s in plan}
    assert seen == set(ACTIVITIES)
    steps = list(plan)
    for prev, nxt in zip(steps, steps[1:], strict=False):
        if prev.activity in ("sitting", "standing", "lying") and nxt.activity in (
            "sitting",
            "standing",
            "lying",
        ):
            pytest.fail(f"posture change {prev.activity} -> {nxt.activity} without a transition")
    assert all(2.0 <= s.duration_s <= 4.0 for s in steps[:-1] if s.activity == "transition")


def test_day_plan_sleeps_at_night_and_sits_at_work():
    plan = random_plan(24 * 3600, seed=2, start_hour=8.0)
    share: dict[str, float] = {}
    for a, b, act in plan.spans():
        share[act] = share.get(act, 0.0) + (b - a) / 3600
    assert 6.0 < share["lying"] < 10.0
    assert share["sitting"] > 4.0
    assert share.get("running", 0) + share.get("cycling", 0) > 0.2
    # 03:00 local (19 h after an 08:00 start) is night
    assert plan.activity_at(19 * 3600) in ("lying", "transition", "sitting", "standing", "walking")
    assert sum(1 for s in plan if s.activity == "lying") >= 1
