"""Enhance a file of any length block by block: read, resample, enhance and write in bounded memory.

:func:`enhance_file` is what :meth:`Enhancer.enhance_file <setoolkit.models.common.base.Enhancer.enhance_file>`
and ``setoolkit enhance`` run. It reads the file twice in blocks of :data:`BLOCK_FRAMES`: a first pass for the
facts the whole-file path takes from the whole signal (frame count, DC per channel, peak, clipping, NaN/Inf),
then a second pass that pushes each block through a streaming soxr resampler to the model rate, the model's
block processor (:meth:`Enhancer.block_processor`: the crossfaded 10 s chunks of
:func:`~setoolkit.chunking.process_in_chunks` with the same chunk boundaries, a frame model's blocks of frames with
the state carried, or a causal model's stream), a second streaming resampler back, and into the temp output
file, renamed over the destination once complete (:func:`~setoolkit.audio.atomic_output`).

Memory bound: peak RSS = the model + O(chunk), whatever the file's length: one read block (65536 frames), one
chunk of at most 10 s (or one block of 1024 STFT frames) per channel at the model rate, the model's working
memory for it and the resamplers' state. Measured (``benchmarks/bench_long_file_memory.py``, nsnet2, 48 kHz
stereo): 605 MB peak for a 2 min and for a 30 min file alike, 41 MB above the loaded model (564 MB); the
whole-file path took 757 MB and 3131 MB (4.75x the 659 MB float32 input of the 30 min file). Models whose
offline path needs the whole signal and that have no stream (``chunk_seconds = None``, no ``stream()``:
SEGAN+) hold one channel at the model rate.

Output equals :meth:`Enhancer.enhance <setoolkit.models.common.base.Enhancer.enhance>` on the whole file: the
streaming resampler is bit-identical to soxr's one-shot call, and the chunks, frame blocks and overlap-add sums
are the same, so the only possible difference is the DC mean summed block by block (float64, ~1e-16
relative): within 1e-6 of full scale (tested; measured bit-identical for chunked, frame and stream models and
for 2 and 30 min files). Causal models fed through their stream match offline as their family's streaming
parity does.

Examples
--------
>>> model = setoolkit.load("nsnet2")
>>> enhance_file(model, "meeting_2h.wav", "meeting_2h.enhanced.wav")
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf
import soxr

from .audio import (
    CLIP_LEVEL,
    DC_LIMIT,
    EXACT_LENGTH_FORMATS,
    RESAMPLE_QUALITY,
    atomic_output,
    check_file,
    check_header,
    check_scale,
    format_of,
    nonfinite_error,
    to_mono,
    warn_signal,
    wav_declared_frames,
)
from .chunking import CHUNK_OVERLAP_SECONDS, MAX_CHUNK_SECONDS, checked_len, chunk_bounds, crossfade_ramp
from .errors import AudioError, ModelError

#: Frames per read (and per write): 65536 (1.4 s at 48 kHz, 512 KB of float32 stereo).
BLOCK_FRAMES = 1 << 16

_EMPTY = np.zeros(0, dtype=np.float32)


# ------------------------------------------------------------------------------------------ reading


def read_blocks(path: str | os.PathLike, *, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Yield ``path``'s samples as float32 ``(channels, frames)`` blocks of at most ``block_frames`` frames."""
    with sf.SoundFile(str(path)) as f:
        while True:
            data = f.read(block_frames, dtype="float32", always_2d=True)
            if data.shape[0] == 0:
                return
            yield np.ascontiguousarray(data.T)


