"""GTCRN (Rong et al., ICASSP 2024): a 48 K-parameter causal complex-mask model, 16 kHz, STFT 512/256 sqrt-Hann.

setoolkit's own PyTorch implementation, state-dict compatible with the upstream ``gtcrn.py``
(Xiaobin-Rong/gtcrn): the released ``.tar`` checkpoints (``{"model": state_dict, ...}``) load by key name,
strictly. One network serves offline and streaming: every block takes its recurrent state explicitly,

* the three dilated temporal convolutions of the encoder and of the decoder keep the last ``2 * dilation``
  frames of their input (*conv caches*; zeros = the causal padding of offline inference),
* the six temporal recurrent attentions keep their GRU state (*TRA states*),
* the two dual-path blocks keep the state of their inter-frame (time) GRU (*inter states*),

so a whole spectrogram in one call (offline) and one frame per call with the state carried (streaming) run
the same code and agree to float precision. :class:`GtcrnOnnx` runs the official streaming ONNX export
(``gtcrn.onnx``, explicit conv/tra/inter caches) frame by frame, as the reference the port is tested against.

Data path of one frame: complex spectrum ``(257,)`` -> features (magnitude, real, imaginary) -> ERB band
merge (bins 0-64 kept, 192 upper bins -> 64 ERB bands: 129) -> subband unfolding (x3 channels) -> encoder
(2 conv blocks halving frequency to 33, 3 grouped temporal conv blocks, dilation 1, 2, 5) -> 2 grouped
dual-path GRNN blocks -> decoder (mirror, with skip connections) -> ERB band split back to 257 -> complex
ratio mask applied to the input spectrum.

Examples
--------
>>> model = setoolkit.load("gtcrn")
>>> clean = model.enhance(noisy, 16000)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...assets import fetch
from ...errors import AssetError, ModelError
from ...registry import ModelCard
from ...stft import window
from ...streaming import FrameModel, torch_threads
from ..common.base import FrameEnhancer
from ..common.checkpoints import load_torch_checkpoint
from ..common.runtimes import onnx_session

N_FFT, HOP, SAMPLE_RATE = 512, 256, 16000
N_BINS = N_FFT // 2 + 1
ERB_LOW, ERB_BANDS = 65, 64  # bins kept as they are, ERB bands above them
WIDTH, CHANNELS = 33, 16  # frequency width and channels inside the network
DILATIONS = (1, 2, 5)  # encoder GT blocks; the decoder mirrors them (5, 2, 1)


# ------------------------------------------------------------------------------------------- ERB bands


def erb_filters(
    n_low: int = ERB_LOW,
    n_bands: int = ERB_BANDS,
    *,
    n_fft: int = N_FFT,
    sr: int = SAMPLE_RATE,
    high_hz: float = 8000.0,
) -> np.ndarray:
    """Triangular ERB filters ``(n_bands, n_fft // 2 + 1 - n_low)`` over the bins above ``n_low``.

    Band edges are equally spaced on the ERB-rate scale ``21.4 log10(1 + 0.00437 f)`` from bin ``n_low`` to
    ``high_hz``, rounded to bins; neighbouring triangles cross at 0.5 and the last band is the complement of
    the one before it. GTCRN stores this matrix in its checkpoints (``erb.erb_fc.weight``).
    """
    erb = lambda f: 21.4 * np.log10(0.00437 * f + 1)  # noqa: E731
    inv = lambda e: (10 ** (e / 21.4) - 1) / 0.00437  # noqa: E731
    points = np.linspace(erb(n_low / n_fft * sr), erb(high_hz), n_bands)
    b = np.round(inv(points) / sr * n_fft).astype(int)
    filt = np.zeros((n_bands, n_fft // 2 + 1))
    eps = 1e-12

    def rise(lo, hi):
        return (np.arange(lo, hi) - lo + eps) / (hi - lo + eps)

    def fall(lo, hi):
        return (hi - np.arange(lo, hi) + eps) / (hi - lo + eps)

    filt[0, b[0] : b[1]] = fall(b[0], b[1])
    for i in range(n_bands - 2):
        filt[i + 1, b[i] : b[i + 1]] = rise(b[i], b[i + 1])
        filt[i + 1, b[i + 1] : b[i + 2]] = fall(b[i + 1], b[i + 2])
    filt[-1, b[-2] : b[-1] + 1] = 1 - filt[-2, b[-2] : b[-1] + 1]
    return np.abs(filt[:, n_low:]).astype(np.float32)


class _Erb(nn.Module):
    """Band merge ``(..., 257) -> (..., 129)`` and split ``(..., 129) -> (..., 257)`` (weights from the checkpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self.erb_fc = nn.Linear(N_BINS - ERB_LOW, ERB_BANDS, bias=False)
        self.ierb_fc = nn.Linear(ERB_BANDS, N_BINS - ERB_LOW, bias=False)
        for p in self.parameters():
            p.requires_grad_(False)

    def merge(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[..., :ERB_LOW], self.erb_fc(x[..., ERB_LOW:])], dim=-1)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[..., :ERB_LOW], self.ierb_fc(x[..., ERB_LOW:])], dim=-1)


