"""DTLN (Westhausen & Meyer, Interspeech 2020): two stacked LSTM separation cores, 16 kHz, block 512 / shift 128.

Per block of 512 samples (no analysis window): stage 1 predicts a sigmoid mask on the FFT magnitude
(2 LSTM layers of 128 units + dense 257), the masked spectrum goes back to the time domain; stage 2 encodes
the block with a learned 512 -> 256 basis (1x1 conv), normalises it (instant layer norm), predicts a mask on
the code (2 LSTM + dense 256), decodes it back to 512 samples, and the blocks are overlap-added at shift 128.
The output is late by 384 samples (block - shift), which the streaming base removes, so the output is
aligned with the input.

Four forms of the same released model (breizhn/DTLN ``pretrained_model/``), one :class:`Dtln` enhancer:

* ``model.h5`` (the Keras weights): setoolkit's PyTorch re-implementation, weights read with h5py by layer
  name; offline runs each stage over the whole sequence in one call; the reference the others are tested against;
* ``model_1.tflite`` + ``model_2.tflite``: the two stages as per-block TFLite models with LSTM states
  ``[1, 2, 128, 2]`` (layer, unit, h/c);
* ``model_quant_1.tflite`` + ``model_quant_2.tflite``: the same with int8 (dynamic-range) weights;
* ``model_1.onnx`` + ``model_2.onnx``: the ONNX export of the two stages (onnxruntime).

Every backend keeps the states in that ``[1, 2, 128, 2]`` layout, so they are interchangeable.

Examples
--------
>>> model = setoolkit.load("dtln")            # the h5 weights in PyTorch
>>> clean = model.enhance(noisy, 16000)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..assets import fetch
from ..errors import AssetError, ModelError
from ..registry import ModelCard, Published, card
from ..streaming import torch_threads
from .common.base import FrameEnhancer
from .common.keras_h5 import read_layers, write_layers
from .common.runtimes import onnx_session, tflite_interpreter

BLOCK, SHIFT, SAMPLE_RATE = 512, 128, 16000
N_BINS, UNITS, CODE = BLOCK // 2 + 1, 128, 256
STATE_SHAPE = (1, 2, UNITS, 2)  # (batch, layer, unit, h/c)
NORM_EPS = 1e-7                 # InstantLayerNormalization in DTLN_model.py
LOG_EPS = 1e-7                  # log(|X| + 1e-7) of the *_norm_* models


def zero_state() -> np.ndarray:
    """LSTM states of one stage, ``[1, 2, 128, 2]`` zeros."""
    return np.zeros(STATE_SHAPE, dtype=np.float32)


# ------------------------------------------------------------------------------------------ Keras h5


def _h5_layers(path: str) -> dict[str, list[np.ndarray]]:
    """``{layer name: [weights in Keras order]}`` of a Keras weights file (layers without weights left out)."""
    return {k: [a for _, a in v] for k, v in read_layers(path).items()}


#: Layer-name prefixes of each weight role in the released h5 files.
_ROLES = {"lstm": ("lstm",), "dense": ("dense",), "conv": ("conv1d",),
          "norm": ("layer_normalization", "instant_layer_normalization")}


def _role_layers(layers, role: str) -> list[str]:
    """Names of the layers of ``role`` in file (= network) order."""
    return [n for n in layers if n.startswith(_ROLES[role])]


def read_h5(path: str) -> dict:
    """The DTLN weights of a Keras h5 file by role, checked against the architecture.

    Returns ``{"lstm": [(kernel (in, 512), recurrent (128, 512), bias (512,)) x 4], "dense": [(W, b) x 2],
    "conv": [(1, 512, 256), (1, 256, 512)], "norm": [(gamma, beta) ...]}`` in network order; the ``*_norm_*``
    models have a second norm (257 bins, on the log magnitude) before the first. A file of another
    architecture gets an :class:`AssetError` naming what differs.
    """
    layers = _h5_layers(path)
    lstm = [layers[n] for n in _role_layers(layers, "lstm")]
    dense = [layers[n] for n in _role_layers(layers, "dense")]
    conv = [layers[n][0] for n in _role_layers(layers, "conv")]
    norm = [tuple(layers[n]) for n in _role_layers(layers, "norm")]
    want_lstm = [(N_BINS, 4 * UNITS), (UNITS, 4 * UNITS), (CODE, 4 * UNITS), (UNITS, 4 * UNITS)]
    problems = []
    if [w[0].shape for w in lstm] != want_lstm or any(len(w) != 3 for w in lstm):
        problems.append(f"LSTM kernels {[w[0].shape for w in lstm]}, expected {want_lstm}")
    if [w[0].shape for w in dense] != [(UNITS, N_BINS), (UNITS, CODE)]:
        problems.append(f"dense kernels {[w[0].shape for w in dense]}, expected {[(UNITS, N_BINS), (UNITS, CODE)]}")
    if [c.shape for c in conv] != [(1, BLOCK, CODE), (1, CODE, BLOCK)]:
        problems.append(f"conv1d kernels {[c.shape for c in conv]}, expected {[(1, BLOCK, CODE), (1, CODE, BLOCK)]}")
    if [g.shape for g, _ in norm] not in ([(CODE,)], [(N_BINS,), (CODE,)]):
        problems.append(f"norm layers {[g.shape for g, _ in norm]}, expected [(256,)] or [(257,), (256,)]")
    if problems:
        raise AssetError(f"{path}: does not match the DTLN architecture: " + "; ".join(problems))
    return {"lstm": lstm, "dense": dense, "conv": conv, "norm": norm}


def _torch_lstm(kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> nn.LSTM:
    """A one-layer torch LSTM equal to a Keras LSTM (gate order i, f, c, o in both; sigmoid/tanh)."""
    lstm = nn.LSTM(kernel.shape[0], UNITS, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
    return lstm


class _InstantNorm(nn.Module):
    """Per-frame normalisation over the last axis: ``(x - mean) / sqrt(var + 1e-7) * gamma + beta``."""

    def __init__(self, gamma: np.ndarray, beta: np.ndarray) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.from_numpy(gamma), requires_grad=False)
        self.beta = nn.Parameter(torch.from_numpy(beta), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + NORM_EPS) * self.gamma + self.beta


class _Core(nn.Module):
    """One separation core: 2 LSTM layers (state carried), dense, sigmoid mask."""

    def __init__(self, lstms: list, dense: tuple) -> None:
        super().__init__()
        self.lstm = nn.ModuleList([_torch_lstm(*w) for w in lstms])
        self.dense = nn.Linear(UNITS, dense[0].shape[1])
        with torch.no_grad():
            self.dense.weight.copy_(torch.from_numpy(dense[0].T.copy()))
            self.dense.bias.copy_(torch.from_numpy(dense[1]))

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x ``(1, T, n)``, state ``[1, 2, 128, 2]`` -> mask ``(1, T, m)``, state."""
        new = []
        for k, lstm in enumerate(self.lstm):
            h0, c0 = state[:, k, :, 0][None].contiguous(), state[:, k, :, 1][None].contiguous()
            x, (h, c) = lstm(x, (h0, c0))
            new.append(torch.stack([h[0], c[0]], dim=-1))
        return torch.sigmoid(self.dense(x)), torch.stack(new, dim=1)


