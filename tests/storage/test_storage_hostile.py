"""Crafted structure is refused on open and reported by validate, on metadata alone; unsound
files are not written into. (The same attacks through the command line: tests/hostile.)"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

from harlab.core import SessionFileError
from harlab.core.errors import SessionError
from harlab.core.labels import LabelClass, LabelTrack, Segment
from harlab.core.streams import MAX_TIME_S, Stream
from harlab.storage import open_session, read_session, save_session, validate_file
from harlab.storage.layout import MAX_CHUNK_BYTES, MAX_NAME_CHARS, MAX_TRACKS


@pytest.fixture
def good(full_session, tmp_path) -> Path:
    return save_session(full_session, tmp_path / "good.h5")


def edit(path: Path, fn) -> Path:
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


def refused(path: Path, *words: str) -> None:
    """Open refuses with every word in the message, and validate reports a problem with them."""
    for opener in (read_session, lambda p: open_session(p).close()):
        with pytest.raises(SessionFileError) as info:
            opener(path)
        for w in words:
            assert w in str(info.value), str(info.value)
    problems = validate_file(path)
    assert any(all(w in p for w in words) for p in problems), problems


def test_external_storage_is_refused_naming_the_dataset(good, tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"root:x:0:0" * 20_000)

    def go(f):
        shape = f["streams/hr/values"].shape
        del f["streams/hr/values"]
        f.create_dataset(
            "streams/hr/values",
            shape=shape,
            dtype=np.float32,
            external=[(str(secret), 0, int(np.prod(shape)) * 4)],
        )

    refused(edit(good, go), "/streams/hr/values", "external file", str(secret))


def test_external_link_and_virtual_dataset_are_refused(good, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["t"] = np.arange(300.0)

    def link(f):
        f["labels/elsewhere"] = h5py.ExternalLink(str(other), "/t")

    refused(edit(good, link), "/labels/elsewhere", "external link", str(other))
    with h5py.File(good, "r+") as f:
        del f["labels/elsewhere"]
        layout = h5py.VirtualLayout(shape=(300,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(other), "t", shape=(300,))
        del f["streams/hr/time"]
        f.create_virtual_dataset("streams/hr/time", layout)
    refused(good, "/streams/hr/time", "virtual dataset", str(other))


def test_declared_extent_beyond_the_stored_bytes_is_refused_without_reading(good):
    def grow(f):
        for key in ("time", "values", "flags"):
            f[f"streams/acc/{key}"].resize(10**11, axis=0)

    edit(good, grow)
    tracemalloc.start()
    try:
        refused(good, "/streams/acc/", "declares shape (100000000000,)", "stores only")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20


def test_huge_chunks_are_refused(good):
    def go(f):
        n = f["streams/acc/flags"].shape[0]
        del f["streams/acc/flags"]
        f.create_dataset(
            "streams/acc/flags",
            data=np.zeros(n, np.uint8),
            chunks=(MAX_CHUNK_BYTES + 1,),
            maxshape=(None,),
            compression="gzip",
        )

    refused(edit(good, go), "/streams/acc/flags", "has chunks of")


@pytest.mark.parametrize("factor", [0, 1, -16, 16.0, "16"])
def test_pyramid_factor_must_be_an_integer_of_at_least_two(good, factor):
    edit(good, lambda f: f["streams/acc/pyramid"].attrs.__setitem__("factor", factor))
    refused(good, "/streams/acc/pyramid", "factor")


def test_pyramid_levels_must_match_the_samples(good):
    edit(good, lambda f: f["streams/acc/pyramid"].attrs.__setitem__("levels", 10**9))
    refused(good, "/streams/acc/pyramid: levels is 1e+09, expected 2 for 30000 samples")


@pytest.mark.parametrize("rate", [0.0, -100.0, np.inf, "100"])
def test_sample_rate_must_be_positive_and_finite_or_nan(good, rate):
    edit(good, lambda f: f["streams/acc"].attrs.__setitem__("rate_hz", rate))
    refused(good, "/streams/acc", "rate_hz")


def test_nan_rate_means_irregular_and_is_accepted(good):
    edit(good, lambda f: f["streams/acc"].attrs.__setitem__("rate_hz", np.nan))
    assert validate_file(good) == []
    assert read_session(good).streams["acc"].rate_hz is None


def test_channel_names_must_be_utf8(good):
    edit(
        good,
        lambda f: f["streams/acc"].attrs.create(
            "channels", [b"x\xff", b"y", b"z"], dtype=h5py.string_dtype("utf-8")
        ),
    )
    refused(good, "/streams/acc", "channels", "not valid UTF-8")


@pytest.mark.parametrize("key", ["channels", "units", "kind", "device"])
def test_a_long_stream_name_attribute_is_refused_not_quoted(good, key):
    """Messages quote names whole: a 2 MB channel name was a 2 MB error from predict."""
    long = "x" * 2_000_000
    edit(
        good,
        lambda f: f["streams/acc"].attrs.__setitem__(
            key, np.array([long, "y", "z"], dtype=object) if key in ("channels", "units") else long
        ),
    )
    refused(good, "/streams/acc", key, f"2000000 characters (at most {MAX_NAME_CHARS})")
    with pytest.raises(SessionFileError) as info:
        read_session(good)
    assert len(str(info.value)) < 500


def test_a_long_class_label_is_refused_not_quoted(good, tmp_path):
    """predict's unknown-class warning quoted a 2 MB segment label whole."""

    def go(f):
        table = f["labels/activity"][()]
        table["label"][0] = "W" * 2_000_000
        f["labels/activity"][0] = table[0]

    edit(good, go)
    with pytest.raises(SessionFileError, match="of 2000000 characters") as info:
        read_session(good)
    assert len(str(info.value)) < 500
    (problem,) = validate_file(good)
    assert len(problem) < 500
    for make in (
        lambda: LabelClass("c" * 300),
        lambda: Segment(0.0, 1.0, "c" * 300),
        lambda: Segment(0.0, 1.0, "walk", annotator="a" * 300),
        lambda: LabelTrack("t" * 300),
    ):
        with pytest.raises(SessionError, match=f"of 300 characters .*at most {MAX_NAME_CHARS}"):
            make()


