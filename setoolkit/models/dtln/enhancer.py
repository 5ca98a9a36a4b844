"""DTLN (Westhausen & Meyer, Interspeech 2020): two stacked LSTM separation cores, 16 kHz, block 512 / shift 128.

Per block of 512 samples (no analysis window): stage 1 predicts a sigmoid mask on the FFT magnitude
(2 LSTM layers of 128 units + dense 257), the masked spectrum goes back to the time domain; stage 2 encodes
the block with a learned 512 -> 256 basis (1x1 conv), normalises it (instant layer norm), predicts a mask on
the code (2 LSTM + dense 256), decodes it back to 512 samples, and the blocks are overlap-added at shift 128.
The output is late by 384 samples (block - shift), which the streaming base removes, so the output is
aligned with the input.

Four forms of the same released model (breizhn/DTLN ``pretrained_model/``), one :class:`Dtln` enhancer (this module,
framework-free;
the h5 in :mod:`setoolkit.models.dtln.network`, PyTorch):

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

from ...assets import fetch
from ...errors import AssetError, ModelError
from ...registry import ModelCard
from ..common.base import FrameEnhancer
from ..common.keras_h5 import read_layers
from ..common.runtimes import onnx_session, tflite_interpreter

BLOCK, SHIFT, SAMPLE_RATE = 512, 128, 16000
N_BINS, UNITS, CODE = BLOCK // 2 + 1, 128, 256
STATE_SHAPE = (1, 2, UNITS, 2)  # (batch, layer, unit, h/c)
NORM_EPS = 1e-7  # InstantLayerNormalization in DTLN_model.py
LOG_EPS = 1e-7  # log(|X| + 1e-7) of the *_norm_* models


def zero_state() -> np.ndarray:
    """LSTM states of one stage, ``[1, 2, 128, 2]`` zeros."""
    return np.zeros(STATE_SHAPE, dtype=np.float32)


# ------------------------------------------------------------------------------------------ Keras h5


def h5_layers(path: str) -> dict[str, list[np.ndarray]]:
    """``{layer name: [weights in Keras order]}`` of a Keras weights file (layers without weights left out)."""
    return {k: [a for _, a in v] for k, v in read_layers(path).items()}


#: Layer-name prefixes of each weight role in the released h5 files.
_ROLES = {
    "lstm": ("lstm",),
    "dense": ("dense",),
    "conv": ("conv1d",),
    "norm": ("layer_normalization", "instant_layer_normalization"),
}


def role_layers(layers, role: str) -> list[str]:
    """Names of the layers of ``role`` in file (= network) order."""
    return [n for n in layers if n.startswith(_ROLES[role])]


def read_h5(path: str) -> dict:
    """The DTLN weights of a Keras h5 file by role, checked against the architecture.

    Returns ``{"lstm": [(kernel (in, 512), recurrent (128, 512), bias (512,)) x 4], "dense": [(W, b) x 2],
    "conv": [(1, 512, 256), (1, 256, 512)], "norm": [(gamma, beta) ...]}`` in network order; the ``*_norm_*``
    models have a second norm (257 bins, on the log magnitude) before the first. A file of another
    architecture gets an :class:`AssetError` naming what differs.
    """
    layers = h5_layers(path)
    lstm = [layers[n] for n in role_layers(layers, "lstm")]
    dense = [layers[n] for n in role_layers(layers, "dense")]
    conv = [layers[n][0] for n in role_layers(layers, "conv")]
    norm = [tuple(layers[n]) for n in role_layers(layers, "norm")]
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
                raise ModelError(
                    f"{self.path}: expected one {what} of shape {list(shape)}, found "
                    f"{ {k: list(map(int, s)) for k, s in table.items()} }: not this DTLN stage"
                )
            return hits[0]

        return (
            pick(ins, (1, 1, self.n_in), "frame input"),
            pick(ins, STATE_SHAPE, "state input"),
            pick(outs, (1, 1, self.n_out), "frame output"),
            pick(outs, STATE_SHAPE, "state output"),
        )

    def run_one(self, frame: np.ndarray, state: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, frames: np.ndarray, state: np.ndarray):
        """Frames ``(T, n_in)`` -> ``(T, n_out)``, state carried."""
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
        self.backend = self.open_backend(paths, f".{kind}" if kind else Path(paths[0]).suffix.lower())

    def open_backend(self, paths: list[str], ext: str):
        """The stage pair for files with extension ``ext`` (``.tflite``, ``.onnx``; the h5 is
        :class:`setoolkit.models.dtln.network.Dtln`'s, in PyTorch)."""
        if ext == ".tflite":
            return _ExportBackend(paths, _TfliteStage)
        if ext == ".onnx":
            return _ExportBackend(paths, _OnnxStage)
        if ext == ".h5":
            raise ModelError(
                f"{paths[0]}: a DTLN h5 runs in the PyTorch port, setoolkit.models.dtln.network.Dtln (setoolkit[torch])"
            )
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


def build(card: ModelCard, *, mirror=None) -> Dtln:
    """Fetch (and verify) the card's stage pair (TFLite or ONNX) and build the model."""
    return Dtln(card, [str(fetch(w, mirror=mirror)) for w in card.weights])
