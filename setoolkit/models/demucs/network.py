"""Demucs speech enhancement (facebookresearch/denoiser), state-dict compatible with the released checkpoints.

The released files (``dns48``, ``dns64``, ``master64``, ``valentini_nc``) are plain ``state_dict``\\ s of
upstream's ``denoiser.demucs.Demucs``; :class:`Demucs` here has the same parameter names and shapes, so they
load unchanged (``weights_only=True``). The network works on the waveform: normalise by the input's std,
pad to a valid length, upsample x4 (x2 for ``valentini_nc``) with windowed-sinc interpolation, a strided
conv encoder (conv k8 s4 + ReLU + 1x1 conv + GLU per layer), an LSTM (BiLSTM + linear when not causal), a
mirror decoder with skip connections (1x1 conv + GLU + transposed conv), downsample back, rescale.

The loaded model is :class:`.enhancer.DemucsEnhancer` (offline; :func:`.enhancer.build`), its hop-by-hop form
:class:`.stream.DemucsStream`; the resampling filters are in :mod:`.resampling`.

Examples
--------
>>> net = Demucs(hidden=48, causal=True, resample=4)
>>> y = net(torch.randn(1, 1, 16000))                   # (batch, chout, time), aligned with the input
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ...errors import ModelError
from .resampling import downsample2, upsample2


class _Lstm(nn.Module):
    """Upstream's ``BLSTM`` wrapper (parameter names ``lstm.*`` and, when bidirectional, ``linear.*``)."""

    def __init__(self, dim: int, *, bidirectional: bool, layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=dim, hidden_size=dim, num_layers=layers, bidirectional=bidirectional)
        self.linear = nn.Linear(2 * dim, dim) if bidirectional else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(time, batch, dim)`` -> ``(time, batch, dim)``."""
        y, _ = self.lstm(x)
        return self.linear(y) if self.linear is not None else y


class Demucs(nn.Module):
    """The Demucs denoiser; ``state_dict`` keys and shapes equal upstream's ``denoiser.demucs.Demucs``.

    Arguments as upstream (``glu=True``, ``normalize=True``, ``floor=1e-3`` in every release). ``forward``
    takes ``(batch, chin, time)`` and returns ``(batch, chout, time)``, aligned with the input.
    """

    def __init__(
        self,
        *,
        chin: int = 1,
        chout: int = 1,
        hidden: int = 48,
        depth: int = 5,
        kernel_size: int = 8,
        stride: int = 4,
        causal: bool = True,
        resample: int = 4,
        growth: float = 2,
        max_hidden: int = 10_000,
        normalize: bool = True,
        glu: bool = True,
        floor: float = 1e-3,
    ) -> None:
        super().__init__()
        if resample not in (1, 2, 4):
            raise ModelError(f"Demucs resample must be 1, 2 or 4, got {resample!r}")
        self.chin, self.chout, self.hidden, self.depth = chin, chout, hidden, depth
        self.kernel_size, self.stride, self.causal, self.resample = kernel_size, stride, causal, resample
        self.normalize, self.floor, self.glu = normalize, floor, glu
        act, scale = (nn.GLU(1), 2) if glu else (nn.ReLU(), 1)
        self.encoder, self.decoder = nn.ModuleList(), nn.ModuleList()
        c_in, c_out, h = chin, chout, hidden
        for index in range(depth):
            self.encoder.append(
                nn.Sequential(nn.Conv1d(c_in, h, kernel_size, stride), nn.ReLU(), nn.Conv1d(h, h * scale, 1), act)
            )
            dec = [nn.Conv1d(h, h * scale, 1), act, nn.ConvTranspose1d(h, c_out, kernel_size, stride)]
            if index > 0:
                dec.append(nn.ReLU())
            self.decoder.insert(0, nn.Sequential(*dec))
            c_in = c_out = h
            h = min(int(growth * h), max_hidden)
        self.lstm = _Lstm(c_in, bidirectional=not causal)

    def valid_length(self, length: int) -> int:
        """Smallest input length >= ``length`` that the strided layers consume without remainder."""
        n = math.ceil(length * self.resample)
        for _ in range(self.depth):
            n = max(math.ceil((n - self.kernel_size) / self.stride) + 1, 1)
        for _ in range(self.depth):
            n = (n - 1) * self.stride + self.kernel_size
        return int(math.ceil(n / self.resample))

    @property
    def total_stride(self) -> int:
        """Input samples (model rate) per position of the deepest layer: the streaming hop."""
        return self.stride**self.depth // self.resample

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        if mix.dim() == 2:
            mix = mix.unsqueeze(1)
        std: torch.Tensor | int
        if self.normalize:
            std = mix.mean(dim=1, keepdim=True).std(dim=-1, keepdim=True)
            x = mix / (self.floor + std)
        else:
            std, x = 1, mix
        length = x.shape[-1]
        x = F.pad(x, (0, self.valid_length(length) - length))
        for _ in range(int(math.log2(self.resample))):
            x = upsample2(x)
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        x = self.lstm(x.permute(2, 0, 1)).permute(1, 2, 0)
        for layer in self.decoder:
            skip = skips.pop()
            x = layer(x + skip[..., : x.shape[-1]])
        for _ in range(int(math.log2(self.resample))):
            x = downsample2(x)
        return std * x[..., :length]
