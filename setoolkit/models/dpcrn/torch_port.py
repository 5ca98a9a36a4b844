"""DPCRN in PyTorch: the network and a frame-by-frame step with explicit caches for streaming; the converter from
the released Keras h5 lives in :mod:`.torch_convert`.

Layout: features ``(batch, frames, bins, n_features)`` (as Keras sees them) in, mask ``(batch, frames, bins,
2 or 3)`` out; inside, convs run on ``(batch, channels, frames, freq)``.

Converter (:func:`~.torch_convert.convert_h5`), each rule checked by the TF-vs-torch parity test:

* Conv2D kernel ``(kt, kf, in, out)`` -> ``Conv2d.weight`` ``(out, in, kt, kf)``; Conv2DTranspose kernel
  ``(kt, kf, out, in)`` -> ``ConvTranspose2d.weight`` ``(in, out, kt, kf)`` (both ``permute(3, 2, 0, 1)``,
  no flip: both frameworks' transposed conv is the adjoint of cross-correlation). Keras' explicit causal
  padding becomes ``F.pad``; ``padding='same'`` of a transposed conv becomes a crop of the full output
  starting at ``max(k - s, 0) // 2`` (so in time: the first ``frames`` outputs, i.e. causal).
* LSTM: Keras packs gates ``i, f, c, o`` in the columns of ``kernel (in, 4H)`` and ``recurrent_kernel
  (H, 4H)`` with one ``bias``; torch's layout is the transpose with the same gate order and two biases
  (``bias_ih`` = Keras bias, ``bias_hh`` = 0). The gates use Keras 2's ``hard_sigmoid``
  (``clip(0.2 x + 0.5, 0, 1)``), which ``nn.LSTM`` cannot: :class:`KerasLSTM` runs the recurrence.
  GRU (``reset_after=False``): gates ``z, r, h``; the reset gate multiplies ``h`` *before* the recurrent
  matmul, unlike ``nn.GRU``.
* Batch norm: ``gamma, beta, moving_mean, moving_variance`` -> ``weight, bias, running_mean, running_var``,
  eps 1e-3. Layer norm over two axes: parameters reshaped as Keras 2 applies them
  (:func:`~setoolkit.models.dpcrn.config.ln_param`). PReLU ``alpha (1, 1, C)`` -> ``(C,)``.

Streaming (:meth:`DpcrnTorch.step`): one frame in, one frame out, with the state every causal part needs:
the last ``kt - 1`` input frames of each encoder conv and of each decoder transposed conv, and ``(h, c)``
(or ``h``) of each inter-frame RNN. ``carry`` drops chosen parts of it to reproduce a cache-less port.
"""

from __future__ import annotations

from typing import Any, TypeGuard, cast

import torch
import torch.nn.functional as F
from torch import nn

from .config import BN_EPS, LOG_EPS, DpcrnConfig

#: The parts of the streaming state; ``carry`` in :meth:`DpcrnTorch.step` takes any subset.
STATE_PARTS = ("conv", "deconv", "rnn")


#: Slopes of the piecewise-linear gate activations: Keras 2 / tf_keras (what DPCRN was trained with) and
#: Keras 3 (what ``recurrent_activation="hard_sigmoid"`` means there).
HARD_SLOPES = {"hard_sigmoid": 0.2, "hard_sigmoid_keras3": 1.0 / 6.0}


def _gate(name: str):
    if name in HARD_SLOPES:
        a = HARD_SLOPES[name]
        return lambda z: (a * z + 0.5).clamp_(0.0, 1.0)
    if name == "sigmoid":
        return torch.sigmoid
    raise ValueError(f"unknown gate activation {name!r}; choose {', '.join(HARD_SLOPES)} or sigmoid")


