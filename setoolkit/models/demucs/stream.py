"""Demucs hop by hop (causal models), with the output of upstream's ``DemucsStreamer``.

Streaming (causal models) gives the same output as upstream's ``DemucsStreamer`` (same frames, same
online normalisation and resampling buffers) at a fraction of its CPU time: the conv states of every layer
are carried and only the new positions of each hop are computed, convolutions run as single matrix
products on time-major buffers with pre-arranged weights, the LSTM is one matrix-vector product per layer,
the main path and the right-context ("extra") path of the decoder share one product per layer, and the
extra path and the resampling filters are evaluated only where they reach the kept output samples.

Latency of the released causal models at 16 kHz: each 256-sample hop needs 661 input samples (597 of
receptive field + 64 of resampling lookahead), i.e. 41.3 ms algorithmic latency; fed hop by hop, the stream's
output is 512 samples (two hops, 32 ms) behind its input.

Examples
--------
>>> s = DemucsStream(net)                               # net: a causal Demucs
>>> out = [s.process(chunk) for chunk in chunks] + [s.flush()]
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from ...errors import ModelError
from ...streaming import StreamingEnhancer
from .network import Demucs
from .resampling import SINC_ZEROS, downsample2, upsample2


class _History:
    """The last ``size`` rows of a time-major ``(time, channels)`` sequence, advanced in place.

    A buffer with spare rows: advancing moves a start index; only when the spare is used up are the live
    rows copied back to the front (amortised, no per-hop allocation).
    """

    def __init__(self, size: int, channels: int, step: int) -> None:
        self.size = size
        self._buf = torch.zeros(size + max(size, 16 * step), channels)
        self._start = 0

    def view(self) -> torch.Tensor:
        return self._buf[self._start : self._start + self.size]

    def advance(self, n: int) -> torch.Tensor:
        """Drop the ``n`` oldest rows; return the (writable) view of the ``n`` newest rows to fill."""
        end = self._start + self.size
        if end + n > self._buf.shape[0]:
            self._buf[: self.size - n] = self._buf[self._start + n : end]  # no overlap: spare >= size
            self._start = 0
        else:
            self._start += n
        end = self._start + self.size
        return self._buf[end - n : end]


def _conv_rows(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Strided conv on time-major ``x`` ``(time, cin)`` as one product: ``(n, cout)``, ``n = (time-K)//S + 1``.

    ``w`` is ``(K*cin, cout)`` (rows ordered kernel tap, then input channel).
    """
    t, c = x.shape
    n = (t - kernel) // stride + 1
    cols = x.as_strided((n, kernel * c), (stride * c, 1), x.storage_offset())
    return torch.addmm(b, cols, w)


def _overlap_add(y: torch.Tensor, stride: int, cout: int, bias: torch.Tensor) -> torch.Tensor:
    """Transposed conv with ``kernel = 2*stride`` from the per-position products ``y`` ``(n, 2*S*cout)``:
    returns ``(n+1, S, cout)`` = bias + first halves at their position + second halves one position later."""
    n = y.shape[0]
    y = y.view(n, 2, stride, cout)
    out = bias.expand(n + 1, stride, cout).clone()
    out[:n] += y[:, 0]
    out[1:] += y[:, 1]
    return out


