"""Loudness normalisation (P.56 active speech level) and the MUSHRA anchors' low-pass."""

import numpy as np
import pytest
from conftest import SR, speech_like
from scipy.signal import welch

from setoolkit.audio import read
from setoolkit.listening.anchors import ANCHORS, lowpass
from setoolkit.listening.loudness import (
    TARGET_DBOV,
    active_speech_level,
    normalize_level,
)


def test_active_level_ignores_pauses_and_scales_with_gain():
    rng = np.random.default_rng(0)
    x = speech_like(rng, 3.0)
    level = active_speech_level(x, SR)
    padded = np.concatenate([x, np.zeros(3 * SR)])  # the same speech with 3 s more silence
    assert abs(active_speech_level(padded, SR) - level) < 0.3
    plain = 10 * np.log10(np.mean(padded**2))
    assert level - plain > 2.5  # long-term level counts the pauses; the active level does not
    assert abs(active_speech_level(0.5 * x, SR) - (level - 6.02)) < 0.2
    square = np.sign(np.sin(2 * np.pi * 100 * np.arange(SR) / SR + 0.1))
    assert abs(active_speech_level(square, SR)) < 0.3  # full-scale square wave: 0 dBov


def test_normalised_to_target_within_half_a_db(mushra):
    folder, test = mushra
    rng = np.random.default_rng(1)
    for gain in (0.02, 0.3):
        assert abs(active_speech_level(normalize_level(gain * speech_like(rng), SR), SR) - TARGET_DBOV) < 0.5
    # every written stimulus (16-bit wav) is at the target
    for trial in test.trials:
        for s in trial.stimuli:
            x, sr = read(folder / s.file)
            assert abs(active_speech_level(x, sr) - TARGET_DBOV) < 0.5, (s.system, s.file)


def _band_energy(x, sr, lo, hi):
    f, p = welch(x, sr, nperseg=1024)
    return p[(f >= lo) & (f < hi)].sum()


@pytest.mark.parametrize("name", list(ANCHORS))
def test_anchors_are_low_passed(mushra, name):
    folder, test = mushra
    cutoff = ANCHORS[name]
    for trial in test.trials:
        ref, sr = read(folder / trial.reference)
        anchor = next(s for s in trial.stimuli if s.system == name)
        x, _ = read(folder / anchor.file)
        above_ref = _band_energy(ref[0], sr, cutoff + 100, sr / 2)
        above = _band_energy(x[0], sr, cutoff + 100, sr / 2)
        assert above < 1e-4 * above_ref, (name, 10 * np.log10(above / above_ref))  # < -40 dB, 16-bit floor
        below_ref, below = _band_energy(ref[0], sr, 100, 0.85 * cutoff), _band_energy(x[0], sr, 100, 0.85 * cutoff)
        assert abs(10 * np.log10(below / below_ref)) < 1.5  # the pass band kept (after level normalisation)


def test_lowpass_is_zero_phase_and_rejects_bad_cutoff():
    rng = np.random.default_rng(2)
    x = speech_like(rng)
    y = lowpass(x, SR, 3500.0)
    xc = np.correlate(y[SR // 2 : SR], x[SR // 2 - 5 : SR + 5], mode="valid")
    assert int(np.argmax(xc)) == 5  # no delay
    with pytest.raises(ValueError, match="cutoff_hz=9000"):
        lowpass(x, SR, 9000.0)