class KerasLSTM(nn.Module):
    """One direction of a Keras LSTM (``implementation=2``), gates ``i, f, c, o``; ``(B, T, in) -> (B, T, H)``.

    ``ih`` / ``hh`` are ``nn.Linear`` holding the converted weights (so ``quantize_dynamic`` applies to them).
    :meth:`cell` is the readable reference step; the forward pass runs the same recurrence through
    :func:`run_fused` (TorchScript, fused weights; int8-quantised projections are dequantised into it).
    """

    n_gates = 4

    def __init__(self, n_in: int, units: int, gate: str = "hard_sigmoid", reverse: bool = False) -> None:
        super().__init__()
        self.units, self.reverse, self.gate = units, reverse, gate
        self.ih = nn.Linear(n_in, self.n_gates * units)
        self.hh = nn.Linear(units, self.n_gates * units)
        self._act = _gate(gate)

    @property
    def kind(self) -> str:
        return "lstm" if self.n_gates == 4 else "gru"

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        z = torch.zeros(batch, self.units)
        return (z, z.clone()) if self.kind == "lstm" else (z,)

    def cell(self, xp: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple]:
        """Reference step: ``xp = ih(x_t)`` ``(B, 4H)`` and ``(h, c)`` -> ``h`` and the new state."""
        h, c = state
        z = xp + self.hh(h)
        i, f, g, o = z.chunk(4, dim=-1)
        c = self._act(f) * c + self._act(i) * torch.tanh(g)
        h = self._act(o) * torch.tanh(c)
        return h, (h, c)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        state = self.initial_state(x.shape[0]) if state is None else state
        if _fusable(self):
            y, state = run_fused([self], x.transpose(0, 1), state)
            assert state is not None  # one direction: run_fused returns its final state
            return y.transpose(0, 1), state
        xp = self.ih(x)
        steps = range(x.shape[1] - 1, -1, -1) if self.reverse else range(x.shape[1])
        ys: list[Any] = [None] * x.shape[1]
        for t in steps:
            ys[t], state = self.cell(xp[:, t], state)
        return torch.stack(ys, dim=1), state


class KerasGRU(KerasLSTM):
    """One direction of a Keras GRU with ``reset_after=False``, gates ``z, r, h``:
    ``h~ = tanh(x W_h + (r * h) U_h + b_h)``, ``h = z h + (1 - z) h~``."""

    n_gates = 3

    def cell(self, xp, state):
        (h,) = state
        u = self.units
        z, r = self._act(xp[:, : 2 * u] + self.hh(h)[:, : 2 * u]).chunk(2, dim=-1)
        hh = torch.tanh(xp[:, 2 * u :] + self.hh(r * h)[:, 2 * u :])  # (hh.bias is 0: Keras has one bias)
        h = z * h + (1 - z) * hh
        return h, (h,)


# ------------------------------------------------------------------------------ fused recurrence (speed)


def _training(params) -> bool:
    """True when autograd records and a parameter of the iterable ``params`` wants a gradient: weights derived
    from parameters (fused RNN weights, the flipped deconv kernel) are then rebuilt differentiably instead of
    taken from a cache. Under ``no_grad`` (inference, every streaming hop) ``params`` is never iterated."""
    return torch.is_grad_enabled() and any(p.requires_grad for p in params)


def _is_dynamic_int8(m: nn.Module) -> TypeGuard[torch.ao.nn.quantized.dynamic.Linear]:
    return isinstance(m, torch.ao.nn.quantized.dynamic.Linear)


def _fusable(*rnns) -> bool:
    return all(type(m) is nn.Linear or _is_dynamic_int8(m) for r in rnns for m in (r.ih, r.hh))


def _linear_params(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight (out, in), bias (out,))`` of an ``nn.Linear``, or the int8 weights of a dynamically
    quantised one dequantised (exactly the int8 grid times its scale)."""
    if _is_dynamic_int8(m):
        return m.weight().dequantize(), m.bias()
    lin = cast(nn.Linear, m)  # the fused path admits only nn.Linear besides int8 (see _fusable)
    return lin.weight, lin.bias


def _params_key(rnns) -> tuple:
    """Identity of the weights the fused cache was built from (quantised modules are immutable)."""
    key: list[Any] = []
    for r in rnns:
        for m in (r.ih, r.hh):
            key += [id(m)] if _is_dynamic_int8(m) else [(id(p), p._version) for p in (m.weight, m.bias)]
    return tuple(key)


def _fused_weights(rnns: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights of ``D`` directions stacked for batched matmuls: ``w_ih (D, in, G*H)``, ``b (D, 1, G*H)``,
    ``w_hh (D, H, G*H)``.

    Gate blocks are reordered to ``[sigmoid gates..., tanh gate]`` (LSTM ``i, f, o, g``; GRU ``z, r, h``),
    both biases are folded into ``b``, and Keras-2 hard-sigmoid gates are pre-scaled (``0.2 z + 0.5`` folded
    into the weights) so that the scan only clamps.
    """
    r0 = rnns[0]
    g, h = r0.n_gates, r0.units
    order = [0, 1, 3, 2] if g == 4 else [0, 1, 2]
    n_scaled = 3 if g == 4 else 2  # GRU: the candidate's recurrent term is not a gate
    w_ih, b, w_hh = [], [], []
    for r in rnns:
        (w_i, b_i), (w_h, b_h) = _linear_params(r.ih), _linear_params(r.hh)
        wi = w_i.T.reshape(-1, g, h)[:, order].clone()
        wh = w_h.T.reshape(h, g, h)[:, order].clone()
        bi = (b_i + b_h).reshape(g, h)[order].clone()
        if r.gate in HARD_SLOPES:
            a = HARD_SLOPES[r.gate]
            wi[:, : g - 1] *= a
            wh[:, :n_scaled] *= a
            bi[: g - 1] = a * bi[: g - 1] + 0.5
        w_ih.append(wi.reshape(-1, g * h))
        w_hh.append(wh.reshape(h, g * h))
        b.append(bi.reshape(1, g * h))
    return torch.stack(w_ih), torch.stack(b), torch.stack(w_hh)


