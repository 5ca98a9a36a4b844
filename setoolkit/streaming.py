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
from .stft import frame_np


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
        out = [self._step(buf[k * self.hop : (k + 1) * self.hop]) for k in range(n_hops)]
        self._pending = buf[n_hops * self.hop :]
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
    parts = [stream.process(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)]
    parts.append(stream.flush())
    y = np.concatenate(parts)
    return y[stream.latency : stream.latency + x.shape[0]]


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
    #: Zeros (samples) before the first frame. ``None``: ``n_fft - hop``, so the first frame is what a streamer
    #: starting from an empty buffer sees (real-time loops). ``0``: the first frame is the first ``n_fft``
    #: samples, as offline scripts framing with ``tf.signal.frame`` / ``torch.stft(center=False)`` do; the
    #: streamer then skips its first ``(n_fft - hop) / hop`` hops, so streaming still equals offline.
    front_pad: int | None = None
    #: Frames per offline ``process_frames`` call (state carried between calls, bounded memory); ``None``:
    #: all frames in one call, for a model whose offline network takes the whole sequence and no state.
    offline_block_frames: int | None = 1024

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


def front_pad(model) -> int:
    """Zeros before a :class:`FrameModel`'s first frame (samples): its ``front_pad``, default ``n_fft - hop``.
    Raises ``ValueError`` when the streamer cannot reproduce that grid (``n_fft - hop - front_pad`` must be a
    non-negative multiple of ``hop``)."""
    front = getattr(model, "front_pad", None)
    front = model.n_fft - model.hop if front is None else int(front)
    skipped = model.n_fft - model.hop - front
    if skipped < 0 or skipped % model.hop:
        raise ValueError(
            f"front_pad={front} does not fit n_fft={model.n_fft}, hop={model.hop}: n_fft - hop - "
            "front_pad must be a non-negative multiple of hop"
        )
    return front


class StftFrameStream(StreamingEnhancer):
    """Streaming for a :class:`FrameModel`: sliding analysis buffer, one frame per hop, overlap-add output.

    Latency: ``n_fft - hop`` samples (the output of a hop is complete once its last frame is added), whatever
    the model's ``front_pad``: on a grid with fewer leading zeros the first hops run no frame and emit silence.
    ``drop_overlap=True`` zeroes the ``n_fft - hop`` older samples of every frame (a port that forgot the STFT
    overlap buffer: for the cache study, never for use).
    """

    def __init__(self, model: FrameModel, *, drop_overlap: bool = False) -> None:
        super().__init__()
        self.model = model
        self.hop = model.hop
        self.latency = model.n_fft - model.hop
        self.sample_rate = model.sample_rate
        self._in = np.zeros(model.n_fft, dtype=np.float32)
        self._out = np.zeros(model.n_fft, dtype=np.float32)
        self._state = model.initial_state()
        self._synthesis = _synthesis_window(model)
        self._skip = (self.latency - front_pad(model)) // self.hop  # hops before the first frame of the grid
        self._drop_overlap = drop_overlap

    def _step(self, block: np.ndarray) -> np.ndarray:
        m = self.model
        self._in = np.concatenate([self._in[self.hop :], block])
        if self._drop_overlap:
            self._in[: self.latency] = 0.0
        if self._skip:
            self._skip -= 1
        else:
            spec = np.fft.rfft(self._in * m.window)
            enh, self._state = m.process_frame(spec, self._state)
            self._out += (np.fft.irfft(enh, n=m.n_fft) * self._synthesis).astype(np.float32)
        y = self._out[: self.hop].copy()
        self._out = np.concatenate([self._out[self.hop :], np.zeros(self.hop, dtype=np.float32)])
        return y


