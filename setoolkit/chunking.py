"""Inputs over :data:`MAX_CHUNK_SECONDS` in chunks: boundaries with overlap, raised-cosine crossfades, and
:func:`process_in_chunks`, which runs a model on each chunk and joins them (``setoolkit.blockwise.ChunkJoiner`` does
the same piece by piece for files)."""

from __future__ import annotations

import numpy as np

#: Longest stretch an offline model processes in one call; longer inputs are chunked with crossfades.
MAX_CHUNK_SECONDS = 10.0
#: Overlap between consecutive chunks, crossfaded with complementary raised-cosine ramps.
CHUNK_OVERLAP_SECONDS = 0.5


def crossfade_ramp(n: int) -> np.ndarray:
    """Raised-cosine fade-in of ``n`` samples; ``fade_in + fade_in[::-1] == 1`` exactly (sin^2 + cos^2)."""
    t = (np.arange(n) + 0.5) / n
    return np.sin(0.5 * np.pi * t) ** 2


def chunk_bounds(n_samples: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of chunks of at most ``chunk`` samples overlapping by ``overlap``, covering ``n_samples``."""
    if n_samples <= chunk:
        return [(0, n_samples)]
    if not 0 <= overlap < chunk:
        raise ValueError(f"overlap must be in [0, chunk), got overlap={overlap}, chunk={chunk}")
    step = chunk - overlap
    n_chunks = int(np.ceil((n_samples - overlap) / step))
    step = int(np.ceil((n_samples - overlap) / n_chunks))  # equal chunks, last one not a sliver
    bounds = []
    for k in range(n_chunks):
        start = k * step
        bounds.append((start, min(start + step + overlap, n_samples)))
    return bounds


def process_in_chunks(
    fn,
    x: np.ndarray,
    sr: int,
    *,
    max_seconds: float = MAX_CHUNK_SECONDS,
    overlap_seconds: float = CHUNK_OVERLAP_SECONDS,
) -> np.ndarray:
    """Apply ``fn: (samples,) -> (samples,)`` to a 1-D signal in chunks of at most ``max_seconds``.

    Consecutive chunks overlap by ``overlap_seconds`` and are joined with complementary raised-cosine
    crossfades, so there is no click at a seam even when ``fn`` starts each chunk from a fresh state.
    Nothing is truncated: the output has exactly ``len(x)`` samples.
    """
    n = x.shape[-1]
    chunk = round(max_seconds * sr)
    overlap = round(overlap_seconds * sr)
    bounds = chunk_bounds(n, chunk, overlap)
    if len(bounds) == 1:
        return checked_len(fn(x), n)
    out = np.zeros(n, dtype=np.float32)
    for k, (start, stop) in enumerate(bounds):
        y = checked_len(fn(x[start:stop]), stop - start).astype(np.float32)
        if k > 0:  # fade in over the overlap with the previous chunk
            y[:overlap] *= crossfade_ramp(overlap)
        if k < len(bounds) - 1:  # fade out over the overlap with the next chunk
            y[-overlap:] *= crossfade_ramp(overlap)[::-1]
        out[start:stop] += y
    return out


def checked_len(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise RuntimeError(f"model returned {y.shape[0]} samples for an input of {n}")
    return y
