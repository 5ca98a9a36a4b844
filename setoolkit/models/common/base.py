"""The one interface every model has: ``enhance(audio, sr)`` at any rate, ``stream()`` for causal models.

Resampling, channel handling, chunking of long inputs and input checks live here once; a family only
implements :meth:`Enhancer.enhance_model_rate` (mono, model rate, output aligned with input) and, when
causal, :meth:`Enhancer.stream`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ... import blockwise
from ...audio import (
    as_channels_first,
    check_sample_rate,
    check_signal,
    remove_dc,
    resample,
    to_mono,
)
from ...blockwise import BlockProcessor, ChunkJoiner, StreamRunner, WholeChannel
from ...cards import ModelCard
from ...chunking import MAX_CHUNK_SECONDS, process_in_chunks
from ...errors import ModelError
from ...output_plan import check_not_input, ensure_writable_dir
from ...streaming import FrameBlocks, FrameModel, StftFrameStream, offline_frames

#: ``chunk_seconds = None`` models enhance a signal up to this long (s) in one offline call; longer ones stream.
WHOLE_CHANNEL_SECONDS = 120.0


class Enhancer:
    """A loaded speech-enhancement model.

    Examples
    --------
    >>> model = setoolkit.load("dpcrn-quant")
    >>> clean = model.enhance(noisy, 48000)      # (channels, samples) at 48 kHz in and out
    """

    #: Longest input (s) one offline call processes; longer inputs are split into crossfaded chunks.
    #: ``None`` for models that run frame by frame with constant memory (no chunking, no seams).
    chunk_seconds: float | None = MAX_CHUNK_SECONDS

    def __init__(self, card: ModelCard) -> None:
        self.card = card

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def sample_rate(self) -> int:
        return self.card.sample_rate

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.card.name} @ {self.card.sample_rate} Hz>"

    # -- what a family implements -------------------------------------------------------------------
    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Enhance mono ``(samples,)`` float32 at ``self.sample_rate``; return ``(samples,)``, aligned."""
        raise NotImplementedError

    def stream(self):
        """A fresh :class:`~setoolkit.streaming.StreamingEnhancer` (mono, model rate)."""
        raise ModelError(f"model {self.name!r} is not causal and has no streaming mode")

    # -- shared data path -----------------------------------------------------------------------------
    def enhance(self, audio, sr: int, *, downmix: bool = False, name: str = "audio") -> np.ndarray:
        """Enhance ``audio`` ``(channels, samples)`` or ``(samples,)`` recorded at ``sr`` Hz.

        Each channel is resampled to the model rate (soxr VHQ), enhanced (in crossfaded chunks of at most
        10 s, never truncated), and resampled back. Returns float32 ``(channels, samples)`` at ``sr`` with
        the input's length; ``downmix=True`` averages channels first and returns ``(1, samples)``.
        Frame-by-frame models (``chunk_seconds = None``) process any length in one pass.

        Input checks (warnings of class :class:`~setoolkit.audio.InputWarning` name ``name`` and the number):
        a DC offset above :data:`~setoolkit.audio.DC_LIMIT` is removed before the model (the output has none),
        clipping and silence are reported. A rate outside 4-384 kHz raises :class:`AudioError`.
        """
        sr = check_sample_rate(sr, name)
        x = as_channels_first(audio, name=name)
        if downmix:
            x = to_mono(x)
        check_signal(x, sr, name)
        x = remove_dc(x)
        n = x.shape[1]
        xm = resample(x, int(sr), self.sample_rate)
        if self.chunk_seconds is None:
            ym = np.stack([self._checked_model_call(ch) for ch in xm])
        else:
            ym = np.stack(
                [
                    process_in_chunks(self._checked_model_call, ch, self.sample_rate, max_seconds=self.chunk_seconds)
                    for ch in xm
                ]
            )
        return resample(ym, self.sample_rate, int(sr), length=n)

    def _checked_model_call(self, x: np.ndarray) -> np.ndarray:
        y = np.asarray(self.enhance_model_rate(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float32)
        if y.shape != x.shape:
            raise ModelError(f"{self.name}: model returned shape {y.shape} for input {x.shape}")
        if not np.all(np.isfinite(y)):
            raise ModelError(f"{self.name}: model produced NaN/Inf output")
        return y

    def block_processor(self, n_samples: int) -> BlockProcessor:
        """How a signal of ``n_samples`` at the model rate is enhanced piece by piece (:mod:`setoolkit.blockwise`):
        an object with ``push((samples,)) -> (samples',)`` and ``finish() -> (samples',)``, ``n_samples`` out in
        all, equal to :meth:`enhance_model_rate` (with :meth:`enhance`'s chunking) on the whole signal.

        Chunked models: :class:`~setoolkit.blockwise.ChunkJoiner` (the chunks and crossfades of
        :func:`~setoolkit.chunking.process_in_chunks`, bit-identical); ``chunk_seconds = None``: the model's stream
        (:class:`~setoolkit.blockwise.StreamRunner`, latency removed) for signals over
        :data:`WHOLE_CHANNEL_SECONDS`; shorter ones, and models without a stream, in one call
        (:class:`~setoolkit.blockwise.WholeChannel`).
        """
        if self.chunk_seconds is not None:
            return ChunkJoiner(self._checked_model_call, n_samples, self.sample_rate, max_seconds=self.chunk_seconds)
        if n_samples <= WHOLE_CHANNEL_SECONDS * self.sample_rate:
            # a short file in one offline call: the same numbers, and a model whose stream is slower than its
            # offline pass (DPCRN-dns3's torch steps: 4x) keeps its speed; memory O(WHOLE_CHANNEL_SECONDS)
            return WholeChannel(self._checked_model_call)
        try:
            return StreamRunner(self.stream(), n_samples)
        except ModelError:
            return WholeChannel(self._checked_model_call)

    def enhance_file(
        self, src: str | os.PathLike, dst: str | os.PathLike, *, subtype: str | None = None, downmix: bool = False
    ) -> Path:
        """Enhance file ``src`` into ``dst``, written atomically at the input's rate (and subtype, unless given).

        Streams through the file (:func:`setoolkit.blockwise.enhance_file`): read, resample, enhance and write
        block by block, so peak memory is the model + O(chunk) (~40 MB) whatever the file's length (a model without
        chunks takes signals up to WHOLE_CHANNEL_SECONDS, 120 s, in one call); the result
        equals ``write(dst, self.enhance(*read(src)))`` to float precision (1e-6 of full scale).
        Refuses, before any work, a ``dst`` that is ``src`` itself or sits in a folder that cannot be written
        (:class:`~setoolkit.errors.OutputError`); ``src`` is only ever read.
        """
        check_not_input(src, dst)
        ensure_writable_dir(Path(dst).parent)
        return blockwise.enhance_file(self, src, dst, subtype=subtype, downmix=downmix)


class FrameEnhancer(Enhancer, FrameModel):  # type: ignore[override]  # FrameModel declares sample_rate, Enhancer derives it
    """An :class:`Enhancer` for STFT-frame models with carried state (:class:`~setoolkit.streaming.FrameModel`):
    a family implements ``initial_state`` and ``process_frames`` (any number of frames per call) or
    ``process_frame`` (one frame per call); offline (blocks of frames, bounded memory), single-frame and
    streaming paths all come from here on the model's frame grid (``front_pad``), so they cannot drift apart."""

    chunk_seconds = None  # frame by frame with carried state: any length, constant memory, no seams

    def process_frames(self, specs: np.ndarray, state):
        """``(frames, bins)`` complex -> ``(frames, bins)``, state carried (default: ``process_frame`` per frame)."""
        if type(self).process_frame is FrameEnhancer.process_frame:
            raise NotImplementedError(f"{type(self).__name__} implements neither process_frames nor process_frame")
        return FrameModel.process_frames(self, specs, state)

    def process_frame(self, spec: np.ndarray, state):
        out, state = self.process_frames(spec[None], state)
        return out[0], state

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        return offline_frames(self, x)

    def block_processor(self, n_samples: int) -> BlockProcessor:
        """:class:`~setoolkit.streaming.FrameBlocks`: :func:`~setoolkit.streaming.offline_frames` piece by piece
        (bit-identical), unless the offline network needs the whole sequence (``offline_block_frames = None``)."""
        if self.offline_block_frames is None or type(self).enhance_model_rate is not FrameEnhancer.enhance_model_rate:
            return super().block_processor(n_samples)
        return FrameBlocks(self, n_samples)

    def stream(self) -> StftFrameStream:
        return StftFrameStream(self)
