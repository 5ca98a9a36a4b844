"""GTCRN: setoolkit's PyTorch port vs the official streaming ONNX, streaming vs offline, VoiceBank-DEMAND floors,
and clear errors for bad checkpoints. Real weights and real audio from the mirror."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read
from setoolkit.errors import AssetError
from setoolkit.models.gtcrn import network as gtcrn
from setoolkit.streaming import StftFrameStream, offline_frames, stream_signal

EXPORT_CKPT = "weights/gtcrn/model_trained_on_dns3_stream_export.tar"


@pytest.fixture(scope="module")
def pairs(mirror):
    return assets.dataset_pairs("vbd16k", mirror=mirror)


@pytest.fixture(scope="module")
def real_noisy(pairs, data):
    """About 8 s of real noisy speech: two VoiceBank-DEMAND files and the start of a DNS3 blind-test recording."""
    x = [read(pairs[k][1])[0][0] for k in (0, 7)]
    blind, sr = read(sorted((data / "dns3_blind").glob("*.wav"))[0])
    assert sr == 16000
    return np.concatenate(x + [blind[0][: 3 * sr]])


@pytest.fixture(scope="module")
def model():
    return setoolkit.load("gtcrn")


@pytest.mark.slow
@pytest.mark.torch_compat
def test_port_matches_official_streaming_onnx(mirror, real_noisy):
    card = setoolkit.get_card("gtcrn")
    port = gtcrn.Gtcrn(replace(card, weights=(EXPORT_CKPT,)), str(assets.fetch(EXPORT_CKPT, mirror=mirror)))
    official = gtcrn.build_onnx(mirror=mirror)
    ours = stream_signal(port.stream(), real_noisy, chunk=256)
    ref = stream_signal(StftFrameStream(official), real_noisy, chunk=256)
    value = metrics.si_sdr(ref, ours)
    print(f"SI-SDR(setoolkit streaming, official streaming ONNX) = {value:.1f} dB")
    assert value > 50
    assert metrics.si_sdr(real_noisy, ref) < 30  # the reference really enhances (not identity)


@pytest.mark.slow
@pytest.mark.torch_compat
def test_streaming_equals_offline_any_chunk(model, real_noisy):
    x = real_noisy[: 5 * 16000]
    offline = model.enhance_model_rate(x)
    for chunk in (100, 4097):
        streamed = stream_signal(model.stream(), x, chunk=chunk)
        assert streamed.shape == offline.shape
        assert metrics.si_sdr(offline, streamed) > 60, chunk


@pytest.mark.slow
@pytest.mark.torch_compat
def test_every_cache_is_carried(model, real_noisy):
    """Dropping any part of the state between frames changes the output: all five are really used."""
    x = real_noisy[:24000]
    offline = model.enhance_model_rate(x)

    class Forgetful(gtcrn.Gtcrn):
        def __init__(self, base, part):
            self.__dict__.update(base.__dict__)
            self.part = part

        def process_frames(self, specs, state):
            fresh = gtcrn.GtcrnState.zeros()
            setattr(state, self.part, getattr(fresh, self.part))
            return super().process_frames(specs, state)

    for part in ("enc_cache", "dec_cache", "enc_tra", "dec_tra", "inter"):
        broken = stream_signal(StftFrameStream(Forgetful(model, part)), x)
        assert metrics.si_sdr(offline, broken) < 40, part  # measured 20-31 dB; carried: > 120 dB


def test_checkpoint_erb_matrices_are_the_erb_filterbank(model):
    ((name, ok, detail),) = model.self_check()
    assert ok, detail


def _improvements(model, pairs):
    rows = []
    for clean_path, noisy_path in pairs:
        clean, sr = read(clean_path)
        noisy, _ = read(noisy_path)
        y = model.enhance(noisy, sr)
        assert y.shape == noisy.shape
        before = metrics.score_pair(clean[0], noisy[0], sr, metrics=["si_sdr", "pesq_wb", "stoi"])
        after = metrics.score_pair(clean[0], y[0], sr, metrics=["si_sdr", "pesq_wb", "stoi"])
        rows.append([after[k] - before[k] for k in ("si_sdr", "pesq_wb", "stoi")] + [after["lag"]])
    return np.array(rows)


@pytest.mark.parametrize(
    "name, floor",
    [
        ("gtcrn", (7.5, 0.45, 0.0)),  # measured +7.83 dB, +0.50, +0.004
        ("gtcrn-vctk", (9.8, 0.70, 0.02)),
    ],
)  # measured +10.21 dB, +0.77, +0.030
@pytest.mark.slow
def test_voicebank_demand_floor(name, floor, pairs):
    d = _improvements(setoolkit.load(name), pairs)
    assert len(d) == 44
    mean = d[:, :3].mean(axis=0)
    print(f"{name}: dSI-SDR {mean[0]:+.2f} dB, dPESQ-WB {mean[1]:+.3f}, dSTOI {mean[2]:+.4f}")
    assert mean[0] >= floor[0] and mean[1] >= floor[1] and mean[2] > floor[2]
    assert np.all(d[:, 3] == 0)  # aligned with the input


def test_bad_checkpoints_are_refused_clearly(tmp_path, mirror):
    card = setoolkit.get_card("gtcrn")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(AssetError, match="junk.tar: not a loadable torch checkpoint"):
        gtcrn.Gtcrn(card, str(junk))

    no_model = tmp_path / "bare.tar"
    sd = gtcrn.load_state_dict(str(assets.fetch(card.weights[0], mirror=mirror)))
    torch.save(sd, no_model)  # a bare state dict, not {"model": ...}
    with pytest.raises(AssetError, match="bare.tar: not a GTCRN checkpoint.*key 'model'"):
        gtcrn.Gtcrn(card, str(no_model))

    other = dict(sd)
    other.pop("dpgrnn2.inter_fc.bias")
    other["encoder.en_convs.0.conv.weight"] = torch.zeros(32, 9, 1, 5)
    wrong = tmp_path / "wrong.tar"
    torch.save({"model": other}, wrong)
    with pytest.raises(
        AssetError,
        match=r"wrong.tar: does not match the GTCRN architecture: 1 missing keys.*"
        r"dpgrnn2.inter_fc.bias.*shape mismatches.*en_convs.0.conv.weight",
    ):
        gtcrn.Gtcrn(card, str(wrong))

    corrupt = tmp_path / card.weights[0]
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(AssetError, match="checksum mismatch"):
        gtcrn.build(card, mirror=tmp_path)


@pytest.mark.torch_compat
def test_offline_frames_batched_path_equals_frame_loop(model, real_noisy):
    """The batched offline call gives what the frame-by-frame loop gives (the FrameModel contract)."""
    x = real_noisy[:16000]

    class Looping:
        n_fft, hop, window, sample_rate = model.n_fft, model.hop, model.window, model.sample_rate
        initial_state = model.initial_state
        process_frame = model.process_frame

    assert metrics.si_sdr(offline_frames(Looping(), x), model.enhance_model_rate(x)) > 60
