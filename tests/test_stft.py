"""Version-safe STFT: perfect reconstruction, numpy equality, complex vs real layout, named layouts.

Runs under the main torch and, from scripts/test.sh, under torch 1.13.1 with numpy < 2.
"""

import numpy as np
import pytest
import torch

from setoolkit import stft as S
from setoolkit.errors import LayoutError

pytestmark = pytest.mark.torch_compat

CONFIGS = [("sine", 400, 200), ("sine", 512, 256), ("sqrt_hann", 512, 256), ("vorbis", 960, 480)]


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 24000)).astype(np.float32)


@pytest.mark.parametrize("name,n_fft,hop", CONFIGS)
def test_perfect_reconstruction(signal, name, n_fft, hop):
    w = S.window(name, n_fft)
    spec = S.stft(torch.from_numpy(signal), n_fft, hop, w, center=True)
    assert spec.is_complex() and spec.shape[:2] == (2, n_fft // 2 + 1)
    y = S.istft(spec, n_fft, hop, w, center=True, length=signal.shape[-1])
    assert float((y - torch.from_numpy(signal)).abs().max()) < 1e-5


@pytest.mark.parametrize("name,n_fft,hop", CONFIGS)
def test_power_complementary_windows_overlap_add_to_one(name, n_fft, hop):
    w = S.window(name, n_fft, dtype=np.float64)
    env = S.overlap_add_np(np.broadcast_to(w * w, (8, n_fft)), hop)
    assert np.allclose(env[n_fft:-n_fft], 1.0, atol=1e-6)


@pytest.mark.parametrize("name,n_fft,hop", CONFIGS)
def test_torch_equals_numpy_reference(signal, name, n_fft, hop):
    x = signal.astype(np.float64)
    w = S.window(name, n_fft, dtype=np.float64)
    spec_t = S.stft(torch.from_numpy(x), n_fft, hop, w).numpy()
    spec_n = S.stft_np(x, n_fft, hop, w)
    assert np.abs(spec_t - spec_n).max() < 1e-9 * np.abs(spec_n).max()
    y_t = S.istft(torch.from_numpy(spec_n), n_fft, hop, w, length=x.shape[-1]).numpy()
    y_n = S.istft_np(spec_n, n_fft, hop, w, length=x.shape[-1])
    assert np.abs(y_t - y_n).max() < 1e-9


def test_real_layout_gives_identical_result_to_complex(signal):
    w = S.window("sine", 512)
    spec = S.stft(torch.from_numpy(signal), 512, 256, w)
    from_complex = S.istft(spec, 512, 256, w, length=signal.shape[-1])
    from_real = S.istft(torch.view_as_real(spec), 512, 256, w, length=signal.shape[-1], layout="real_imag")
    assert torch.equal(from_complex, from_real)


def test_real_tensor_without_layout_is_refused_with_hint(signal):
    w = S.window("sine", 512)
    spec = torch.view_as_real(S.stft(torch.from_numpy(signal), 512, 256, w))
    with pytest.raises(LayoutError, match="layout='real_imag'"):
        S.istft(spec, 512, 256, w)


def test_istft_checks_frequency_dim(signal):
    w = S.window("sine", 512)
    spec = S.stft(torch.from_numpy(signal), 512, 256, w)
    with pytest.raises(LayoutError, match="257 frequency bins"):
        S.istft(spec.transpose(-1, -2), 512, 256, w)


@pytest.mark.parametrize("as_numpy", [False, True])
def test_layout_round_trips(signal, as_numpy):
    z = S.stft(torch.from_numpy(signal), 512, 256, S.window("sine", 512))
    z = z.numpy() if as_numpy else z
    for layout in ("real_imag", "channels_first", "channels_last"):
        x = S.from_complex(z, layout)
        dims = S.LAYOUTS[layout]
        assert x.shape[dims.index("ri")] == 2 and x.shape[dims.index("freq")] == 257
        back = S.to_complex(x, layout)
        assert np.allclose(np.asarray(back), np.asarray(z))
    cf = S.convert(S.from_complex(z, "real_imag"), "real_imag", "channels_first")
    assert tuple(cf.shape) == (2, 2, z.shape[-1], 257)
    assert np.allclose(np.asarray(cf[:, 0]), np.asarray(z).real.swapaxes(-1, -2))


def test_layout_errors_name_expected_dims():
    x = torch.zeros(1, 257, 10, 3)
    with pytest.raises(LayoutError, match="size 2 for dim 3"):
        S.to_complex(x, "real_imag")
    with pytest.raises(LayoutError, match="expects 4 dims"):
        S.to_complex(torch.zeros(257, 10, 2), "real_imag")
    with pytest.raises(LayoutError, match="unknown layout"):
        S.to_complex(x, "bft")


def test_permute_named_checks_sizes():
    x = torch.zeros(1, 257, 10)
    assert S.permute_named(x, "b f t", "b t f", f=257).shape == (1, 10, 257)
    assert S.permute_named(np.zeros((1, 257, 10)), "b f t", "t f b").shape == (10, 257, 1)
    with pytest.raises(LayoutError, match="dim 'f' of \\(b f t\\) should be 257, got 10"):
        S.permute_named(torch.zeros(1, 10, 257), "b f t", "b t f", f=257)
    with pytest.raises(LayoutError, match="expected 3 dims"):
        S.permute_named(torch.zeros(1, 257), "b f t", "b t f")


def test_windows_match_their_definitions():
    n = np.arange(512)
    assert np.allclose(S.window("sine", 512), np.sin(np.pi * (n + 0.5) / 512))
    assert np.allclose(S.window("sqrt_hann", 512) ** 2, np.hanning(513)[:512], atol=1e-6)
    v = S.window("vorbis", 960)
    assert np.allclose(v**2 + np.roll(v, 480) ** 2, 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="unknown window"):
        S.window("kaiser", 10)


def test_installed_torch_istft_contract_is_detected():
    major = int(torch.__version__.split(".")[0])
    assert S.torch_istft_takes_real_layout() == (major < 2)
