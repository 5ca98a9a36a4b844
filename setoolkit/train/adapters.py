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
        """Write the weights at ``path`` in the family's own checkpoint format, plus the trainer's ``extra``."""
        raise NotImplementedError

    def load(self, path: str | Path) -> dict:  # pragma: no cover - abstract
        """Restore the weights saved by :meth:`save`; return the trainer's ``extra``."""
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

    def load(self, path) -> dict:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        self.module.load_state_dict(ckpt.pop("model"))
        return ckpt


class WaveformNetAdapter(TrainAdapter):
    """For waveform-to-waveform nets ``net(x (batch, 1, samples)) -> (batch, 1, samples)`` released as plain
    state dicts (Demucs): the weights file stays a plain state dict the family loader reads; the trainer's
    optimizer/step state goes to a side file ``<path>.trainer``."""

    def __init__(self, enhancer, net: torch.nn.Module) -> None:
        self.enhancer, self.module, self.name = enhancer, net, enhancer.name

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        return self.module(noisy[:, None])[:, 0, : noisy.shape[-1]]

    def save(self, path, *, extra=None) -> None:
        path = Path(path)
        torch.save(extra or {}, path.with_name(path.name + ".trainer"))
        torch.save(self.module.state_dict(), path)

    def load(self, path) -> dict:
        path = Path(path)
        self.module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return torch.load(path.with_name(path.name + ".trainer"), map_location="cpu", weights_only=True)


def _gtcrn(model) -> TrainAdapter:
    from ..models.gtcrn import GtcrnState

    return StftFrameNetAdapter(model, model.net, GtcrnState.zeros)


def _demucs(model) -> TrainAdapter:
    return WaveformNetAdapter(model, model.net)


ADAPTERS = {"gtcrn": _gtcrn, "demucs": _demucs}


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
