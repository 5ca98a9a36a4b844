"""The NISQA v2 network (Mittag et al., Interspeech 2021) in PyTorch: framewise CNN, self-attention over time,
five attention-pooling heads (MOS, noisiness, discontinuity, coloration, loudness).

setoolkit's own code for the released ``NISQA_DIM`` checkpoint (``weights/nisqa/nisqa.tar``): the module names
match the checkpoint's state dict, so it loads with ``strict=True``; the hyper-parameters come from the
checkpoint's ``args`` (:func:`build`). Only the configuration that checkpoint uses is built (adaptive CNN, a
self-attention stack, no second time-dependency stage, attention pooling with a feed-forward score); any other
is refused with an error naming the argument.

Shapes: the input is a batch of mel-spectrogram segments ``(windows, 1, n_mels, seg_length)`` of one recording
(48 mel bands x 15 frames each, one segment every ``seg_hop`` frames, see :mod:`setoolkit.metrics.nisqa`); the
output is ``(5,)``: MOS, NOI, DIS, COL, LOUD on the 1..5 scale.

Examples
--------
>>> net = build(checkpoint["args"]); net.load_state_dict(checkpoint["model_state_dict"]); net.eval()
>>> net(segments)                  # (windows, 1, 48, 15) -> tensor of 5 scores
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError

#: Order of the five outputs, as upstream's ``predict_dim`` writes them.
DIMENSIONS = ("mos", "noi", "dis", "col", "loud")

#: Checkpoint arguments this implementation supports, and the only value each may take.
_SUPPORTED = {"model": "NISQA_DIM", "cnn_model": "adapt", "td": "self_att", "td_2": "skip", "pool": "att"}


class _Holder(nn.Module):
    """One sub-module under the attribute ``model`` (the checkpoint's key names have that extra level)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model


class AdaptCNN(nn.Module):
    """Six 3x3 convolutions with batch norm and ReLU and adaptive max pooling between them: one segment
    ``(n, 1, n_mels, seg_length)`` -> one feature vector ``(n, c_out_3 * pool_3[0])``."""

    def __init__(self, c1: int, c2: int, c3: int, kernel: tuple[int, int], pools: list[list[int]]) -> None:
        super().__init__()
        self.pools = [tuple(p) for p in pools]
        pad = (1, 0) if kernel[1] == 1 else (1, 1)
        chans = [1, c1, c2, c3, c3, c3]
        for i in range(5):
            setattr(self, f"conv{i + 1}", nn.Conv2d(chans[i], chans[i + 1], kernel, padding=pad))
            setattr(self, f"bn{i + 1}", nn.BatchNorm2d(chans[i + 1]))
        self.conv6 = nn.Conv2d(c3, c3, (kernel[0], self.pools[2][1]), padding=(1, 0))  # width pooled to one
        self.bn6 = nn.BatchNorm2d(c3)
        self.fan_out = c3 * self.pools[2][0]

    def _block(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_max_pool2d(self._block(1, x), self.pools[0])
        x = F.adaptive_max_pool2d(self._block(2, x), self.pools[1])
        x = F.adaptive_max_pool2d(self._block(4, self._block(3, x)), self.pools[2])
        x = self._block(6, self._block(5, x))
        return x.reshape(x.shape[0], self.fan_out)


class SelfAttentionLayer(nn.Module):
    """Post-norm transformer encoder layer (multi-head attention, then a ReLU feed-forward), ``(time, batch, d)``."""

    def __init__(self, d_model: int, nhead: int, hidden: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead)
        self.linear1 = nn.Linear(d_model, hidden)
        self.linear2 = nn.Linear(hidden, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None) -> torch.Tensor:
        x = self.norm1(x + self.self_attn(x, x, x, key_padding_mask=pad_mask, need_weights=False)[0])
        return self.norm2(x + self.linear2(F.relu(self.linear1(x))))


class SelfAttention(nn.Module):
    """Linear projection, layer norm, then ``num_layers`` :class:`SelfAttentionLayer`: ``(batch, time, d_in)`` ->
    ``(batch, time, d_model)``."""

    def __init__(self, d_in: int, d_model: int, nhead: int, num_layers: int, hidden: int) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.layers = nn.ModuleList(SelfAttentionLayer(d_model, nhead, hidden) for _ in range(num_layers))

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None) -> torch.Tensor:
        x = self.norm1(self.linear(x).transpose(0, 1))
        for layer in self.layers:
            x = layer(x, pad_mask)
        return x.transpose(0, 1)


class PoolAttFF(nn.Module):
    """Attention pooling over time with a feed-forward score: ``(batch, time, d)`` -> ``(batch, 1)``."""

    def __init__(self, d_in: int, hidden: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_in, hidden)
        self.linear2 = nn.Linear(hidden, 1)
        self.linear3 = nn.Linear(d_in, 1)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None) -> torch.Tensor:
        score = self.linear2(F.relu(self.linear1(x))).transpose(2, 1)  # (batch, 1, time)
        if pad_mask is not None:
            score = score.masked_fill(pad_mask[:, None, :], float("-inf"))
        return self.linear3(torch.bmm(F.softmax(score, dim=2), x).squeeze(1))


