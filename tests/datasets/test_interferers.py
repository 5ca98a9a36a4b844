"""Mixing a target with a competing talker, babble and noise from real recordings, at P.56 active levels."""

import numpy as np
import pytest

from setoolkit.audio import read
from setoolkit.datasets.interferers import TARGET_LEVEL_DB, babble, fade, mix, quantize16, segment
from setoolkit.datasets.p56 import active_level


@pytest.fixture(scope="module")
def voices(data):
    a, _ = read(data / "vbd16k" / "clean" / "p232_028.wav")
    b, _ = read(data / "vbd16k" / "clean" / "p257_070.wav")
    n = min(a.shape[1], b.shape[1])
    return a[0, :n].astype(np.float64), b[0, :n].astype(np.float64)


@pytest.mark.parametrize("sir", [0.0, 5.0, 10.0, 15.0])
def test_mix_sets_the_sir_by_active_levels(voices, sir):
    target, other = voices
    parts = mix(target, other, sr=16000, sir_db=sir)
    assert abs(parts["sir_measured_db"] - sir) < 0.5  # P.56's own tolerance
    assert abs(active_level(parts["clean"], 16000)[0] - TARGET_LEVEL_DB) < 0.5
    np.testing.assert_allclose(parts["noisy"], parts["clean"] + parts["interferer"], atol=1e-12)
    np.testing.assert_allclose(parts["clean"], target * parts["target_gain"], atol=1e-12)
    assert np.abs(parts["noisy"]).max() <= 0.99


def test_noise_at_its_rms_and_the_peak_limit(voices, data):
    target, other = voices
    noisy, _ = read(data / "dns3_synthetic" / "noisy" / "0016.wav")
    clean, _ = read(data / "dns3_synthetic" / "clean" / "0016.wav")
    noise = segment((noisy - clean)[0].astype(np.float64), target.size, 100)
    parts = mix(target, other, sr=16000, sir_db=5.0, noise=noise, snr_db=10.0)
    assert parts["noise_rms_db"] == pytest.approx(TARGET_LEVEL_DB - 10.0, abs=1e-9)  # RMS: exact
    assert parts["snr_measured_db"] == pytest.approx(10.0, abs=0.5)  # against the P.56 level measured again
    np.testing.assert_allclose(parts["noisy"], parts["clean"] + parts["interferer"] + parts["noise"], atol=1e-12)
    loud = mix(target, other, sr=16000, sir_db=-10.0, target_level_db=-3.0)  # would clip: scaled as a whole
    assert loud["peak_scale"] < 1 and np.abs(loud["noisy"]).max() == pytest.approx(0.99)
    assert loud["sir_measured_db"] == pytest.approx(-10.0, abs=0.5)


def test_babble_levels_every_talker_alike(data):
    talkers = [
        read(data / "emodb" / f)[0][0].astype(np.float64)
        for f in ("03a01Fa.wav", "08a01Ab.wav", "09a01Ea.wav", "10a01Ac.wav")
    ]
    mixed, gains = babble(talkers, 22050)
    for t, g in zip(talkers, gains):
        assert active_level(t * g, 22050)[0] == pytest.approx(TARGET_LEVEL_DB, abs=0.5)
    assert mixed.shape == talkers[0].shape
    with pytest.raises(ValueError, match="at least 2"):
        babble(talkers[:1], 22050)


def test_segment_fade_and_quantize():
    x = np.arange(10.0)
    np.testing.assert_array_equal(segment(x, 4, 3), [3, 4, 5, 6])
    np.testing.assert_array_equal(segment(x[:2], 5, 2), [0, 0, 0, 1, 0])
    with pytest.raises(ValueError, match="offset=7"):
        segment(x, 4, 7)
    f = fade(np.ones(1000), 16000, ms=10)
    assert f[0] < 0.01 and f[-1] < 0.01 and f[500] == 1.0
    np.testing.assert_array_equal(quantize16(np.array([1.0, -1.0, 0.5, 1 / 65536])), [32767, -32768, 16384, 0])


def test_mix_refuses_what_it_cannot_level(voices):
    target, other = voices
    with pytest.raises(ValueError, match="silent"):
        mix(np.zeros(16000), other[:16000], sr=16000, sir_db=0.0)
    with pytest.raises(ValueError, match="shape"):
        mix(target, other[:100], sr=16000, sir_db=0.0)
    with pytest.raises(ValueError, match="sir_db"):
        mix(target, other, sr=16000)