class DtlnTorch(nn.Module):
    """DTLN from Keras h5 weights; ``stage1``/``stage2`` run any number of blocks with the states carried."""

    def __init__(self, weights: dict) -> None:
        super().__init__()
        self.log_norm = _InstantNorm(*weights["norm"][0]) if len(weights["norm"]) == 2 else None
        self.core1 = _Core(weights["lstm"][:2], weights["dense"][0])
        self.encoder = nn.Parameter(torch.from_numpy(weights["conv"][0][0]), requires_grad=False)  # (512, 256)
        self.norm = _InstantNorm(*weights["norm"][-1])
        self.core2 = _Core(weights["lstm"][2:], weights["dense"][1])
        self.decoder = nn.Parameter(torch.from_numpy(weights["conv"][1][0]), requires_grad=False)  # (256, 512)

    def stage1(self, mag: torch.Tensor, state: torch.Tensor):
        """mag ``(1, T, 257)`` -> mask ``(1, T, 257)``, state."""
        feat = mag if self.log_norm is None else self.log_norm(torch.log(mag + LOG_EPS))
        return self.core1(feat, state)

    def stage2(self, blocks: torch.Tensor, state: torch.Tensor):
        """blocks ``(1, T, 512)`` -> enhanced blocks ``(1, T, 512)`` (before overlap-add), state."""
        code = blocks @ self.encoder
        mask, state = self.core2(self.norm(code), state)
        return (code * mask) @ self.decoder, state