class NisqaDim(nn.Module):
    """NISQA_DIM: CNN per segment, self-attention over segments, one attention-pooling head per dimension."""

    def __init__(self, args: dict[str, Any]) -> None:
        super().__init__()
        kernel = args["cnn_kernel_size"]
        kernel = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
        pools = [args["cnn_pool_1"], args["cnn_pool_2"], args["cnn_pool_3"]]
        cnn = AdaptCNN(args["cnn_c_out_1"], args["cnn_c_out_2"], args["cnn_c_out_3"], kernel, pools)
        self.cnn = _Holder(cnn)
        sa = SelfAttention(
            cnn.fan_out, args["td_sa_d_model"], args["td_sa_nhead"], args["td_sa_num_layers"], args["td_sa_h"]
        )
        self.time_dependency = _Holder(sa)
        heads = (_Holder(PoolAttFF(args["td_sa_d_model"], args["pool_att_h"])) for _ in DIMENSIONS)
        self.pool_layers = nn.ModuleList(heads)

    def forward(self, segments: torch.Tensor, n_wins: torch.Tensor | None = None) -> torch.Tensor:
        """Scores ``(batch, 5)`` of segments ``(batch, windows, 1, n_mels, seg_length)``; ``n_wins`` ``(batch,)``:
        the valid windows of each row (the rest is padding, masked), ``None`` when every row is full."""
        batch, windows = segments.shape[:2]
        feats = self.cnn.model(segments.reshape(batch * windows, *segments.shape[2:])).reshape(batch, windows, -1)
        pad_mask = None
        if n_wins is not None:
            pad_mask = torch.arange(windows)[None, :] >= n_wins[:, None]
        x = self.time_dependency.model(feats, pad_mask)
        return torch.cat([cast(_Holder, head).model(x, pad_mask) for head in self.pool_layers], dim=1)


def build(args: dict[str, Any]) -> NisqaDim:
    """The network a NISQA checkpoint's ``args`` describe; a configuration other than the released
    ``NISQA_DIM`` one is a :class:`ModelError` naming the argument."""
    for key, want in _SUPPORTED.items():
        if args.get(key) != want:
            raise ModelError(f"NISQA checkpoint: {key}={args.get(key)!r} is not supported (setoolkit builds {want!r})")
    if args.get("td_sa_pos_enc") or args.get("cnn_fc_out_h") or args.get("pool_att_h") is None:
        raise ModelError(
            "NISQA checkpoint: positional encoding, a CNN output layer or plain attention pooling is not supported"
        )
    return NisqaDim(args)
