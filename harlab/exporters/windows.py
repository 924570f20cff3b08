"""Training-window files: the arrays of a :class:`~harlab.signal.labelled_windows.WindowSet` as
``.npz`` or HDF5, with the JSON manifest that describes them, and reading them back.

The windows themselves are cut by :func:`harlab.signal.labelled_windows.cut_windows`, the same
cutter the models' datasets use.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from harlab import __version__
from harlab.core.errors import HarlabError
from harlab.signal.labelled_windows import WindowSet
from harlab.signal.resampling import GAP_FACTOR

FORMAT_NAME = "harlab-training-windows"
FORMAT_VERSION = 1


def manifest(ws: WindowSet) -> dict[str, Any]:
    """The JSON-ready description written beside (and inside) exported window files."""
    n, t, c = ws.X.shape
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "harlab_version": __version__,
        "n_windows": n,
        "window_s": ws.window_s,
        "stride_s": ws.stride_s,
        "samples_per_window": t,
        "rate_hz": ws.rate_hz,
        "channels": list(ws.channels),
        "units": list(ws.units),
        "label_track": ws.track,
        "label_policy": ws.label_policy,
        "classes": list(ws.classes),
        "class_counts": ws.class_counts(),
        "gap_factor": GAP_FACTOR,
        "resampling": ws.resampling,
        "dropped_windows": dict(ws.dropped),
        "sessions": ws.sessions,
        "arrays": {
            "X": {"shape": [n, t, c], "dtype": "float32", "axes": ["window", "time", "channel"]},
            "y": {"shape": [n], "dtype": "int64", "meaning": "index into classes"},
            "classes": {"shape": [len(ws.classes)], "dtype": "str"},
            "participant": {"shape": [n], "dtype": "str"},
            "session": {"shape": [n], "dtype": "str", "meaning": "session id"},
            "session_index": {"shape": [n], "dtype": "int64", "meaning": "index into sessions"},
            "start_s": {
                "shape": [n],
                "dtype": "float64",
                "meaning": "window start, s from session start",
            },
            "channels": {"shape": [c], "dtype": "str"},
            "units": {"shape": [c], "dtype": "str"},
            **(
                {
                    key: {
                        "shape": [n],
                        "dtype": "float64",
                        "meaning": f"window {edge}, s in video {ws.video!r} (by the session's sync)",
                    }
                    for key, edge in (("video_start_s", "start"), ("video_end_s", "end"))
                }
                if ws.video is not None
                else {}
            ),
        },
        **({"video": ws.video} if ws.video is not None else {}),
    }


# -- files ------------------------------------------------------------------------------------------

_ARRAYS = ("X", "y", "classes", "participant", "session", "session_index", "start_s", "channels", "units")
#: present only when the export was asked for video times
_VIDEO_ARRAYS = ("video_start_s", "video_end_s")


def _arrays(ws: WindowSet) -> dict[str, np.ndarray]:
    video = (
        {
            "video_start_s": ws.video_start_s.astype(np.float64),
            "video_end_s": ws.video_end_s.astype(np.float64),
        }
        if ws.video_start_s is not None and ws.video_end_s is not None
        else {}
    )
    return {
        "X": np.ascontiguousarray(ws.X, dtype=np.float32),
        "y": ws.y.astype(np.int64),
        "classes": np.asarray(ws.classes, dtype=str),
        "participant": np.asarray(ws.participant, dtype=str),
        "session": np.asarray(ws.session, dtype=str),
        "session_index": ws.session_index.astype(np.int64),
        "start_s": ws.start_s.astype(np.float64),
        "channels": np.asarray(ws.channels, dtype=str),
        "units": np.asarray(ws.units, dtype=str),
        **video,
    }


def write_npz(ws: WindowSet, f: BinaryIO | Path, manifest: dict[str, Any]) -> None:
    """NumPy ``.npz`` (uncompressed, no pickled objects: strings are fixed-width unicode)."""
    arrays = _arrays(ws)
    arrays["manifest"] = np.asarray(json.dumps(manifest))
    np.savez(f, **arrays)  # type: ignore[arg-type]


def write_hdf5(ws: WindowSet, path: Path, manifest: dict[str, Any]) -> None:
    """HDF5: one dataset per array (strings UTF-8), X gzip-compressed in window chunks."""
    import h5py

    arrays = _arrays(ws)
    str_dt = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        for key, arr in arrays.items():
            if arr.dtype.kind == "U":
                f.create_dataset(key, data=arr.astype(object), dtype=str_dt)
            elif key == "X" and len(arr):
                f.create_dataset(
                    key,
                    data=arr,
                    chunks=(min(len(arr), 256), *arr.shape[1:]),
                    compression="gzip",
                    compression_opts=4,
                    shuffle=True,
                )
            else:
                f.create_dataset(key, data=arr)
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["manifest"] = json.dumps(manifest)


def load_windows(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a training-window file (``.npz`` or ``.h5``/``.hdf5``) written by harlab.

    Returns the arrays (strings as ``str`` arrays) and the manifest.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in _ARRAYS + _VIDEO_ARRAYS if k in _ARRAYS or k in z}
                manifest = json.loads(str(z["manifest"]))
        else:
            import h5py

            with h5py.File(path, "r") as f:
                arrays = {}
                for k in _ARRAYS + _VIDEO_ARRAYS:
                    if k not in _ARRAYS and k not in f:
                        continue
                    d = f[k]
                    arrays[k] = d.asstr()[()].astype(str) if d.dtype.kind == "O" else d[()]
                manifest = json.loads(f.attrs["manifest"])
    except (OSError, KeyError, ValueError) as exc:
        raise HarlabError(f"{path}: not a harlab training-window file ({exc})") from exc
    if manifest.get("format") != FORMAT_NAME:
        raise HarlabError(f"{path}: manifest format is {manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    return arrays, manifest
