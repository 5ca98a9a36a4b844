"""mcd: mel-cepstral distortion equal to URGENT 2025's evaluation script on real pairs."""

import math

import numpy as np
import pytest

from setoolkit import cards
from setoolkit.audio import read
from setoolkit.errors import MissingExtraError
from setoolkit.metrics import mcd as M

pytest.importorskip("pysptk")

# URGENT's numbers, produced once outside the repo: urgent-challenge/urgent2025_challenge@daf1730
# evaluation_metrics/calculate_intrusive_se_metrics.py `mcd_metric(ref, inf, fs)` (with its mcd_utils.py; pysptk
# 1.0.1, fastdtw 0.3.4), the files read as its process_one_pair reads them (soundfile, float32), the longer of a
# pair cut to the shorter.
URGENT_MCD = {
    "vbd16k/{}/p232_001.wav": 2.4344162724915224,
    "vbd16k/{}/p257_151.wav": 12.394063386852176,
    "dns3_synthetic/{}/0015.wav": 7.522760567294406,
    "vbd48k/{}/p232_013.wav": 7.928603622773768,
}


def _pair(data, pattern):
    c, sr = read(data / pattern.format("clean"))
    n, _ = read(data / pattern.format("noisy"))
    m = min(c.shape[1], n.shape[1])
    return c[0, :m], n[0, :m], sr


@pytest.mark.parametrize(
    "pattern", [p if "48k" not in p else pytest.param(p, marks=pytest.mark.slow) for p in URGENT_MCD]
)
def test_equals_urgent_2025(data, pattern):
    c, n, sr = _pair(data, pattern)
    assert M.mcd(c, n, sr) == pytest.approx(URGENT_MCD[pattern], abs=1e-4)  # measured: within 1e-7


def test_identical_is_zero_and_level_does_not_count(data):
    c, n, sr = _pair(data, "vbd16k/{}/p232_001.wav")
    assert M.mcd(c, c, sr) == pytest.approx(0.0, abs=1e-9)
    assert M.mcd(c, 0.3 * n, sr) == pytest.approx(M.mcd(c, n, sr), abs=1e-3)  # the estimate is LS-scaled


def test_cepstra_shape_and_rate_parameters(data):
    c, _, sr = _pair(data, "vbd16k/{}/p232_001.wav")
    cep = M.mel_cepstra(c, sr)
    assert cep.shape == ((len(c) - 1024) // 256 + 1, 24)  # order 23 at 16 kHz, c0 included
    assert M.MCEP_PARAMS[48000] == (39, 0.55)


def test_other_rates_are_resampled_with_a_warning(data):
    c, n, sr = _pair(data, "vbd16k/{}/p232_001.wav")
    from setoolkit.audio import resample

    c12, n12 = (resample(x, sr, 12000) for x in (c, n))
    with pytest.warns(UserWarning, match="resampling 12000 Hz to 16000 Hz"):
        assert M.mcd(c12, n12, 12000) == pytest.approx(M.mcd(c, n, sr), abs=0.5)


def test_silence_and_too_short():
    x = np.random.default_rng(0).standard_normal(16000)
    with pytest.warns(UserWarning, match="all-zero"):
        assert math.isnan(M.mcd(x, np.zeros(16000), 16000))
    with pytest.warns(UserWarning, match="at least 1024 samples"):
        assert math.isnan(M.mcd(x[:1000], x[:1000], 16000))


def test_missing_extra_is_named(monkeypatch):
    found = cards._found
    monkeypatch.setattr(cards, "_found", lambda m: m != "pysptk" and found(m))
    M._libraries.cache_clear()
    with pytest.raises(MissingExtraError, match=r"the mcd metric needs setoolkit\[mcd\]"):
        M._libraries()
    M._libraries.cache_clear()


def test_record_computes_the_column(data):
    c, n, sr = _pair(data, "vbd16k/{}/p232_001.wav")
    from setoolkit.metrics import registry as metric_registry

    (record,) = M.METRICS
    assert metric_registry.get("mcd") is record and record.higher_is_better is False and record.extra == "mcd"
    assert record.compute(c, n, sr) == M.mcd(c, n, sr)
