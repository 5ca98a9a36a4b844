"""Demucs denoiser: parity with the upstream `denoiser` package (0.1.5) on checkpoints saved as upstream saves
its releases, streaming = upstream DemucsStreamer, checkpoint errors, any-rate / 24-bit I/O.

The official checkpoints cannot be downloaded on these machines, so every model here carries random weights
drawn by upstream's own constructor: these tests prove the architecture and the loader, not the quality.
"""

import copy
import io
import re

import numpy as np
import pytest
import soundfile as sf
import torch
from denoiser.demucs import Demucs as UpstreamDemucs
from denoiser.demucs import DemucsStreamer

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read
from setoolkit.errors import AssetError
from setoolkit.models.demucs.enhancer import build
from setoolkit.models.demucs.stream import DemucsStream
from setoolkit.streaming import stream_signal


def _upstream_checkpoint(folder, name: str, seed: int = 0, **save_kw):
    """A randomly initialised upstream Demucs of the card ``name`` and its state_dict saved the way the released
    files were written (``torch.save(model.state_dict(), path)``)."""
    torch.manual_seed(seed)
    net = UpstreamDemucs(**setoolkit.get_card(name).config, sample_rate=16_000).eval()
    path = folder / f"{name}-seed{seed}.th"
    torch.save(net.state_dict(), path, **save_kw)
    return net, path


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: faster on small machines (no oversubscription), and what the timings assume."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demucs")
    return {name: _upstream_checkpoint(folder, name) for name in ("denoiser-dns48", "denoiser-dns64")}


@pytest.fixture(scope="module")
def dns48(ckpts):
    return build(setoolkit.get_card("denoiser-dns48"), checkpoint=ckpts["denoiser-dns48"][1], verify=False)


@pytest.fixture(scope="module")
def noisy(mirror):
    _, path = assets.dataset_pairs("vbd16k", mirror=mirror)[0]
    x, sr = read(path)
    assert sr == 16000
    return x[0][: 3 * sr]


def _upstream_offline(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)[None, None])[0, 0].numpy()


def _upstream_stream(net, x, chunk=256):
    streamer = DemucsStreamer(net)
    xt = torch.from_numpy(x)[None]
    with torch.no_grad():
        outs = [streamer.feed(xt[:, i : i + chunk]) for i in range(0, xt.shape[1], chunk)] + [streamer.flush()]
    return torch.cat(outs, 1)[0].numpy()


# ----------------------------------------------------------------------------------------------- parity


@pytest.mark.torch_compat
@pytest.mark.parametrize("name", ["denoiser-dns48", "denoiser-dns64"])
def test_offline_equals_upstream(ckpts, noisy, name):
    net, path = ckpts[name]
    model = build(setoolkit.get_card(name), checkpoint=path, verify=False)
    ours, ref = model.enhance_model_rate(noisy), _upstream_offline(net, noisy)
    assert ours.shape == noisy.shape
    assert np.abs(ours - ref).max() < 1e-5
    assert np.abs(ref).max() > 1e-3  # not trivially zero


def test_offline_equals_upstream_valentini_nc(tmp_path, noisy):
    """The non-causal model: BiLSTM + linear, stride 2, x2 resampling; no streaming mode."""
    net, path = _upstream_checkpoint(tmp_path, "denoiser-valentini-nc")
    model = build(setoolkit.get_card("denoiser-valentini-nc"), checkpoint=path, verify=False)
    x = noisy[:2000]  # BiLSTM 2 x 1024 over ~1000 steps per second of audio: keep it short
    assert np.abs(model.enhance_model_rate(x) - _upstream_offline(net, x)).max() < 1e-5
    with pytest.raises(setoolkit.errors.ModelError, match="not causal"):
        model.stream()


def test_offline_on_two_threads_equals_float64(dns48, noisy):
    """torch 2.11's oneDNN transposed conv is wrong on several threads for some shapes (see segan.py): Demucs'
    shapes are checked against the same network in float64."""
    x = noisy[:8000]
    net64 = copy.deepcopy(dns48.net).double()
    torch.set_num_threads(2)
    try:
        ours = dns48.enhance_model_rate(x)
    finally:
        torch.set_num_threads(1)
    with torch.no_grad():
        ref = net64(torch.from_numpy(x).double()[None, None])[0, 0].numpy()
    assert np.abs(ours - ref).max() < 1e-5


@pytest.mark.torch_compat
def test_streaming_equals_demucs_streamer(ckpts, dns48, noisy):
    net, _ = ckpts["denoiser-dns48"]
    x = noisy[:16000]
    ref = _upstream_stream(net, x)
    ours = stream_signal(dns48.stream(), x, chunk=256)
    assert ours.shape == ref.shape == x.shape
    assert np.abs(ours - ref).max() < 1e-5
    assert metrics.si_sdr(ref, ours) > 80
    # any chunking gives the same output (10 ms chunks)
    assert np.abs(stream_signal(dns48.stream(), x, chunk=160) - ours).max() < 1e-6


@pytest.mark.torch_compat
def test_streaming_equals_demucs_streamer_hidden64(ckpts, noisy):
    net, path = ckpts["denoiser-dns64"]
    x = noisy[:8000]
    model = build(setoolkit.get_card("denoiser-dns64"), checkpoint=path, verify=False)
    assert np.abs(stream_signal(model.stream(), x) - _upstream_stream(net, x)).max() < 1e-5


def test_streaming_short_input_and_flush(ckpts, dns48, noisy):
    net, _ = ckpts["denoiser-dns48"]
    x = noisy[:300]  # shorter than one frame: everything comes out of flush
    assert np.abs(stream_signal(dns48.stream(), x) - _upstream_stream(net, x)).max() < 1e-5