def scan(path: str | os.PathLike, *, downmix: bool = False, block_frames: int = BLOCK_FRAMES) -> dict:
    """First pass over ``path`` in blocks: what :func:`~setoolkit.audio.read` checks and what
    :func:`~setoolkit.audio.inspect_signal` measures, without holding the file.

    Returns ``{"sr", "channels", "frames", "subtype", "dc", "peak", "clipped_fraction", "seconds"}``; ``dc``
    (one mean per channel, ``(1,)`` with ``downmix``), ``peak`` and ``clipped_fraction`` are those of the signal
    the model sees (downmixed when asked). Raises :class:`AudioError` as ``read`` and ``Enhancer.enhance`` do:
    missing, empty, not audio, implausible rate, too long, no samples, truncated, NaN/Inf, far beyond full scale.
    """
    path = Path(path)
    check_file(path)
    frames, bad, peak_raw, peak, clipped = 0, 0, 0.0, 0.0, 0
    sums: np.ndarray | None = None
    try:
        with sf.SoundFile(str(path)) as f:
            declared, sr, fmt, channels, subtype = f.frames, f.samplerate, f.format, f.channels, f.subtype
            check_header(path, sr, declared)
        for block in read_blocks(path, block_frames=block_frames):
            frames += block.shape[1]
            finite = np.isfinite(block)
            if not finite.all():
                bad += int(block.size - finite.sum())
                continue
            peak_raw = max(peak_raw, float(np.max(np.abs(block))))
            x = to_mono(block) if downmix else block
            mag = np.abs(x)
            peak = max(peak, float(mag.max()))
            clipped += int(np.count_nonzero(mag >= CLIP_LEVEL))
            s = x.sum(axis=-1, dtype=np.float64)
            sums = s if sums is None else sums + s
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"{path}: not a readable audio file (unsupported format or corrupt: {exc}); supported: wav, flac, ogg, mp3"
        ) from None
    if frames == 0:
        raise AudioError(f"{path}: contains no samples (zero-length audio)")
    declared = max(declared, wav_declared_frames(path) or 0)
    if fmt in EXACT_LENGTH_FORMATS and frames < declared:
        raise AudioError(
            f"{path}: truncated: the header declares {declared} frames ({declared / sr:.2f} s) but "
            f"only {frames} ({frames / sr:.2f} s) are in the file (an interrupted copy or recording?)"
        )
    if bad:
        raise nonfinite_error(str(path), bad, channels * frames)
    check_scale(peak_raw, str(path))
    n_ch = 1 if downmix else channels
    assert sums is not None  # frames > 0: at least one block was summed
    return {
        "sr": int(sr),
        "channels": int(channels),
        "frames": frames,
        "subtype": subtype,
        "dc": sums / frames,
        "peak": peak,
        "clipped_fraction": clipped / (frames * n_ch),
        "seconds": frames / sr,
    }


# ------------------------------------------------------------------------------------------ block processors


class BlockProcessor(Protocol):
    """One channel of a signal of known length at the model rate, enhanced piece by piece: ``push`` a piece
    ``(samples,)`` and get the output samples that are final, ``finish`` for the rest; as many out as in."""

    def push(self, x: np.ndarray) -> np.ndarray: ...

    def finish(self) -> np.ndarray: ...


class Resampler:
    """soxr's ``ResampleStream`` at :data:`~setoolkit.audio.RESAMPLE_QUALITY` for ``(channels, samples)`` blocks,
    giving exactly ``n_out`` samples in all (trimmed / zero-padded as :func:`~setoolkit.audio.resample` with
    ``length``); bit-identical to the one-shot call on the whole signal. ``sr_in == sr_out`` passes through."""

    def __init__(self, sr_in: int, sr_out: int, channels: int, n_out: int) -> None:
        self._rs = (
            soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality=RESAMPLE_QUALITY)
            if sr_in != sr_out
            else None
        )
        self.channels, self._left = channels, int(n_out)

    def push(self, x: np.ndarray, *, last: bool = False) -> np.ndarray:
        """``(channels, samples)`` in, the resampled ``(channels, samples')`` available so far out."""
        if self._rs is None:
            y = x
        else:
            y = self._rs.resample_chunk(np.ascontiguousarray(x.T, dtype=np.float32), last=last).T
        y = y[:, : self._left]
        if last and y.shape[1] < self._left:
            y = np.pad(y, ((0, 0), (0, self._left - y.shape[1])))
        self._left -= y.shape[1]
        return np.ascontiguousarray(y, dtype=np.float32)