def subband_unfold(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T, F) -> (B, 3C, T, F)``: each bin with its two neighbours (zero beyond the edges);
    channel ``3c + j`` holds channel ``c`` at bin ``f + j - 1``."""
    f = x.shape[-1]
    xp = nn.functional.pad(x, (1, 1))
    return torch.stack([xp[..., j : j + f] for j in range(3)], dim=2).flatten(1, 2)


# ------------------------------------------------------------------------------------------- blocks


class _ConvBlock(nn.Module):
    """Frame-wise (1, 5) conv (or transposed conv) over frequency, stride 2, BatchNorm, PReLU (Tanh if last)."""

    def __init__(self, c_in: int, c_out: int, *, groups: int = 1, transposed: bool = False, last: bool = False) -> None:
        super().__init__()
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.conv = conv(c_in, c_out, (1, 5), stride=(1, 2), padding=(0, 2), groups=groups)
        self.bn = nn.BatchNorm2d(c_out)
        self.act = nn.Tanh() if last else nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class _Tra(nn.Module):
    """Temporal recurrent attention: a GRU over the per-channel frame energy gives a sigmoid gain per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.att_gru = nn.GRU(channels, 2 * channels, batch_first=True)
        self.att_fc = nn.Linear(2 * channels, channels)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """X ``(B, C, T, F)``, h ``(1, B, 2C)`` -> gated x, new h."""
        energy = x.pow(2).mean(dim=-1).transpose(1, 2)  # (B, T, C)
        a, h = self.att_gru(energy, h)
        gain = torch.sigmoid(self.att_fc(a)).transpose(1, 2)  # (B, C, T)
        return x * gain[..., None], h


class _GtConvBlock(nn.Module):
    """Grouped temporal conv block: half the channels go through subband unfolding, a point conv, a causal
    dilated depthwise (3, 3) conv over (time, frequency), a point conv and a TRA; the other half is passed
    through; the halves are interleaved (channel shuffle)."""

    def __init__(self, dilation: int, *, transposed: bool = False) -> None:
        super().__init__()
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        half = CHANNELS // 2
        self.dilation = dilation
        self.point_conv1 = conv(3 * half, CHANNELS, 1)
        self.point_bn1 = nn.BatchNorm2d(CHANNELS)
        self.point_act = nn.PReLU()
        # transposed: padding 2*d in time removes the 2*d cached frames again (same as a flipped causal conv)
        self.depth_conv = conv(
            CHANNELS,
            CHANNELS,
            (3, 3),
            stride=1,
            padding=(2 * dilation if transposed else 0, 1),
            dilation=(dilation, 1),
            groups=CHANNELS,
        )
        self.depth_bn = nn.BatchNorm2d(CHANNELS)
        self.depth_act = nn.PReLU()
        self.point_conv2 = conv(CHANNELS, half, 1)
        self.point_bn2 = nn.BatchNorm2d(half)
        self.tra = _Tra(half)

    @property
    def context(self) -> int:
        """Past frames the depthwise conv sees (the length of its cache)."""
        return 2 * self.dilation

    def forward(self, x: torch.Tensor, cache: torch.Tensor, h: torch.Tensor):
        """X ``(B, 16, T, 33)``, cache ``(B, 16, 2d, 33)``, h ``(1, B, 16)`` -> (y, cache, h)."""
        x1, x2 = x.chunk(2, dim=1)
        h1 = self.point_act(self.point_bn1(self.point_conv1(subband_unfold(x1))))
        h1 = torch.cat([cache, h1], dim=2)
        cache = h1[:, :, h1.shape[2] - self.context :]
        h1 = self.depth_act(self.depth_bn(self.depth_conv(h1)))
        h1 = self.point_bn2(self.point_conv2(h1))
        h1, h = self.tra(h1, h)
        y = torch.stack([h1, x2], dim=2).flatten(1, 2)  # shuffle: channel 2c from h1, 2c + 1 from x2
        return y, cache, h


