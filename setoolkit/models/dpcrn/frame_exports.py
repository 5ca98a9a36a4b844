"""DPCRN exports that run one STFT frame per call with explicit recurrent state: TFLite and ONNX.

* ``dpcrn-quant`` / ``dpcrn-base``: DPCRN-base (SKIP-DPCRN) as int8 / float TFLite, ``dpcrn-base-onnx``: the
  same model as ONNX. Input ``[1, 1, 257, 3]`` = (real, imag, log power) of a 512-sample sine-windowed frame
  at 16 kHz, state ``[1, 2, 32, 128]``.
* ``dpcrn-dns3-rt``: the official real-time stateful TFLite of the DPCRN_DNS3 repository (GRU, 512/256), same
  input, two states ``[1, 32, 128]`` (one per DPRNN block).

Each call outputs a magnitude mask, a unit phase pair (cos, sin) and the next state(s); the enhanced frame is
``X * mask * (cos + j sin)``, inverse FFT, sine window, overlap-add at hop 256.

Nothing is taken from output positions or names: at load time a voiced probe is run and the outputs are
identified by their values (the phase pair satisfies cos^2 + sin^2 = 1, the mask is the non-negative
remaining one; see :mod:`setoolkit.models.dpcrn.output_roles`), and with several states each state output is paired with
the state input it depends on. In the DPCRN-base exports the second output is the *sine*; in the DNS3
real-time export the mask output is named ``lambda/Log`` because it is a Keras ``Lambda`` softplus,
``log(1 + exp(BN(x)))`` (:func:`producer_ops` shows the ops).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...assets import fetch
from ...errors import ModelError
from ...registry import ModelCard
from ...stft import window
from ..common.base import FrameEnhancer
from ..common.runtimes import onnx_session, tflite_interpreter
from .output_roles import find_phase_pair, probe_signal

_LOG_EPS = 1e-9  # as in training: 2 * log(sqrt(re^2 + im^2 + 1e-9))


# ------------------------------------------------------------------------------------------ runtimes


class TfliteRuntime:
    """One TFLite interpreter (1 thread): ``inputs``/``outputs`` as ``[(name, shape)]``, ``run(list) -> list``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._it = tflite_interpreter(path, threads=1)
        self._ins = self._it.get_input_details()
        self._outs = self._it.get_output_details()
        self.inputs = [(d["name"], tuple(int(v) for v in d["shape"])) for d in self._ins]
        self.outputs = [(d["name"], tuple(int(v) for v in d["shape"])) for d in self._outs]

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        for d, a in zip(self._ins, arrays):
            self._it.set_tensor(d["index"], a)
        self._it.invoke()
        return [self._it.get_tensor(d["index"]) for d in self._outs]


class OnnxRuntime(TfliteRuntime):
    """One ONNX Runtime session (1 thread) with the same interface; dynamic batch dims are taken as 1."""

    def __init__(self, path: str) -> None:
        self._sess = onnx_session(path, threads=1)
        self.path = path
        shape = lambda d: tuple(v if isinstance(v, int) else 1 for v in d.shape)  # noqa: E731
        self._names = [d.name for d in self._sess.get_inputs()]
        self.inputs = [(d.name, shape(d)) for d in self._sess.get_inputs()]
        self.outputs = [(d.name, shape(d)) for d in self._sess.get_outputs()]

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return self._sess.run(None, dict(zip(self._names, arrays)))


def producer_ops(path: str, output_name: str, depth: int = 4) -> list[str]:
    """The chain of TFLite ops that computes ``output_name``, following each op's first non-constant input:
    e.g. ``['LOG', 'ADD', 'EXP', 'ADD', 'MUL']`` (``log(1 + exp(a x + b))``: a softplus of a batch norm)."""
    it = tflite_interpreter(path, delegates=False)
    names = {t["name"]: t["index"] for t in it.get_tensor_details()}
    producer = {o: op for op in it._get_ops_details() for o in op["outputs"]}
    if output_name not in names:
        raise ModelError(f"{path}: no tensor named {output_name!r}")
    chain: list[str] = []
    idx = names[output_name]
    while idx in producer and len(chain) < depth + 1:
        op = producer[idx]
        chain.append(op["op_name"])
        inner = [i for i in op["inputs"] if i in producer]
        if not inner:
            break
        idx = inner[-1] if op["op_name"] == "ADD" else inner[0]
    return chain


# ------------------------------------------------------------------------------------------ model


