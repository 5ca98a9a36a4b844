"""Your own model as an Enhancer: a numpy spectral subtraction, a causal torch module and ONNX exports of it, on
real VoiceBank-DEMAND audio from the mirror (resampling, channels, chunking, streaming, errors)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from scipy.signal import lfilter

import setoolkit
from setoolkit import assets
from setoolkit.audio import read
from setoolkit.errors import ModelError
from setoolkit.streaming import stream_signal

SR = 16000
TAPS = 33
HOP = 160


def _si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    ref, est = ref - ref.mean(), est - est.mean()
    target = ref * (est @ ref) / (ref @ ref)
    return float(10 * np.log10((target @ target) / ((est - target) @ (est - target))))


def spectral_subtraction(x: np.ndarray) -> np.ndarray:
    """Power spectral subtraction (512/256 sqrt-Hann STFT, noise = 30th percentile of each bin's power over the
    file, over-subtraction 4, gain floor 0.01): ``(samples,)`` float32 -> ``(samples,)``."""
    n_fft, hop = 512, 256
    win = np.sqrt(np.hanning(n_fft + 1)[:-1]).astype(np.float32)
    xp = np.pad(x, (n_fft, n_fft + (-len(x)) % hop))
    frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop] * win
    spec = np.fft.rfft(frames, axis=-1)
    power = np.abs(spec) ** 2
    noise = np.percentile(power, 30, axis=0)
    gain = np.maximum(1 - 4.0 * noise / np.maximum(power, 1e-12), 0.01)
    out = np.fft.irfft(spec * gain, n=n_fft, axis=-1) * win
    y = np.zeros_like(xp)
    for k, frame in enumerate(out):
        y[k * hop : k * hop + n_fft] += frame
    return y[n_fft : n_fft + len(x)].astype(np.float32)


class CausalFir(torch.nn.Module):
    """A causal FIR filter (33 taps) followed by a soft clip: offline ``forward (1, n) -> (1, n)`` and the
    streaming ``step(block (1, hop), state (1, 32)) -> (out, state)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 1, TAPS, bias=False)
        with torch.no_grad():
            self.conv.weight[:] = torch.from_numpy(np.hanning(TAPS) / np.hanning(TAPS).sum()).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(torch.nn.functional.pad(x, (TAPS - 1, 0))[:, None])[:, 0])

    def step(self, block: torch.Tensor, state):
        state = torch.zeros(1, TAPS - 1) if state is None else state
        xp = torch.cat([state, block], dim=-1)
        return torch.tanh(self.conv(xp[:, None])[:, 0]), xp[:, -(TAPS - 1) :]


class FirStep(torch.nn.Module):
    """:class:`CausalFir`'s step with an explicit state input, for a step ONNX graph."""

    def __init__(self, fir: CausalFir) -> None:
        super().__init__()
        self.fir = fir

    def forward(self, block: torch.Tensor, state: torch.Tensor):
        return self.fir.step(block, state)


def _expected_fir(x: np.ndarray) -> np.ndarray:
    """What :class:`CausalFir` computes, in scipy: causal filtering by the (symmetric) taps, then tanh."""
    w = np.hanning(TAPS) / np.hanning(TAPS).sum()
    return np.tanh(lfilter(w[::-1], 1.0, x.astype(np.float64)))


@pytest.fixture(scope="module")
def pairs(mirror):
    return assets.dataset_pairs("vbd16k", mirror=mirror)


@pytest.fixture(scope="module")
def noisy(pairs):
    """About 5 s of real noisy speech (two VoiceBank-DEMAND test files), 16 kHz mono."""
    x = np.concatenate([read(pairs[k][1])[0][0] for k in (0, 1)])
    return x[: 5 * SR]


def _export(module, args, path, names, dynamic):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, args, str(path), dynamo=False, input_names=names[0], output_names=names[1], dynamic_axes=dynamic
        )
    return path


def test_function_adapter_enhances_real_pairs_at_any_rate(pairs):
    model = setoolkit.from_function(spectral_subtraction, SR, name="specsub", trained_on="none")
    assert (model.name, model.sample_rate, model.trained_on, model.card.family) == ("specsub", SR, "none", "user")
    assert not setoolkit.in_domain(model, "vbd16k")
    mine = setoolkit.from_function(spectral_subtraction, SR, name="mine", trained_on="VCTK 28 speakers + DEMAND")
    assert setoolkit.in_domain(mine, "vbd48k") and not setoolkit.in_domain(mine, "dns4_real48k")
    gains = []
    for clean_path, noisy_path in pairs[:4]:
        (clean, _), (x, sr) = read(clean_path), read(noisy_path)
        y = model.enhance(x, sr)
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.allclose(y[0], spectral_subtraction(x[0]), atol=1e-6)  # 16 kHz in: the function, untouched
        gains.append(_si_sdr(clean[0], y[0]) - _si_sdr(clean[0], x[0]))
    assert np.mean(gains) > 1.5, gains  # it really enhances
    stereo_48k = np.stack([x[0], 0.5 * x[0]])
    stereo_48k = np.repeat(stereo_48k, 3, axis=1)  # any rate, any channel count
    y = model.enhance(stereo_48k, 48000)
    assert y.shape == stereo_48k.shape and np.abs(y[1]).max() < np.abs(y[0]).max()