def to_h5_weights(net: DtlnTorch, template: str) -> dict[str, list[np.ndarray]]:
    """The inverse of :func:`read_h5` + :class:`DtlnTorch`: ``{layer: [arrays]}`` with the layer names of the
    released h5 ``template``. The torch LSTMs' second bias must still be 0 (Keras has one)."""
    lstms = [*net.core1.lstm, *net.core2.lstm]
    if any(bool(torch.any(m.bias_hh_l0 != 0)) for m in lstms):
        raise ValueError("an LSTM bias_hh is not 0: a Keras LSTM has no second bias to store it in")

    def arr(t):
        return t.detach().cpu().numpy().astype(np.float32)

    roles = {
        "lstm": [[arr(m.weight_ih_l0).T, arr(m.weight_hh_l0).T, arr(m.bias_ih_l0)] for m in lstms],
        "dense": [[arr(c.dense.weight).T, arr(c.dense.bias)] for c in (net.core1, net.core2)],
        "conv": [[arr(net.encoder)[None]], [arr(net.decoder)[None]]],
        "norm": [[arr(n.gamma), arr(n.beta)] for n in (net.log_norm, net.norm) if n is not None],
    }
    layers = _h5_layers(template)
    named = {name: arrays for role, values in roles.items() for name, arrays in zip(_role_layers(layers, role), values)}
    return {name: [np.ascontiguousarray(a) for a in named[name]] for name in layers}


class H5Backend:
    """Both stages in PyTorch from the h5 weights (whole sequences per call)."""

    def __init__(self, path: str) -> None:
        self.net = DtlnTorch(read_h5(path)).eval()

    def stage1(self, mags: np.ndarray, state: np.ndarray):
        with torch.inference_mode(), torch_threads(1):
            m, s = self.net.stage1(torch.from_numpy(mags.astype(np.float32))[None], torch.from_numpy(state))
        return m[0].numpy(), s.numpy()

    def stage2(self, blocks: np.ndarray, state: np.ndarray):
        with torch.inference_mode(), torch_threads(1):
            y, s = self.net.stage2(torch.from_numpy(blocks.astype(np.float32))[None], torch.from_numpy(state))
        return y[0].numpy(), s.numpy()


# ------------------------------------------------------------------------------------------ TFLite / ONNX


class _BlockRunner:
    """One exported stage (``[1, 1, n]`` frame + ``[1, 2, 128, 2]`` states -> frame + states), inputs and
    outputs told apart by shape, run block by block."""

    def __init__(self, path: str, n_in: int, n_out: int) -> None:
        self.path, self.n_in, self.n_out = path, n_in, n_out

    def _check(self, ins: dict, outs: dict) -> tuple[str, str, str, str]:
        def pick(table, shape, what):
            hits = [k for k, s in table.items() if tuple(int(v) for v in s) == shape]
            if len(hits) != 1:
                raise ModelError(f"{self.path}: expected one {what} of shape {list(shape)}, found "
                                 f"{ {k: list(map(int, s)) for k, s in table.items()} }: not this DTLN stage")
            return hits[0]

        return (pick(ins, (1, 1, self.n_in), "frame input"), pick(ins, STATE_SHAPE, "state input"),
                pick(outs, (1, 1, self.n_out), "frame output"), pick(outs, STATE_SHAPE, "state output"))

    def run_one(self, frame: np.ndarray, state: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, frames: np.ndarray, state: np.ndarray):
        """frames ``(T, n_in)`` -> ``(T, n_out)``, state carried."""
        out = np.empty((frames.shape[0], self.n_out), dtype=np.float32)
        for t in range(frames.shape[0]):
            out[t], state = self.run_one(frames[t], state)
        return out, state