def test_latency_and_card_match_the_stream(dns48):
    s = dns48.stream()
    card = dns48.card
    assert isinstance(s, DemucsStream)
    assert (s.hop, s.frame, s.latency) == (256, 661, 512)  # 597 receptive field + 64 lookahead
    assert (card.hop, card.frame) == (s.hop, s.frame)
    assert card.latency_ms == pytest.approx(1000 * s.frame / 16000, abs=0.05)
    assert card.params == sum(p.numel() for p in dns48.net.parameters()) == 18_867_937
    # upstream's convention: the first hop comes out once `frame` samples are in
    out = s.process(np.zeros(768, dtype=np.float32))
    assert out.shape == (768,)


# ------------------------------------------------------------------------------------------ checkpoints


def test_legacy_serialization_loads_the_same(tmp_path, ckpts, noisy, dns48):
    """Checkpoints written by torch < 1.6 (non-zip format) load with weights_only too."""
    net, _ = ckpts["denoiser-dns48"]
    path = tmp_path / "legacy.th"
    torch.save(net.state_dict(), path, _use_new_zipfile_serialization=False)
    model = build(setoolkit.get_card("denoiser-dns48"), checkpoint=path, verify=False)
    x = noisy[:8000]
    assert np.array_equal(model.enhance_model_rate(x), dns48.enhance_model_rate(x))


def test_official_checkpoint_offline_names_file_and_url(tmp_path, monkeypatch):
    import pooch

    def offline(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch, "retrieve", offline)
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path))
    url = "https://dl.fbaipublicfiles.com/adiyoss/denoiser/dns48-11decc9d8e3f0998.th"
    message = f"weights/denoiser/dns48-11decc9d8e3f0998.th: cannot download {url}"
    with pytest.raises(AssetError, match=re.escape(message)):
        setoolkit.load("denoiser-dns48", mirror=tmp_path / "empty-mirror")


def test_unofficial_file_is_refused_unless_opted_in(tmp_path, ckpts):
    _, path = ckpts["denoiser-dns48"]
    mirror = tmp_path / "mirror"
    target = mirror / "weights/denoiser/dns48-11decc9d8e3f0998.th"
    target.parent.mkdir(parents=True)
    target.write_bytes(path.read_bytes())
    with pytest.raises(AssetError, match="checksum mismatch.*expected sha256 11decc9d8e3f0998"):
        setoolkit.load("denoiser-dns48", mirror=mirror)
    with pytest.raises(AssetError, match="checksum mismatch"):
        setoolkit.load("denoiser-dns48", checkpoint=path)
    assert setoolkit.load("denoiser-dns48", mirror=mirror, verify=False).card.name == "denoiser-dns48"
    with pytest.raises(AssetError, match="does not exist"):
        setoolkit.load("denoiser-dns48", checkpoint=tmp_path / "nope.th")


def test_wrong_architecture_names_first_mismatching_key(ckpts):
    with pytest.raises(
        AssetError,
        match=r"does not fit denoiser-dns64.*first: key 'encoder\.0\.0\.weight': "
        r"checkpoint shape \(48, 1, 8\), model expects \(64, 1, 8\)",
    ):
        build(setoolkit.get_card("denoiser-dns64"), checkpoint=ckpts["denoiser-dns48"][1], verify=False)
    # a causal hidden-64 checkpoint has every conv shape of valentini_nc; the (Bi)LSTM gives it away
    with pytest.raises(
        AssetError,
        match=r"does not fit denoiser-valentini-nc.*first: missing key "
        r"'lstm\.lstm\.weight_ih_l0_reverse'",
    ):
        build(setoolkit.get_card("denoiser-valentini-nc"), checkpoint=ckpts["denoiser-dns64"][1], verify=False)


def test_corrupt_or_foreign_files_fail_cleanly(tmp_path, ckpts):
    card = setoolkit.get_card("denoiser-dns48")
    truncated = tmp_path / "truncated.th"
    truncated.write_bytes(ckpts["denoiser-dns48"][1].read_bytes()[:100_000])
    with pytest.raises(AssetError, match=f"{truncated}: not a loadable torch checkpoint"):
        build(card, checkpoint=truncated, verify=False)
    tensor = tmp_path / "tensor.th"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(AssetError, match="expected a state_dict"):
        build(card, checkpoint=tensor, verify=False)
    # upstream's training package (class object + kwargs + state) needs full pickle: refused, never executed
    package = tmp_path / "package.th"
    buf = io.BytesIO()
    torch.save({"class": UpstreamDemucs, "args": (), "kwargs": {}, "state": {}}, buf)
    package.write_bytes(buf.getvalue())
    with pytest.raises(AssetError, match="not a loadable torch checkpoint"):
        build(card, checkpoint=package, verify=False)


# ------------------------------------------------------------------------------------------------- I/O


def test_48k_in_16k_model_48k_out(dns48, data):
    x, sr = read(data / "vbd48k/noisy/p232_013.wav")
    assert sr == 48000
    y = dns48.enhance(x, sr)
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    assert np.std(y) > 1e-4


@pytest.mark.slow
def test_24bit_stereo_file_round_trip(dns48, data, tmp_path):
    src = data / "misc/jfk.flac"  # 44.1 kHz, stereo, 24-bit
    out = dns48.enhance_file(src, tmp_path / "jfk_enhanced.flac")
    a, b = sf.info(str(src)), sf.info(str(out))
    assert (b.samplerate, b.channels, b.frames, b.subtype) == (a.samplerate, a.channels, a.frames, "PCM_24")