def test_function_latency_is_compensated_and_long_files_are_chunked(noisy):
    calls = []

    def late(x):
        calls.append(len(x))
        return np.concatenate([np.zeros(100, np.float32), x[:-100]])

    model = setoolkit.from_function(late, SR, name="late", latency=100)
    assert model.card.latency_ms == pytest.approx(6.25)
    assert np.allclose(model.enhance_model_rate(noisy), noisy)  # output aligned with the input
    calls.clear()
    long = np.tile(noisy, 5)  # 25 s: split into <= 10 s chunks
    y = model.enhance(long, SR)
    assert y.shape == (1, long.size) and len(calls) >= 3 and max(calls) <= 10 * SR + 100 + SR


def test_wrong_output_length_names_the_model(noisy):
    short = setoolkit.from_function(lambda x: x[:-1], SR, name="my-short-model")
    n = noisy.size
    with pytest.raises(
        ModelError,
        match=rf"user model 'my-short-model' returned shape \({n - 1},\) for an input of "
        rf"shape \({n},\): it must return one sample per input sample",
    ):
        short.enhance(noisy, SR)
    with pytest.raises(ModelError, match="fn must be callable"):
        setoolkit.from_function("not a function", SR, name="x")
    with pytest.raises(ModelError, match="latency must be a non-negative number of samples"):
        setoolkit.from_function(lambda x: x, SR, name="x", latency=-1)


def test_torch_adapter_offline_and_streaming_equal_on_real_audio(noisy):
    model = setoolkit.from_torch(CausalFir(), SR, name="fir", hop=HOP, trained_on="nothing (fixed taps)", weights=[])
    assert model.card.params == TAPS and model.card.streaming and model.trained_on == "nothing (fixed taps)"
    offline = model.enhance_model_rate(noisy)
    assert np.abs(offline - _expected_fir(noisy)).max() < 1e-5  # the module, fed the real audio
    for chunk in (HOP, 1000, 4096):
        streamed = stream_signal(model.stream(), noisy, chunk=chunk)
        assert np.abs(streamed - offline).max() < 1e-5, chunk
    y = model.enhance(np.stack([noisy, noisy[::-1]]), 48000)  # through the shared data path
    assert y.shape == (2, noisy.size)


def test_torch_adapter_errors():
    with pytest.raises(ModelError, match="module must be a torch.nn.Module"):
        setoolkit.from_torch(lambda x: x, SR)
    with pytest.raises(
        ModelError,
        match=r"from_torch\('conv1d'\): hop=160 declares a causal module, which needs a "
        r"step",
    ):
        setoolkit.from_torch(torch.nn.Conv1d(1, 1, 1), SR, hop=HOP)
    with pytest.raises(ModelError, match="not causal and has no streaming mode"):
        setoolkit.from_torch(CausalFir(), SR).stream()


def test_onnx_export_of_a_torch_module_runs_as_an_enhancer(tmp_path, noisy):
    fir = CausalFir()
    path = _export(fir, (torch.zeros(1, 1000),), tmp_path / "fir.onnx", (["x"], ["y"]), {"x": {1: "n"}, "y": {1: "n"}})
    model = setoolkit.from_onnx(path, SR, trained_on="nothing")
    assert model.name == "fir" and model.weights_files == (path,) and not model.card.streaming
    assert np.abs(model.enhance_model_rate(noisy) - _expected_fir(noisy)).max() < 1e-5
    with pytest.raises(ModelError, match="from_onnx\\('missing'\\): ONNX file .*missing.onnx' does not exist"):
        setoolkit.from_onnx(tmp_path / "missing.onnx", SR)


def test_onnx_step_graph_streams_and_equals_its_offline_run(tmp_path, noisy):
    path = _export(
        FirStep(CausalFir()),
        (torch.zeros(1, HOP), torch.zeros(1, TAPS - 1)),
        tmp_path / "step.onnx",
        (["block", "state"], ["out", "state_out"]),
        None,
    )
    model = setoolkit.from_onnx(path, SR, name="fir-step", hop=HOP)
    offline = model.enhance_model_rate(noisy[: 3 * SR + 77])  # not a whole number of hops
    assert np.abs(offline - _expected_fir(noisy[: 3 * SR + 77])).max() < 1e-5
    streamed = stream_signal(model.stream(), noisy[: 3 * SR + 77], chunk=999)
    assert np.abs(streamed - offline).max() < 1e-6 and model.chunk_seconds is None