class _TfliteStage(_BlockRunner):
    def __init__(self, path: str, n_in: int, n_out: int) -> None:
        super().__init__(path, n_in, n_out)
        self._it = tflite_interpreter(path)
        ins = {d["index"]: d["shape"] for d in self._it.get_input_details()}
        outs = {d["index"]: d["shape"] for d in self._it.get_output_details()}
        self._x, self._s, self._y, self._so = self._check(ins, outs)

    def run_one(self, frame, state):
        self._it.set_tensor(self._x, frame.astype(np.float32)[None, None])
        self._it.set_tensor(self._s, state)
        self._it.invoke()
        return self._it.get_tensor(self._y)[0, 0], self._it.get_tensor(self._so)


class _OnnxStage(_BlockRunner):
    def __init__(self, path: str, n_in: int, n_out: int) -> None:
        super().__init__(path, n_in, n_out)
        self._sess = onnx_session(path)
        ins = {i.name: i.shape for i in self._sess.get_inputs()}
        outs = {o.name: o.shape for o in self._sess.get_outputs()}
        self._x, self._s, self._y, self._so = self._check(ins, outs)

    def run_one(self, frame, state):
        y, s = self._sess.run([self._y, self._so], {self._x: frame.astype(np.float32)[None, None], self._s: state})
        return y[0, 0], s


class _ExportBackend:
    """Stage 1 and stage 2 as two exported per-block models (TFLite or ONNX)."""

    def __init__(self, paths: list[str], runner) -> None:
        if len(paths) != 2:
            raise ModelError(f"DTLN exports come in pairs (stage 1, stage 2), got {paths}")
        self.stage1 = runner(paths[0], N_BINS, N_BINS)
        self.stage2 = runner(paths[1], BLOCK, BLOCK)


# ------------------------------------------------------------------------------------------ enhancer


class Dtln(FrameEnhancer):
    """DTLN on any backend: offline (blocks over the whole signal) and streaming (block by block, shift 128).

    As a :class:`FrameModel` with a rectangular window: the analysis is DTLN's plain FFT of each 512-sample
    block, and the frame it returns is the FFT of stage 2's output block, which the overlap-add turns back
    into that block (DTLN's learned decoder needs no synthesis window).
    """


    def __init__(self, card: ModelCard, paths: list[str], *, kind: str | None = None) -> None:
        """``kind``: ``"h5"``, ``"tflite"`` or ``"onnx"`` (default: from the file extension)."""
        FrameEnhancer.__init__(self, card)
        self.n_fft, self.hop = BLOCK, SHIFT
        self.window = np.ones(BLOCK, dtype=np.float32)
        self.paths = paths
        ext = f".{kind}" if kind else Path(paths[0]).suffix.lower()
        if ext == ".h5":
            if len(paths) != 1:
                raise ModelError(f"a DTLN h5 model is one file, got {paths}")
            self.backend = H5Backend(paths[0])
        elif ext == ".tflite":
            self.backend = _ExportBackend(paths, _TfliteStage)
        elif ext == ".onnx":
            self.backend = _ExportBackend(paths, _OnnxStage)
        else:
            raise ModelError(f"no DTLN backend for {paths[0]!r}: expected .h5, .tflite or .onnx")

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        return zero_state(), zero_state()

    def process_frames(self, specs: np.ndarray, state):
        """``(T, 257)`` complex spectra of input blocks -> ``(T, 257)`` spectra of output blocks."""
        s1, s2 = state
        mask, s1 = self.backend.stage1(np.abs(specs).astype(np.float32), s1)
        blocks = np.fft.irfft(specs * mask, n=BLOCK, axis=-1).astype(np.float32)
        out, s2 = self.backend.stage2(blocks, s2)
        return np.fft.rfft(out.astype(np.float64), axis=-1), (s1, s2)





