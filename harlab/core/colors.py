"""How different two class colours look, and the palette new classes draw from.

Label bands are thin and seen at a glance, so two classes must not share a colour family.
Distances are CIEDE2000 (CIE 2001) in CIELAB from sRGB (D65) with the lightness weight
``k_L = 2``, the CIE's parametric factor for judging *categories* (as in textiles): a light and
a dark shade of one hue (Tableau 20's blue and light blue, grey and light grey) then count as
close, which they are when telling classes apart. :data:`MIN_CLASS_DISTANCE` is the bar every
shipped schema clears (a test checks it); :func:`distinct_color` picks a new class's colour.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

#: Lightness weight of the class distance (see the module docstring).
K_L = 2.0
#: Minimum :func:`color_distance` between two classes of a shipped schema. Tableau 20 has pairs
#: at 11-13 (its light variants), and two greys at 10.9 are hard to tell apart on a timeline.
MIN_CLASS_DISTANCE = 15.0

#: 18 class colours, every pair at least 15.8 apart (:func:`color_distance`; and over 60 apart
#: in plain RGB), each readable on a light and a dark background (mean RGB between 40 and 225): Tableau 10 without its grey (grey
#: reads as "unlabelled") and its pink (13.9 from its purple), then colours chosen greedily to be
#: as far as possible from all before them, so any prefix is as distinct as it can be.
CLASS_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#bcbd22",
    "#17becf",
    "#ff5599",
    "#555522",
    "#006655",
    "#bb9966",
    "#1133dd",
    "#55ccaa",
    "#ff33ee",
    "#aabbff",
    "#991177",
    "#ffaaaa",
)


def hex_rgb(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as integers 0-255."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


@functools.lru_cache(maxsize=4096)
def to_lab(color: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB ``"#rrggbb"`` colour."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v / 255) for v in hex_rgb(color))
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e2000(lab1: Sequence[float], lab2: Sequence[float], k_l: float = 1.0) -> float:
    """CIEDE2000 colour difference of two CIELAB colours (Sharma, Wu and Dalal 2005)."""
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dlp, dcp = l2 - l1, c2p - c1p
    dhp = 0.0
    if c1p * c2p:
        dhp = h2p - h1p
        dhp = dhp - 360 if dhp > 180 else dhp + 360 if dhp < -180 else dhp
    d_hp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2))
    l_bar, c_bar_p = (l1 + l2) / 2, (c1p + c2p) / 2
    if not c1p * c2p:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_bar - 30))
        + 0.24 * math.cos(math.radians(2 * h_bar))
        + 0.32 * math.cos(math.radians(3 * h_bar + 6))
        - 0.20 * math.cos(math.radians(4 * h_bar - 63))
    )
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(c_bar_p**7 / (c_bar_p**7 + 25**7))
    s_l = k_l * (1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2))
    s_c = 1 + 0.045 * c_bar_p
    s_h = 1 + 0.015 * c_bar_p * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt(
        (dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (d_hp / s_h) ** 2 + r_t * (dcp / s_c) * (d_hp / s_h)
    )


def color_distance(a: str, b: str) -> float:
    """How far apart two class colours look (CIEDE2000 with ``k_L = 2``; see the module)."""
    return delta_e2000(to_lab(a), to_lab(b), K_L)


def closest_pair(colors: Iterable[str]) -> tuple[float, str, str] | None:
    """(distance, a, b) of the two colours that look most alike, or None for fewer than two."""
    cs = list(colors)
    pairs = [(color_distance(a, b), a, b) for i, a in enumerate(cs) for b in cs[i + 1 :]]
    return min(pairs) if pairs else None


def distinct_color(used: Sequence[str], palette: Sequence[str] = CLASS_COLORS) -> str:
    """The palette colour that looks least like every colour in ``used`` (unused palette colours
    first): what a class created without a colour gets, so it never joins another's family.
    Entries of ``used`` that are not ``#rrggbb`` (a half-typed cell) are ignored."""
    if len(used) >= len(palette):  # more classes than colours: repeat the palette in order
        return palette[len(used) % len(palette)]
    taken = {u.lower() for u in used if _HEX.match(u)}
    pool = [c for c in palette if c.lower() not in taken]
    if not pool:
        return palette[len(used) % len(palette)]
    if not taken:
        return pool[0]
    return max(pool, key=lambda c: min(color_distance(c, u) for u in taken))
