"""UCI HAR raw signals (HAPT v2.1): ``RawData/acc_expXX_userYY.txt`` + ``gyro_expXX_userYY.txt``.

Format (``../shared/reference/datasets.md`` section 4.2): three space-separated decimals
per line, no header and no timestamps: row *i* is sample *i* at 50 Hz. Accelerometer in
g (converted here to m/s^2 with 9.80665), gyroscope in rad/s. ``RawData/labels.txt``
rows are ``exp user activity start end`` with **1-based, inclusive** sample indices;
``activity_labels.txt`` (names right-padded with spaces) names the 12 classes.

One session per experiment, participant ``"user YY"``. Sample *i* (0-based) is at
``i / 50`` s; a label row ``start..end`` becomes the segment
``[(start-1)/50, end/50]``, i.e. from its first sample to one period after its last,
so adjacent rows touch without overlapping. Samples no row covers stay unlabelled
(20-60 % of a recording), never class 0. The start is unknown (``start_utc`` None).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from harlab.core.errors import ImportFormatError
from harlab.core.labels import LabelTrack, Segment
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.session import Session
from harlab.core.streams import Stream
from harlab.importers.import_support import (
    check_ascii,
    check_values,
    claim_root,
    distinct_names,
    finite_number,
    first_nonfinite,
    line_of_row,
    provenance,
    read_all,
)
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    ProgressCallback,
    head_bytes,
    register,
    warn,
)
from harlab.labeling.schema_presets import PRESETS

RATE_HZ = 50.0
G = 9.80665
NAME_RE = re.compile(r"^(acc|gyro)_exp(\d+)_user(\d+)\.txt(\.gz)?$")
LINE_RE = re.compile(
    rb"^-?\d+(\.\d+)?([eE][-+]?\d+)? -?\d+(\.\d+)?([eE][-+]?\d+)? -?\d+(\.\d+)?([eE][-+]?\d+)?\r?$"
)
#: activity_labels.txt of HAPT, used when the file is not found near the data
BUILTIN_CLASSES = {
    1: "WALKING",
    2: "WALKING_UPSTAIRS",
    3: "WALKING_DOWNSTAIRS",
    4: "SITTING",
    5: "STANDING",
    6: "LAYING",
    7: "STAND_TO_SIT",
    8: "SIT_TO_STAND",
    9: "SIT_TO_LIE",
    10: "LIE_TO_SIT",
    11: "STAND_TO_LIE",
    12: "LIE_TO_STAND",
}


def split_name(path: Path) -> tuple[str, int, int] | None:
    m = NAME_RE.match(path.name)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def _find(folder: Path, name: str) -> Path | None:
    for cand in (folder / name, folder / (name + ".gz")):
        if cand.is_file():
            return cand
    return None


def _find_up(path: Path, name: str, levels: int = 3) -> Path | None:
    for parent in list(path.parents)[:levels]:
        found = _find(parent, name)
        if found:
            return found
    return None


def parse_xyz(path: Path) -> np.ndarray:
    """(N, 3) float64 from a raw signal file; the first bad line is reported on failure."""
    data = read_all(path)
    if not data or (len(data) < 4096 and not data.strip()):
        raise ImportFormatError(path, "file is empty", expected="lines of 3 space-separated numbers")
    check_ascii(path, data)
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        df = pd.read_csv(
            io.BytesIO(data),
            sep=" ",
            header=None,
            names=["x", "y", "z"],
            dtype=np.float64,
            skip_blank_lines=False,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        _diagnose(path, data, str(exc))
    values = df.to_numpy(dtype=np.float64)
    if len(values) != n_lines:
        _diagnose(path, data, f"parser found {len(values)} rows in {n_lines} lines")
    bad = first_nonfinite(values)
    if bad is not None:
        _diagnose(path, data, "not finite")
    return values


def _diagnose(path: Path, data: bytes, why: str) -> None:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, raw in enumerate(lines, start=1):
        fields = raw.rstrip(b"\r").split(b" ")
        if len(fields) != 3:
            raise ImportFormatError(
                path,
                f"{len(fields)} space-separated fields",
                line=i,
                expected="3 numbers x y z separated by single spaces",
            )
        for f in fields:
            finite_number(path, f.decode("ascii", "replace"), i)
    raise ImportFormatError(
        path, f"cannot parse the file ({why})", offset=0, expected="lines of 3 space-separated numbers"
    )


def read_activity_labels(path: Path) -> dict[int, str]:
    text = read_all(path).decode("latin-1")
    out: dict[int, str] = {}
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        num, _, name = line.strip().partition(" ")
        if not (num.isascii() and num.isdigit()) or not name.strip() or not name.strip().isprintable():
            raise ImportFormatError(
                path, f"cannot read {line.strip()!r}", line=i, expected="'<number> <NAME>'"
            )
        out[int(num)] = name.strip()
    return out


def read_labels(path: Path, exp: int, user: int, n_samples: int, classes: dict[int, str]) -> list[Segment]:
    """This experiment's rows of labels.txt as segments, all checked against the recording."""
    text = read_all(path)
    check_ascii(path, text)
    segs: list[Segment] = []
    prev_end = 0
    prev_line = 0
    for i, raw in enumerate(text.decode("ascii").splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split()
        if len(fields) != 5 or not all(f.isdigit() for f in fields):
            raise ImportFormatError(
                path,
                f"cannot read {raw.strip()!r}",
                line=i,
                expected="5 integers: exp user activity start end",
            )
        e, u, act, start, end = (int(f) for f in fields)
        if e != exp:
            continue
        if u != user:
            raise ImportFormatError(
                path,
                f"experiment {exp} is labelled as user {u}",
                line=i,
                expected=f"user {user} as in the signal file's name",
            )
        if act not in classes:
            raise ImportFormatError(
                path, f"unknown activity {act}", line=i, expected=f"one of {min(classes)}..{max(classes)}"
            )
        if not 1 <= start <= end <= n_samples:
            raise ImportFormatError(
                path,
                f"sample range {start}..{end} is outside 1..{n_samples}",
                line=i,
                expected="1-based inclusive indices within the recording",
            )
        if start <= prev_end:
            raise ImportFormatError(
                path,
                f"rows overlap: {start}..{end} starts before line {prev_line} ends at {prev_end}",
                line=i,
                expected="non-overlapping rows in sample order",
            )
        prev_end, prev_line = end, i
        segs.append(
            Segment(
                (start - 1) / RATE_HZ,
                end / RATE_HZ,
                classes[act],
                source="imported",
                note=f"labels.txt line {i}: activity {act}, samples {start}..{end}",
            )
        )
    return segs


@register
class UciHaptImporter(Importer):
    name = "uci_hapt"
    description = "UCI HAR raw signals (HAPT): RawData/acc_expXX_userYY.txt + gyro + labels.txt"
    patterns = ("acc_exp*_user*.txt", "gyro_exp*_user*.txt")
    accepts_directories = True

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.9 if self.experiment_inputs(path) else 0.0
        first = head_bytes(path, 512).split(b"\n", 1)[0]
        if not LINE_RE.match(first):
            return 0.0
        return 0.9 if self.matches_name(path) else 0.2

    def expand(self, path: Path) -> list[Path]:
        """The dataset folder below ``path`` as one input (one session per experiment), so the
        gyro files, labels.txt and README are not imported again as inputs of their own."""
        files = self.experiment_inputs(path)
        return [claim_root(path, files, "activity_labels.txt")] if files else []

    def dataset_inputs(self, folder: Path) -> tuple[list[Path], list[Path]]:
        return self.experiment_inputs(folder), self.expand(folder)

    def main_files(self, path: Path) -> list[Path] | None:
        """A gyro file is read with its acc file when that is beside it; labels.txt with every
        recording beside it (so it is never an input of its own; without recordings beside it,
        a file of that name is no HAPT file)."""
        if path.name == "labels.txt":
            accs = sorted(p for p in path.parent.glob("acc_exp*_user*.txt*") if split_name(p))
            return accs or None
        parts = split_name(path)
        if parts is None or parts[0] != "gyro":
            return None
        acc = _find(path.parent, f"acc_exp{parts[1]:02d}_user{parts[2]:02d}.txt")
        return [acc] if acc is not None else None

    def experiment_inputs(self, path: Path) -> list[Path]:
        """One file per experiment below ``path``: its acc file (or the gyro file when acc is missing)."""
        chosen: dict[tuple[int, int], Path] = {}
        for p in sorted(path.rglob("*")):
            parts = split_name(p) if p.is_file() else None
            if parts is None:
                continue
            kind, exp, user = parts
            if (exp, user) not in chosen or kind == "acc":
                chosen[(exp, user)] = p
        return [chosen[k] for k in sorted(chosen)]

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        if path.is_dir():
            inputs = self.experiment_inputs(path)
            if not inputs:
                raise ImportFormatError(
                    path, "no HAPT signal files in this folder", expected="RawData/acc_expXX_userYY.txt"
                )
            sessions: list[Session] = []
            for i, p in enumerate(inputs):
                if progress:
                    progress(i / len(inputs), f"reading {p.name}")
                sessions += self.read(p, options)
            if progress:
                progress(1.0, "done")
            return sessions
        parts = split_name(path)
        if parts is None:
            raise ImportFormatError(
                path,
                "cannot tell the experiment and user from the name",
                expected="acc_expXX_userYY.txt or gyro_expXX_userYY.txt",
            )
        kind, exp, user = parts
        folder = path.parent
        acc = path if kind == "acc" else _find(folder, f"acc_exp{exp:02d}_user{user:02d}.txt")
        gyro = path if kind == "gyro" else _find(folder, f"gyro_exp{exp:02d}_user{user:02d}.txt")
        labels_path = _find(folder, "labels.txt")
        names_path = _find_up(path, "activity_labels.txt")
        classes = dict(BUILTIN_CLASSES)
        if names_path is not None:
            classes.update(read_activity_labels(names_path))
            distinct_names(names_path, classes, "activity")

        signals: dict[str, np.ndarray] = {}
        for k, (which, found) in enumerate((("acc", acc), ("gyro", gyro))):
            if found is None:
                continue
            if progress:
                progress(k / 3, f"reading {found.name}")
            signals[which] = parse_xyz(found)
        if acc is not None and gyro is not None and len(signals["acc"]) != len(signals["gyro"]):
            raise ImportFormatError(
                gyro,
                f"{len(signals['gyro'])} rows but the accelerometer file has {len(signals['acc'])}",
                line=min(len(signals["acc"]), len(signals["gyro"])) + 1,
                expected="as many rows as the acc file of the same experiment",
            )
        n = len(next(iter(signals.values())))
        segs = read_labels(labels_path, exp, user, n, classes) if labels_path else []

        participant = f"user {user:02d}"  # the source's subject; --participant never renames it
        meta = Metadata(
            participant_id=participant,
            devices=[DeviceInfo(name="phone", model="Samsung Galaxy S II", placement="waist")],
            timezone=options.timezone or "UTC",
            start_utc=None,
            notes=f"UCI HAPT experiment {exp}, user {user}; 50 Hz from an unknown start.",
            extra={
                "dataset": "UCI HAPT v2.1",
                "experiment": str(exp),
                "user": str(user),
                "labels": "labels.txt" if labels_path else "none found (session unlabelled)",
                "import_part": f"exp{exp:02d}_user{user:02d}",
            },
        )
        schema = PRESETS["uci-har"].schema({num - 1: name for num, name in classes.items()})
        session = Session(meta, schema)
        t = np.arange(n, dtype=np.float64) / RATE_HZ
        locate = line_of_row(1)  # no header: row i is line i + 1
        if acc is not None:  # then its samples were read
            acc_checked = check_values(
                acc,
                signals["acc"],
                stream="accelerometer",
                kind="accelerometer",
                units="g",
                locate=locate,
            )
            acc_checked.values *= np.float32(G)  # within ±50 g once checked: no overflow
            session.add_stream(
                Stream.from_arrays(
                    "accelerometer",
                    t,
                    acc_checked.values,
                    ["x", "y", "z"],
                    "m/s^2",
                    rate_hz=RATE_HZ,
                    flags=acc_checked.flags(),
                    kind="accelerometer",
                    device="phone",
                    attrs={"source_file": acc.name, "converted": "g * 9.80665"},
                )
            )
            if acc_checked.note:
                warn(session, acc_checked.note)
        if gyro is not None:
            gyro_checked = check_values(
                gyro,
                signals["gyro"],
                stream="gyroscope",
                kind="gyroscope",
                units="rad/s",
                locate=locate,
            )
            session.add_stream(
                Stream.from_arrays(
                    "gyroscope",
                    t,
                    gyro_checked.values,
                    ["x", "y", "z"],
                    "rad/s",
                    rate_hz=RATE_HZ,
                    flags=gyro_checked.flags(),
                    kind="gyroscope",
                    device="phone",
                    attrs={"source_file": gyro.name},
                )
            )
            if gyro_checked.note:
                warn(session, gyro_checked.note)
        track = LabelTrack("activity", "exclusive", description="HAPT labels.txt")
        track.add_many(segs)
        session.add_label_track(track)
        sources = [p for p in (acc, gyro, labels_path, names_path) if p is not None]
        meta.provenance = provenance(self.name, sources)
        if progress:
            progress(1.0, "done")
        return [session]


__all__ = ["UciHaptImporter", "parse_xyz", "read_labels"]
