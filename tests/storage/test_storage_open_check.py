"""The check Save needs, started when a file opens: in a child process for large files.

The child gives Save the same answer as the in-process check (a sound file saves, a file with
an infinite sample is refused with validate's words), and closing the file ends the child.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from harlab.core.errors import SessionFileError
from harlab.simulate import synthetic_session
from harlab.storage import open_session, save_session


@pytest.fixture
def saved(tmp_path):
    return save_session(synthetic_session(120.0, rate_hz=50.0, streams=("accel",)), tmp_path / "s.h5")


def test_the_check_in_a_child_gives_save_the_same_answer(saved):
    with open_session(saved, writable=True) as sf:
        sf.check_sound_in_background(in_child=True)
        assert sf._sound_child is not None  # noqa: SLF001 - the child path is the one under test
        sf.save()
    with h5py.File(saved, "r+") as f:
        f["streams/accel/values"][10, 1] = np.inf
    with open_session(saved, writable=True) as sf:
        sf.check_sound_in_background(in_child=True)
        with pytest.raises(SessionFileError, match="values hold 1 infinite sample"):
            sf.save()


def test_closing_ends_the_child(saved):
    sf = open_session(saved, writable=True)
    sf.check_sound_in_background(in_child=True)
    child = sf._sound_child  # noqa: SLF001
    assert child is not None
    sf.close()
    assert child.poll() is not None  # killed, or already done: never left running


def test_small_files_are_checked_in_this_process(saved):
    with open_session(saved) as sf:
        sf.check_sound_in_background()
        assert sf._sound_child is None  # noqa: SLF001
