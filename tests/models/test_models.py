"""Model cards, loading, and DPCRN-Quant end to end on real VoiceBank-DEMAND pairs."""

import numpy as np
import pytest

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read
from setoolkit.errors import AssetError, AudioError, ModelError
from setoolkit.registry import CARDS
from setoolkit.streaming import stream_signal

STABLE_NAMES = [
    "dpcrn-dns3",
    "dpcrn-base",
    "dpcrn-quant",
    "deepfilternet2",
    "deepfilternet3",
    "denoiser-dns48",
    "denoiser-dns64",
    "denoiser-master64",
    "denoiser-valentini-nc",
    "segan-plus",
    "gtcrn",
    "dtln",
    "nsnet2",
    "rnnoise",
]


@pytest.fixture(scope="module")
def quant():
    return setoolkit.load("dpcrn-quant")


def test_registry_names_are_stable_and_cards_complete():
    assert set(STABLE_NAMES) <= set(CARDS)
    assert all(n == n.lower() and " " not in n for n in CARDS)
    reg = assets.registry()
    for card in CARDS.values():
        assert card.sample_rate in (16000, 48000) and card.license and card.family
        assert all(w in reg for w in card.weights), card.name


def test_unknown_and_unavailable_models_are_clear(monkeypatch):
    import dataclasses

    with pytest.raises(ModelError, match="unknown model 'dpcrn'.*valid models: dpcrn-quant"):
        setoolkit.load("dpcrn")
    planned = dataclasses.replace(CARDS["dpcrn-quant"], name="future-model", builder=None, status="planned (issue #99)")
    monkeypatch.setitem(CARDS, "future-model", planned)
    with pytest.raises(ModelError, match="not available yet.*issue #99.*Available now: dpcrn-quant"):
        setoolkit.load("future-model")


def test_outputs_identified_by_value_not_position(quant):
    mask_i, cos_i, sin_i = quant.output_order
    assert (mask_i, cos_i, sin_i) == (0, 2, 1)  # these exports list mask, sin, cos


def test_corrupt_tflite_is_refused(tmp_path, mirror):
    card = setoolkit.get_card("dpcrn-quant")
    bad = tmp_path / "weights/dpcrn_base/dpcrn_quant.tflite"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x00" * 2048)
    from setoolkit.models.dpcrn.frame_exports import DpcrnTflite, build

    with pytest.raises(AssetError, match="checksum mismatch"):
        build(card, mirror=tmp_path)
    with pytest.raises(AssetError, match="not a loadable TFLite model"):
        DpcrnTflite(card, str(bad))


@pytest.fixture(scope="module")
def vbd16k_scores(quant, mirror):
    rows = []
    for clean_path, noisy_path in assets.dataset_pairs("vbd16k", mirror=mirror):
        clean, sr = read(clean_path)
        noisy, _ = read(noisy_path)
        enhanced = quant.enhance(noisy, sr)
        assert enhanced.shape == noisy.shape
        before = metrics.score_pair(clean[0], noisy[0], sr, metrics=["si_sdr", "pesq_wb"])
        after = metrics.score_pair(clean[0], enhanced[0], sr, metrics=["si_sdr", "pesq_wb"])
        rows.append((before["si_sdr"], after["si_sdr"], before["pesq_wb"], after["pesq_wb"], after["lag"]))
    return np.array(rows)


@pytest.mark.slow
def test_dpcrn_quant_improves_voicebank_demand(vbd16k_scores):
    s = vbd16k_scores
    assert len(s) == 44
    assert np.mean(s[:, 1] - s[:, 0]) >= 9.0  # measured 9.34 dB
    assert np.mean(s[:, 3] - s[:, 2]) >= 0.5  # measured 0.63
    assert np.all(s[:, 4] == 0)  # output aligned with input


def test_48k_input_goes_through_16k_model_and_back(quant, mirror):
    pairs = assets.dataset_pairs("vbd48k", mirror=mirror)[:4]
    noisy, sr = read(pairs[0][1])
    assert sr == 48000 and quant.enhance(noisy, sr).shape == noisy.shape
    gains = metrics.score_improvement(quant.enhance, pairs, metrics=("pesq_wb", "si_sdr"), score_rate=16000)
    assert gains.mean_delta()["pesq_wb"] > 0.4 and gains.mean_delta()["si_sdr"] > 6.0


