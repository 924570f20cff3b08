"""Unit-quaternion helpers for the simulator, in structure-of-arrays form.

A quaternion is a tuple ``(w, x, y, z)`` and a vector a tuple ``(x, y, z)``
whose items are 1-D arrays (one value per sample) or scalars; working on
contiguous component arrays is several times faster in numpy than on (N, 4)
arrays, which is what lets a 24-hour session generate in seconds.

A quaternion ``q`` maps device-frame vectors to the world frame
(``v_world = rotate(q, v_device)``); ``a ⊗ b`` applies ``b`` in the frame of
``a``, so body-fixed rotations (arm swing, wrist wobble) multiply on the right.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Quat = tuple[Any, Any, Any, Any]
Vec3 = tuple[Any, Any, Any]


def qmul(a: Quat, b: Quat) -> Quat:
    """Hamilton product ``a ⊗ b``."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def qconj(q: Quat) -> Quat:
    return (q[0], -q[1], -q[2], -q[3])


def cross(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def rotate(q: Quat, v: Vec3) -> Vec3:
    """Rotate ``v`` by unit quaternion ``q`` (v' = q v q*)."""
    w, u = q[0], q[1:]
    t = cross(u, v)
    t = (2.0 * t[0], 2.0 * t[1], 2.0 * t[2])
    c = cross(u, t)
    return (v[0] + w * t[0] + c[0], v[1] + w * t[1] + c[1], v[2] + w * t[2] + c[2])


def rotate_inverse(q: Quat, v: Vec3) -> Vec3:
    """Rotate ``v`` by the inverse of ``q`` (world to device)."""
    return rotate(qconj(q), v)


def from_rotvec(r: Vec3) -> Quat:
    """Quaternion of the rotation vector ``r`` (axis times angle, radians)."""
    x, y, z = r
    angle = np.sqrt(x * x + y * y + z * z)
    half = 0.5 * angle
    # sin(half) / angle; where the angle is exactly 0 so is r, and k does not matter
    k = np.sin(half) / np.maximum(angle, 1e-300)
    return (np.cos(half), x * k, y * k, z * k)


def from_axis_angle(axis: Vec3, angle: Any) -> Quat:
    """Quaternion of a rotation by ``angle`` about the unit vector ``axis``."""
    half = 0.5 * angle
    s = np.sin(half)
    return (np.cos(half), axis[0] * s, axis[1] * s, axis[2] * s)


def to_rotvec(q: Quat) -> np.ndarray:
    """Rotation vector (3,) of one quaternion, the short way round (angle in [0, pi])."""
    w, x, y, z = (float(c) for c in q)
    if w < 0:
        w, x, y, z = -w, -x, -y, -z
    s = float(np.sqrt(x * x + y * y + z * z))
    if s < 1e-12:
        return np.array([2.0 * x, 2.0 * y, 2.0 * z])
    angle = 2.0 * float(np.arctan2(s, w))
    return np.array([x, y, z]) * (angle / s)


def align(v_from: np.ndarray, v_to: np.ndarray) -> Quat:
    """The smallest rotation that turns the direction ``v_from`` into ``v_to`` (one quaternion)."""
    a = np.asarray(v_from, float) / np.linalg.norm(v_from)
    b = np.asarray(v_to, float) / np.linalg.norm(v_to)
    c = float(np.dot(a, b))
    if c < -1.0 + 1e-12:  # opposite: half a turn about any perpendicular axis
        perp = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(a, [0.0, 1.0, 0.0])
        perp /= np.linalg.norm(perp)
        return (0.0, float(perp[0]), float(perp[1]), float(perp[2]))
    q = np.concatenate([[1.0 + c], np.cross(a, b)])
    q /= np.linalg.norm(q)
    return (float(q[0]), float(q[1]), float(q[2]), float(q[3]))
