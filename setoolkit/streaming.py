"""Streaming: feed audio in chunks of any size, get enhanced audio out hop by hop, state carried between calls.

:class:`StreamingEnhancer` does the bookkeeping every streaming model needs (buffer input until a full hop
is there, carry the model state, push the tail out on :meth:`~StreamingEnhancer.flush`); a family only
implements ``_step(hop_block) -> hop_block``. :class:`StftFrameStream` is the step for models that map one
STFT frame (plus a recurrent state) to one enhanced frame, with windowed overlap-add synthesis.

Streaming output is late by ``latency`` samples (the algorithmic delay); :func:`stream_signal` removes it,
so its result lines up sample for sample with the offline output.

Examples
--------
>>> s = model.stream()
>>> out = [s.process(chunk) for chunk in chunks] + [s.flush()]
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .errors import AudioError


class StreamingEnhancer:
    """Base of every streaming model: chunks in, hops out, model state kept between calls.

    Subclasses set ``hop`` and ``latency`` (samples, at the model rate) and implement ``_step``.
    """

    hop: int
    latency: int
    sample_rate: int

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._n_in = 0
        self._n_out = 0

    def _step(self, block: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """One hop of input ``(hop,)`` -> one hop of output ``(hop,)``; update the carried state."""
        raise NotImplementedError

    def process(self, chunk) -> np.ndarray:
        """Feed ``(samples,)`` float audio at the model rate; returns the output hops completed so far."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1:
            raise AudioError(f"stream.process takes mono (samples,) chunks, got shape {chunk.shape}")
        if not np.all(np.isfinite(chunk)):
            raise AudioError("stream.process: chunk contains NaN or Inf")
        self._n_in += chunk.shape[0]
        buf = np.concatenate([self._pending, chunk])
        n_hops = buf.shape[0] // self.hop
        out = [self._step(buf[k * self.hop:(k + 1) * self.hop]) for k in range(n_hops)]
        self._pending = buf[n_hops * self.hop:]
        y = np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
        self._n_out += y.shape[0]
        return y

    def flush(self) -> np.ndarray:
        """End of input: pad with zeros until every input sample's output is out; returns those samples.

        After ``flush`` the total output is ``latency + input length`` samples (rounded up to a hop).
        """
        want = self._n_in + self.latency
        y = []
        while self._n_out < want:
            need = self.hop - self._pending.shape[0]
            y.append(self.process(np.zeros(need, dtype=np.float32)))
            self._n_in -= need  # padding is not input
        return np.concatenate(y) if y else np.zeros(0, dtype=np.float32)