class DemucsStream(StreamingEnhancer):
    """Hop-by-hop Demucs with the output of upstream's ``DemucsStreamer`` (``num_frames=1``, ``dry=0``,
    ``resample_lookahead=64``, ``resample_buffer=256``), computed incrementally.

    ``hop`` = ``total_stride`` (256 at 16 kHz). Frame ``j`` covers input ``[hop*j, hop*j + frame)`` with
    ``frame = valid_length(1) + 64`` (661); it is computed once its last sample is in, so with hop-sized
    input blocks the output is ``latency = 2 * hop`` samples late (``frame - hop`` rounded up to hops).
    """

    resample_lookahead = 64
    resample_buffer = 256

    def __init__(self, net: Demucs, *, sample_rate: int = 16000) -> None:
        super().__init__()
        if not net.causal or net.kernel_size != 2 * net.stride or net.chin != 1 or net.chout != 1:
            raise ModelError("DemucsStream needs a causal mono Demucs with kernel_size == 2 * stride")
        self.net = net
        self.sample_rate = sample_rate
        self.hop = net.total_stride
        self.frame = net.valid_length(1) + self.resample_lookahead
        self.latency = -(-(self.frame - self.hop) // self.hop) * self.hop
        self._in = torch.zeros(self.latency + self.hop)
        self._n_blocks = 0
        self._frames = 0
        self._variance: float | torch.Tensor = 0.0
        self._prepare_weights()
        self._plan()
        self._hist = [_History(n, c, m) for n, c, m in zip(self._state_len, self._enc_ch, self._new)]
        self._carry = [torch.zeros(net.stride, c) for c in self._dec_out_ch]
        self._h = [torch.zeros(self._lstm_dim) for _ in self._lstm]
        self._c = [torch.zeros(self._lstm_dim) for _ in self._lstm]
        self._resample_out = torch.zeros(self._buffer)
        self._first = True

    # -- set-up -------------------------------------------------------------------------------------
    def _prepare_weights(self) -> None:
        """Weights arranged for time-major products, as plain tensors (no autograd bookkeeping per hop)."""
        net = self.net
        sd = {k: v.detach() for k, v in net.state_dict().items()}  # biases shared, read-only here
        self._enc = []
        for i in range(net.depth):
            w, pw = sd[f"encoder.{i}.0.weight"], sd[f"encoder.{i}.2.weight"]
            self._enc.append(
                (
                    w.permute(2, 1, 0).reshape(-1, w.shape[0]).contiguous(),
                    sd[f"encoder.{i}.0.bias"],
                    pw[:, :, 0].t().contiguous(),
                    sd[f"encoder.{i}.2.bias"],
                )
            )
        self._dec = []
        for i in range(net.depth):
            pw, tw = sd[f"decoder.{i}.0.weight"], sd[f"decoder.{i}.2.weight"]
            cin, cout, k = tw.shape
            self._dec.append(
                (
                    pw[:, :, 0].t().contiguous(),
                    sd[f"decoder.{i}.0.bias"],
                    tw.permute(0, 2, 1).reshape(cin, k * cout).contiguous(),
                    sd[f"decoder.{i}.2.bias"],
                )
            )
        lstm = net.lstm.lstm
        h = lstm.hidden_size
        order = torch.cat([torch.arange(0, 2 * h), torch.arange(3 * h, 4 * h), torch.arange(2 * h, 3 * h)])
        self._lstm_dim = h
        self._lstm = []  # per layer: [W_ih | W_hh] and b_ih + b_hh with gates reordered (i, f, o, g); input buffer
        for i in range(lstm.num_layers):
            w = torch.cat([sd[f"lstm.lstm.weight_ih_l{i}"], sd[f"lstm.lstm.weight_hh_l{i}"]], 1)[order]
            b = (sd[f"lstm.lstm.bias_ih_l{i}"] + sd[f"lstm.lstm.bias_hh_l{i}"])[order]
            self._lstm.append((w.contiguous(), b.contiguous(), torch.zeros(w.shape[1])))

    def _plan(self) -> None:
        """Sizes of every per-hop buffer (upsampled rate unless stated)."""
        net = self.net
        K, S, R, D = net.kernel_size, net.stride, net.resample, net.depth
        self._buffer = min(self.hop, self.resample_buffer)  # resampling history, model rate
        self._window = R * net.valid_length(1)  # upsampled samples seen per frame
        lens, n = [], self._window
        for _ in range(D):
            n = (n - K) // S + 1
            lens.append(n)
        self._state_len = lens[:-1]  # encoder outputs kept (all but last)
        new, m = [], self.hop * R
        for _ in range(D - 1):
            m //= S
            new.append(m)
        self._new = new  # new positions per hop and layer
        ch = [net.encoder[i][0].out_channels for i in range(D)]  # type: ignore[index]  # items: nn.Sequential
        self._enc_ch = ch[:-1]
        self._dec_out_ch = [layer[2].out_channels for layer in net.decoder]  # type: ignore[index]  # nn.Sequential
        # the right-context path ("extra") only matters where the output resampler reaches the kept samples
        last = self._buffer // R + self.hop - 1  # last kept sample of the downsampled block
        for _ in range(int(math.log2(R))):
            last = 2 * last + 2 * SINC_ZEROS - 1  # input samples a downsample2 output reads
        need = max(last + 1 - self._buffer - R * self.hop, 0)  # extra samples read after the main block
        self._down_len = self._buffer + R * self.hop + need
        needs = [need]
        for _ in range(D - 1):
            needs.append((needs[-1] - 1) // S + 1 if needs[-1] else 0)
        self._extra_need = needs[::-1]  # extra positions after each decoder level
        # upsampling of a non-first frame: only the tail feeding the new encoder positions (+ filter margin)
        self._up_need = S * (new[0] - 1) + K
        self._up_in = -(-self._up_need // R) + self.resample_lookahead + 2 * SINC_ZEROS

    # -- one hop ------------------------------------------------------------------------------------
    def _step(self, block: np.ndarray) -> np.ndarray:
        self._in = torch.cat([self._in[self.hop :], torch.from_numpy(block)])
        self._n_blocks += 1
        if self._n_blocks * self.hop < self.frame:
            return np.zeros(self.hop, dtype=np.float32)
        frame = self._in[: self.frame]
        return self._frame(frame).numpy()

    def _frame(self, frame: torch.Tensor) -> torch.Tensor:
        """One upstream frame ``(frame,)`` -> ``(hop,)`` output samples."""
        net, R = self.net, self.net.resample
        self._frames += 1
        var = (frame * frame).mean()
        self._variance = var / self._frames + (1 - 1 / self._frames) * self._variance
        std = math.sqrt(self._variance)
        x = frame / (net.floor + std)
        if self._first:  # the whole window, after the (still empty) resampling history, as upstream
            padded = torch.cat([torch.zeros(self._buffer), x])
            up = self._upsample(padded)[R * self._buffer : R * self._buffer + self._window]
        else:  # only the samples feeding the new layer-0 positions; the filter margin keeps them exact
            seg = self._upsample(x[-self._up_in :])
            end = seg.shape[0] - R * self.resample_lookahead
            up = seg[end - self._up_need : end]
        main, extra = self._decode(self._lstm_step(self._encode(up.view(-1, 1))))
        out = torch.cat([self._resample_out, main, extra])[: self._down_len]
        self._resample_out = main[-self._buffer :].clone()
        for _ in range(int(math.log2(R))):
            out = downsample2(out)
        out = out[self._buffer // R : self._buffer // R + self.hop]
        self._first = False
        return out * std

    def _upsample(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(int(math.log2(self.net.resample))):
            x = upsample2(x)
        return x

    def _encode(self, up: torch.Tensor) -> torch.Tensor:
        """Encoder over the new upsampled samples ``(n, 1)`` (the whole window on the first frame): computes
        only the new positions of every layer, updates the layer histories, returns the deepest layer's
        output ``(1, channels)`` (also kept as its skip)."""
        K, S, last = self.net.kernel_size, self.net.stride, len(self._enc) - 1
        x = up
        for i, (w, b, pw, pb) in enumerate(self._enc):
            out = F.glu(torch.addmm(pb, _conv_rows(x, w, b, K, S).relu_(), pw), 1)
            if i == last:
                self._skip_deepest = out
                return out
            hist = self._hist[i]
            if self._first:
                hist.view().copy_(out)
            else:
                hist.advance(out.shape[0]).copy_(out)
            state = hist.view()
            x = state if self._first or i + 1 == last else state[-(S * (self._new[i + 1] - 1) + K) :]
        raise AssertionError("unreachable")

    def _lstm_step(self, x: torch.Tensor) -> torch.Tensor:
        """One time step of the (unidirectional) LSTM stack: ``(1, dim)`` -> ``(1, dim)``."""
        h_dim = self._lstm_dim
        v = x.view(-1)
        for layer, (w, b, z) in enumerate(self._lstm):
            z[:h_dim] = v
            z[h_dim:] = self._h[layer]
            g = torch.addmv(b, w, z)
            torch.sigmoid_(g[: 3 * h_dim])
            torch.tanh_(g[3 * h_dim :])
            c = self._c[layer]
            c.mul_(g[h_dim : 2 * h_dim]).addcmul_(g[:h_dim], g[3 * h_dim :])
            self._h[layer] = g[2 * h_dim : 3 * h_dim] * torch.tanh(c)
            v = self._h[layer]
        return v.view(1, -1)

    def _decode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder: main positions (complete after adding the carried transposed-conv tails) and the extra
        right-context positions, both as 1-D signals at the upsampled rate."""
        S, D = self.net.stride, self.net.depth
        extra = None
        for idx, (pw, pb, tw, tb) in enumerate(self._dec):
            level = D - 1 - idx
            skip = self._skip_deepest if level == D - 1 else self._hist[level].view()
            n = x.shape[0]
            z = x if extra is None else torch.cat([x, extra])
            z = z + skip[: z.shape[0]]
            y = F.glu(torch.addmm(pb, z, pw), 1) @ tw
            cout = tb.shape[0]
            main = _overlap_add(y[:n], S, cout, tb)
            tail = y[n - 1].view(2, S, cout)[1]  # what this hop leaves for the next one
            if extra is None:
                extra = main[n].clone()
            else:
                extra = _overlap_add(y[n:], S, cout, tb)
                extra[0] += tail
                extra = extra.view(-1, cout)
            x = main[:n].reshape(n * S, cout)
            x[:S] += self._carry[idx]
            self._carry[idx] = tail.clone()
            if idx != D - 1:
                x = x.relu_()
                extra = extra.relu_()
            extra = extra[: self._extra_need[idx]]
        assert extra is not None  # set by the first decoder layer (depth >= 1)
        return x.view(-1), extra.reshape(-1)
