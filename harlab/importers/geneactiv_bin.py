"""GENEActiv ``.bin`` files: a wrist accelerometer common in sleep and activity research.

Written from Activinsights' published description of the file (the GENEActiv
instructions manual, "Binary file format"). Despite its name the file is text with CRLF
lines: a header of ``Key:value`` lines in sections (device identity and capabilities,
configuration with the ``Measurement Frequency``, ``Start Time`` and ``Time Zone``
such as ``GMT -04:00``, calibration with ``x gain``, ``x offset``, ... ``Volts`` and
``Lux``, memory status with the ``Number of Pages``), then one page per 300 samples:
nine ``Key:value`` lines (``Sequence Number``, ``Page Time`` as ``YYYY-MM-DD
hh:mm:ss:mmm`` of the device's clock, ``Temperature``, ``Measurement Frequency``, ...)
and one line of 3600 hex digits. Each sample is 12 hex digits (48 bits): x, y, z as
12-bit two's complement, then 10 bits of light, the button and one spare bit. A count
is ``(raw * 100 - offset) / gain`` g. Sample ``i`` of a page is at its page time plus
``i / frequency``; a page time that jumps leaves a gap (``FLAG_GAP_BEFORE``). The
temperature, one value per page, becomes a stream of its own.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.importers.import_support import ReadBudget, provenance
from harlab.importers.importer import (
    ImportOptions,
    ProgressCallback,
    head_text,
    open_binary,
    register,
    warn_metadata,
)
from harlab.importers.sample_chunks import (
    AccelerometerAssembler,
    DeviceImporter,
    PlacedStart,
    SampleChunk,
    StartSession,
    chunk_bytes,
    device_limit,
    file_budget,
    place_start,
)

SAMPLES_PER_PAGE = 300
PAGE_LINES = 10
#: Pages decoded per chunk when reading pages directly: 2000 pages are 600,000 samples and about 7.5 MB of text.
CHUNK_PAGES = 2000
#: Bytes of a page (nine short lines and 3600 hex digits): an import decodes
#: :data:`~harlab.importers.sample_chunks.CHUNK_BYTES` of them per chunk.
PAGE_BYTES = 3750
_CALIBRATION = ("x gain", "x offset", "y gain", "y offset", "z gain", "z offset")
_ZONE = re.compile(r"GMT\s*([+-])(\d{1,2}):(\d{2})")


@dataclass
class GeneActivHeader:
    fields: dict[str, str]
    lines: int  #: header lines, the page after them starts on line ``lines + 1``
    rate_hz: float
    gain: np.ndarray  #: (3,) float32
    offset: np.ndarray  #: (3,) float32
    pages: int
    tz_offset_s: float | None
    range_g: tuple[float, float]


@dataclass
class PageState:
    """What reading the pages carries from one chunk to the next: page count, time origin, temperatures."""

    page: int = 0
    origin: np.datetime64 | None = None  #: time 0: the first page's time
    last_start: float | None = None  #: the previous chunk's last page time, seconds after ``origin``
    temps: list[tuple[float, float]] = field(default_factory=list)


def _num(path: Path, fields: dict[str, tuple[int, str]], key: str, low: float, high: float) -> float:
    line, text = fields.get(key, (0, ""))
    try:
        v = float(text.split()[0]) if text.split() else float("nan")
    except ValueError:
        v = float("nan")
    if not low <= v <= high:
        raise ImportFormatError(
            path,
            f"header {key!r} is {text!r}" if line else f"the header has no {key!r}",
            line=line or None,
            expected=f"a number in {low:g}..{high:g}",
        )
    return v


def read_header(path: Path, f: IO[str]) -> GeneActivHeader:
    """The header lines up to the first page (``Recorded Data``), checked."""
    fields: dict[str, tuple[int, str]] = {}
    n = 0
    for line in f:
        n += 1
        text = line.rstrip("\r\n").replace("\0", "")
        if text == "Recorded Data":
            break
        if n > 200:
            raise ImportFormatError(path, "no 'Recorded Data' page after 200 header lines", line=n)
        key, sep, value = text.partition(":")
        if sep:
            fields[key.strip()] = (n, value.strip())
    else:
        raise ImportFormatError(
            path, "the file ends before its first page", line=n, expected="'Recorded Data'"
        )
    if fields.get("Device Type", (0, ""))[1] != "GENEActiv":
        raise ImportFormatError(
            path, "the header names no GENEActiv device", line=1, expected="'Device Type:GENEActiv'"
        )
    cal = [_num(path, fields, k, -1e6, 1e6) for k in _CALIBRATION]
    gain = np.array(cal[0::2], np.float32)
    if np.any(gain == 0):
        raise ImportFormatError(
            path, "a calibration gain is 0", line=fields["x gain"][0], expected="non-zero gains"
        )
    zone = _ZONE.search(fields.get("Time Zone", (0, ""))[1])
    tz = None
    if zone:
        tz = (-1 if zone[1] == "-" else 1) * (int(zone[2]) * 3600 + int(zone[3]) * 60)
    rng = re.findall(r"-?\d+(?:\.\d+)?", fields.get("Accelerometer Range", (0, "-8 to 8"))[1])
    range_g = (float(rng[0]), float(rng[1])) if len(rng) == 2 else (-8.0, 8.0)
    return GeneActivHeader(
        fields={k: v for k, (_, v) in fields.items()},
        lines=n - 1,
        rate_hz=_num(path, fields, "Measurement Frequency", 0.1, 10_000),
        gain=gain,
        offset=np.array(cal[1::2], np.float32),
        pages=int(_num(path, fields, "Number of Pages", 1, 1e8)),
        tz_offset_s=tz,
        range_g=range_g,
    )


def _page_times(path: Path, texts: list[str], first_line: int) -> np.ndarray:
    """``Page Time`` values (``2019-05-21 16:16:43:500``) as datetime64[ms]."""
    iso = []
    for k, t in enumerate(texts):
        m = re.fullmatch(r"(\d{4}-\d{1,2}-\d{1,2}) (\d{1,2}:\d{2}:\d{2}):(\d{3})", t)
        if m is None:
            raise ImportFormatError(
                path,
                f"page time {t!r}",
                line=first_line + k * PAGE_LINES,
                expected="YYYY-MM-DD hh:mm:ss:mmm",
            )
        y, mo, d = m[1].split("-")
        iso.append(f"{y}-{int(mo):02d}-{int(d):02d}T{m[2]}.{m[3]}")
    try:
        return np.array(iso, dtype="datetime64[ms]")
    except ValueError:
        for k, t in enumerate(iso):
            try:
                np.datetime64(t, "ms")
            except ValueError as exc:
                raise ImportFormatError(
                    path,
                    f"page time {texts[k]!r} is no date: {exc}",
                    line=first_line + k * PAGE_LINES,
                    expected="a real date and time",
                ) from None
        raise


def iter_pages(
    path: Path,
    f: IO[str],
    header: GeneActivHeader,
    state: PageState,
    budget: ReadBudget,
    chunk_pages: int = CHUNK_PAGES,
) -> Iterator[SampleChunk]:
    """The pages after the header (``f`` positioned after the first "Recorded Data" line),
    ``chunk_pages`` at a time."""
    lines = ["Recorded Data"]
    first_line = header.lines + 1  # line of the chunk's first "Recorded Data"
    for raw in f:
        budget.take(path, len(raw), "a GENEActiv .bin")
        lines.append(raw.rstrip("\r\n"))
        if len(lines) == chunk_pages * PAGE_LINES:
            yield _decode(path, lines, first_line, header, state)
            first_line += len(lines)
            lines = []
    while lines and not lines[-1].strip():
        lines.pop()
    if lines:
        yield _decode(path, lines, first_line, header, state)


def _decode(
    path: Path, lines: list[str], first_line: int, header: GeneActivHeader, state: PageState
) -> SampleChunk:
    """The samples of whole pages: page k is ``lines[10 k : 10 k + 10]``, its first line on ``first_line + 10 k``."""
    if len(lines) % PAGE_LINES:
        raise ImportFormatError(
            path,
            f"the last page has {len(lines) % PAGE_LINES} of its {PAGE_LINES} lines",
            line=first_line + len(lines) // PAGE_LINES * PAGE_LINES,
            expected="'Recorded Data', eight Key:value lines and a line of 3600 hex digits",
        )
    pages = [lines[k : k + PAGE_LINES] for k in range(0, len(lines), PAGE_LINES)]
    for k, page in enumerate(pages):
        if page[0] != "Recorded Data" or not page[3].startswith("Page Time:"):
            raise ImportFormatError(
                path,
                "not a page",
                line=first_line + k * PAGE_LINES,
                expected="'Recorded Data' and 'Page Time:'",
            )
    times = _page_times(path, [p[3][len("Page Time:") :].strip() for p in pages], first_line + 3)
    hexes = [p[9].strip() for p in pages]
    bad = [k for k, h in enumerate(hexes) if len(h) != 12 * SAMPLES_PER_PAGE]
    if bad:
        k = bad[0]
        raise ImportFormatError(
            path,
            f"page data line has {len(hexes[k])} characters",
            line=first_line + k * PAGE_LINES + 9,
            expected=f"{12 * SAMPLES_PER_PAGE} hex digits (300 samples)",
        )
    try:
        raw = np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(-1, 6).astype(np.int64)
    except ValueError:
        k = next(k for k, h in enumerate(hexes) if re.search(r"[^0-9A-Fa-f]", h))
        raise ImportFormatError(
            path, "page data is not hex", line=first_line + k * PAGE_LINES + 9, expected="hex digits 0-9, A-F"
        ) from None
    word = (
        (raw[:, 0] << 40)
        | (raw[:, 1] << 32)
        | (raw[:, 2] << 24)
        | (raw[:, 3] << 16)
        | (raw[:, 4] << 8)
        | raw[:, 5]
    )
    xyz = np.stack([(word >> s) & 0xFFF for s in (36, 24, 12)], axis=1)
    xyz = np.where(xyz >= 2048, xyz - 4096, xyz).astype(np.float32)
    values = (xyz * 100 - header.offset) / header.gain
    if state.origin is None:
        state.origin = times[0]
    start = (times - state.origin).astype(np.float64) / 1000.0
    before = np.concatenate([[-np.inf if state.last_start is None else state.last_start], start[:-1]])
    back = np.flatnonzero(start <= before)
    if len(back):
        k = int(back[0])
        raise ImportFormatError(
            path,
            "page time does not increase",
            line=first_line + k * PAGE_LINES + 3,
            expected="increasing page times",
        )
    time = (start[:, None] + np.arange(SAMPLES_PER_PAGE)[None, :] / header.rate_hz).reshape(-1)
    for k, page in enumerate(pages):
        temp = page[5].partition(":")[2].strip()
        with contextlib.suppress(ValueError):  # a page without a temperature keeps its samples
            if np.isfinite(value := float(temp)):
                state.temps.append((float(start[k]), value))
    state.page += len(pages)
    state.last_start = float(start[-1])
    return SampleChunk(
        time,
        values.astype(np.float32),
        lambda row, f=first_line: {"line": f + (row // SAMPLES_PER_PAGE) * PAGE_LINES + 9},  # type: ignore[misc]
    )


@register
class GeneActivImporter(DeviceImporter):
    """GENEActiv ``.bin`` recordings (the text format of Activinsights' wrist device)."""

    name = "geneactiv_bin"
    description = "GENEActiv .bin recordings (text pages of hex samples): accelerometer in m/s², temperature"
    patterns = ("*.bin",)

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        head = head_text(path, 2048)
        if head.startswith("Device Identity") and "Device Type:GENEActiv" in head:
            return 0.95
        return 0.0

    def import_into(
        self, path: Path, options: ImportOptions, begin: StartSession, progress: ProgressCallback | None
    ) -> None:
        budget = file_budget(path, "a GENEActiv .bin")
        state = PageState()
        pages = max(1, chunk_bytes(options) // PAGE_BYTES)
        placed: list[PlacedStart] = []
        with open_binary(path) as raw:
            f = io.TextIOWrapper(raw, encoding="latin-1", newline="")
            header = read_header(path, f)

            def describe(_first: float) -> tuple[Metadata, float]:
                assert state.origin is not None  # the first page's time, set before its chunk
                first = datetime.fromisoformat(str(state.origin.astype("datetime64[us]")))
                placed.append(place_start(first, header.tz_offset_s, options))
                return self._metadata(path, header, placed[0], options), 0.0

            asm = AccelerometerAssembler(
                path, header.rate_hz, device_limit(*header.range_g, "GENEActiv"), begin, describe
            )
            for chunk in iter_pages(path, f, header, state, budget, pages):
                asm.add(chunk)
                if asm.started and state.temps:
                    temps = np.array(state.temps)
                    asm.add_temperature(temps[:, 0], temps[:, 1])
                    state.temps.clear()
                if progress:
                    progress(
                        0.8 * min(1.0, state.page / header.pages), f"{path.name}: {asm.n_samples:,} samples"
                    )
        if asm.n_samples == 0 or state.origin is None:
            raise ImportFormatError(path, "the recording holds no pages", line=header.lines + 1)
        metadata = asm.finish()
        if state.page != header.pages:
            warn_metadata(
                metadata,
                f"{path.name}: the header announces {header.pages} pages, the file holds {state.page}",
            )
        if placed[0].warning:
            warn_metadata(metadata, placed[0].warning)

    def _metadata(
        self, path: Path, header: GeneActivHeader, placed: PlacedStart, options: ImportOptions
    ) -> Metadata:
        fields = header.fields
        return Metadata(
            participant_id=options.participant or "",
            devices=[
                DeviceInfo(
                    name="geneactiv",
                    model=f"GENEActiv {fields.get('Device Model', '')}".strip(),
                    firmware=fields.get("Device Firmware Version", ""),
                    placement=fields.get("Device Location Code", ""),
                    address=fields.get("Device Unique Serial Code", ""),
                )
            ],
            timezone=placed.zone,
            start_utc=placed.start_utc,
            provenance=provenance(self.name, [path]),
            extra={
                "fs_nominal": f"{header.rate_hz:g}",
                "t0_known": "true",
                "t0_source": "first page time (device clock) and the header's Time Zone",
                "source_unit": "g (converted to m/s^2)",
                "extract_notes": fields.get("Extract Notes", ""),
            },
        )