class _GroupedGru(nn.Module):
    """Two GRUs, each on one half of the features (and of the state)."""

    def __init__(self, n_in: int, n_hidden: int, *, bidirectional: bool = False) -> None:
        super().__init__()
        self.rnn1 = nn.GRU(n_in // 2, n_hidden // 2, batch_first=True, bidirectional=bidirectional)
        self.rnn2 = nn.GRU(n_in // 2, n_hidden // 2, batch_first=True, bidirectional=bidirectional)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None):
        x1, x2 = x.chunk(2, dim=-1)
        h1, h2 = (None, None) if h is None else (t.contiguous() for t in h.chunk(2, dim=-1))
        y1, h1 = self.rnn1(x1, h1)
        y2, h2 = self.rnn2(x2, h2)
        return torch.cat([y1, y2], dim=-1), torch.cat([h1, h2], dim=-1)


class _DualPath(nn.Module):
    """Grouped dual-path RNN: a bidirectional GRU across frequency within each frame (intra), then a causal
    GRU across frames for each band (inter, state carried), each followed by a linear layer, a layer norm
    over (band, channel) and a residual connection."""

    def __init__(self) -> None:
        super().__init__()
        self.intra_rnn = _GroupedGru(CHANNELS, CHANNELS // 2, bidirectional=True)
        self.intra_fc = nn.Linear(CHANNELS, CHANNELS)
        self.intra_ln = nn.LayerNorm([WIDTH, CHANNELS], eps=1e-8)
        self.inter_rnn = _GroupedGru(CHANNELS, CHANNELS)
        self.inter_fc = nn.Linear(CHANNELS, CHANNELS)
        self.inter_ln = nn.LayerNorm([WIDTH, CHANNELS], eps=1e-8)

    def forward(self, x: torch.Tensor, h: torch.Tensor):
        """X ``(B, C, T, F)``, h ``(1, B*F, C)`` -> (y, h)."""
        b, c, t, f = x.shape
        x = x.permute(0, 2, 3, 1)  # (B, T, F, C)
        intra = self.intra_fc(self.intra_rnn(x.reshape(b * t, f, c))[0])
        x = x + self.intra_ln(intra.reshape(b, t, f, c))
        seq = x.permute(0, 2, 1, 3).reshape(b * f, t, c)  # (B*F, T, C)
        inter, h = self.inter_rnn(seq, h)
        inter = self.inter_fc(inter).reshape(b, f, t, c).permute(0, 2, 1, 3)  # (B, T, F, C)
        x = x + self.inter_ln(inter)
        return x.permute(0, 3, 1, 2), h


class _Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.en_convs = nn.ModuleList(
            [_ConvBlock(9, CHANNELS), _ConvBlock(CHANNELS, CHANNELS, groups=2), *[_GtConvBlock(d) for d in DILATIONS]]
        )


class _Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.de_convs = nn.ModuleList(
            [
                *[_GtConvBlock(d, transposed=True) for d in reversed(DILATIONS)],
                _ConvBlock(CHANNELS, CHANNELS, groups=2, transposed=True),
                _ConvBlock(CHANNELS, 2, transposed=True, last=True),
            ]
        )


@dataclass
class GtcrnState:
    """Everything GTCRN carries from frame to frame (batch 1).

    ``enc_cache``/``dec_cache``: conv caches ``(1, 16, 2d, 33)`` of the three GT blocks of the encoder
    (d = 1, 2, 5) and decoder (d = 5, 2, 1); ``enc_tra``/``dec_tra``: TRA GRU states ``(1, 1, 16)``;
    ``inter``: inter-frame GRU states ``(1, 33, 16)`` of the two dual-path blocks.
    """

    enc_cache: list[torch.Tensor]
    dec_cache: list[torch.Tensor]
    enc_tra: list[torch.Tensor]
    dec_tra: list[torch.Tensor]
    inter: list[torch.Tensor]

    @classmethod
    def zeros(cls) -> GtcrnState:
        z = lambda *s: torch.zeros(*s)  # noqa: E731
        return cls(
            [z(1, CHANNELS, 2 * d, WIDTH) for d in DILATIONS],
            [z(1, CHANNELS, 2 * d, WIDTH) for d in reversed(DILATIONS)],
            [z(1, 1, CHANNELS) for _ in DILATIONS],
            [z(1, 1, CHANNELS) for _ in DILATIONS],
            [z(1, WIDTH, CHANNELS) for _ in range(2)],
        )


class GtcrnNet(nn.Module):
    """The GTCRN network, upstream key names; ``forward(spec, state) -> (enhanced spec, state)``."""

    def __init__(self) -> None:
        super().__init__()
        self.erb = _Erb()
        self.encoder = _Encoder()
        self.dpgrnn1 = _DualPath()
        self.dpgrnn2 = _DualPath()
        self.decoder = _Decoder()

    def forward(self, spec: torch.Tensor, state: GtcrnState) -> tuple[torch.Tensor, GtcrnState]:
        """spec: complex ``(1, T, 257)``; returns the masked spectrum ``(1, T, 257)`` and the next state."""
        re, im = spec.real, spec.imag
        mag = torch.sqrt(re**2 + im**2 + 1e-12)
        x = subband_unfold(self.erb.merge(torch.stack([mag, re, im], dim=1)))  # (1, 9, T, 129)
        new = GtcrnState([], [], [], [], [])
        skips = []
        convs = self.encoder.en_convs
        for block in convs[:2]:
            x = block(x)
            skips.append(x)
        for k, block in enumerate(convs[2:]):
            x, cache, h = block(x, state.enc_cache[k], state.enc_tra[k])
            new.enc_cache.append(cache)
            new.enc_tra.append(h)
            skips.append(x)
        for k, dp in enumerate((self.dpgrnn1, self.dpgrnn2)):
            x, h = dp(x, state.inter[k])
            new.inter.append(h)
        convs = self.decoder.de_convs
        for k, block in enumerate(convs[:3]):
            x, cache, h = block(x + skips[4 - k], state.dec_cache[k], state.dec_tra[k])
            new.dec_cache.append(cache)
            new.dec_tra.append(h)
        for k, block in enumerate(convs[3:]):
            x = block(x + skips[1 - k])
        mask = self.erb.split(x)  # (1, 2, T, 257)
        return spec * torch.complex(mask[:, 0], mask[:, 1]), new


# ------------------------------------------------------------------------------------------- loading


def load_state_dict(path: str) -> dict[str, torch.Tensor]:
    """The ``"model"`` state dict of a GTCRN ``.tar`` checkpoint (loaded with ``weights_only=True``)."""
    ckpt = load_torch_checkpoint(path)
    if isinstance(ckpt, dict) and "model" in ckpt and isinstance(ckpt["model"], dict):
        return ckpt["model"]
    keys = list(ckpt)[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
    raise AssetError(
        f"{path}: not a GTCRN checkpoint: expected a dict with the state dict under key 'model', found {keys}"
    )


def build_net(state_dict: dict[str, torch.Tensor], *, source: str = "checkpoint") -> GtcrnNet:
    """A :class:`GtcrnNet` in eval mode with ``state_dict`` loaded strictly; a checkpoint of another
    architecture gets an :class:`AssetError` listing the missing, unexpected and mis-shaped keys."""
    net = GtcrnNet()
    own = net.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [
        f"{k} {tuple(state_dict[k].shape)} != {tuple(v.shape)}"
        for k, v in own.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        parts = [
            f"{len(missing)} missing keys (e.g. {missing[:3]})" if missing else "",
            f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})" if unexpected else "",
            f"shape mismatches: {shapes[:3]}" if shapes else "",
        ]
        raise AssetError(f"{source}: does not match the GTCRN architecture: " + "; ".join(p for p in parts if p))
    net.load_state_dict(state_dict, strict=True)
    return net.eval()


# ------------------------------------------------------------------------------------------- enhancers


def _to_np_specs(x: torch.Tensor) -> np.ndarray:
    return x[0].numpy().astype(np.complex128)


class Gtcrn(FrameEnhancer):
    """GTCRN in PyTorch: offline (the whole spectrogram in one call) and streaming (one frame per call)."""

    def __init__(self, card: ModelCard, checkpoint: str) -> None:
        FrameEnhancer.__init__(self, card)
        self.n_fft, self.hop = N_FFT, HOP
        self.window = window("sqrt_hann", N_FFT)
        self.checkpoint = checkpoint
        self.net = build_net(load_state_dict(checkpoint), source=checkpoint)
        self.load_issues: list[str] = []

    # -- FrameModel ---------------------------------------------------------------------------------
    def initial_state(self) -> GtcrnState:
        return GtcrnState.zeros()

    def process_frames(self, specs: np.ndarray, state: GtcrnState):
        """``(frames, 257)`` complex -> ``(frames, 257)``, state carried (any number of frames per call)."""
        with torch.inference_mode(), torch_threads(1):  # a 48 K-param model: threads only cost hand-offs
            z = torch.from_numpy(np.ascontiguousarray(specs, dtype=np.complex64))[None]
            out, state = self.net(z, state)
        return _to_np_specs(out), state

    def self_check(self) -> list[tuple[str, bool, str]]:
        """For ``setoolkit doctor``: the checkpoint's ERB matrices are the 65/64-band ERB filterbank."""
        w = self.net.erb.erb_fc.weight.detach().numpy()
        err = float(np.max(np.abs(w - erb_filters())))
        tied = float(np.max(np.abs(self.net.erb.ierb_fc.weight.detach().numpy() - w.T)))
        ok = err < 1e-5 and tied < 1e-5
        return [
            (
                "ERB filterbank",
                ok,
                f"ERB matrices match the 65+64-band filterbank (max error {max(err, tied):.1e})"
                if ok
                else f"ERB matrices differ from the 65+64-band filterbank by {max(err, tied):.3g}",
            )
        ]


_ONNX_STATES = {
    "conv_cache": (2, 1, CHANNELS, 16, WIDTH),
    "tra_cache": (2, 3, 1, 1, CHANNELS),
    "inter_cache": (2, 1, WIDTH, CHANNELS),
}


class GtcrnOnnx(FrameModel):
    """The official streaming ONNX export (``gtcrn.onnx``) as a :class:`FrameModel`: input ``mix`` ``(1, 257, 1, 2)``
    (real, imaginary) plus ``conv_cache`` ``(2, 1, 16, 16, 33)``, ``tra_cache`` ``(2, 3, 1, 1, 16)``,
    ``inter_cache`` ``(2, 1, 33, 16)``; outputs the enhanced frame and the three caches."""

    sample_rate = SAMPLE_RATE

    def __init__(self, path: str) -> None:
        self.n_fft, self.hop, self.window = N_FFT, HOP, window("sqrt_hann", N_FFT)
        self._sess = onnx_session(path)
        names = {i.name: tuple(i.shape) for i in self._sess.get_inputs()}
        want = {"mix": (1, N_BINS, 1, 2), **_ONNX_STATES}
        if names != want:
            raise ModelError(f"{path}: not the GTCRN streaming export: inputs {names}, expected {want}")
        self._outs = ["enh", "conv_cache_out", "tra_cache_out", "inter_cache_out"]

    def initial_state(self) -> dict[str, np.ndarray]:
        return {k: np.zeros(s, dtype=np.float32) for k, s in _ONNX_STATES.items()}

    def process_frame(self, spec: np.ndarray, state: dict[str, np.ndarray]):
        mix = np.stack([spec.real, spec.imag], axis=-1).astype(np.float32)[None, :, None, :]
        enh, conv, tra, inter = self._sess.run(self._outs, {"mix": mix, **state})
        return enh[0, :, 0, 0] + 1j * enh[0, :, 0, 1], {"conv_cache": conv, "tra_cache": tra, "inter_cache": inter}


def build(card: ModelCard, *, mirror=None) -> Gtcrn:
    """Fetch (and verify) the card's checkpoint and build the PyTorch model."""
    return Gtcrn(card, str(fetch(card.weights[0], mirror=mirror)))


def build_onnx(*, mirror=None) -> GtcrnOnnx:
    """The official streaming ONNX export, verified (its weights are ``model_trained_on_dns3_stream_export.tar``)."""
    return GtcrnOnnx(str(fetch("weights/gtcrn/gtcrn.onnx", mirror=mirror)))
