"""DTLN: the Keras h5 (PyTorch port) against the official TFLite, int8 TFLite and ONNX pairs; streaming with
LSTM states; the VoiceBank-DEMAND floor with the 384-sample delay compensated; clear errors for bad files."""

import numpy as np
import pytest

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read
from setoolkit.errors import AssetError, ModelError
from setoolkit.models.dtln import network as dtln
from setoolkit.streaming import stream_signal

VARIANTS = ["dtln", "dtln-tflite", "dtln-quant", "dtln-onnx"]


@pytest.fixture(scope="module")
def pairs(mirror):
    return assets.dataset_pairs("vbd16k", mirror=mirror)


@pytest.fixture(scope="module")
def models():
    return {n: setoolkit.load(n) for n in VARIANTS}


@pytest.fixture(scope="module")
def real_noisy(pairs):
    return np.concatenate([read(pairs[k][1])[0][0] for k in (3, 21)])


@pytest.mark.torch_compat
def test_all_variants_agree_with_the_h5(models, real_noisy):
    ref = models["dtln"].enhance_model_rate(real_noisy)
    agree = {n: metrics.si_sdr(ref, models[n].enhance_model_rate(real_noisy)) for n in VARIANTS[1:]}
    print("SI-SDR(variant, h5): " + ", ".join(f"{n} {v:.1f} dB" for n, v in agree.items()))
    assert agree["dtln-tflite"] > 80  # measured 128 dB: same float model
    assert agree["dtln-onnx"] > 80  # measured 126 dB
    assert agree["dtln-quant"] > 20  # measured 26 dB: int8 weights
    assert metrics.si_sdr(real_noisy, ref) < 20  # and the model does change its input


@pytest.mark.torch_compat
@pytest.mark.parametrize("name", ["dtln", "dtln-tflite"])
def test_streaming_equals_offline(models, real_noisy, name):
    m = models[name]
    x = real_noisy[: 3 * 16000]
    offline = m.enhance_model_rate(x)
    s = m.stream()
    assert (s.hop, s.latency) == (128, 384)
    for chunk in (128, 1000):
        assert metrics.si_sdr(offline, stream_signal(m.stream(), x, chunk=chunk)) > 60


@pytest.mark.torch_compat
def test_lstm_states_are_carried(models, real_noisy):
    """Resetting either stage's LSTM states every block gives a clearly different output."""
    m = models["dtln"]
    x = real_noisy[: 2 * 16000]
    offline = m.enhance_model_rate(x)
    for stage in (0, 1):
        orig = m.process_frames

        def forgetful(specs, state, stage=stage, orig=orig):
            state = tuple(dtln.zero_state() if k == stage else s for k, s in enumerate(state))
            return orig(specs, state)

        m.process_frames = forgetful
        try:
            broken = stream_signal(m.stream(), x)
        finally:
            del m.process_frames
        assert metrics.si_sdr(offline, broken) < 30, stage


@pytest.mark.slow
def test_voicebank_demand_floor(models, pairs):
    m = models["dtln"]
    rows = []
    for clean_path, noisy_path in pairs:
        clean, sr = read(clean_path)
        noisy, _ = read(noisy_path)
        y = m.enhance(noisy, sr)
        before = metrics.score_pair(clean[0], noisy[0], sr, metrics=["si_sdr", "pesq_wb", "stoi"])
        after = metrics.score_pair(clean[0], y[0], sr, metrics=["si_sdr", "pesq_wb", "stoi"])
        rows.append([after[k] - before[k] for k in ("si_sdr", "pesq_wb", "stoi")] + [after["lag"]])
    d = np.array(rows)
    assert len(d) == 44
    mean = d[:, :3].mean(axis=0)
    print(f"dtln: dSI-SDR {mean[0]:+.2f} dB, dPESQ-WB {mean[1]:+.3f}, dSTOI {mean[2]:+.4f}")
    assert mean[0] >= 8.5  # measured +9.16 dB
    assert mean[1] >= 0.4  # measured +0.478
    assert np.all(d[:, 3] == 0)  # 384-sample delay compensated: aligned at lag 0


def test_norm_models_load_from_the_same_reader(mirror, pairs):
    """The *_norm_* h5 files (log-magnitude + instant layer norm before stage 1) load and enhance."""
    card = setoolkit.get_card("dtln")
    m = dtln.Dtln(card, [str(assets.fetch("weights/dtln/DTLN_norm_500h.h5", mirror=mirror))])
    assert m.backend.net.log_norm is not None
    assert metrics.score_improvement(m.enhance, pairs[:4], metrics=("si_sdr",)).mean_delta()["si_sdr"] > 5


def test_bad_files_are_refused_clearly(tmp_path, mirror):
    card = setoolkit.get_card("dtln")
    junk = tmp_path / "model.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(AssetError, match="model.h5: not a readable Keras h5 file"):
        dtln.Dtln(card, [str(junk)])

    other = assets.fetch(
        "weights/dpcrn_base/models_experiment_new_base_nomap_phasenloss_retrain_WSJmodel_84_0.022068.h5", mirror=mirror
    )  # a real Keras h5 of another model (DPCRN)
    with pytest.raises(AssetError, match="does not match the DTLN architecture: LSTM kernels"):
        dtln.Dtln(card, [str(other)])

    stage1, stage2 = (str(assets.fetch(f"weights/dtln/model_{k}.tflite", mirror=mirror)) for k in (1, 2))
    with pytest.raises(ModelError, match=r"model_2.tflite: expected one frame input of shape \[1, 1, 257\]"):
        dtln.Dtln(setoolkit.get_card("dtln-tflite"), [stage2, stage1])  # pair given in the wrong order

    corrupt = tmp_path / "weights/dtln/model.h5"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not the release")
    with pytest.raises(AssetError, match="checksum mismatch"):
        dtln.build(card, mirror=tmp_path)