def test_a_long_object_name_is_refused(good):
    edit(good, lambda f: f.copy(f["labels/activity"], "labels/" + "L" * 5000))
    refused(good, "/labels", "5000 characters")


def test_thousands_of_tracks_are_refused_by_counting(good):
    """3000 label tables took the metadata walk past its 30 s limit ('damaged'); counted first now."""

    def go(f):
        for i in range(MAX_TRACKS + 1 - len(f["labels"])):
            f.create_group(f"labels/l{i}")

    refused(edit(good, go), f"/labels holds {MAX_TRACKS + 1} members (at most {MAX_TRACKS})")


def test_a_timestamp_centuries_from_the_start_fails_validate_and_is_not_saved_into(good):
    """time 1e300 passed validate (a stream of 1e-300 Hz whose duration info printed in 300 digits)."""
    edit(good, lambda f: f["streams/acc/time"].__setitem__(-1, 1e300))
    (problem,) = validate_file(good)
    assert "/streams/acc" in problem and f"1e+300 s from the start; at most {MAX_TIME_S:.3g} s" in problem
    before = hashlib.sha256(good.read_bytes()).hexdigest()
    with (
        open_session(good, writable=True) as sf,
        pytest.raises(SessionFileError, match="fails harlab validate"),
    ):
        sf.save()
    assert hashlib.sha256(good.read_bytes()).hexdigest() == before
    with pytest.raises(SessionError, match="timestamp 2 is 1e\\+12 s from the start"):
        Stream.from_arrays("acc", np.array([0.0, 1.0, 1e12]), np.zeros((3, 1)), ["x"], "m/s^2")


def test_validate_counts_infinite_values_per_stream_and_accepts_nan(good):
    def go(f):
        v = f["streams/acc/values"]
        v[20_000, 0] = np.inf
        v[25_000, 2] = -np.inf
        v[26_000, 1] = -np.inf

    edit(good, go)
    problems = validate_file(good)
    assert "/streams/acc: values hold 3 infinite samples, the first at sample 20000, channel 0" in problems[0]
    # the fixture's NaN sample (acc[100]) is a documented missing value, not a problem
    assert not any("NaN" in p and "100" in p for p in problems)


def test_save_refuses_a_file_that_fails_validate(good):
    edit(good, lambda f: f["streams/acc/pyramid/1/hi"].__setitem__((3, 0), 1e9))
    before = hashlib.sha256(good.read_bytes()).hexdigest()
    with open_session(good, writable=True) as sf:
        sf.session.label_tracks["activity"].remove(1)
        for save in (sf.save, lambda: sf.save_as(good.with_name("copy.h5"))):
            with pytest.raises(SessionFileError, match="fails harlab validate: .*pyramid level 1 disagrees"):
                save()
    assert hashlib.sha256(good.read_bytes()).hexdigest() == before
    assert not good.with_name("copy.h5").exists()


def test_save_of_a_sound_file_still_works(good, full_session):
    with open_session(good, writable=True) as sf:
        sf.session.label_tracks["activity"].remove(1)
        sf.save()
        sf.save()
    assert 1 not in [s.id for s in read_session(good).label_tracks["activity"]]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    refused(fifo, "not a regular file")


def test_the_background_check_gives_save_the_same_answer(good, tmp_path):
    with open_session(good, writable=True) as sf:
        sf.check_sound_in_background()
        sf.save()  # sound: saves
    edit(good, lambda f: f["streams/acc/values"].__setitem__((10, 1), np.inf))
    with open_session(good, writable=True) as sf:
        sf.check_sound_in_background()
        with pytest.raises(SessionFileError, match="values hold 1 infinite sample"):
            sf.save()


def test_a_corrupt_global_heap_is_refused_before_hdf5_reads_it(good):
    """A free-space object of 0 bytes in a global heap makes HDF5 2.0 loop forever on the
    first string attribute; the heap is walked in Python first."""
    data = bytearray(good.read_bytes())
    at = data.find(b"GCOL\x01\x00\x00\x00")
    end, p = at + int.from_bytes(data[at + 8 : at + 16], "little"), at + 16
    while int.from_bytes(data[p : p + 2], "little") != 0:
        p += 16 + -(-int.from_bytes(data[p + 8 : p + 16], "little") // 8) * 8
    assert p + 16 <= end
    data[p + 8 : p + 16] = bytes(8)
    good.write_bytes(bytes(data))
    refused(
        good, f"the global heap (strings) at byte {at} is corrupt", f"object 0 at byte {p} declares 0 bytes"
    )
