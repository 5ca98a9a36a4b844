"""Demucs's resampling by 2 (upstream ``denoiser.resample``): a Hann-windowed sinc interpolation filter, used by the
network (x4 or x2 around the encoder/decoder) and by its stream (the same filters on each hop's window).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch.nn import functional as F

SINC_ZEROS = 56  # half-length (in zero crossings) of the interpolation filter, as upstream


@lru_cache(maxsize=8)
def sinc_kernel(zeros: int = SINC_ZEROS) -> torch.Tensor:
    """Hann-windowed sinc sampled at the half-integer offsets ``-zeros+0.5 .. zeros-0.5``: ``(2*zeros,)``.

    The half-sample interpolation filter of Smith & Gossett (1984), computed in float32 as upstream does
    (cached: treat the result as read-only). Built outside inference mode even when first asked for under
    ``torch.inference_mode()``, so the same cached tensor also serves training (autograd refuses inference
    tensors).
    """
    with torch.inference_mode(False), torch.no_grad():
        win = torch.hann_window(4 * zeros + 1, periodic=False)[1::2]
        t = torch.linspace(-zeros + 0.5, zeros - 0.5, 2 * zeros) * math.pi
        return torch.where(t == 0, torch.ones(()), torch.sin(t) / t) * win


def upsample2(x: torch.Tensor, zeros: int = SINC_ZEROS) -> torch.Tensor:
    """Upsample ``(..., time)`` by 2 -> ``(..., 2*time)``: input samples kept at even positions, the odd
    positions interpolated with :func:`sinc_kernel` (zero padding outside the signal)."""
    *lead, n = x.shape
    k = sinc_kernel(zeros).to(x.dtype).view(1, 1, -1)
    mid = F.conv1d(x.reshape(-1, 1, n), k, padding=zeros)[..., 1:].reshape(*lead, n)
    return torch.stack([x, mid], dim=-1).reshape(*lead, 2 * n)


def downsample2(x: torch.Tensor, zeros: int = SINC_ZEROS) -> torch.Tensor:
    """Downsample ``(..., time)`` by 2 -> ``(..., ceil(time/2))``: half the sum of the even samples and the
    :func:`sinc_kernel` interpolation of the odd ones at the even positions (odd lengths padded by one 0)."""
    if x.shape[-1] % 2:
        x = F.pad(x, (0, 1))
    even, odd = x[..., ::2], x[..., 1::2]
    *lead, n = odd.shape
    k = sinc_kernel(zeros).to(x.dtype).view(1, 1, -1)
    mid = F.conv1d(odd.reshape(-1, 1, n), k, padding=zeros)[..., :-1].reshape(*lead, n)
    return (even + mid) * 0.5
