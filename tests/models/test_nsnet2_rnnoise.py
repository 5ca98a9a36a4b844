"""Classic baselines: NSNet2 (16 and 48 kHz ONNX, GRU states exposed) and RNNoise (pyrnnoise's library):
equality with the official graph, streaming vs offline, delay, VoiceBank-DEMAND floors, clear errors."""

import importlib.metadata

import numpy as np
import pytest

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read, resample
from setoolkit.errors import AssetError, ModelError
from setoolkit.models import nsnet2, rnnoise
from setoolkit.models.common.runtimes import onnx_session
from setoolkit.stft import frame_np
from setoolkit.streaming import stream_signal


@pytest.fixture(scope="module")
def pairs(mirror):
    return assets.dataset_pairs("vbd16k", mirror=mirror)


@pytest.fixture(scope="module")
def noisy_scores(pairs):
    """Per pair: clean, noisy, and the noisy input's own scores (computed once for the three floors)."""
    out = []
    for clean_path, noisy_path in pairs:
        clean, sr = read(clean_path)
        noisy, _ = read(noisy_path)
        out.append((clean[0], noisy, metrics.score_pair(clean[0], noisy[0], sr, metrics=["si_sdr", "pesq_wb", "stoi"])))
    return out


@pytest.fixture(scope="module")
def real_noisy(pairs):
    return np.concatenate([read(pairs[k][1])[0][0] for k in (5, 30)])


def _floor(model, noisy_scores):
    rows = []
    for clean, noisy, before in noisy_scores:
        y = model.enhance(noisy, 16000)
        assert y.shape == noisy.shape
        after = metrics.score_pair(clean, y[0], 16000, metrics=["si_sdr", "pesq_wb", "stoi"])
        rows.append([after[k] - before[k] for k in ("si_sdr", "pesq_wb", "stoi")] + [after["lag"]])
    d = np.array(rows)
    mean = d[:, :3].mean(axis=0)
    print(f"{model.name}: dSI-SDR {mean[0]:+.2f} dB, dPESQ-WB {mean[1]:+.3f}, dSTOI {mean[2]:+.4f}")
    assert len(d) == 44 and np.all(d[:, 3] == 0)  # every output aligned with its input
    return mean


# ------------------------------------------------------------------------------------------ NSNet2


@pytest.mark.parametrize("name, rate", [("nsnet2", 16000), ("nsnet2-48k", 48000)])
def test_nsnet2_stateful_graph_equals_the_official_graph(name, rate, real_noisy):
    m = setoolkit.load(name)
    x = resample(real_noisy[None], 16000, rate)[0]
    specs = np.fft.rfft(frame_np(np.pad(x, (m.n_fft - m.hop, 0)), m.n_fft, m.hop) * m.window, axis=-1)
    feats = nsnet2.log_power(specs)
    official = onnx_session(m.model_path).run(None, {"input": feats[None]})[0][0]
    if m.framing.min_gain is not None:
        official = np.clip(official, m.framing.min_gain, 1.0)
    ours, _ = m.gains(feats, m.initial_state())
    assert np.max(np.abs(ours - official)) < 1e-5
    # streaming (one frame per ONNX call, GRU states carried) equals offline (one call)
    offline = m.enhance_model_rate(x)
    assert metrics.si_sdr(offline, stream_signal(m.stream(), x, chunk=777)) > 60
    assert metrics.si_sdr(x, offline) < 25


def test_nsnet2_48k_windows_reconstruct():
    """Unit gains give the input back: the upstream least-squares synthesis window at hop 512."""
    m = setoolkit.load("nsnet2-48k")
    x = np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.1

    class Identity:
        n_fft, hop, window, synthesis_window, sample_rate = m.n_fft, m.hop, m.window, m.synthesis_window, 48000

        def initial_state(self):
            return None

        def process_frame(self, spec, state):
            return spec, state

    from setoolkit.streaming import offline_frames

    y = offline_frames(Identity(), x)
    assert np.max(np.abs(y[1024:-1024] - x[1024:-1024])) < 1e-5


@pytest.mark.slow
def test_nsnet2_floors(noisy_scores):
    d16 = _floor(setoolkit.load("nsnet2"), noisy_scores)
    assert d16[0] >= 5.8 and d16[1] >= 0.32  # measured +6.08 dB, +0.348 (STOI -0.008)
    d48 = _floor(setoolkit.load("nsnet2-48k"), noisy_scores)
    assert d48[0] >= 5.0 and d48[1] >= 0.28  # measured +5.25 dB, +0.310 (STOI -0.027)


def test_nsnet2_bad_files(tmp_path, mirror):
    card = setoolkit.get_card("nsnet2")
    junk = tmp_path / "nsnet2.onnx"
    junk.write_bytes(b"\x08\x07garbage")
    with pytest.raises(AssetError, match="nsnet2.onnx: not a loadable ONNX model"):
        nsnet2.Nsnet2(card, str(junk))
    wrong = str(assets.fetch("weights/nsnet2/nsnet2-20ms-48k-baseline.onnx", mirror=mirror))
    with pytest.raises(ModelError, match="takes 513 bins per frame.*has 161.*wrong file for card 'nsnet2'"):
        nsnet2.Nsnet2(card, wrong)
    other = str(assets.fetch("weights/gtcrn/gtcrn.onnx", mirror=mirror))
    with pytest.raises(ModelError, match="gtcrn.onnx: not an NSNet2 export"):
        nsnet2.Nsnet2(card, other)


# ------------------------------------------------------------------------------------------ RNNoise


def test_rnnoise_package_and_delay(real_noisy):
    assert importlib.metadata.version("pyrnnoise") == "0.4.5"
    m = setoolkit.load("rnnoise")
    x = resample(real_noisy[None], 16000, 48000)[0]
    s = m.stream()
    raw = np.concatenate([s.process(x), s.flush()])
    _, lag = metrics.align(x, raw, 48000, max_lag_seconds=0.05)
    assert s.latency == 960 and abs(lag - 960) <= 2  # two 10 ms frames (the high-pass moves the peak by ~1)
    assert 0.3 < np.mean(s.vad) <= 1.0  # speech found by the library's VAD
    offline = m.enhance_model_rate(x)
    assert abs(metrics.align(x, offline, 48000)[1]) <= 2
    assert metrics.si_sdr(offline, stream_signal(m.stream(), x, chunk=333)) > 60


@pytest.mark.slow
def test_rnnoise_floor(noisy_scores):
    d = _floor(setoolkit.load("rnnoise"), noisy_scores)
    assert d[0] >= 5.3 and d[1] >= 0.24  # measured +5.57 dB, +0.264 (STOI -0.0003)


def test_rnnoise_missing_or_wrong_library(tmp_path, monkeypatch):
    not_lib = tmp_path / "librnnoise.so"
    not_lib.write_bytes(b"not a shared object")
    with pytest.raises(AssetError, match="librnnoise.so: not a loadable RNNoise library"):
        rnnoise.load_library(str(not_lib))
    monkeypatch.setattr(rnnoise.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AssetError, match="needs the 'pyrnnoise' package.*pip install --no-deps pyrnnoise==0.4.5"):
        rnnoise.library_path()