def test_streaming_equals_offline(quant, mirror):
    _, noisy_path = assets.dataset_pairs("vbd16k", mirror=mirror)[3]
    x, sr = read(noisy_path)
    offline = quant.enhance_model_rate(x[0])
    for chunk in (256, 1000, 4097):
        streamed = stream_signal(quant.stream(), x[0], chunk=chunk)
        assert streamed.shape == offline.shape
        assert metrics.si_sdr(offline, streamed) > 60.0
        assert np.abs(offline - streamed).max() < 1e-5


def test_stream_reports_latency_and_flushes_everything(quant):
    s = quant.stream()
    assert s.latency == 256 and s.hop == 256
    x = np.random.default_rng(1).standard_normal(1000).astype(np.float32) * 0.1
    out = [s.process(x[:300]), s.process(x[300:])]
    out.append(s.flush())
    assert sum(len(o) for o in out) >= len(x) + s.latency
    with pytest.raises(AudioError, match="NaN"):
        quant.stream().process(np.array([np.nan, 0.0]))


def test_stereo_each_channel_or_downmix(quant, data):
    x, sr = read(data / "misc" / "jfk.flac")
    x = x[:, : sr * 3]
    y = quant.enhance(x, sr)
    assert y.shape == x.shape
    assert not np.allclose(y[0], y[1])
    ref = quant.enhance(x[0], sr)
    assert np.allclose(y[0], ref[0], atol=1e-6)
    assert quant.enhance(x, sr, downmix=True).shape == (1, x.shape[1])


def test_long_input_runs_whole_through_a_frame_model(quant, data):
    """A frame-by-frame model carries its state over any length: no chunk seams, nothing truncated."""
    x, sr = read(data / "dns3_blind" / sorted(p.name for p in (data / "dns3_blind").iterdir())[0])
    assert x.shape[1] > 10 * sr and quant.chunk_seconds is None
    y = quant.enhance(x, sr)[0]
    assert y.shape == (x.shape[1],)
    assert np.array_equal(y, quant.enhance_model_rate(x[0]))
    assert np.std(y[-sr:]) > 1e-4  # the last second is there


def test_bad_input_to_enhance(quant):
    with pytest.raises(AudioError, match="sample rate"):
        quant.enhance(np.zeros(16000), 0)
    with pytest.raises(AudioError, match="rank 3"):
        quant.enhance(np.zeros((1, 1, 16000)), 16000)
    with pytest.raises(AudioError, match="NaN"):
        quant.enhance(np.full(16000, np.nan), 16000)
    y = quant.enhance(np.zeros(100, dtype=np.float32), 16000)  # shorter than a frame: padded, not refused
    assert y.shape == (1, 100)


def test_offline_chunking_of_a_real_model_has_no_click_at_the_seams(quant, data):
    """Force the 10 s chunking on a real model (state restarts per chunk): the crossfaded seam must be no
    rougher than the rest of the output."""
    from setoolkit.chunking import chunk_bounds
    from setoolkit.models.common.base import Enhancer

    class Chunked(Enhancer):
        chunk_seconds = 10.0

        def enhance_model_rate(self, x):
            return quant.enhance_model_rate(x)

    x, sr = read(data / "dns3_blind" / sorted(p.name for p in (data / "dns3_blind").iterdir())[0])
    y = Chunked(quant.card).enhance(x, sr)[0]
    assert y.shape == (x.shape[1],)
    jumps = np.abs(np.diff(y))
    seams = [start for start, _ in chunk_bounds(len(y), 10 * sr, sr // 2)[1:]]
    assert seams
    for s in seams:
        assert jumps[s - 160 : s + sr // 2 + 160].max() <= jumps.max()
        assert jumps[s - 160 : s + sr // 2 + 160].max() < 10 * np.percentile(jumps, 99.9)