def resampled_length(n: int, sr_in: int, sr_out: int) -> int:
    """Samples soxr's one-shot resampling of ``n`` samples gives (``round(n * sr_out / sr_in)``, halves up)."""
    return n if sr_in == sr_out else int(n * sr_out / sr_in + 0.5)


class ChunkJoiner:
    """:func:`~setoolkit.chunking.process_in_chunks` for a signal of ``n_samples`` that arrives in pieces.

    The same :func:`~setoolkit.chunking.chunk_bounds`, the same raised-cosine ramps and the same float32 sums,
    so the concatenated output is bit-identical; it holds one chunk of input and one overlap of output.
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        n_samples: int,
        sr: int,
        *,
        max_seconds: float = MAX_CHUNK_SECONDS,
        overlap_seconds: float = CHUNK_OVERLAP_SECONDS,
    ) -> None:
        self.fn, self.n = fn, int(n_samples)
        self.overlap = round(overlap_seconds * sr)
        self.bounds = chunk_bounds(self.n, round(max_seconds * sr), self.overlap)
        self.k = 0
        self._in: list[np.ndarray] = []  # buffered input from sample _in_start on
        self._in_start, self._in_len = 0, 0
        self._acc = _EMPTY  # faded tail of the previous chunk

    def push(self, x: np.ndarray) -> np.ndarray:
        """Add the next ``(samples,)``; return the output samples final so far."""
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        self._in.append(x)
        self._in_len += x.shape[0]
        out = []
        while self.k < len(self.bounds) and self._in_start + self._in_len >= self.bounds[self.k][1]:
            out.append(self._chunk())
        return np.concatenate(out) if out else _EMPTY

    def finish(self) -> np.ndarray:
        """End of the signal; every chunk has run (else the signal was shorter than ``n_samples``)."""
        if self.k < len(self.bounds):
            raise RuntimeError(f"ChunkJoiner: got {self._in_start + self._in_len} of {self.n} samples")
        return _EMPTY

    def _chunk(self) -> np.ndarray:
        start, stop = self.bounds[self.k]
        buf = np.concatenate(self._in) if len(self._in) > 1 else self._in[0]
        seg = buf[start - self._in_start : stop - self._in_start]
        last = self.k == len(self.bounds) - 1
        if len(self.bounds) == 1:  # one chunk: the model's output as it is (process_in_chunks adds nothing)
            acc = checked_len(self.fn(seg), self.n)
        else:
            y = checked_len(self.fn(seg), stop - start).astype(np.float32)
            if self.k > 0:
                y[: self.overlap] *= crossfade_ramp(self.overlap)
            if not last:
                y[-self.overlap :] *= crossfade_ramp(self.overlap)[::-1]
            acc = np.zeros(stop - start, dtype=np.float32)
            acc[: self._acc.shape[0]] += self._acc
            acc += y
        nxt = self.n if last else self.bounds[self.k + 1][0]
        self._acc = acc[nxt - start :]
        self._in, self._in_len = [buf[nxt - self._in_start :]], self._in_start + buf.shape[0] - nxt
        self._in_start = nxt
        self.k += 1
        return acc[: nxt - start]


class StreamRunner:
    """A causal model's stream over a signal of ``n_samples`` in pieces, latency removed (as
    :func:`~setoolkit.streaming.stream_signal`): output aligned with the input, exactly ``n_samples`` in all."""

    def __init__(self, stream, n_samples: int) -> None:
        self.stream, self._skip, self._left = stream, int(stream.latency), int(n_samples)

    def push(self, x: np.ndarray) -> np.ndarray:
        return self._take(self.stream.process(np.asarray(x, dtype=np.float32)))

    def finish(self) -> np.ndarray:
        y = self._take(self.stream.flush())
        if hasattr(self.stream, "close"):
            self.stream.close()
        return np.pad(y, (0, self._left)) if self._left > 0 else y

    def _take(self, y: np.ndarray) -> np.ndarray:
        drop = min(self._skip, y.shape[0])
        self._skip -= drop
        y = y[drop : drop + self._left]
        self._left -= y.shape[0]
        return y


class WholeChannel:
    """Fallback for a model whose offline path needs the whole signal and has no stream: collects the channel
    (at the model rate) and runs ``fn`` once at the end. Memory O(signal), the only unbounded processor."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fn = fn
        self._in: list[np.ndarray] = []

    def push(self, x: np.ndarray) -> np.ndarray:
        self._in.append(np.asarray(x, dtype=np.float32))
        return _EMPTY

    def finish(self) -> np.ndarray:
        return self.fn(np.concatenate(self._in))