def build(card: ModelCard, *, mirror=None, checkpoint=None) -> Dtln:
    """Fetch (and verify) the card's files (one h5, or a stage-1/stage-2 pair) and build the model.
    ``checkpoint``: another h5 of the same architecture for an h5 card (e.g. a fine-tuned one, :func:`write_h5`)."""
    if checkpoint is not None:
        if not card.weights[0].endswith(".h5"):
            raise ModelError(f"{card.name}: checkpoint= takes a DTLN h5; this card runs {card.framework} exports")
        return Dtln(card, [str(checkpoint)], kind="h5")
    return Dtln(card, [str(fetch(w, mirror=mirror)) for w in card.weights])


def write_h5(net: DtlnTorch, template: str, path: str | Path) -> Path:
    """Save ``net`` as a Keras h5 (a copy of the released ``template`` with ``net``'s values)."""
    return write_layers(to_h5_weights(net, template), template, path)


_CITE = ('Westhausen & Meyer, "Dual-Signal Transformation LSTM Network", Interspeech 2020; '
         'github.com/breizhn/DTLN README @1de1f15')
_DTLN = ("DTLN (Interspeech 2020, breizhn/DTLN): two LSTM cores (FFT mask, learned-basis mask), block 512 / shift "
         "128, 384-sample delay compensated; {}")
_TRAINED_ON = "DNS-Challenge (Interspeech 2020 DNS data, 500 h)"
_DTLN_FLOOR = {"si_sdr": 8.9, "pesq_wb": 0.45}                       # measured +9.16 dB, +0.48


def _published(variant: str, pesq: float, stoi: float, si_sdr: float) -> list:
    """The README's DNS-2020 synthetic no-reverb row of one released variant (PESQ: neither WB nor NB said)."""
    return [Published("dns_2020_synthetic_noreverb", "pesq_unspecified", pesq, _CITE,
                      f"{variant}; README does not say WB or NB"),
            Published("dns_2020_synthetic_noreverb", "stoi", stoi, _CITE, variant),
            Published("dns_2020_synthetic_noreverb", "si_sdr", si_sdr, _CITE, variant)]


CARDS = [
    card(name="dtln", family="dtln", sample_rate=16000, framework="keras h5 -> torch", frame=512, hop=128,
         latency_ms=32.0, params=986_753, weights=["weights/dtln/model.h5"], license="MIT", streaming=True,
         trained_on=_TRAINED_ON,
         builder=build, expected=_DTLN_FLOOR,
         description=_DTLN.format("the Keras h5 weights in setoolkit's PyTorch port"),
         published=_published("DTLN (500h), the DNS-Challenge model", 3.04, 0.9476, 16.34)),
    card(name="dtln-tflite", family="dtln", sample_rate=16000, framework="tflite", frame=512, hop=128,
         latency_ms=32.0, params=986_753, weights=["weights/dtln/model_1.tflite", "weights/dtln/model_2.tflite"],
         license="MIT", streaming=True, builder=build, expected=_DTLN_FLOOR, variant_of="dtln",
         trained_on=_TRAINED_ON,
         description=_DTLN.format("the official TFLite stage pair"),
         published=_published("DTLN (500h) TF-lite", 2.98, 0.9475, 16.20)),
    card(name="dtln-quant", family="dtln", sample_rate=16000, framework="tflite", frame=512, hop=128,
         latency_ms=32.0, params=986_753,
         weights=["weights/dtln/model_quant_1.tflite", "weights/dtln/model_quant_2.tflite"], license="MIT",
         streaming=True, builder=build, expected={"si_sdr": 8.7, "pesq_wb": 0.29},   # measured +8.99 dB, +0.32
         trained_on=_TRAINED_ON,
         description=_DTLN.format("the official TFLite pair with int8 (dynamic-range) weights"),
         published=_published("DTLN (500h) TF-lite quantized", 2.95, 0.9447, 15.71)),
    card(name="dtln-onnx", family="dtln", sample_rate=16000, framework="onnx", frame=512, hop=128,
         latency_ms=32.0, params=986_753, weights=["weights/dtln/model_1.onnx", "weights/dtln/model_2.onnx"],
         license="MIT", streaming=True, builder=build, expected=_DTLN_FLOOR, variant_of="dtln",
         trained_on=_TRAINED_ON,
         description=_DTLN.format("the official ONNX stage pair")),
]
