"""Sensor Logger's sensors, once: what each becomes as a harlab stream.

Sensor Logger (Kelvin Choi's phone and watch app) delivers the same sensors two ways: as
an export (a zip or folder with one CSV per sensor, :mod:`harlab.importers.sensor_logger`)
and live, as HTTP pushes of JSON samples (:mod:`harlab.devices.sensor_logger_push`). A
recording of a phone must give the same streams either way, so both read this table:
the stream name, the kind, the channels (Sensor Logger's own field names, which are the
CSV column names and the JSON keys alike) in harlab's order, and their units.

From the app's documentation (tszheichoi/awesome-sensor-logger, UNITS.md and PUSHING.md):
the accelerometer is acceleration **without** gravity (kind ``linear_acceleration``);
TotalAcceleration (Android) includes it and is the stream of kind ``accelerometer`` that
models trained on wearables expect; gyroscope rad/s; magnetometer uT; orientation the
quaternion ``qx qy qz qw`` (scalar last, as the app lists it) and ``roll pitch yaw`` in
rad; heart rate in bpm; the watch's WristMotion in g (m/s^2 when "Standardise Units &
Frames" is on). Exports name a file ``TotalAcceleration.csv``, pushes name a sample
``totalacceleration``: :func:`sensor_key` makes both the table's key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhoneSensor:
    """How one Sensor Logger sensor becomes a stream."""

    stream: str  #: harlab stream name
    kind: str
    channels: tuple[str, ...]  #: Sensor Logger's field names, in channel order
    units: tuple[str, ...]
    optional: tuple[str, ...] = ()  #: fields the app may leave out (a live stream goes without them)
    regular: bool = True  #: sampled at a fixed rate (a long silence is a gap); heart rate is not
    watch: bool = False  #: measured by the watch, not the phone

    def unit(self, field: str) -> str:
        return self.units[self.channels.index(field)]

    @property
    def live_channels(self) -> tuple[str, ...]:
        """The fields every push of this sensor carries: the channels of its live stream."""
        return tuple(c for c in self.channels if c not in self.optional)


def _xyz(stream: str, kind: str, unit: str) -> PhoneSensor:
    return PhoneSensor(stream, kind, ("x", "y", "z"), (unit,) * 3)


_HEART_RATE = PhoneSensor("heart_rate", "heart_rate", ("bpm",), ("bpm",), regular=False)

#: every sensor harlab knows, keyed by :func:`sensor_key` of its file or payload name
SENSORS: dict[str, PhoneSensor] = {
    "accelerometer": _xyz("accelerometer", "linear_acceleration", "m/s^2"),
    "totalacceleration": _xyz("total_acceleration", "accelerometer", "m/s^2"),
    "gravity": _xyz("gravity", "gravity", "m/s^2"),
    "gyroscope": _xyz("gyroscope", "gyroscope", "rad/s"),
    "accelerometeruncalibrated": _xyz("accelerometer_uncalibrated", "accelerometer", ""),
    "gyroscopeuncalibrated": _xyz("gyroscope_uncalibrated", "gyroscope", "rad/s"),
    "magnetometer": _xyz("magnetometer", "magnetometer", "uT"),
    "magnetometeruncalibrated": _xyz("magnetometer_uncalibrated", "magnetometer", "uT"),
    "orientation": PhoneSensor(
        "orientation",
        "orientation",
        ("qx", "qy", "qz", "qw", "roll", "pitch", "yaw"),
        ("", "", "", "", "rad", "rad", "rad"),
    ),
    "heartrate": _HEART_RATE,
    "watchheartrate": PhoneSensor("heart_rate", "heart_rate", ("bpm",), ("bpm",), regular=False, watch=True),
    "barometer": PhoneSensor("barometer", "pressure", ("pressure", "relativeAltitude"), ("mbar", "m")),
    "wristmotion": PhoneSensor(
        "wrist_motion",
        "wrist_motion",
        (
            "accelerationX",
            "accelerationY",
            "accelerationZ",
            "rotationRateX",
            "rotationRateY",
            "rotationRateZ",
            "gravityX",
            "gravityY",
            "gravityZ",
            "quaternionW",
            "quaternionX",
            "quaternionY",
            "quaternionZ",
            "pitch",
            "roll",
            "yaw",
        ),
        ("g",) * 3 + ("rad/s",) * 3 + ("g",) * 3 + ("",) * 4 + ("rad",) * 3,
        optional=("pitch", "roll", "yaw"),
        watch=True,
    ),
    "microphone": PhoneSensor("microphone", "loudness", ("dBFS",), ("dBFS",)),
    "light": PhoneSensor("light", "light", ("lux",), ("lux",)),
    "pedometer": PhoneSensor("pedometer", "steps", ("steps",), ("steps",)),
    "compass": PhoneSensor("compass", "compass", ("magneticBearing",), ("deg",)),
}


def sensor_key(name: str) -> str:
    """The table key of a file stem or payload name: lower case, letters and digits only
    (``TotalAcceleration`` and ``totalacceleration`` are one sensor)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())
