"""DTLN's Keras h5 in PyTorch: the two LSTM cores as torch modules (weights read by layer name from the h5), the
h5 backend of :class:`Dtln`, and the way back to a Keras h5 for fine-tuned weights (:func:`write_h5`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...assets import fetch
from ...errors import ModelError
from ...registry import ModelCard
from ...streaming import torch_threads
from ..common.keras_h5 import write_layers
from . import enhancer
from .enhancer import BLOCK, LOG_EPS, NORM_EPS, UNITS, h5_layers, read_h5, role_layers, zero_state

__all__ = ["BLOCK", "Dtln", "DtlnTorch", "H5Backend", "build", "read_h5", "to_h5_weights", "write_h5", "zero_state"]


def _torch_lstm(kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> nn.LSTM:
    """A one-layer torch LSTM equal to a Keras LSTM (gate order i, f, c, o in both; sigmoid/tanh)."""
    lstm = nn.LSTM(kernel.shape[0], UNITS, batch_first=True)
    with torch.no_grad():
        lstm.get_parameter("weight_ih_l0").copy_(torch.from_numpy(kernel.T.copy()))
        lstm.get_parameter("weight_hh_l0").copy_(torch.from_numpy(recurrent.T.copy()))
        lstm.get_parameter("bias_ih_l0").copy_(torch.from_numpy(bias))
        lstm.get_parameter("bias_hh_l0").zero_()
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
        """X ``(1, T, n)``, state ``[1, 2, 128, 2]`` -> mask ``(1, T, m)``, state."""
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
        """Mag ``(1, T, 257)`` -> mask ``(1, T, 257)``, state."""
        feat = mag if self.log_norm is None else self.log_norm(torch.log(mag + LOG_EPS))
        return self.core1(feat, state)

    def stage2(self, blocks: torch.Tensor, state: torch.Tensor):
        """Blocks ``(1, T, 512)`` -> enhanced blocks ``(1, T, 512)`` (before overlap-add), state."""
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
    layers = h5_layers(template)
    named = {name: arrays for role, values in roles.items() for name, arrays in zip(role_layers(layers, role), values)}
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


class Dtln(enhancer.Dtln):
    """:class:`setoolkit.models.dtln.enhancer.Dtln` that also opens the Keras h5 (in the PyTorch port)."""

    def open_backend(self, paths: list[str], ext: str):
        if ext != ".h5":
            return super().open_backend(paths, ext)
        if len(paths) != 1:
            raise ModelError(f"a DTLN h5 model is one file, got {paths}")
        return H5Backend(paths[0])


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