def stream_signal(stream: StreamingEnhancer, x: np.ndarray, *, chunk: int | None = None) -> np.ndarray:
    """Run ``x`` ``(samples,)`` through ``stream`` in chunks of ``chunk`` samples (default: one hop) and return
    the output with the latency removed, ``(samples,)``: directly comparable with offline output."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    chunk = chunk or stream.hop
    parts = [stream.process(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)]
    parts.append(stream.flush())
    y = np.concatenate(parts)
    return y[stream.latency: stream.latency + x.shape[0]]


class FrameModel:
    """What an STFT-frame model provides to :class:`StftFrameStream` and the offline frame loop.

    ``n_fft``, ``hop``, ``window`` (analysis window, ``(n_fft,)``), ``initial_state()`` and
    ``process_frame(spec (n_fft//2+1,) complex, state) -> (spec, state)``.

    Optional: ``synthesis_window`` ``(n_fft,)`` when it differs from the analysis window (default: the same
    window, power-complementary at ``hop``; a model whose window is shorter than its FFT pads both with zeros
    at the front), and ``process_frames(specs (frames, n_fft//2+1), state) -> (specs, state)``, a batched
    form of ``process_frame`` that the offline loop uses when a model can run a whole sequence at once (it
    must give the same result as calling ``process_frame`` frame by frame).
    """

    n_fft: int
    hop: int
    window: np.ndarray
    sample_rate: int
    synthesis_window: np.ndarray | None = None

    def initial_state(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def process_frame(self, spec: np.ndarray, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def process_frames(self, specs: np.ndarray, state):
        """``(frames, bins)`` complex -> ``(frames, bins)``: ``process_frame`` over each frame, state carried."""
        out = np.empty_like(specs)
        for t in range(specs.shape[0]):
            out[t], state = self.process_frame(specs[t], state)
        return out, state


def _synthesis_window(model) -> np.ndarray:
    w = getattr(model, "synthesis_window", None)
    return model.window if w is None else w


class StftFrameStream(StreamingEnhancer):
    """Streaming for a :class:`FrameModel`: sliding analysis buffer, one frame per hop, overlap-add output.

    Latency: ``n_fft - hop`` samples (the output of a hop is complete once its last frame is added).
    """

    def __init__(self, model: FrameModel) -> None:
        super().__init__()
        self.model = model
        self.hop = model.hop
        self.latency = model.n_fft - model.hop
        self.sample_rate = model.sample_rate
        self._in = np.zeros(model.n_fft, dtype=np.float32)
        self._out = np.zeros(model.n_fft, dtype=np.float32)
        self._state = model.initial_state()
        self._synthesis = _synthesis_window(model)

    def _step(self, block: np.ndarray) -> np.ndarray:
        m = self.model
        self._in = np.concatenate([self._in[self.hop:], block])
        spec = np.fft.rfft(self._in * m.window)
        enh, self._state = m.process_frame(spec, self._state)
        self._out += (np.fft.irfft(enh, n=m.n_fft) * self._synthesis).astype(np.float32)
        y = self._out[:self.hop].copy()
        self._out = np.concatenate([self._out[self.hop:], np.zeros(self.hop, dtype=np.float32)])
        return y


#: Frames one offline ``process_frames`` call sees; longer signals go block by block with the state carried,
#: so a frame model's working memory does not grow with the file (only the output signal does).
OFFLINE_BLOCK_FRAMES = 1024


def offline_frames(model: FrameModel, x: np.ndarray, *, block_frames: int | None = OFFLINE_BLOCK_FRAMES) -> np.ndarray:
    """Offline run of a :class:`FrameModel` over ``x`` ``(samples,)`` -> ``(samples,)``, aligned with the input.

    Frames the signal (front padding ``n_fft - hop`` zeros, so the first frame is what the streamer sees
    first) in blocks of ``block_frames``, runs ``process_frames`` (or ``process_frame`` frame by frame) on each
    block carrying the state, and overlap-adds with the synthesis window. Working memory is bounded by the
    block, whatever the length of ``x``; ``block_frames=None`` runs every frame in one call (for models whose
    offline network sees the whole sequence and takes no state). Equal to :func:`stream_signal` on the same model to float precision.
    """
    from .stft import frame_np

    n, n_fft, hop = x.shape[0], model.n_fft, model.hop
    front = n_fft - hop
    n_frames = (front + n - 1) // hop + 1
    total = (n_frames - 1) * hop + n_fft
    xp = np.zeros(total, dtype=np.float32)
    xp[front:front + n] = x
    out = np.zeros(total, dtype=np.float32)
    synthesis = _synthesis_window(model)
    batched = getattr(model, "process_frames", None)
    state = model.initial_state()
    block = block_frames or n_frames
    for t0 in range(0, n_frames, block):
        t1 = min(t0 + block, n_frames)
        specs = np.fft.rfft(frame_np(xp[t0 * hop:(t1 - 1) * hop + n_fft], n_fft, hop) * model.window, axis=-1)
        if batched is not None:
            enh, state = batched(specs, state)
        else:
            enh = np.empty_like(specs)
            for t in range(specs.shape[0]):
                enh[t], state = model.process_frame(specs[t], state)
        frames = (np.fft.irfft(enh, n=n_fft, axis=-1) * synthesis).astype(np.float32)
        for k, frame in enumerate(frames):
            start = (t0 + k) * hop
            out[start:start + n_fft] += frame
    return out[front:front + n]


@contextmanager
def torch_threads(n: int = 1):
    """Run torch on ``n`` intra-op threads inside the block, restoring the previous number after.

    Per-hop calls of small torch models are dominated by thread hand-off, not arithmetic: on a busy 2-core
    machine one hop of a 50 K-parameter model took 10-50x longer with 2 threads than with 1. Streaming steps of
    torch models run inside ``torch_threads(1)``.
    """
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)