def test_import_setoolkit_imports_neither_torch_nor_onnxruntime():
    code = (
        "import sys, numpy as np, setoolkit\n"
        "m = setoolkit.from_function(lambda x: 0.5 * x, 16000, name='half')\n"
        "x = 0.1 * np.sin(np.arange(16000, dtype=np.float32) * 0.05)\n"
        "assert np.allclose(m.enhance(x, 16000), 0.5 * x, atol=1e-3)\n"
        "assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules, "
        "[k for k in ('torch', 'onnxruntime') if k in sys.modules]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


class FirAndMask(CausalFir):
    """:class:`CausalFir` that also returns a mask: a tuple, not the one tensor the adapter expects."""

    def forward(self, x: torch.Tensor):
        y = super().forward(x)
        return y, torch.ones_like(y)


class InPlaceHalf(torch.nn.Module):
    """Halves its input in place (``mul_``) and returns it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul_(0.5)


def test_torch_modules_of_another_dtype_or_returning_a_tuple_name_the_model(noisy):
    for dtype, text in ((torch.float64, "torch.float64"), (torch.float16, "torch.float16")):
        with pytest.raises(
            ModelError,
            match=rf"from_torch\('my-fir'\): the module holds {text} tensors; the adapter feeds float32 audio "
            r"\(1, samples\) to a float32 module: call module.float\(\) first",
        ):
            setoolkit.from_torch(CausalFir().to(dtype), SR, name="my-fir")
    bn = torch.nn.Sequential(torch.nn.BatchNorm1d(1), torch.nn.Flatten())  # an int64 buffer is not a dtype problem
    assert setoolkit.from_torch(bn, SR, name="bn").card.params == 2
    model = setoolkit.from_torch(FirAndMask(), SR, name="fir-mask")
    with pytest.raises(
        ModelError,
        match=r"user model 'fir-mask' \(torch\): the module returned a tuple of 2; from_torch expects one tensor "
        r"\(1, samples\)",
    ):
        model.enhance(noisy, SR)
    wrong = setoolkit.from_torch(torch.nn.Linear(4, 4), SR, name="four")  # (1, n) does not fit (4, 4)
    with pytest.raises(ModelError, match=r"user model 'four' \(torch\): module\(x\) raised RuntimeError: .*"):
        wrong.enhance(noisy, SR)


def _onnx_mul(path, elem, shape):
    """A one-node ONNX graph ``y = 0.5 * x`` with input type ``elem`` and shape ``shape``."""
    import onnx
    from onnx import helper

    x = helper.make_tensor_value_info("x", elem, shape)
    y = helper.make_tensor_value_info("y", elem, shape)
    half = helper.make_tensor("half", elem, [], [0.5])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "half"], ["y"])], "half", [x], [y], [half])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_onnx_graphs_with_a_fixed_length_or_double_input_name_the_model(tmp_path, noisy):
    from onnx import TensorProto

    fixed = _export(CausalFir(), (torch.zeros(1, 16000),), tmp_path / "fixed.onnx", (["x"], ["y"]), None)
    with pytest.raises(
        ModelError,
        match=r"from_onnx\('fixed-fir'\): fixed.onnx's input 'x' is tensor\(float\) \[1, 16000\]; the adapter feeds "
        r"float32 \(1, samples\) with a dynamic length axis \(whole files\): export with a dynamic axis",
    ):
        setoolkit.from_onnx(fixed, SR, name="fixed-fir")
    double = _onnx_mul(tmp_path / "double.onnx", TensorProto.DOUBLE, [1, None])
    with pytest.raises(
        ModelError,
        match=r"from_onnx\('double'\): double.onnx's input 'x' is tensor\(double\) \[1, None\]; the adapter feeds "
        r"float32 \(1, samples\) .*: export the graph with float32 input",
    ):
        setoolkit.from_onnx(double, SR)
    step = _onnx_mul(tmp_path / "step.onnx", TensorProto.FLOAT, [1, HOP])
    with pytest.raises(ModelError, match=r"from_onnx\('step'\): .*give hop=160, the graph's block length"):
        setoolkit.from_onnx(step, SR, hop=HOP // 2)
    model = setoolkit.from_onnx(_onnx_mul(tmp_path / "fine.onnx", TensorProto.FLOAT, [1, None]), SR)
    assert np.allclose(model.enhance(noisy, SR)[0], 0.5 * noisy, atol=1e-6)


def test_user_code_writing_into_its_input_leaves_the_callers_audio(noisy):
    def halve_in_place(x):
        x *= 0.5
        return x

    for model in (
        setoolkit.from_function(halve_in_place, SR, name="in-place"),
        setoolkit.from_torch(InPlaceHalf(), SR, name="in-place-torch"),
    ):
        audio = noisy.copy()
        y = model.enhance(audio, SR)
        assert np.array_equal(audio, noisy), model.name  # the caller's array is untouched
        assert np.allclose(y[0], 0.5 * noisy, atol=1e-6)
