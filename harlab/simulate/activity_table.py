"""The activity table: one row per activity the simulator can perform.

Everything activity-specific lives here, so adding an activity is adding a row.
The device frame is the watch's (the seed's Fitbit convention): **x** along the
forearm towards the fingers, **y** across the wrist towards the thumb, **z** out
of the watch face. A watch on a hanging left arm therefore reads ax ≈ -9.8 m/s².

Numbers are plausible values for an adult wearing a watch on the left wrist,
checked against the seed's Fitbit recordings (|a| 9.7-9.8 ± 0.1 m/s² at rest,
10.0 ± 2.4 walking, 13.4 ± 9.9 running, 27 ± 12 jumping; |ω| 1.2 rad/s walking,
2.2 running, 6.8 jumping) and common gait literature (walking cadence about
1.9 steps/s, running about 2.8 steps/s). METs follow the Compendium of Physical
Activities and drive the heart rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harlab.core.errors import SessionError
from harlab.core.labels import LabelClass, LabelSchema

Vec = tuple[float, float, float]


class SimulationError(SessionError):
    """The simulator was asked for something it cannot do (unknown activity, bad plan, bad rate)."""


@dataclass(frozen=True)
class ActivityProfile:
    """How one activity moves a wrist-worn sensor.

    Periodic motion is driven by one phase that advances at ``gait_hz`` (steps,
    jumps, pedal strokes or repetitions per second). The body's vertical
    acceleration is a sum of harmonics of that phase; the arm swings about
    ``swing_axis`` (device frame) at ``swing_ratio * gait_hz`` (0.5: one arm
    cycle per stride of two steps), pivoting at the shoulder ``arm`` metres
    away, which adds tangential and centripetal acceleration.
    """

    name: str
    description: str
    color: str
    hotkey: str | None
    met: float  #: metabolic equivalent (1 = lying quietly); sets the heart-rate target
    up: Vec  #: direction the accelerometer reads gravity in (device frame) when still
    gait_hz: float = 0.0  #: step / repetition frequency; 0 for postures
    vertical_amp: float = 0.0  #: m/s², amplitude of the vertical body acceleration's fundamental
    harmonics: tuple[float, ...] = (1.0,)  #: relative amplitudes of harmonics 1, 2, ... (cosines: peaky)
    forward_amp: float = 0.0  #: m/s², fore-aft body acceleration at the step frequency
    lateral_amp: float = 0.0  #: m/s², side-to-side sway at the stride frequency
    swing_amp: float = 0.0  #: rad, arm swing amplitude
    swing_offset: float = 0.0  #: rad, mean swing angle (jumping jacks raise the arms)
    swing_ratio: float = 0.5  #: swing cycles per gait cycle
    swing_axis: Vec = (0.0, 0.0, 1.0)  #: device-frame axis the arm swings about
    arm: Vec = (0.6, 0.0, 0.0)  #: pivot-to-wrist vector in the device frame, metres
    wobble: float = 0.02  #: rad, sd of small wrist movements (fidgeting, tremor)
    turn_rate: float = 0.0  #: rad/s, sd of heading changes (turning while walking)
    vibration: float = 0.0  #: m/s², sd of broadband shaking (road, handlebar)
    cadence_jitter: float = 0.03  #: relative sd of slow cadence changes
    worn: bool = True  #: False: the device is off the wrist (no arm drift, no heart rate)

    @property
    def static(self) -> bool:
        """A posture rather than a periodic activity."""
        return self.gait_hz <= 0.0

    @property
    def up_unit(self) -> np.ndarray:
        v = np.asarray(self.up, dtype=float)
        return v / np.linalg.norm(v)

    @property
    def gyro_amp(self) -> float:
        """Peak angular rate of the arm swing (rad/s), for reference and tests."""
        return self.swing_amp * 2.0 * np.pi * self.gait_hz * self.swing_ratio

    def label_class(self) -> LabelClass:
        return LabelClass(self.name, self.color, self.hotkey, self.description)


# Colours come from the class palette (harlab.core.colors), no two of one colour family;
# hotkeys are mnemonic letters the shortcut table leaves free (S, T and C are split, time
# axis and change class, so sitting is I, standing A, cycling N: what repairing an older
# demo file's keys gives). Tests check both against the table and the colour distance.
_HANGING: Vec = (-0.96, 0.12, 0.25)  # arm at the side, back of the wrist facing out
_BENT: Vec = (0.15, 0.93, 0.30)  # elbow at 90°, forearm forward, thumb up

PROFILES: tuple[ActivityProfile, ...] = (
    ActivityProfile(
        "walking",
        "Walking on level ground",
        "#2ca02c",
        "w",
        met=3.5,
        up=_HANGING,
        gait_hz=1.9,
        vertical_amp=2.3,
        harmonics=(1.0, 0.4, 0.15),
        forward_amp=1.2,
        lateral_amp=0.5,
        swing_amp=0.28,
        swing_axis=(0.0, 0.0, 1.0),
        arm=(0.62, 0.0, 0.0),
        wobble=0.04,
        turn_rate=0.2,
    ),
    ActivityProfile(
        "running",
        "Running or jogging",
        "#d62728",
        "r",
        met=9.8,
        up=_BENT,
        gait_hz=2.8,
        vertical_amp=9.5,
        harmonics=(1.0, 0.5, 0.25, 0.1),
        forward_amp=3.0,
        lateral_amp=1.5,
        swing_amp=0.4,
        swing_axis=(0.0, 0.0, 1.0),
        arm=(0.30, -0.30, 0.0),
        wobble=0.05,
        turn_rate=0.15,
    ),
    ActivityProfile(
        "stairs_up",
        "Walking upstairs",
        "#bcbd22",
        "u",
        met=7.0,
        up=(-0.90, 0.30, 0.30),
        gait_hz=1.5,
        vertical_amp=2.0,
        harmonics=(1.0, 0.5, 0.25),
        forward_amp=0.8,
        lateral_amp=0.6,
        swing_amp=0.2,
        swing_axis=(0.0, 0.0, 1.0),
        arm=(0.6, 0.0, 0.0),
        wobble=0.05,
        turn_rate=0.3,
        cadence_jitter=0.05,
    ),
    ActivityProfile(
        "stairs_down",
        "Walking downstairs",
        "#17becf",
        "d",
        met=3.5,
        up=(-0.93, 0.05, 0.36),
        gait_hz=2.0,
        vertical_amp=3.6,
        harmonics=(1.0, 0.6, 0.35),
        forward_amp=0.9,
        lateral_amp=0.7,
        swing_amp=0.25,
        swing_axis=(0.0, 0.0, 1.0),
        arm=(0.6, 0.0, 0.0),
        wobble=0.05,
        turn_rate=0.3,
        cadence_jitter=0.05,
    ),
    ActivityProfile(
        "sitting",
        "Sitting, forearm resting on the thigh or a desk",
        "#1f77b4",
        "i",
        met=1.3,
        up=(-0.25, 0.10, 0.96),
        wobble=0.025,
    ),
    ActivityProfile(
        "standing",
        "Standing still, arms hanging",
        "#9467bd",
        "a",
        met=1.8,
        up=(-0.97, 0.10, 0.22),
        wobble=0.02,
    ),
    ActivityProfile(
        "lying",
        "Lying on the back, forearm on the bed",
        "#8c564b",
        "l",
        met=1.0,
        up=(0.15, 0.55, -0.82),
        wobble=0.006,
    ),
    ActivityProfile(
        "jumping",
        "Jumping jacks or jumping in place",
        "#ff7f0e",
        "j",
        met=8.0,
        up=(-0.97, 0.10, 0.22),
        gait_hz=2.0,
        vertical_amp=6.0,
        harmonics=(1.0, 0.6, 0.35, 0.2),
        forward_amp=1.0,
        lateral_amp=1.0,
        swing_amp=1.0,
        swing_offset=1.0,
        swing_axis=(0.0, 1.0, 0.0),
        arm=(0.65, 0.0, 0.0),
        wobble=0.06,
    ),
    ActivityProfile(
        "cycling",
        "Cycling, hands on the handlebar",
        "#ff5599",
        "n",
        met=7.5,
        up=(-0.35, 0.05, 0.94),
        gait_hz=1.4,
        vertical_amp=0.6,
        harmonics=(1.0, 0.3),
        forward_amp=0.4,
        lateral_amp=0.6,
        swing_amp=0.03,
        swing_ratio=1.0,
        swing_axis=(1.0, 0.0, 0.0),
        arm=(0.5, 0.0, 0.0),
        wobble=0.03,
        turn_rate=0.08,
        vibration=0.8,
        cadence_jitter=0.04,
    ),
    ActivityProfile(
        "squat",
        "Squats, arms stretched forward (the seed's 'Squad')",
        "#006655",
        "q",
        met=5.0,
        up=(0.10, 0.12, 0.99),
        gait_hz=0.45,
        vertical_amp=1.5,
        harmonics=(1.0, 0.3),
        forward_amp=0.3,
        swing_amp=0.2,
        swing_ratio=1.0,
        swing_axis=(0.0, 1.0, 0.0),
        arm=(0.6, 0.0, 0.0),
        wobble=0.03,
        cadence_jitter=0.06,
    ),
    ActivityProfile(
        "situp",
        "Sit-ups, hands on the chest (the seed's 'Situp')",
        "#ff33ee",
        "p",
        met=3.8,
        up=(0.20, -0.25, 0.95),
        gait_hz=0.4,
        vertical_amp=0.5,
        harmonics=(1.0, 0.3),
        swing_amp=0.55,
        swing_offset=0.6,
        swing_ratio=1.0,
        swing_axis=(0.0, 1.0, 0.0),
        arm=(0.45, 0.0, 0.2),
        wobble=0.04,
        cadence_jitter=0.06,
    ),
    ActivityProfile(
        "transition",
        "Changing posture (sit to stand, lie down, get up, ...)",
        "#bb9966",
        "x",
        met=2.0,
        up=(-0.60, 0.30, 0.74),
        wobble=0.15,
        vibration=0.5,
    ),
)

#: The device off the wrist (on a table, charging, in the shower bag): still, its orientation
#: constant within a stretch (only sensor noise), no heart rate. Not in :data:`PROFILES` or
#: :data:`ACTIVITIES` (nobody performs it, and protocols and models leave it out); week
#: plans use it, and :func:`label_schema` adds its class when asked.
NONWEAR = ActivityProfile(
    "nonwear",
    "Device not worn (off the wrist: on a table, charging)",
    "#7f7f7f",
    None,
    met=1.0,
    up=(0.02, -0.03, 1.0),  # lying face up
    wobble=0.0,
    cadence_jitter=0.0,
    worn=False,
)

_BY_NAME = {p.name: p for p in (*PROFILES, NONWEAR)}

#: Names as other datasets spell them (the seed's Fitbit classes, UCI HAR, WISDM), for importers and plans.
ALIASES: dict[str, str] = {
    "walk": "walking",
    "upstairs": "stairs_up",
    "downstairs": "stairs_down",
    "walking_upstairs": "stairs_up",
    "walking_downstairs": "stairs_down",
    "run": "running",
    "jogging": "running",
    "sit": "sitting",
    "stand": "standing",
    "laying": "lying",
    "lie": "lying",
    "jump": "jumping",
    "bike": "cycling",
    "biking": "cycling",
    "squad": "squat",
    "squats": "squat",
    "sit_up": "situp",
    "situps": "situp",
    "sit-up": "situp",
    "non-wear": "nonwear",
    "non_wear": "nonwear",
    "not_worn": "nonwear",
    "off_wrist": "nonwear",
}

ACTIVITIES: tuple[str, ...] = tuple(p.name for p in PROFILES)
POSTURES: tuple[str, ...] = ("sitting", "standing", "lying")


def canonical_name(name: str) -> str:
    """The table's name for ``name`` (case-insensitive; aliases such as "Laying" or "Upstairs" accepted)."""
    key = name.strip().lower().replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in _BY_NAME:
        raise SimulationError(
            f"unknown activity {name!r}; the simulator knows {', '.join(ACTIVITIES)} and {NONWEAR.name}"
        )
    return key


def get_profile(name: str) -> ActivityProfile:
    """The profile of ``name`` (see :func:`canonical_name`)."""
    return _BY_NAME[canonical_name(name)]


def label_schema(nonwear: bool = False) -> LabelSchema:
    """A label schema with one class per activity, in table order, with colours and hotkeys;
    with ``nonwear`` the class of :data:`NONWEAR` last (for sessions whose plan has it)."""
    return LabelSchema(p.label_class() for p in (*PROFILES, *((NONWEAR,) if nonwear else ())))
