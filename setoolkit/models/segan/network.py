"""SEGAN+ generator (santi-pdp/segan_pytorch) as released with ``ckpt_segan+/train.opts``.

A 1-D conv encoder-decoder on the pre-emphasised waveform at 16 kHz, in non-overlapping slices of 16384
samples: five encoder convs (kernel 31, stride 4, reflect padding, PReLU; 64, 128, 256, 512, 1024 maps),
a latent ``z`` (1024 maps) concatenated before the deepest features, five transposed convs back (PReLU; tanh
at the output), each of the first four concatenated with an encoder layer's pre-activation scaled per
channel by a learned "alpha" (skip type ``alpha``, merge ``concat``). The output slices are joined and
de-emphasised (coefficient 0.95), as upstream's ``clean.py`` / ``SEGAN.generate`` do.

Checkpoint: ``segan+_generator.ckpt`` is loaded by key name (``enc_blocks.i.conv``, ``alpha_i.skip_k``,
``dec_blocks.i.deconv``, ``*.act.weight``) from upstream's ``Saver`` format (``{"step", "state_dict", ...}``)
or a bare state_dict; the older names that upstream's ``weightG_fmt_converter.py`` renames (``gen_enc.``,
``gen_dec.i.conv``) are accepted too. Unlike upstream's loader, which silently skips keys that do not match,
every key and shape must match.

The official file has NO published sha256, so it is never accepted silently: ``verify=False`` is the
explicit opt-in (for the mirror/cache copy or ``checkpoint=PATH``). It could not be obtained on the machines
setoolkit was built on; the loader is proven on checkpoints written in the released key layout with random
values, so setoolkit reports no quality numbers for SEGAN+ until it is run with the real file.

``z``: upstream draws ``z ~ N(0, 1)`` once (on the first slice) and reuses it for every slice and file; here
it is drawn once per model from a seeded generator (``seed``, default 111 as ``clean.py``), so outputs are
reproducible (upstream's exact draw depends on its RNG history and cannot be reproduced).

Examples
--------
>>> model = setoolkit.load("segan-plus", verify=False)                  # official file in mirror or cache
>>> model = setoolkit.load("segan-plus", checkpoint="segan+_generator.ckpt", verify=False)
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...registry import ModelCard
from ..common.base import Enhancer
from ..common.checkpoints import load_state_strict, load_torch_checkpoint, resolve_checkpoint

#: The generator's configuration in ckpt_segan+/train.opts.
TRAIN_OPTS: dict[str, Any] = dict(
    slice_size=16384, kwidth=31, fmaps=(64, 128, 256, 512, 1024), poolings=(4, 4, 4, 4, 4), z_dim=1024, preemph=0.95
)


# ------------------------------------------------------------------------------------------- network


@contextmanager
def _without_onednn():
    """Run torch ops on ATen's own CPU kernels. oneDNN's multi-threaded transposed conv returns wrong values that
    change from run to run for SEGAN's decoder shapes (kernel 31, stride 4, >= 512 input channels; seen with
    torch 2.11 / oneDNN 3.10 on AVX-512, relative errors up to 0.4); ATen's kernel is exact and about as fast."""
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


