"""DPCRN models built from a released Keras h5: the TF-native Keras graph offline, the PyTorch port offline and
streaming, and the port with int8 weights; the streaming variants that reproduce broken ports (caches or the
STFT overlap dropped) for the cache study.

Each frames the signal as its checkpoint's own inference does (:attr:`DpcrnConfig.front_pad`): DNS3 exactly as
the official ``main.py`` (``tf.signal.frame`` without padding: the first frame is the first ``n_fft`` samples),
so ``setoolkit enhance -m dpcrn-dns3`` reproduces the official repository's outputs; DPCRN-base as its exports'
real-time loop, so the h5, TFLite and ONNX variants agree. The shared framing base
(:class:`~setoolkit.models.common.base.FrameEnhancer`) gives the offline loop and the streamer the same grid, so
streaming still equals offline.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import numpy as np
import torch

from ...assets import fetch
from ...registry import ModelCard
from ...streaming import FrameModel, StftFrameStream, lockstep_frames, torch_threads
from ..common.base import FrameEnhancer
from .config import DpcrnConfig, apply_mask, features, load_h5, sine_window
from .keras_graph import KerasRunner
from .torch_convert import from_h5, quantize_int8
from .torch_port import STATE_PARTS, DpcrnTorch

#: Streaming variants for the cache study: ``mode -> (state parts carried frame to frame, STFT overlap kept)``.
STREAMING_MODES = {
    "all caches (correct)": (("conv", "deconv", "rnn"), True),
    "no encoder conv caches": (("deconv", "rnn"), True),
    "no decoder transposed-conv caches": (("conv", "rnn"), True),
    "no inter-frame LSTM state": (("conv", "deconv"), True),
    "no STFT overlap buffer": (("conv", "deconv", "rnn"), False),
    "none (naive frame-by-frame port)": ((), True),
}


class DpcrnNet(FrameEnhancer):
    """A DPCRN built from a released h5: offline over the whole spectrogram, streaming frame by frame.

    Offline and streaming frame the signal on the checkpoint's own grid (``cfg.front_pad``), so their outputs
    agree sample for sample and match the official ones. Offline, the network sees the whole sequence at once
    (as upstream's script does), so its working memory grows with the input; streaming is constant memory.
    """

    framework = "?"
    #: torch intra-op threads for this model's calls (see :func:`torch_threads`)
    threads = 1

    def __init__(self, card: ModelCard, cfg: DpcrnConfig, weights: dict[str, list[np.ndarray]]) -> None:
        super().__init__(card)
        self.cfg = cfg
        self.n_fft, self.hop, self.front_pad = cfg.n_fft, cfg.hop, cfg.front_pad
        self.window = sine_window(cfg.n_fft)
        #: the released h5's arrays by layer, as read (the PyTorch port is built from them)
        self.h5_weights = weights
        self._torch: DpcrnTorch | None = None

    # -- the network ---------------------------------------------------------------------------------
    def net_offline(self, feats: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """``(frames, bins, n_features)`` -> ``(frames, bins, 2 or 3)``."""
        raise NotImplementedError

    @property
    def torch_model(self):
        """The PyTorch port (built from the same h5 on first use); it runs the streaming steps."""
        if self._torch is None:
            self._torch = from_h5(self.h5_weights, self.cfg)
        return self._torch

    def with_torch_model(self, port):
        """A copy of this model whose streaming steps (and, for the PyTorch runtime, offline passes) run
        ``port``, a :class:`~.torch_port.DpcrnTorch` (e.g. a fine-tuned or deliberately broken one)."""
        other = copy.copy(self)
        other._torch = port
        return other

    def net_step(self, feat: np.ndarray, state, carry=None):
        """Frames ``(batch, bins, n_features)`` -> ``(batch, bins, 2 or 3)`` and the next state (PyTorch port).
        ``carry``: the state parts passed on (default all of :data:`STATE_PARTS`)."""
        with torch.no_grad(), torch_threads(self.threads):
            out, state = self.torch_model.step(
                torch.from_numpy(np.ascontiguousarray(feat)), state, carry=STATE_PARTS if carry is None else carry
            )
        return out.numpy(), state

    # -- FrameEnhancer ------------------------------------------------------------------------------
    def initial_state(self, batch: int = 1):
        return self.torch_model.initial_state(batch)

    def process_frame(self, spec: np.ndarray, state, carry=None):
        mask, state = self.net_step(features(self.cfg, spec[None]), state, carry)
        return apply_mask(self.cfg, spec, mask[0]), state

    def process_frames(self, specs: np.ndarray, state):
        """The offline network over every frame at once (stateless: ``state`` is passed through)."""
        return apply_mask(self.cfg, specs, self.net_offline(features(self.cfg, specs))), state

    offline_block_frames = None  # process_frames sees the whole sequence (it takes no state)

    def stream(self, carry=None, *, overlap: bool = True) -> StftFrameStream:
        """Hop-by-hop streaming (latency ``n_fft - hop`` samples). ``carry``: the state parts passed from
        frame to frame (default all of ``("conv", "deconv", "rnn")``); ``overlap=False`` drops the STFT
        overlap buffer (each frame holds zeros and the newest hop). Both reproduce broken streaming ports."""
        model = self if carry is None else StateSubsetView(self, tuple(carry))
        return StftFrameStream(cast(FrameModel, model), drop_overlap=not overlap)  # duck-typed FrameModel

    def stream_many(
        self, xs: list[np.ndarray], carry=None, *, overlap: bool = True, batch: int = 8
    ) -> list[np.ndarray]:
        """Stream several signals ``[(samples,), ...]`` at the model rate, ``batch`` at a time in lockstep (one
        frame index of every stream per PyTorch step, each stream with its own caches): the computation of
        :meth:`stream` with the same ``carry``/``overlap``, faster on CPU (one frame is mostly call overhead).
        Returns each ``(samples,)`` with the latency removed, aligned with offline output."""
        carry = STATE_PARTS if carry is None else tuple(carry)

        def step(specs, state):
            masks, state = self.net_step(features(self.cfg, specs), state, carry)
            return apply_mask(self.cfg, specs, masks), state

        order = sorted(range(len(xs)), key=lambda k: len(xs[k]))
        out: list[Any] = [None] * len(xs)  # every entry set below
        for g in range(0, len(order), batch):
            group = order[g : g + batch]
            ys = lockstep_frames(
                self, [xs[k] for k in group], step, self.initial_state(len(group)), drop_overlap=not overlap
            )
            for k, y in zip(group, ys):
                out[k] = y
        return out


class StateSubsetView:
    """A :class:`DpcrnNet` whose streaming step carries only the state parts in ``carry`` (a broken port, for
    the cache study); framing and windows are the model's."""

    def __init__(self, model: DpcrnNet, carry: tuple) -> None:
        self.model, self.carry = model, carry
        self.n_fft, self.hop, self.window, self.sample_rate = model.n_fft, model.hop, model.window, model.sample_rate
        self.front_pad = model.front_pad

    def initial_state(self):
        return self.model.initial_state()

    def process_frame(self, spec, state):
        return self.model.process_frame(spec, state, self.carry)


class DpcrnKeras(DpcrnNet):
    """TF-native DPCRN (Keras 3 graph loaded from the h5) offline; streaming through the PyTorch port."""

    framework = "keras"

    def __init__(self, card: ModelCard, cfg: DpcrnConfig, weights) -> None:
        super().__init__(card, cfg, weights)
        self.keras = KerasRunner(cfg, weights)

    def net_offline(self, feats: np.ndarray) -> np.ndarray:
        return self.keras(feats)


class DpcrnTorchModel(DpcrnNet):
    """The PyTorch port offline and streaming; ``quantized=True``: int8 weights in its linear layers."""

    framework = "torch"

    def __init__(self, card: ModelCard, cfg: DpcrnConfig, weights, *, quantized: bool = False) -> None:
        super().__init__(card, cfg, weights)
        if quantized:
            self._torch = quantize_int8(self.torch_model)
            self.framework = "torch int8"

    def net_offline(self, feats: np.ndarray) -> np.ndarray:
        with torch.no_grad(), torch_threads(self.threads):
            return self.torch_model(torch.from_numpy(feats)[None])[0].numpy()


def h5_asset(card: ModelCard) -> str:
    """The asset name of the released h5 behind a DPCRN card."""
    return next(w for w in card.weights if w.endswith(".h5"))


def _weights_for(card: ModelCard, mirror, checkpoint) -> dict:
    """The checked h5 weights of the card (``checkpoint``: another h5 path to load instead, which must hold the
    card's architecture, e.g. a fine-tuned one written by the DPCRN training adapter)."""
    path = checkpoint if checkpoint is not None else fetch(h5_asset(card), mirror=mirror)
    return load_h5(path, card.config)


def build_keras(card: ModelCard, *, mirror=None, checkpoint=None) -> DpcrnKeras:
    """Registry builder: the TF-native model of the card's h5."""
    return DpcrnKeras(card, card.config, _weights_for(card, mirror, checkpoint))


def build_torch(card: ModelCard, *, mirror=None, checkpoint=None) -> DpcrnTorchModel:
    """Registry builder: the PyTorch port of the card's h5."""
    return DpcrnTorchModel(card, card.config, _weights_for(card, mirror, checkpoint))


def build_torch_int8(card: ModelCard, *, mirror=None, checkpoint=None) -> DpcrnTorchModel:
    """Registry builder: the PyTorch port with int8 linear layers."""
    return DpcrnTorchModel(card, card.config, _weights_for(card, mirror, checkpoint), quantized=True)
