"""Unit constants shared by the decoders."""

import math

G = 9.80665  #: standard gravity, m/s² per g
MG = G / 1000.0  #: m/s² per milli-g
DEG_TO_RAD = math.pi / 180.0
