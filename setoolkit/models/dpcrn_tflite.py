"""DPCRN-base as released in TFLite form (float ``dpcrn.tflite`` and int8 ``dpcrn_quant.tflite``).

One interpreter call per STFT frame: input ``[1, 1, 257, 3]`` = (real, imag, log power) of a 512-sample
sine-windowed frame at 16 kHz, plus the recurrent state ``[1, 2, 32, 128]``; outputs a magnitude mask,
a unit phase pair (cos, sin) and the next state. The enhanced frame is
``X * mask * (cos + j sin)``, inverse FFT, sine window, overlap-add at hop 256.

The outputs are identified at load time by their values (see :mod:`setoolkit.models.outputs`), not by
their position: in these exports the second output is the sine and the third the cosine.
"""

from __future__ import annotations

import numpy as np

from ..assets import fetch
from ..errors import AssetError, ModelError
from ..registry import ModelCard
from ..stft import window
from ..streaming import FrameModel, StftFrameStream, offline_frames
from .base import Enhancer
from .outputs import find_phase_pair, probe_signal

_LOG_EPS = 1e-9  # as in training: 2 * log(sqrt(re^2 + im^2 + 1e-9))


def _interpreter(path: str):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - TensorFlow's bundled copy as a fallback
        from tensorflow.lite import Interpreter
    try:
        it = Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise AssetError(f"{path}: not a loadable TFLite model ({exc})") from None
    return it


class DpcrnTflite(Enhancer, FrameModel):
    """DPCRN-base TFLite, offline (frame loop over the whole signal) and streaming (hop by hop)."""

    chunk_seconds = None  # one interpreter call per frame, state carried: any length, constant memory

    def __init__(self, card: ModelCard, model_path: str) -> None:
        Enhancer.__init__(self, card)
        self.n_fft, self.hop = card.frame, card.hop
        self.window = window("sine", self.n_fft)
        self.model_path = model_path
        self._it = _interpreter(model_path)
        ins = self._it.get_input_details()
        outs = self._it.get_output_details()
        n_bins = self.n_fft // 2 + 1
        feat = [d for d in ins if tuple(d["shape"]) == (1, 1, n_bins, 3)]
        state = [d for d in ins if tuple(d["shape"]) != (1, 1, n_bins, 3)]
        if len(feat) != 1 or len(state) != 1:
            raise ModelError(f"{model_path}: expected inputs [1,1,{n_bins},3] and one state tensor, got "
                             f"{[tuple(d['shape']) for d in ins]}")
        self._feat_idx, self._state_in = feat[0]["index"], state[0]
        self._state_out = [d["index"] for d in outs if tuple(d["shape"]) == tuple(state[0]["shape"])]
        self._frame_outs = [d["index"] for d in outs if tuple(d["shape"]) == (1, 1, n_bins)]
        if len(self._state_out) != 1 or len(self._frame_outs) != 3:
            raise ModelError(f"{model_path}: expected three [1,1,{n_bins}] outputs and one state output, got "
                             f"{[tuple(d['shape']) for d in outs]}")
        self._order = self.identify_outputs()

    # -- output identification --------------------------------------------------------------------
    def _run(self, spec: np.ndarray, state: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        feat = np.stack([spec.real, spec.imag, np.log(spec.real ** 2 + spec.imag ** 2 + _LOG_EPS)], axis=-1)
        self._it.set_tensor(self._feat_idx, feat[None, None].astype(np.float32))
        self._it.set_tensor(self._state_in["index"], state)
        self._it.invoke()
        frame_outs = [self._it.get_tensor(i)[0, 0] for i in self._frame_outs]
        return frame_outs, self._it.get_tensor(self._state_out[0])

    def identify_outputs(self) -> tuple[int, int, int]:
        """Run a voiced probe and find (mask, cos, sin) among the three frame outputs by their values."""
        x = probe_signal(self.hop * 24 + self.n_fft, self.sample_rate)
        frames = [np.fft.rfft(x[t * self.hop:t * self.hop + self.n_fft] * self.window) for t in range(24)]
        state = self.initial_state()
        seen = [[], [], []]
        for spec in frames:
            outs, state = self._run(spec, state)
            for k in range(3):
                seen[k].append(outs[k])
        seen = [np.stack(s) for s in seen]
        cos_i, sin_i = find_phase_pair(seen)
        mask_i = ({0, 1, 2} - {cos_i, sin_i}).pop()
        if seen[mask_i].min() < -1e-6:
            raise ModelError(f"{self.model_path}: the non-phase output has negative values "
                             f"(min {seen[mask_i].min():.3g}); it is not a magnitude mask")
        return mask_i, cos_i, sin_i

    def self_check(self) -> list[tuple[str, bool, str]]:
        """For ``setoolkit doctor``: are the outputs used in the roles their values show?"""
        found = self.identify_outputs()
        ok = tuple(self._order) == found
        detail = (f"(mask, cos, sin) = outputs {found}, as used" if ok else
                  f"outputs used as (mask, cos, sin) = {tuple(self._order)}, but by value they are {found}")
        return [("output roles", ok, detail)]

    # -- FrameModel ---------------------------------------------------------------------------------
    def initial_state(self) -> np.ndarray:
        return np.zeros(self._state_in["shape"], dtype=np.float32)

    def process_frame(self, spec: np.ndarray, state: np.ndarray):
        outs, state = self._run(spec, state)
        mask, cos, sin = (outs[i] for i in self._order)
        return spec * mask * (cos + 1j * sin), state

    # -- Enhancer -----------------------------------------------------------------------------------
    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        return offline_frames(self, x)

    def stream(self) -> StftFrameStream:
        return StftFrameStream(self)


def build(card: ModelCard, *, mirror=None) -> DpcrnTflite:
    """Fetch (and verify) the card's TFLite file and build the model."""
    return DpcrnTflite(card, str(fetch(card.weights[0], mirror=mirror)))