@torch.jit.script
def _lstm_scan(
    xp: torch.Tensor, w_hh: torch.Tensor, h: torch.Tensor, c: torch.Tensor, hard: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``xp (T, D, N, 4H)`` (gates ``i, f, o, g``), ``w_hh (D, H, 4H)``, ``h, c (D, N, H)``."""
    n = h.shape[-1]
    ys = []
    for x_t in xp.unbind(0):
        z = torch.baddbmm(x_t, h, w_hh)
        if hard:
            z[..., : 3 * n].clamp_(0.0, 1.0)
        else:
            z[..., : 3 * n].sigmoid_()
        i, f, o, g = z.split(n, -1)
        c = torch.addcmul(f * c, i, g.tanh())
        h = o * c.tanh()
        ys.append(h)
    return torch.stack(ys), h, c


@torch.jit.script
def _gru_scan(xp: torch.Tensor, w_hh: torch.Tensor, h: torch.Tensor, hard: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``xp (T, D, N, 3H)`` (gates ``z, r, h``), ``w_hh (D, H, 3H)``, ``h (D, N, H)``."""
    n = h.shape[-1]
    w_zr, w_h = w_hh[..., : 2 * n], w_hh[..., 2 * n :]
    ys = []
    for t in range(xp.shape[0]):
        zr = torch.baddbmm(xp[t, ..., : 2 * n], h, w_zr)
        zr = zr.clamp(0.0, 1.0) if hard else torch.sigmoid(zr)
        hh = torch.tanh(torch.baddbmm(xp[t, ..., 2 * n :], zr[..., n:] * h, w_h))
        h = hh + zr[..., :n] * (h - hh)
        ys.append(h)
    return torch.stack(ys), h


def run_fused(rnns: list, x: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple | None]:
    """Run one direction, or a (forward, backward) pair, over time-major ``x (T, N, in)`` as one batched
    recurrence (directions in the batch of ``bmm``).

    Returns ``(T, N, D*H)`` (directions concatenated, each in input order) and the final state of a single
    direction (``None`` for a pair: the bidirectional RNNs run within one frame and carry nothing).
    """
    r0 = rnns[0]
    d, h = len(rnns), r0.units
    if _training(p for r in rnns for p in r.parameters()):
        w_ih, b, w_hh = _fused_weights(rnns)  # differentiable, rebuilt every call (fine-tuning)
    else:
        key = _params_key(rnns)
        cache = r0.__dict__.get("_fused")
        if cache is None or cache[0] != key:
            with torch.no_grad():
                r0.__dict__["_fused"] = cache = (key, _fused_weights(rnns))
        w_ih, b, w_hh = cache[1]
    t, n = x.shape[0], x.shape[1]
    flips = [r.reverse for r in rnns]
    xs = torch.stack([x.flip(0) if f else x for f in flips]).reshape(d, t * n, -1)
    xp = torch.baddbmm(b, xs, w_ih).reshape(d, t, n, -1).transpose(0, 1)  # (T, D, N, G*H) view
    hard = r0.gate in HARD_SLOPES
    if d == 1 and state is not None:
        init = tuple(s[None] for s in state)
    else:
        init = tuple(torch.zeros(d, n, h) for _ in r0.initial_state(1))
    if r0.n_gates == 4:
        ys, hn, cn = _lstm_scan(xp, w_hh, init[0], init[1], hard)
        final: tuple[torch.Tensor, ...] = (hn[0], cn[0])
    else:
        ys, hn = _gru_scan(xp, w_hh, init[0], hard)
        final = (hn[0],)
    ys = torch.cat([ys[:, k].flip(0) if f else ys[:, k] for k, f in enumerate(flips)], dim=-1)
    return ys, (final if d == 1 else None)


class DprnnBlock(nn.Module):
    """Intra-frame bi-RNN over frequency, inter-frame RNN over time; ``(B, T, W, C) -> (B, T, W, C)``."""

    def __init__(self, cfg: DpcrnConfig, gate: str) -> None:
        super().__init__()
        rnn = KerasLSTM if cfg.rnn == "lstm" else KerasGRU
        c, half = cfg.channels, cfg.units // 2
        self.cfg = cfg
        self.intra_fwd = rnn(c, half, gate)
        self.intra_bwd = rnn(c, half, gate, reverse=True)
        self.intra_fc = nn.Linear(cfg.units, c)
        self.inter_rnn = rnn(c, cfg.units, gate)
        self.inter_fc = nn.Linear(cfg.units, c)
        ln_shape = [cfg.width, c] if cfg.dprnn_ln_axes == 2 else [c]
        self.intra_ln = nn.LayerNorm(ln_shape, eps=cfg.dprnn_ln_eps)
        self.inter_ln = nn.LayerNorm(ln_shape, eps=cfg.dprnn_ln_eps)

    def intra(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, W, C)`` -> ``(N, W, units)``: both directions over frequency."""
        if _fusable(self.intra_fwd, self.intra_bwd):
            return run_fused([self.intra_fwd, self.intra_bwd], x.transpose(0, 1))[0].transpose(0, 1)
        return torch.cat([self.intra_fwd(x)[0], self.intra_bwd(x)[0]], dim=-1)

    def inter(self, x: torch.Tensor, state: tuple | None) -> tuple[torch.Tensor, tuple]:
        """``(B, T, W, C)`` -> ``(B, T, W, units)``: the RNN over frames, one sequence per frequency."""
        b, t, w, c = x.shape
        if state is not None:
            state = tuple(s.reshape(b * w, -1) for s in state)
        if _fusable(self.inter_rnn):
            ys, state = run_fused([self.inter_rnn], x.transpose(0, 1).reshape(t, b * w, c), state)
            assert state is not None  # one direction: run_fused returns its final state
            ys = ys.reshape(t, b, w, -1).transpose(0, 1)
        else:
            ys, state = self.inter_rnn(x.transpose(1, 2).reshape(b * w, t, c), state)
            ys = ys.reshape(b, w, t, -1).transpose(1, 2)
        return ys, tuple(s.reshape(b, w, -1) for s in state)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        b, t, w, c = x.shape
        intra = self.intra(x.reshape(b * t, w, c))
        intra = x + self.intra_ln(self.intra_fc(intra).reshape(b, t, w, c))
        inter, state = self.inter(intra, state)
        return intra + self.inter_ln(self.inter_fc(inter)), state


class ConvBlock(nn.Module):
    """Causal conv (explicit padding: ``kt - 1`` past frames, ``freq_pad`` bins) + batch norm + PReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple, stride: tuple, freq_pad: tuple) -> None:
        super().__init__()
        self.kt, self.freq_pad = kernel[0], freq_pad
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.act = nn.PReLU(c_out)

    def forward(self, x: torch.Tensor, past: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, C, T, F)``; ``past (B, C, kt - 1, F)`` replaces the causal zero padding (streaming)."""
        if past is None:
            x = F.pad(x, (*self.freq_pad, self.kt - 1, 0))
        else:
            x = F.pad(torch.cat([past, x], dim=2), self.freq_pad)
        return self.act(self.bn(self.conv(x)))


class DeconvBlock(nn.Module):
    """Transposed conv with Keras ``'same'``/``'valid'`` output cropping (+ batch norm + PReLU unless last).

    With stride 1 the transposed conv is run as the equivalent ordinary conv (kernel flipped, in/out
    swapped; exact up to float rounding): on the causal part only, so streaming computes one frame, not
    ``kt``.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel: tuple, stride: tuple, padding: str, n_out: int | None, last: bool
    ) -> None:
        super().__init__()
        self.kt, self.kf = kernel
        self.conv = nn.ConvTranspose2d(c_in, c_out, kernel, stride)
        self.f0 = max(kernel[1] - stride[1], 0) // 2 if padding == "same" else 0
        self.n_out = n_out  # bins kept ('valid'); None: input bins x stride ('same')
        self.stride_f = stride[1]
        self.as_conv = tuple(stride) == (1, 1) and n_out is None
        self.last = last
        if not last:
            self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS)
            self.act = nn.PReLU(c_out)

    def _conv_weight(self) -> torch.Tensor:
        w = self.conv.weight
        if _training((w,)):
            return w.flip(2, 3).transpose(0, 1)
        cache = self.__dict__.get("_cw")
        if cache is None or cache[0] != (id(w), w._version):
            self.__dict__["_cw"] = cache = ((id(w), w._version), w.detach().flip(2, 3).transpose(0, 1).contiguous())
        return cache[1]

    def forward(self, x: torch.Tensor, past: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, C, T, F)``; with ``past (B, C, kt - 1, F)`` (streaming) ``T`` must be 1."""
        t = x.shape[2]
        if past is not None:
            x = torch.cat([past, x], dim=2)
        if self.as_conv:  # full transposed output [f0 : f0 + F] = conv over (kf - 1 - f0, f0) zero padding
            pad_t = 0 if past is not None else self.kt - 1
            y = F.conv2d(F.pad(x, (self.kf - 1 - self.f0, self.f0, pad_t, 0)), self._conv_weight(), self.conv.bias)
        else:
            n_f = self.n_out or x.shape[3] * self.stride_f
            y = self.conv(x)
            y = y[:, :, self.kt - 1 : self.kt - 1 + t] if past is not None else y[:, :, :t]
            y = y[..., self.f0 : self.f0 + n_f]
        return y if self.last else self.act(self.bn(y))


class ElementwiseBatchNorm(nn.Module):
    """Keras ``BatchNormalization(axis=[-1, -2])``: one (mean, var, gamma, beta) per (bin, feature)."""

    def __init__(self, shape: tuple, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))
        self.register_buffer("running_mean", torch.zeros(shape))
        self.register_buffer("running_var", torch.ones(shape))

    def forward(self, x):
        return (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps) * self.weight + self.bias


class DpcrnTorch(nn.Module):
    """DPCRN (either released configuration) in PyTorch.

    ``gate`` overrides the RNN gate activation (default: the configuration's); ``"sigmoid"`` on the DNS3
    model shows what an ``nn.LSTM`` port computes.
    """

    def __init__(self, cfg: DpcrnConfig, gate: str | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        gate = gate or cfg.gate
        if cfg.input_norm == "layernorm":
            self.input_norm: nn.Module = nn.LayerNorm([cfg.n_bins, cfg.n_features], eps=cfg.input_norm_eps)
        else:
            self.input_norm = ElementwiseBatchNorm((cfg.n_bins, cfg.n_features), cfg.input_norm_eps)
        chans = (cfg.n_features,) + tuple(cfg.filters)
        self.encoder = nn.ModuleList(
            ConvBlock(chans[i], chans[i + 1], cfg.kernels[i], cfg.strides[i], cfg.freq_pads[i]) for i in range(5)
        )
        self.dprnn = nn.ModuleList(DprnnBlock(cfg, gate) for _ in range(2))
        dec, skips, c_prev = [], cfg.filters[::-1], cfg.channels
        for i, (f, k, s, pad) in enumerate(cfg.decoder()):
            dec.append(
                DeconvBlock(skips[i] + c_prev, f, k, s, pad, cfg.n_bins if pad == "valid" else None, last=(i == 4))
            )
            c_prev = f
        self.decoder = nn.ModuleList(dec)
        if cfg.head == "mag_phase":
            self.phase_bn = nn.BatchNorm2d(2, eps=BN_EPS)
            self.mag = DeconvBlock(
                skips[4] + cfg.filters[0], 1, cfg.kernels[0], cfg.strides[0], "valid", cfg.n_bins, last=True
            )
            self.mag_bn = nn.BatchNorm1d(cfg.n_bins, eps=BN_EPS)

    # -- shared pieces -------------------------------------------------------------------------------
    def _head(self, y: torch.Tensor, skip_in: torch.Tensor, past_mag=None) -> torch.Tensor:
        """Decoder output ``(B, 2, T, F)`` -> mask ``(B, T, F, 2 or 3)``."""
        if self.cfg.head == "complex":
            return y.permute(0, 2, 3, 1)
        pha = self.phase_bn(y)
        mag = self.mag(skip_in, past_mag)[:, 0]  # (B, T, F)
        mag = F.softplus(self.mag_bn(mag.transpose(1, 2)).transpose(1, 2))
        norm = torch.sqrt(pha[:, 0] ** 2 + pha[:, 1] ** 2 + LOG_EPS)
        return torch.stack([mag, pha[:, 0] / norm, pha[:, 1] / norm], dim=-1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Offline: ``(B, T, bins, n_features)`` -> ``(B, T, bins, 2 or 3)``."""
        x = self.input_norm(feats).permute(0, 3, 1, 2)
        skips = []
        for blk in self.encoder:
            x = blk(x)
            skips.append(x)
        h = x.permute(0, 2, 3, 1)
        for blk in self.dprnn:
            h, _ = blk(h)
        y = h.permute(0, 3, 1, 2)
        for i, blk in enumerate(self.decoder):
            skip_in = torch.cat([skips[4 - i], y], dim=1)
            y = blk(skip_in)
        return self._head(y, skip_in)

    # -- streaming ------------------------------------------------------------------------------------
    def initial_state(self, batch: int = 1) -> dict:
        """Zero state: conv/deconv caches ``(B, C, kt - 1, F)`` and inter-RNN states ``(B, width, H)``."""
        cfg, kt = self.cfg, self.cfg.time_kernel
        sizes = [cfg.n_bins] + cfg.freq_sizes()
        chans = (cfg.n_features,) + tuple(cfg.filters)
        conv = [torch.zeros(batch, chans[i], kt - 1, sizes[i]) for i in range(5)]
        deconv = [
            torch.zeros(batch, blk.conv.in_channels, kt - 1, sizes[5 - i])
            for i, blk in enumerate(cast("list[DeconvBlock]", self.decoder))
        ]
        rnn = [
            tuple(s.reshape(batch, cfg.width, -1) for s in blk.inter_rnn.initial_state(batch * cfg.width))
            for blk in cast("list[DprnnBlock]", self.dprnn)
        ]
        return {"conv": conv, "deconv": deconv, "rnn": rnn}

    def step(self, feat: torch.Tensor, state: dict, carry=STATE_PARTS) -> tuple[torch.Tensor, dict]:
        """One frame: ``feat (B, bins, n_features)`` -> ``(B, bins, 2 or 3)`` and the next state.

        ``carry``: the state parts passed on from frame to frame (default all); a part left out restarts
        from zeros every frame, as in a port that forgets that cache.
        """
        fresh = self.initial_state(feat.shape[0]) if set(carry) != set(STATE_PARTS) else {}
        use = {k: (state[k] if k in carry else fresh[k]) for k in STATE_PARTS}
        new: dict[str, list] = {"conv": [], "deconv": [], "rnn": []}
        x = self.input_norm(feat[:, None]).permute(0, 3, 1, 2)  # (B, nf, 1, F)
        skips = []
        for enc, past in zip(cast("list[ConvBlock]", self.encoder), use["conv"]):
            new["conv"].append(torch.cat([past, x], dim=2)[:, :, 1:] if enc.kt > 1 else past)
            x = enc(x, past)
            skips.append(x)
        h = x.permute(0, 2, 3, 1)
        for blk, st in zip(self.dprnn, use["rnn"]):
            h, st = blk(h, st)
            new["rnn"].append(st)
        y = h.permute(0, 3, 1, 2)
        for i, (dec, past) in enumerate(zip(cast("list[DeconvBlock]", self.decoder), use["deconv"])):
            skip_in = torch.cat([skips[4 - i], y], dim=1)
            new["deconv"].append(torch.cat([past, skip_in], dim=2)[:, :, 1:] if dec.kt > 1 else past)
            y = dec(skip_in, past)
        return self._head(y, skip_in, use["deconv"][4])[:, 0], new