def _padded(model, x: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``x`` ``(..., samples)`` on the model's frame grid: ``(padded, front, n_frames)``, zeros before the first
    frame (:func:`front_pad`) and after the last sample, so every sample is covered by all of its frames."""
    n, n_fft, hop = x.shape[-1], model.n_fft, model.hop
    front = front_pad(model)
    n_frames = (front + n - 1) // hop + 1
    xp = np.zeros(x.shape[:-1] + ((n_frames - 1) * hop + n_fft,), dtype=np.float32)
    xp[..., front : front + n] = x
    return xp, front, n_frames


def offline_frames(model: FrameModel, x: np.ndarray, *, block_frames: int | None | str = "model") -> np.ndarray:
    """Offline run of a :class:`FrameModel` over ``x`` ``(samples,)`` -> ``(samples,)``, aligned with the input.

    Frames the signal on the model's grid (:func:`front_pad` zeros first, so the first frame is what its
    streamer sees first) in blocks of ``block_frames`` (default: the model's ``offline_block_frames``, 1024),
    runs ``process_frames`` (or ``process_frame`` frame by frame) on each block carrying the state, and
    overlap-adds with the synthesis window. Working memory is bounded by the block, whatever the length of
    ``x``; ``block_frames=None`` runs every frame in one call. Equal to :func:`stream_signal` on the same model
    to float precision. :class:`FrameBlocks` is the same computation fed piece by piece.
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    blocks = FrameBlocks(model, x.shape[0], block_frames=block_frames)
    return np.concatenate([blocks.push(x), blocks.finish()])


class FrameBlocks:
    """:func:`offline_frames` over a signal of ``n_samples`` that arrives in pieces of any size.

    :meth:`push` a piece ``(samples,)``, get back the output samples that are final so far; :meth:`finish`
    returns the rest. The frames, their blocks, the carried state and the order of the overlap-add sums are
    those of one :func:`offline_frames` call on the whole signal, so the concatenated output is bit-identical
    to it; memory is one block of frames plus one piece, whatever ``n_samples``.
    """

    def __init__(self, model: FrameModel, n_samples: int, *, block_frames: int | None | str = "model") -> None:
        self.model, self.n = model, int(n_samples)
        self.front = front_pad(model)
        self.n_frames = (self.front + self.n - 1) // model.hop + 1
        if block_frames == "model":
            block_frames = getattr(model, "offline_block_frames", 1024)
        self.block: int = int(block_frames or self.n_frames)
        self.synthesis = _synthesis_window(model)
        self.batched = getattr(model, "process_frames", None)
        self.state = model.initial_state()
        self.t0 = 0  # next frame to run
        self._in = [np.zeros(self.front, dtype=np.float32)]  # padded input from sample t0 * hop on
        self._in_len = self.front
        self._acc = np.zeros(0, dtype=np.float32)  # overlap-add sums from sample t0 * hop on (padded grid)
        self._received = 0

    def push(self, x: np.ndarray) -> np.ndarray:
        """Add the next ``(samples,)`` of the signal; return the output samples completed by it."""
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        x = x[: max(self.n - self._received, 0)]
        self._received += x.shape[0]
        self._in.append(x)
        self._in_len += x.shape[0]
        return self._run(final=False)

    def finish(self) -> np.ndarray:
        """End of the signal (zeros after its last sample, as offline); return the remaining output."""
        return self._run(final=True)

    def _run(self, *, final: bool) -> np.ndarray:

        m, hop, n_fft = self.model, self.model.hop, self.model.n_fft
        out = []
        while self.t0 < self.n_frames:
            t1 = min(self.t0 + self.block, self.n_frames)
            need = (t1 - 1 - self.t0) * hop + n_fft
            if self._in_len < need and not final:
                break
            buf = np.concatenate(self._in) if len(self._in) > 1 else self._in[0]
            if buf.shape[0] < need:
                buf = np.concatenate([buf, np.zeros(need - buf.shape[0], dtype=np.float32)])
            specs = np.fft.rfft(frame_np(buf[:need], n_fft, hop) * m.window, axis=-1)
            if self.batched is not None:
                enh, self.state = self.batched(specs, self.state)
            else:
                enh = np.empty_like(specs)
                for t in range(specs.shape[0]):
                    enh[t], self.state = m.process_frame(specs[t], self.state)
            frames = (np.fft.irfft(enh, n=n_fft, axis=-1) * self.synthesis).astype(np.float32)
            acc = np.zeros(need, dtype=np.float32)
            acc[: self._acc.shape[0]] = self._acc
            for k, frame in enumerate(frames):
                acc[k * hop : k * hop + n_fft] += frame
            done = (t1 - self.t0) * hop  # samples before frame t1 get nothing more
            out.append(self._emit(self.t0 * hop, acc[:done]))
            self._acc = acc[done:]
            self._in, self._in_len = [buf[done:]], buf.shape[0] - done
            self.t0 = t1
        if final and self.t0 >= self.n_frames:
            out.append(self._emit(self.t0 * hop, self._acc))
            self._acc = np.zeros(0, dtype=np.float32)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _emit(self, start: int, y: np.ndarray) -> np.ndarray:
        """The part of padded-grid samples ``[start, start + len(y))`` that is signal (``[front, front + n)``)."""
        lo, hi = max(self.front - start, 0), min(self.front + self.n - start, y.shape[0])
        return y[lo:hi] if hi > lo else np.zeros(0, dtype=np.float32)


def lockstep_frames(
    model: FrameModel, xs: list[np.ndarray], step, state, *, drop_overlap: bool = False
) -> list[np.ndarray]:
    """Stream several signals ``[(samples,), ...]`` through one batched frame step, in lockstep.

    Each signal is framed on the model's grid as :func:`offline_frames` frames it (shorter ones zero-padded to
    the longest), and ``step(specs (batch, bins) complex, state) -> (specs, state)`` is called once per frame
    index with that frame of every signal, the batched state carried; each output is overlap-added and cut to
    its own length. The computation of one :class:`StftFrameStream` per signal (streaming is causal: a
    signal's padding never reaches its own samples), with one model call per frame index instead of one per
    signal. ``drop_overlap``: as :class:`StftFrameStream`'s.
    """
    n_fft, hop = model.n_fft, model.hop
    lens = [len(x) for x in xs]
    longest = max(lens)
    xp, front, n_frames = _padded(
        model, np.stack([np.pad(np.asarray(x, np.float32), (0, longest - len(x))) for x in xs])
    )
    synthesis = _synthesis_window(model)
    out = np.zeros(xp.shape, dtype=np.float32)
    for t in range(n_frames):
        frames = xp[:, t * hop : t * hop + n_fft].copy()
        if drop_overlap:
            frames[:, : n_fft - hop] = 0.0
        enh, state = step(np.fft.rfft(frames * model.window, axis=-1), state)
        out[:, t * hop : t * hop + n_fft] += (np.fft.irfft(enh, n=n_fft, axis=-1) * synthesis).astype(np.float32)
    return [out[k, front : front + n] for k, n in enumerate(lens)]


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
