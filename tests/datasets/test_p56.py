"""ITU-T P.56 method B active speech level: against a sample-by-sample port of the STL's speech voltmeter on real
speech, and the properties the method is for (pauses do not lower the level, a gain shifts it by its dB)."""

import math

import numpy as np
import pytest

from setoolkit.audio import read
from setoolkit.datasets.p56 import SILENCE_DB, _bisect, active_level, scale_to_level


def stl_voltmeter(x, sr):
    """The ITU-T STL ``speech_voltmeter`` (sv-p56.c v2.3), sample by sample, as the reference."""
    hang_max, g = math.floor(0.2 * sr + 0.5), math.exp(-1.0 / (sr * 0.03))
    c = [0.5 ** (15 - j) for j in range(15)]
    a, hang = [0] * 15, [hang_max] * 15
    p = q = sq = 0.0
    for v in x:
        sq += v * v
        p = g * p + (1 - g) * abs(v)
        q = g * q + (1 - g) * p
        for j in range(15):
            if q >= c[j]:
                a[j] += 1
                hang[j] = 0
            elif hang[j] < hang_max:
                a[j] += 1
                hang[j] += 1
    if a[0] == 0:
        return SILENCE_DB
    for j in range(1, 15):
        if a[j]:
            adb, cdb = 10 * math.log10(sq / a[j] + 1e-20), 20 * math.log10(c[j] + 1e-20)
            if adb - cdb <= 15.9:
                amdb, cmdb = 10 * math.log10(sq / a[j - 1] + 1e-20), 20 * math.log10(c[j - 1] + 1e-20)
                return _bisect(adb, amdb, cdb, cmdb, 15.9, 0.5)
    return SILENCE_DB


@pytest.fixture(scope="module")
def speech(data):
    x, sr = read(data / "vbd16k" / "clean" / "p232_005.wav")
    return x[0, : 2 * sr].astype(np.float64), sr


def test_matches_the_stl_voltmeter_on_real_speech(speech, data):
    x, sr = speech
    assert active_level(x, sr)[0] == pytest.approx(stl_voltmeter(x, sr), abs=1e-9)
    y, sr2 = read(data / "arctic" / "cmu_arctic_us_axb_a0004.wav")
    y = 0.3 * y[0, : sr2 * 2].astype(np.float64)
    assert active_level(y, sr2)[0] == pytest.approx(stl_voltmeter(y, sr2), abs=1e-9)


def test_pauses_do_not_lower_the_active_level(data):
    x, sr = read(data / "vbd16k" / "clean" / "p232_005.wav")  # the whole file: it starts and ends in silence
    x = x[0].astype(np.float64)
    level, activity = active_level(x, sr)
    padded = np.concatenate([np.zeros(sr), x, np.zeros(2 * sr)])
    level2, activity2 = active_level(padded, sr)
    assert abs(level2 - level) < 0.5  # the STL's bisection tolerance
    assert activity2 == pytest.approx(
        activity * x.size / padded.size, rel=0.05
    )  # the level itself moves within the tolerance
    long_term = 10 * np.log10(np.mean(padded**2))
    assert level2 - long_term == pytest.approx(-10 * np.log10(activity2))  # pauses lower only the long-term level
    assert level2 - long_term > 2


def test_a_gain_shifts_the_level_by_its_db_and_a_sine_reads_its_rms(speech):
    x, sr = speech
    level = active_level(x, sr)[0]
    y, gain = scale_to_level(x, sr, -26.0)
    assert abs(active_level(y, sr)[0] + 26.0) < 0.5
    assert 20 * np.log10(gain) == pytest.approx(-26.0 - level)
    t = np.arange(2 * sr) / sr
    sine_level, sine_activity = active_level(0.5 * np.sin(2 * np.pi * 440 * t), sr)
    assert abs(sine_level - 20 * np.log10(0.5 / np.sqrt(2))) < 0.1 and sine_activity > 0.98


def test_silence_and_bad_input():
    assert active_level(np.zeros(16000), 16000) == (SILENCE_DB, 0.0)
    assert active_level(np.full(16000, 1e-7), 16000)[0] == SILENCE_DB  # below the lowest threshold's margin
    with pytest.raises(ValueError, match="shape"):
        active_level(np.zeros((2, 100)), 16000)
    with pytest.raises(ValueError, match="sr=0"):
        active_level(np.ones(100), 0)
    with pytest.raises(ValueError, match="silent"):
        scale_to_level(np.zeros(100), 16000, -26)
