"""Third-party PyTorch DPCRN (bear-boy/DPCRN-Pytorch, trained on VCTK-DEMAND): a comparison point for the
official models.

The released checkpoint (``pretrained_model/final_ckp.pth``, commit be3ba41) belongs to that commit's code,
not to the repository's later ``model.py``: tensors laid out ``(batch, channels, freq, frames)``, kernels
``(freq, time)``, a periodic scipy *cosine* window of 400 samples (``sin(pi (k + 0.5) / 401)``), STFT 400/200
without centring (201 bins), one shared PReLU for the whole encoder and one for the whole decoder (the mask
itself goes through batch norm + PReLU), a single DPRNN block (bidirectional LSTM 2 x 128 -> linear 128
across frequency, LSTM 128 -> linear 128 across frames) whose norms are ``GroupNorm(1, 128)`` over channels,
frequency **and all frames**: the model is not causal (it cannot stream), so it runs offline only, in the
base class's crossfaded chunks of at most 10 s.

The module names below equal the checkpoint's keys, so the state dict loads strictly (``weights_only``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...assets import fetch
from ...errors import AssetError
from ...registry import ModelCard
from ...stft import istft_np, stft_np
from ...streaming import torch_threads
from ..common.base import Enhancer
from ..common.checkpoints import load_torch_checkpoint

N_FFT, HOP = 400, 200
ENC = [
    (32, (5, 2), (2, 1), (1, 0, 0, 2)),
    (32, (3, 2), (2, 1), (1, 0, 0, 1)),
    (32, (3, 2), (1, 1), (1, 0, 1, 1)),
    (64, (3, 2), (1, 1), (1, 0, 1, 1)),
    (128, (3, 2), (1, 1), (1, 0, 1, 1)),
]  # out, kernel, stride, F.pad
DEC = [(64, (3, 2), (1, 1)), (32, (3, 2), (1, 1)), (32, (3, 2), (1, 1)), (32, (3, 2), (2, 1)), (2, (5, 2), (2, 1))]


def cosine_window(n: int = N_FFT) -> np.ndarray:
    """Scipy's periodic ``cosine`` window: ``sin(pi (k + 0.5) / (n + 1))``, ``(n,)`` float32."""
    return np.sin(np.pi * (np.arange(n) + 0.5) / (n + 1)).astype(np.float32)


class _Rnn(nn.Module):
    """An ``nn.LSTM`` and the linear projection of its output back to the input size."""

    def __init__(self, size: int, bidirectional: bool) -> None:
        super().__init__()
        self.rnn = nn.LSTM(size, size, 1, batch_first=True, bidirectional=bidirectional)
        self.proj = nn.Linear(size * (2 if bidirectional else 1), size)

    def forward(self, x):
        return self.proj(self.rnn(x)[0])


class _Dprnn(nn.Module):
    def __init__(self, size: int = 128) -> None:
        super().__init__()
        self.row_rnn = nn.ModuleList([_Rnn(size, True)])
        self.col_rnn = nn.ModuleList([_Rnn(size, False)])
        self.row_norm = nn.ModuleList([nn.GroupNorm(1, size, eps=1e-8)])
        self.col_norm = nn.ModuleList([nn.GroupNorm(1, size, eps=1e-8)])

    def forward(self, x):
        """``(B, N, F, T)`` -> same: RNN across frequency, then across frames, each normed and added."""
        b, n, f, t = x.shape
        row = self.row_rnn[0](x.permute(0, 3, 2, 1).reshape(b * t, f, n)).reshape(b, t, f, n).permute(0, 3, 2, 1)
        x = x + self.row_norm[0](row)
        col = self.col_rnn[0](x.permute(0, 2, 3, 1).reshape(b * f, t, n)).reshape(b, f, t, n).permute(0, 3, 1, 2)
        return x + self.col_norm[0](col)


class _Coder(nn.Module):
    def __init__(self, convs: list[nn.Module], chans: list[int]) -> None:
        super().__init__()
        self.conv = nn.ModuleList(convs)
        self.norm = nn.ModuleList(nn.BatchNorm2d(c) for c in chans)
        self.prelu = nn.PReLU()


class VctkDpcrnNet(nn.Module):
    """The network: complex spectrum ``(B, 2, 201, T)`` -> complex ratio mask, same shape."""

    def __init__(self) -> None:
        super().__init__()
        c_in = 2
        convs: list[nn.Module] = []
        for c, k, s, _ in ENC:
            convs.append(nn.Conv2d(c_in, c, k, s))
            c_in = c
        self.encoder = _Coder(convs, [c for c, *_ in ENC])
        c_in, convs = 256, []
        for i, (c, k, s) in enumerate(DEC):
            convs.append(nn.ConvTranspose2d(c_in, c, k, s, padding=(1, 0), output_padding=(1, 0) if i == 3 else 0))
            c_in = 2 * c
        self.decoder = _Coder(convs, [c for c, *_ in DEC])
        self.dprnn = _Dprnn()

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x, skips = spec, []
        for conv, norm, (_, _, _, pad) in zip(self.encoder.conv, self.encoder.norm, ENC):
            x = self.encoder.prelu(norm(conv(F.pad(x, pad))))
            skips.append(x)
        x = self.dprnn(x)
        for conv, norm, skip in zip(self.decoder.conv, self.decoder.norm, reversed(skips)):
            x = self.decoder.prelu(norm(conv(torch.cat([x, skip], dim=1))[..., :-1]))  # causal frames only
        return x


class VctkDpcrn(Enhancer):
    """bear-boy's PyTorch DPCRN, offline (utterance-level norms: not causal, no streaming)."""

    framework = "torch"
    threads = 1  # torch intra-op threads (see setoolkit.streaming.torch_threads)

    def __init__(self, card: ModelCard, path: str) -> None:
        super().__init__(card)
        self.net = VctkDpcrnNet().eval()
        sd = load_torch_checkpoint(path)
        missing, unexpected = self.net.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise AssetError(
                f"{path}: not a bear-boy DPCRN checkpoint: missing {sorted(missing)[:4]}, "
                f"unexpected {sorted(unexpected)[:4]}"
            )
        self.window = cosine_window()

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        n_frames = max(int(np.ceil((n - N_FFT) / HOP)) + 1, 1)  # as upstream infer.py pads
        xp = np.zeros((n_frames - 1) * HOP + N_FFT, dtype=np.float32)
        xp[:n] = x
        spec = stft_np(xp, N_FFT, HOP, self.window)  # (201, T) complex
        inp = torch.from_numpy(np.stack([spec.real, spec.imag]).astype(np.float32))[None]
        with torch.no_grad(), torch_threads(self.threads):
            m = self.net(inp)[0].numpy()
        enh = spec * (m[0] + 1j * m[1])
        return istft_np(enh, N_FFT, HOP, self.window, length=len(xp))[:n].astype(np.float32)


def build(card: ModelCard, *, mirror=None) -> VctkDpcrn:
    """Registry builder: fetch (and verify) the checkpoint and load it strictly."""
    return VctkDpcrn(card, str(fetch(card.weights[0], mirror=mirror)))
