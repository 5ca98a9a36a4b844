"""DistillMOS and ViSQOL v3 (speech mode) on real VoiceBank-DEMAND pairs, offline, from the weights inside the
wheels."""

import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import setoolkit
from setoolkit import assets
from setoolkit.audio import read, resample
from setoolkit.metrics import learned as Q


@pytest.fixture(scope="module")
def pairs(mirror):
    """(name, clean, noisy, gtcrn-enhanced) of 11 of the 44 vbd16k pairs, 16 kHz mono float64."""
    model = setoolkit.load("gtcrn")
    out = []
    for c_path, n_path in assets.dataset_pairs("vbd16k", mirror=mirror)[::4]:
        c, sr = read(c_path)
        n, _ = read(n_path)
        assert sr == 16000
        m = min(c.shape[1], n.shape[1])
        e = model.enhance(n[:, :m], sr)
        out.append((c_path.stem, c[0, :m].astype(np.float64), n[0, :m].astype(np.float64), e[0, :m].astype(np.float64)))
    return out


@pytest.mark.slow
def test_distillmos_rates_clean_speech_above_its_noisy_version(pairs):
    clean = np.array([Q.distillmos(c, 16000) for _, c, _, _ in pairs])
    noisy = np.array([Q.distillmos(n, 16000) for _, _, n, _ in pairs])
    assert np.all((clean >= 1) & (clean <= 5)) and np.all((noisy >= 1) & (noisy <= 5))
    assert np.sum(clean > noisy) >= 10  # measured: 11 of 11
    assert np.mean(clean - noisy) > 0.6  # measured: 1.11
    # a measured value (distillmos 0.9.1, no resampling at 16 kHz): the model itself ran, not a stand-in
    assert dict(zip([p[0] for p in pairs], clean))["p232_001"] == pytest.approx(3.890, abs=0.01)


def test_visqol_orders_clean_enhanced_noisy(pairs):
    top, noisy, enhanced = [], [], []
    for _, c, n, e in pairs:
        top.append(Q.visqol(c, c, 16000))
        noisy.append(Q.visqol(c, n, 16000))
        enhanced.append(Q.visqol(c, e, 16000))
    top, noisy, enhanced = map(np.array, (top, noisy, enhanced))
    assert np.all(top > 4.0)  # measured: 4.05 .. 4.70
    assert np.all(noisy < top - 0.5)
    assert np.sum((enhanced > noisy) & (enhanced < top)) >= 8  # measured: 9 of 11 (GTCRN hurts the cleanest pairs)
    assert np.mean(enhanced) > np.mean(noisy) + 0.2  # measured: 1.89 vs 1.67


def test_other_rates_are_resampled_to_16k(pairs):
    _, c, n, _ = pairs[0]
    c48, n48 = (resample(x.astype(np.float32), 16000, 48000) for x in (c, n))
    assert Q.distillmos(n48, 48000) == pytest.approx(Q.distillmos(n, 16000), abs=0.05)
    assert Q.visqol(c48, n48, 48000) == pytest.approx(Q.visqol(c, n, 16000), abs=0.1)


def test_degenerate_input_is_nan_with_a_warning():
    x = np.random.default_rng(0).standard_normal(16000)
    with pytest.warns(UserWarning, match="all-zero signal"):
        assert math.isnan(Q.distillmos(np.zeros(16000), 16000))
    with pytest.warns(UserWarning, match="at least 0.25 s"):
        assert math.isnan(Q.distillmos(x[:2000], 16000))
    with pytest.warns(UserWarning, match="all-zero estimate"):
        assert math.isnan(Q.visqol(x, np.zeros(16000), 16000))
    with pytest.warns(UserWarning, match="at least 0.5 s"):
        assert math.isnan(Q.visqol(x[:4000], x[:4000], 16000))
    with pytest.raises(ValueError, match="sr must be"):
        Q.distillmos(x, 0)


def test_distillmos_is_thread_safe(pairs):
    signals = [n for _, _, n, _ in pairs[:4]]
    serial = [Q.distillmos(x, 16000) for x in signals]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda x: Q.distillmos(x, 16000), signals))
    assert threaded == serial


@pytest.mark.slow
def test_both_run_offline_without_transformers():
    code = (
        "import sys, numpy as np\n"
        "from setoolkit.metrics import learned as Q\n"
        "x = np.random.default_rng(0).standard_normal(16000) * 0.1\n"
        "assert 1 <= Q.distillmos(x, 16000) <= 5 and 1 <= Q.visqol(x, x, 16000) <= 5\n"
        "assert 'transformers' not in sys.modules and 'huggingface_hub' not in sys.modules\n"
    )
    env = {
        "HF_HUB_OFFLINE": "1",
        "PATH": "",
        "PYTHONPATH": str(Q.__file__).rsplit("/setoolkit/", 1)[0],
        "OMP_NUM_THREADS": "1",
        "no_proxy": "*",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_distillmos_equals_the_packages_forward_on_short_and_long_clips(pairs, mirror):
    """setoolkit runs DistillMOS's crops one at a time on channels-last tensors (faster on one core); the score
    must be the package's own call's, on a 1-crop clip and on 11-18 s recordings cut into 5-11 crops."""
    import torch

    model, _ = Q._distillmos_model()
    signals = [c for _, c, _, _ in pairs[:2]]
    for path in assets.dataset_files("dns3_blind", mirror=mirror)[:2]:
        x, sr = read(path)
        signals.append(resample(x[0], sr, 16000) if sr != 16000 else x[0])
    for x in signals:
        with torch.inference_mode():
            package = float(model(torch.from_numpy(np.asarray(x, dtype=np.float32))[None])[0, 0])
        assert Q.distillmos(x, 16000) == pytest.approx(package, abs=1e-5)
