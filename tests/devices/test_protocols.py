"""Decoders against published byte vectors (../shared/reference/ble.md §2), and codec round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harlab.devices.protocols import hip, hrs, microbit, polar_pmd, witmotion
from harlab.devices.protocols.units import DEG_TO_RAD, MG, G


def hexb(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


class TestHeartRate:
    @pytest.mark.parametrize(
        ("data", "hr", "contact", "ee", "rr"),
        [
            ("06 48", 72, True, None, []),
            ("10 48 FC 03", 72, None, None, [996.09375]),
            ("16 4B 28 03 4E 03", 75, True, None, [789.0625, 826.171875]),
            ("19 78 00 0A 00 00 02", 120, None, 10, [500.0]),
        ],
    )
    def test_reference_vectors(
        self, data: str, hr: int, contact: bool | None, ee: int | None, rr: list[float]
    ) -> None:
        m = hrs.decode(hexb(data))
        assert (m.heart_rate_bpm, m.contact, m.energy_expended_kj) == (hr, contact, ee)
        assert m.rr_ms == pytest.approx(rr)

    def test_contact_bits_without_support_mean_unknown(self) -> None:
        assert hrs.decode(hexb("02 48")).contact is None

    @pytest.mark.parametrize("data", ["", "06", "01 48", "18 48 0A", "10 48 FC"])
    def test_truncated(self, data: str) -> None:
        with pytest.raises(hrs.HrsDecodeError):
            hrs.decode(hexb(data))

    @given(
        st.integers(30, 400), st.lists(st.floats(250, 2000), max_size=6), st.sampled_from([None, True, False])
    )
    def test_round_trip(self, hr: int, rr: list[float], contact: bool | None) -> None:
        m = hrs.decode(hrs.encode(hr, rr, contact))
        assert m.heart_rate_bpm == hr and m.contact == contact
        assert m.rr_ms == pytest.approx(rr, abs=1000 / 1024)


class TestPolarPmd:
    def test_gyro_compressed_vector_from_polar_sdk(self) -> None:
        # GyrDataTest.kt "compressed type 0"
        s = polar_pmd.decode_delta(hexb("EA FF 08 00 0D 00 03 01 DF 00"), 3, 16)
        assert s.tolist() == [[-22, 8, 13], [-23, 11, 16]]

    def test_acc_compressed_vector_from_polar_sdk(self) -> None:
        # AccDataTest.kt "compressed type 1"
        s = polar_pmd.decode_delta(hexb("F1 FF 14 00 F0 03 06 01 7B 0F 08"), 3, 16)
        assert s.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]

    def test_worked_frame_example(self) -> None:
        frame = polar_pmd.decode_frame(hexb("02 00 94 35 77 00 00 00 00 81 64 00 CE FF E8 03 04 02 E1 F3 70"))
        assert frame.measurement == polar_pmd.ACC and frame.compressed and frame.frame_type == 1
        assert frame.timestamp_ns == 2_000_000_000
        assert frame.samples.tolist() == [[100, -50, 1000], [101, -52, 1003], [100, -52, 1010]]
        ms2 = polar_pmd.to_units(frame, 1.0)
        np.testing.assert_allclose(ms2[0], np.array([100, -50, 1000]) * MG, rtol=1e-6)

    def test_raw_h10_vector(self) -> None:
        # AccDataTest.kt "raw type 1": (-9, -1, 999), (-8, -2, 997) mG
        data = hexb("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03")
        frame = polar_pmd.decode_frame(data)
        assert not frame.compressed
        assert frame.samples.tolist() == [[-9, -1, 999], [-8, -2, 997]]
        assert np.linalg.norm(polar_pmd.to_units(frame, None)[0]) == pytest.approx(0.999 * G, rel=1e-3)

    def test_start_command_bytes(self) -> None:
        cmd = polar_pmd.start_command(polar_pmd.ACC, {0: 200, 1: 16, 2: 8})
        assert cmd == hexb("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")

    def test_control_point_responses(self) -> None:
        ok = polar_pmd.parse_control_point(hexb("F0 02 02 00 00"))
        assert ok.ok and ok.opcode == 2 and ok.factor() is None
        with_factor = polar_pmd.parse_control_point(hexb("F0 02 02 00 00 05 01 00 00 80 3F"))
        assert with_factor.factor() == 1.0
        settings_reply = polar_pmd.parse_control_point(
            hexb("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
        )
        assert polar_pmd.parse_settings(settings_reply.params) == {
            0: [25, 50, 100, 200],
            1: [16],
            2: [2, 4, 8],
        }
        err = polar_pmd.parse_control_point(hexb("F0 02 02 0A 00"))
        assert not err.ok and err.status_name == "INVALID_MTU"

    def test_gyro_units(self) -> None:
        frame = polar_pmd.PmdFrame(polar_pmd.GYRO, 0, 0, True, np.array([[100, 0, -100]]))
        np.testing.assert_allclose(
            polar_pmd.to_units(frame, 0.5)[0], [50 * DEG_TO_RAD, 0, -50 * DEG_TO_RAD], rtol=1e-6
        )

    def test_truncated_frames(self) -> None:
        with pytest.raises(polar_pmd.PmdDecodeError, match="10-byte header"):
            polar_pmd.decode_frame(b"\x02\x00")
        with pytest.raises(polar_pmd.PmdDecodeError, match="needs"):
            polar_pmd.decode_frame(hexb("02 00 94 35 77 00 00 00 00 81 64 00 CE FF E8 03 04 02 E1"))
        with pytest.raises(polar_pmd.PmdDecodeError, match="whole number"):
            polar_pmd.decode_frame(hexb("02 00 94 35 77 00 00 00 00 01 F7 FF FF"))

    @settings(max_examples=60)
    @given(st.lists(st.tuples(*[st.integers(-4000, 4000)] * 3), min_size=1, max_size=40))
    def test_delta_round_trip(self, rows: list[tuple[int, int, int]]) -> None:
        samples = np.array(rows, np.int64)
        data = polar_pmd.encode_frame(polar_pmd.ACC, 123, samples, compressed=True)
        assert polar_pmd.decode_frame(data).samples.tolist() == samples.tolist()

    def test_timestamps_spread_between_frames(self) -> None:
        ts = polar_pmd.PmdTimestamps(rate_hz=100)
        first = ts(1_000_000_000, 5)
        assert first[-1] == 1_000_000_000 and np.diff(first) == pytest.approx([1e7] * 4)
        second = ts(1_100_000_000, 10)  # 10 samples over 100 ms
        assert second[0] == pytest.approx(1_010_000_000) and second[-1] == 1_100_000_000


class TestWitMotion:
    def test_reference_vector(self) -> None:
        parser = witmotion.WitMotionParser()
        frames = parser.feed(hexb("55 61 00 00 00 00 00 08 00 00 00 00 66 06 00 10 00 00 00 E0"))
        acc, gyro, angle = witmotion.decode_frames(frames)
        np.testing.assert_allclose(acc[0], [0, 0, G], rtol=1e-6)
        np.testing.assert_allclose(gyro[0], [0, 0, 99.98 * DEG_TO_RAD], rtol=1e-4)
        np.testing.assert_allclose(angle[0], [22.5, 0, -45.0], atol=0.01)

    def test_split_and_garbage_resync(self) -> None:
        frame = hexb("55 61 00 00 00 00 00 08 00 00 00 00 66 06 00 10 00 00 00 E0")
        parser = witmotion.WitMotionParser()
        assert len(parser.feed(b"\x01\x02" + frame[:7])) == 0
        got = parser.feed(frame[7:] + frame + frame[:1])
        assert len(got) == 2 and parser.skipped_bytes == 2
        assert len(parser.feed(frame[1:])) == 1

    def test_encode_decode(self) -> None:
        acc, gyro, angle = (
            np.array([1.0, -2.0, 9.8]),
            np.array([0.1, 0.2, -0.3]),
            np.array([10.0, 20.0, 30.0]),
        )
        frames = witmotion.WitMotionParser().feed(witmotion.encode_frame(acc, gyro, angle))
        a, g, ang = witmotion.decode_frames(frames)
        np.testing.assert_allclose(a[0], acc, atol=16 * G / 32768)
        np.testing.assert_allclose(g[0], gyro, atol=2000 * DEG_TO_RAD / 32768)

    def test_rate_command(self) -> None:
        assert witmotion.set_rate_command(10) == hexb("FF AA 03 06 00")
        with pytest.raises(ValueError, match="rates"):
            witmotion.set_rate_command(33)


class TestMicrobitAndHip:
    def test_microbit_vector(self) -> None:
        np.testing.assert_allclose(
            microbit.decode(hexb("E8 FF 10 00 00 FC")), np.array([-24, 16, -1024]) * MG, rtol=1e-6
        )
        assert microbit.period_command(20) == hexb("14 00")
        with pytest.raises(ValueError):
            microbit.decode(b"\x00" * 5)

    def test_hip_round_trip_and_errors(self) -> None:
        rng = np.random.default_rng(1)
        acc = rng.normal(0, 9, (19, 3))
        gyro = rng.normal(0, 3, (19, 3))
        data = hip.encode(7, 4_294_967_000, 10_000, acc, gyro)
        assert len(data) <= 244 and hip.MAX_SAMPLES_AT_MTU_247 == 19
        p = hip.decode(data)
        assert p.seq == 7 and p.period_us == 10_000
        np.testing.assert_allclose(p.acc, acc, atol=8 * G / 32768)
        np.testing.assert_allclose(p.gyro, gyro, atol=2000 * DEG_TO_RAD / 32768)
        with pytest.raises(hip.HipDecodeError, match="says 19 samples"):
            hip.decode(data[:-1])
        with pytest.raises(hip.HipDecodeError, match="version"):
            hip.decode(b"\x09" + data[1:])

    def test_hip_clock_unwrap(self) -> None:
        p = hip.decode(hip.encode(0, 100, 10_000, np.zeros((2, 3)), np.zeros((2, 3))))
        t = hip.sample_times_us(p, unwrap_from=(1 << 32) - 50)
        assert t.tolist() == [(1 << 32) + 100, (1 << 32) + 10_100]
