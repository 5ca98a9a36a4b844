"""What the trainer needs from a model family: its torch module, a differentiable waveform forward, and
a saver in the family's own checkpoint format. One adapter per family, looked up by the card's family.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..assets import fetch
from ..errors import ModelError
from ..models.common.keras_h5 import write_layers
from ..models.dpcrn.config import apply_mask, features, load_h5
from ..models.dpcrn.enhancer import DpcrnTorchModel, h5_asset
from ..models.dpcrn.torch_convert import convert_h5, to_h5_weights
from ..streaming import front_pad

if TYPE_CHECKING:
    from ..models.dpcrn.torch_port import DpcrnTorch
    from ..models.dtln.enhancer import Dtln
    from ..models.dtln.network import DtlnTorch


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

    def train_mode(self, training: bool) -> None:
        """Switch the module between training and inference behaviour (``nn.Module.train``)."""
        self.module.train(training)


class SideFileCheckpoint(TrainAdapter):
    """For families whose weights file cannot hold the trainer's state (plain state dicts, Keras h5): the
    weights go to ``path`` in the family's format (:meth:`write_weights` / :meth:`read_weights`), the
    optimizer/step/RNG state to ``<path>.trainer``."""

    def write_weights(self, path: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def read_weights(self, path: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def save(self, path, *, extra=None) -> None:
        path = Path(path)
        torch.save(extra or {}, path.with_name(path.name + ".trainer"))
        self.write_weights(path)

    def load(self, path) -> dict:
        path = Path(path)
        self.read_weights(path)
        return torch.load(path.with_name(path.name + ".trainer"), map_location="cpu", weights_only=True)


def _freeze_second_rnn_biases(module: torch.nn.Module, suffix: str) -> None:
    """Keras RNNs have one bias; the torch ports' second one (parameters named ``*suffix``) stays 0 so the
    weights always map back to the Keras layout."""
    for name, p in module.named_parameters():
        if name.endswith(suffix):
            p.requires_grad_(False)


class StftAdapter(TrainAdapter):
    """For nets working on STFT frames: the same framing as :func:`setoolkit.streaming.offline_frames` (the
    model's front pad, analysis and synthesis window, overlap-add), written in torch so gradients flow.
    Subclasses implement :meth:`enhance_spec`."""

    def __init__(self, enhancer, net: torch.nn.Module) -> None:
        self.enhancer, self.module, self.name = enhancer, net, enhancer.name
        self.n_fft, self.hop = enhancer.n_fft, enhancer.hop
        self.window = torch.as_tensor(np.asarray(enhancer.window, dtype=np.float32))

    def enhance_spec(self, spec: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Noisy ``(batch, frames, bins)`` complex -> enhanced, same shape."""
        raise NotImplementedError

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        n_fft, hop, w = self.n_fft, self.hop, self.window
        n = noisy.shape[-1]
        front = front_pad(self.enhancer)
        total = ((front + n - 1) // hop) * hop + n_fft
        xp = torch.nn.functional.pad(noisy, (front, total - front - n))
        spec = torch.fft.rfft(xp.unfold(-1, n_fft, hop) * w, dim=-1)  # (batch, frames, bins)
        y = torch.fft.irfft(self.enhance_spec(spec), n=n_fft, dim=-1) * w  # (batch, frames, n_fft)
        ola = torch.nn.functional.fold(
            y.transpose(1, 2), output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop)
        )  # (batch, 1, 1, total)
        return ola.reshape(len(noisy), total)[:, front : front + n]


class GtcrnAdapter(StftAdapter):
    """GTCRN: ``net(spec (1, frames, bins), state) -> (spec, state)``, one example at a time (batch-1 state).
    Checkpoints are ``{"model": state_dict, ...}`` as the family's loader expects."""

    def enhance_spec(self, spec):
        from ..models.gtcrn.network import GtcrnState

        return torch.cat([self.module(s[None], GtcrnState.zeros())[0] for s in spec])

    def save(self, path, *, extra=None) -> None:
        torch.save({"model": self.module.state_dict(), **(extra or {})}, path)

    def load(self, path) -> dict:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        self.module.load_state_dict(ckpt.pop("model"))
        return ckpt


class DpcrnAdapter(StftAdapter, SideFileCheckpoint):
    """The DPCRN PyTorch port (converted from the released Keras h5). Batch norm keeps its released
    statistics (fine-tuning with batches of a few clips), and the torch-only second RNN biases stay 0, so
    the weights always map back to the Keras layout: checkpoints are Keras h5 files (a copy of the released
    file with new values) that the TF-native model, the port and upstream ``load_weights`` read."""

    module: DpcrnTorch
    enhancer: DpcrnTorchModel

    def __init__(self, enhancer) -> None:
        super().__init__(enhancer, enhancer.torch_model)
        _freeze_second_rnn_biases(self.module, ".hh.bias")

    def train_mode(self, training: bool) -> None:
        self.module.train(training)
        for m in self.module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()

    def enhance_spec(self, spec):
        cfg = self.enhancer.cfg
        return apply_mask(cfg, spec, self.module(features(cfg, spec)))  # mask (batch, frames, bins, 2 or 3)

    def write_weights(self, path) -> None:
        write_layers(to_h5_weights(self.module), fetch(h5_asset(self.enhancer.card)), path)

    def read_weights(self, path) -> None:
        self.module.load_state_dict(convert_h5(load_h5(path, self.enhancer.cfg), self.enhancer.cfg), strict=False)


class DtlnAdapter(StftAdapter, SideFileCheckpoint):
    """The DTLN PyTorch port (from the released Keras h5): 512-sample blocks at shift 128, no analysis window;
    stage 1 masks the magnitude, stage 2 re-synthesises each block through its learned basis. Every weight
    trains except the torch-only second LSTM biases (kept 0, so the weights map back to Keras); checkpoints
    are Keras h5 files (:func:`~setoolkit.models.dtln.network.write_h5`) that
    ``setoolkit.models.dtln.network.build(card,
    checkpoint=...)`` and upstream ``load_weights`` read."""

    module: DtlnTorch
    enhancer: Dtln

    def __init__(self, enhancer) -> None:
        super().__init__(enhancer, enhancer.backend.net)
        for p in self.module.parameters():
            p.requires_grad_(True)  # the port loads its encoder/decoder/norms frozen
        _freeze_second_rnn_biases(self.module, "bias_hh_l0")

    def enhance_spec(self, spec):
        from ..models.dtln.network import BLOCK, zero_state

        out = []
        for s in spec:  # (frames, bins), batch-1 LSTM states
            mask, _ = self.module.stage1(s.abs()[None], torch.from_numpy(zero_state()))
            blocks = torch.fft.irfft(s[None] * mask, n=BLOCK, dim=-1)
            y, _ = self.module.stage2(blocks, torch.from_numpy(zero_state()))
            out.append(torch.fft.rfft(y[0], dim=-1))
        return torch.stack(out)

    def write_weights(self, path) -> None:
        from ..assets import fetch
        from ..models.dtln.network import write_h5

        write_h5(self.module, str(fetch(self.enhancer.card.weights[0])), path)

    def read_weights(self, path) -> None:
        from ..models.dtln.network import DtlnTorch, read_h5

        self.module.load_state_dict(DtlnTorch(read_h5(str(path))).state_dict())


class WaveformNetAdapter(SideFileCheckpoint):
    """For waveform-to-waveform nets ``net(x (batch, 1, samples)) -> (batch, 1, samples)`` released as plain
    state dicts (Demucs): the weights file stays a plain state dict the family loader reads."""

    def __init__(self, enhancer, net: torch.nn.Module) -> None:
        self.enhancer, self.module, self.name = enhancer, net, enhancer.name

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        return self.module(noisy[:, None])[:, 0, : noisy.shape[-1]]

    def write_weights(self, path) -> None:
        torch.save(self.module.state_dict(), path)

    def read_weights(self, path) -> None:
        self.module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))