class DpcrnTflite(FrameEnhancer):
    """A per-frame DPCRN export (TFLite by default), offline (frame loop) and streaming (hop by hop), framed as a
    real-time loop starting from an empty buffer (the shared default grid)."""

    runtime = TfliteRuntime

    def __init__(self, card: ModelCard, model_path: str) -> None:
        super().__init__(card)
        assert card.frame is not None and card.hop is not None  # a per-frame export's card has its framing
        self.n_fft, self.hop = card.frame, card.hop
        self.window = window("sine", self.n_fft)
        self.model_path = model_path
        self._rt = self.runtime(model_path)
        n_bins = self.n_fft // 2 + 1
        feat_shape = (1, 1, n_bins, 3)
        ins, outs = self._rt.inputs, self._rt.outputs
        feat = [k for k, (_, s) in enumerate(ins) if s == feat_shape]
        states = [k for k, (_, s) in enumerate(ins) if s != feat_shape]
        self._frame_outs = [k for k, (_, s) in enumerate(outs) if s == (1, 1, n_bins)]
        state_outs = [k for k, (_, s) in enumerate(outs) if s != (1, 1, n_bins)]
        if len(feat) != 1 or not states or len(state_outs) != len(states) or len(self._frame_outs) != 3:
            raise ModelError(
                f"{model_path}: expected inputs [1,1,{n_bins},3] + state(s) and outputs three "
                f"[1,1,{n_bins}] + as many states; got inputs {[s for _, s in ins]}, outputs "
                f"{[s for _, s in outs]}"
            )
        self._feat_k, self._state_ins, self._state_outs = feat[0], states, state_outs
        self._state_shapes = [ins[k][1] for k in states]
        self._state_pairs = self.pair_states()
        #: which frame output is (mask, cos, sin), identified by value on load
        self.output_order = self.identify_outputs()

    # -- one call ------------------------------------------------------------------------------------
    def _run(self, spec: np.ndarray, state: tuple) -> tuple[list[np.ndarray], tuple]:
        feat = np.stack([spec.real, spec.imag, np.log(spec.real**2 + spec.imag**2 + _LOG_EPS)], axis=-1)
        arrays: list[Any] = [None] * (1 + len(state))
        arrays[self._feat_k] = feat[None, None].astype(np.float32)
        for k, s in zip(self._state_ins, state):
            arrays[k] = s
        outs = self._rt.run(arrays)
        frame_outs = [outs[k][0, 0] for k in self._frame_outs]
        return frame_outs, tuple(outs[self._state_outs[j]] for j in self._state_pairs)

    def _probe_frames(self, n: int = 24) -> list[np.ndarray]:
        x = probe_signal(self.hop * n + self.n_fft, self.sample_rate)
        return [np.fft.rfft(x[t * self.hop : t * self.hop + self.n_fft] * self.window) for t in range(n)]

    # -- identification by value -----------------------------------------------------------------------
    def pair_states(self) -> list[int]:
        """For each state input (in input order), the index (into the state outputs) of its next state.

        One state: trivial. Several (one per DPRNN block): the state output of block ``k`` does not depend on
        the state inputs of later blocks, so each state input is perturbed in turn, last block first; the
        state output that moves and is not yet taken is the one it feeds.
        """
        n = len(self._state_ins)
        if n == 1:
            return [0]
        self._state_pairs = list(range(n))  # identity while probing
        spec = self._probe_frames(2)[1]
        base = [np.asarray(s) for s in self._run(spec, self.initial_state())[1]]
        pairs: list[Any] = [None] * n  # every entry set below
        free = set(range(n))
        for k in reversed(range(n)):
            state = list(self.initial_state())
            state[k] = state[k] + np.float32(0.5)
            moved = [float(np.abs(np.asarray(o) - b).max()) for o, b in zip(self._run(spec, tuple(state))[1], base)]
            j = max(free, key=lambda i: moved[i])
            if moved[j] <= 0.0:
                raise ModelError(f"{self.model_path}: no state output depends on state input {k}")
            pairs[k] = j
            free.discard(j)
        return pairs

    def identify_outputs(self) -> tuple[int, int, int]:
        """Run a voiced probe and find (mask, cos, sin) among the three frame outputs by their values."""
        state = self.initial_state()
        frames: list[list[np.ndarray]] = [[], [], []]
        for spec in self._probe_frames():
            outs, state = self._run(spec, state)
            for k in range(3):
                frames[k].append(outs[k])
        seen = [np.stack(s) for s in frames]
        cos_i, sin_i = find_phase_pair(seen)
        mask_i = ({0, 1, 2} - {cos_i, sin_i}).pop()
        if seen[mask_i].min() < -1e-6:
            raise ModelError(
                f"{self.model_path}: the non-phase output has negative values "
                f"(min {seen[mask_i].min():.3g}); it is not a magnitude mask"
            )
        return mask_i, cos_i, sin_i

    def output_roles(self) -> dict[str, str]:
        """``{role: output tensor name}`` for mask, cos, sin and each state, as identified."""
        names = [n for n, _ in self._rt.outputs]
        roles = {r: names[self._frame_outs[i]] for r, i in zip(("mask", "cos", "sin"), self.output_order)}
        for k, j in enumerate(self._state_pairs):
            roles[f"state {self._rt.inputs[self._state_ins[k]][0]} ->"] = names[self._state_outs[j]]
        return roles

    def self_check(self) -> list[tuple[str, bool, str]]:
        """For ``setoolkit doctor``: are the outputs used in the roles their values show?"""
        found = self.identify_outputs()
        ok = tuple(self.output_order) == found
        detail = (
            f"(mask, cos, sin) = outputs {found}, as used"
            if ok
            else f"outputs used as (mask, cos, sin) = {tuple(self.output_order)}, but by value they are {found}"
        )
        return [("output roles", ok, detail)]

    # -- FrameModel ---------------------------------------------------------------------------------
    def initial_state(self) -> tuple:
        return tuple(np.zeros(s, dtype=np.float32) for s in self._state_shapes)

    def process_frame(self, spec: np.ndarray, state: tuple):
        outs, state = self._run(spec, state)
        mask, cos, sin = (outs[i] for i in self.output_order)
        return spec * mask * (cos + 1j * sin), state


class DpcrnOnnx(DpcrnTflite):
    """The same per-frame model as an ONNX file (ONNX Runtime, 1 thread)."""

    runtime = OnnxRuntime


def build(card: ModelCard, *, mirror=None) -> DpcrnTflite:
    """Fetch (and verify) the card's TFLite or ONNX file and build the model."""
    path = str(fetch(card.weights[0], mirror=mirror))
    return (DpcrnOnnx if path.endswith(".onnx") else DpcrnTflite)(card, path)
