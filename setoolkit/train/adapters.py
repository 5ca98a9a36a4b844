"""What the trainer needs from a model family: its torch module, a differentiable waveform forward, and
a saver in the family's own checkpoint format. One adapter per family, looked up by the card's family.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError


class TrainAdapter:
    """Base adapter. ``module``: the ``nn.Module`` trained; ``enhancer``: the setoolkit model sharing it."""

    name: str
    module: torch.nn.Module
    enhancer: object

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``(batch, samples)`` -> ``(batch, samples)`` enhanced, differentiable, aligned with the input."""
        raise NotImplementedError

    def save(self, path: str | Path, *, extra: dict | None = None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def load_state(self, ckpt: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class StftFrameNetAdapter(TrainAdapter):
    """For STFT-frame nets called as ``net(spec (1, frames, bins) complex, state) -> (spec, state)`` (GTCRN):
    the same framing as :func:`setoolkit.streaming.offline_frames` (front pad ``n_fft - hop``, analysis and
    synthesis window, overlap-add), written in torch so gradients flow; examples run one by one (batch 1 state).
    Checkpoints are ``{"model": state_dict, ...}`` as the family's loader expects."""

    def __init__(self, enhancer, net: torch.nn.Module, initial_state) -> None:
        self.enhancer, self.module, self.initial_state = enhancer, net, initial_state
        self.name = enhancer.name
        self.n_fft, self.hop = enhancer.n_fft, enhancer.hop
        self.window = torch.as_tensor(np.asarray(enhancer.window, dtype=np.float32))

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        n_fft, hop, w = self.n_fft, self.hop, self.window
        n = noisy.shape[-1]
        front = n_fft - hop
        total = ((front + n - 1) // hop) * hop + n_fft
        outs = []
        for x in noisy:
            xp = torch.nn.functional.pad(x, (front, total - front - n))
            frames = xp.unfold(0, n_fft, hop) * w                        # (frames, n_fft)
            spec = torch.fft.rfft(frames, dim=-1)[None]                   # (1, frames, bins)
            enh, _ = self.module(spec, self.initial_state())
            y = torch.fft.irfft(enh[0], n=n_fft, dim=-1) * w              # (frames, n_fft)
            ola = torch.nn.functional.fold(y.T[None], output_size=(1, total), kernel_size=(1, n_fft),
                                           stride=(1, hop)).reshape(-1)
            outs.append(ola[front:front + n])
        return torch.stack(outs)

    def save(self, path, *, extra=None) -> None:
        torch.save({"model": self.module.state_dict(), **(extra or {})}, path)

    def load_state(self, ckpt: dict) -> None:
        self.module.load_state_dict(ckpt["model"])


def _gtcrn(model) -> TrainAdapter:
    from ..models.gtcrn import GtcrnState

    return StftFrameNetAdapter(model, model.net, GtcrnState.zeros)


ADAPTERS = {"gtcrn": _gtcrn}


def adapter_for(model) -> TrainAdapter:
    """The adapter of a loaded model (``setoolkit.load(name)``) or a registry name."""
    if isinstance(model, str):
        from ..registry import load

        model = load(model)
    family = model.card.family
    if family not in ADAPTERS:
        raise ModelError(f"fine-tuning supports the PyTorch families {sorted(ADAPTERS)}; {model.name!r} is "
                         f"{family} ({model.card.framework})")
    return ADAPTERS[family](model)