def _gtcrn(model) -> TrainAdapter:
    return GtcrnAdapter(model, model.net)


def _demucs(model) -> TrainAdapter:
    return WaveformNetAdapter(model, model.net)


def _dpcrn(model) -> TrainAdapter:
    if not isinstance(model, DpcrnTorchModel) or model.framework != "torch":
        raise ModelError(
            f"fine-tuning a DPCRN needs its float PyTorch port (dpcrn-dns3-torch, dpcrn-base-h5); "
            f"{model.name!r} runs on {model.card.framework}"
        )
    return DpcrnAdapter(model)


def _dtln(model) -> TrainAdapter:
    from ..models.dtln.network import H5Backend

    if not isinstance(model.backend, H5Backend):
        raise ModelError(
            f"fine-tuning DTLN needs its PyTorch port of the h5 ('dtln'); {model.name!r} runs {model.card.framework}"
        )
    return DtlnAdapter(model)


ADAPTERS = {"gtcrn": _gtcrn, "demucs": _demucs, "dpcrn": _dpcrn, "dtln": _dtln}


def adapter_for(model) -> TrainAdapter:
    """The adapter of a loaded model (``setoolkit.load(name)``) or a registry name."""
    if isinstance(model, str):
        from ..registry import load

        model = load(model)
    family = model.card.family
    if family not in ADAPTERS:
        raise ModelError(
            f"fine-tuning supports the PyTorch families {sorted(ADAPTERS)}; {model.name!r} is "
            f"{family} ({model.card.framework})"
        )
    return ADAPTERS[family](model)