class _EncBlock(nn.Module):
    """Reflect-padded strided conv + PReLU; returns the activation and the pre-activation (the skip)."""

    def __init__(self, cin: int, cout: int, kwidth: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kwidth, stride=stride)
        self.act = nn.PReLU(cout, init=0)
        self.pad = (kwidth // 2 - 1, kwidth // 2) if stride > 1 else (kwidth // 2, kwidth // 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, cin, time)`` -> two ``(batch, cout, time / stride)``."""
        a = self.conv(F.pad(x, self.pad, mode="reflect"))
        return self.act(a), a


class _DecBlock(nn.Module):
    """Transposed conv (length x stride) + PReLU, or tanh at the output."""

    def __init__(self, cin: int, cout: int, kwidth: int, stride: int, *, last: bool) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose1d(cin, cout, kwidth, stride=stride, padding=max(0, (stride - kwidth) // -2))
        self.act = nn.Tanh() if last else nn.PReLU(cout, init=0)
        self.trim = kwidth % 2  # odd kernels give one extra sample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with _without_onednn():
            h = self.deconv(x)
        return self.act(h[..., : h.shape[-1] - self.trim])


class _Alpha(nn.Module):
    """Per-channel skip scale ``skip_k`` ``(1, channels, 1)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.skip_k = nn.Parameter(torch.ones(1, channels, 1))


class SeganGenerator(nn.Module):
    """SEGAN+ G with upstream's parameter names (``enc_blocks``, ``alpha_0..3``, ``dec_blocks``).

    ``forward(x (batch, 1, time), z (batch, z_dim, time / prod(poolings)))`` -> ``(batch, 1, time)``;
    ``time`` a multiple of ``prod(poolings)`` (1024).
    """

    def __init__(
        self,
        *,
        fmaps=TRAIN_OPTS["fmaps"],
        poolings=TRAIN_OPTS["poolings"],
        kwidth: int = TRAIN_OPTS["kwidth"],
        z_dim: int = TRAIN_OPTS["z_dim"],
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.enc_blocks = nn.ModuleList()  # registered first, as upstream: state_dict order enc, alphas, dec
        cin = 1
        for i, (c, s) in enumerate(zip(fmaps, poolings)):
            if i < len(fmaps) - 1:
                setattr(self, f"alpha_{i}", _Alpha(c))
            self.enc_blocks.append(_EncBlock(cin, c, kwidth, s))
            cin = c
        self.dec_blocks = nn.ModuleList()
        outs = list(fmaps[::-1][1:]) + [1]
        cin = fmaps[-1] + z_dim
        for i, (c, s) in enumerate(zip(outs, poolings[::-1])):
            self.dec_blocks.append(_DecBlock(cin, c, kwidth, s, last=i == len(outs) - 1))
            cin = 2 * c  # the next block also gets the scaled encoder pre-activation, concatenated
        self.hop = int(np.prod(poolings))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        skips = []
        h = x
        for block in self.enc_blocks:
            h, a = block(h)
            skips.append(a)
        h = torch.cat([z, h], dim=1)
        for i, block in enumerate(self.dec_blocks):
            if i > 0:
                level = len(self.enc_blocks) - 1 - i
                h = torch.cat([h, getattr(self, f"alpha_{level}").skip_k * skips[level]], dim=1)
            h = block(h)
        return h


# ------------------------------------------------------------------------------------- signal helpers


def pre_emphasis(x: np.ndarray, coef: float = TRAIN_OPTS["preemph"]) -> np.ndarray:
    """``y[0] = x[0]``, ``y[n] = x[n] - coef * x[n-1]``; ``(samples,)`` -> ``(samples,)`` float32."""
    x = np.asarray(x, dtype=np.float32)
    return np.concatenate([x[:1], x[1:] - np.float32(coef) * x[:-1]])


def de_emphasis(y: np.ndarray, coef: float = TRAIN_OPTS["preemph"]) -> np.ndarray:
    """Inverse of :func:`pre_emphasis`: ``x[n] = y[n] + coef * x[n-1]``; ``(samples,)`` -> ``(samples,)``."""
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -coef], np.asarray(y, dtype=np.float64)).astype(np.float32)


def upstream_scale(x: np.ndarray) -> np.ndarray:
    """The input scaling of upstream's ``clean.py`` for float samples ``x`` (int16 / 32768):
    ``normalize_wave_minmax`` maps int16 ``i`` to ``(2 i + 1) / 65535``."""
    return ((np.asarray(x, dtype=np.float64) * 65536.0 + 1.0) / 65535.0).astype(np.float32)


# ------------------------------------------------------------------------------------------ enhancer


class SeganPlus(Enhancer):
    """SEGAN+ on whole files: pre-emphasis, slices of 16384 (last one zero-padded), G, join, de-emphasis.

    ``batch`` slices run per call (memory stays constant for any length, so no base-class chunking).
    """

    chunk_seconds = None

    def __init__(self, card: ModelCard, net: SeganGenerator, *, seed: int = 111, batch: int = 8) -> None:
        super().__init__(card)
        self.net = net.eval()
        self.slice = TRAIN_OPTS["slice_size"]
        self.batch = batch
        gen = torch.Generator().manual_seed(seed)
        self.z = torch.randn(1, net.z_dim, self.slice // net.hop, generator=gen)

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        n, s = x.shape[0], self.slice
        pre = pre_emphasis(upstream_scale(x))
        padded = np.zeros(-(-n // s) * s, dtype=np.float32)
        padded[:n] = pre
        slices = torch.from_numpy(padded).view(-1, 1, s)
        out = []
        with torch.inference_mode():
            for i in range(0, slices.shape[0], self.batch):
                part = slices[i : i + self.batch]
                out.append(self.net(part, self.z.expand(part.shape[0], -1, -1)))
        return de_emphasis(torch.cat(out).reshape(-1)[:n].numpy())


def generator_state(ckpt) -> dict:
    """The generator's state_dict from a loaded checkpoint: upstream's ``Saver`` dict (``state_dict`` key) or a
    bare state_dict; old key names (``gen_enc.``, ``gen_dec.i.conv``) renamed as upstream's converter does."""
    if not isinstance(ckpt, dict):
        return ckpt
    state = ckpt.get("state_dict", ckpt)
    if not isinstance(state, dict):
        return state
    renamed = {}
    for key, value in state.items():
        if key.startswith("gen_enc."):
            key = "enc_blocks." + key[len("gen_enc.") :]
        elif key.startswith("gen_dec."):
            key = "dec_blocks." + key[len("gen_dec.") :].replace("conv", "deconv")
        renamed[key] = value
    return renamed


def build(card: ModelCard, *, mirror=None, checkpoint=None, verify: bool = True, seed: int = 111) -> SeganPlus:
    """Build SEGAN+ from ``segan+_generator.ckpt`` (mirror / cache / official URL, or ``checkpoint=PATH``).

    The release has no published sha256: pass ``verify=False`` to use a copy you trust (the default refuses it
    with an error saying so).
    """
    path = resolve_checkpoint(card, mirror=mirror, checkpoint=checkpoint, verify_hash=verify)
    state = generator_state(load_torch_checkpoint(path))
    net = load_state_strict(SeganGenerator(), state, source=path, model_name=card.name)
    return SeganPlus(card, net, seed=seed)