# ------------------------------------------------------------------------------------------ the file path


def enhance_file(
    model,
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    subtype: str | None = None,
    downmix: bool = False,
    block_frames: int = BLOCK_FRAMES,
) -> Path:
    """Enhance audio file ``src`` into ``dst`` (atomically, at ``src``'s rate) in blocks of ``block_frames``.

    ``model``: an :class:`~setoolkit.models.common.base.Enhancer`. ``subtype``: as :func:`~setoolkit.audio.write`
    (default: ``src``'s when the format is the same, else the format's default). The same warnings
    (DC offset, clipping, silence; output samples clipped for an integer subtype) and errors as reading the
    whole file and calling ``model.enhance``; the output equals it (module docstring). Peak memory is the model
    plus O(chunk), independent of the file's length.
    """
    name, dst = str(src), Path(dst)
    facts = scan(src, downmix=downmix, block_frames=block_frames)
    warn_signal(facts, name, stacklevel=4)
    sr, n, rate = facts["sr"], facts["frames"], model.sample_rate
    channels = 1 if downmix else facts["channels"]
    dc = np.where(np.abs(facts["dc"]) > DC_LIMIT, facts["dc"], 0.0).astype(np.float32)[:, None]
    fmt = format_of(dst)
    if subtype is None:
        subtype = facts["subtype"] if dst.suffix.lower() == Path(src).suffix.lower() else sf.default_subtype(fmt)
    n_model = resampled_length(n, sr, rate)
    down = Resampler(sr, rate, channels, n_model)
    up = Resampler(rate, sr, channels, n)
    procs = [model.block_processor(n_model) for _ in range(channels)]
    clip = subtype not in ("FLOAT", "DOUBLE", "VORBIS", "OPUS")  # integer/compressed PCM: clip, never wrap
    clipped = 0

    def run(xm: np.ndarray, last: bool) -> np.ndarray:
        pieces = [p.push(c) for p, c in zip(procs, xm)]
        if last:
            pieces = [np.concatenate([y, p.finish()]) for p, y in zip(procs, pieces)]
        if len({y.shape[0] for y in pieces}) > 1:
            raise ModelError(f"{model.name}: channels gave {[y.shape[0] for y in pieces]} samples for the same input")
        ym = np.stack(pieces).astype(np.float32)
        if not np.all(np.isfinite(ym)):
            raise ModelError(f"{model.name}: model produced NaN/Inf output")
        return up.push(ym, last=last)

    with (
        atomic_output(dst) as tmp,
        sf.SoundFile(tmp, "w", samplerate=sr, channels=channels, subtype=subtype, format=fmt) as out,
    ):

        def put(y: np.ndarray) -> None:
            nonlocal clipped
            check_scale(float(np.max(np.abs(y))) if y.size else 0.0, str(dst))
            if clip:
                over = np.abs(y) > 1.0
                if over.any():
                    clipped += int(over.sum())
                    y = np.clip(y, -1.0, 1.0)
            out.write(y.T)

        for block in read_blocks(src, block_frames=block_frames):
            x = to_mono(block) if downmix else block
            put(run(down.push(x - dc if dc.any() else x), last=False))
        put(run(down.push(np.zeros((channels, 0), dtype=np.float32), last=True), last=True))
    if clipped:
        warnings.warn(f"{dst}: {clipped} samples beyond full scale clipped to [-1, 1] for {subtype}", stacklevel=3)
    return dst
