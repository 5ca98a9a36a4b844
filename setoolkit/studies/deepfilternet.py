"""DeepFilterNet demonstrations: the failure a streaming port meets when it restarts the model per buffer."""

from __future__ import annotations

import numpy as np

from ..models.deepfilternet.enhancer import DeepFilterNet


def broken_chunks_with_fresh_state(model: DeepFilterNet, x: np.ndarray, chunk: int) -> np.ndarray:
    """The choppy-chunk failure, kept to show it: ``x`` ``(samples,)`` at 48 kHz enhanced in consecutive
    chunks of ``chunk`` samples by the offline path, each starting from reset normalisations and network
    states, as calling an offline ``enhance()`` per buffer does. Returns ``(samples,)``.
    Use :meth:`DeepFilterNet.stream` instead."""
    out = []
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk]
        padded = np.pad(part, (0, max(0, model.cfg.fft_size - part.shape[0])))  # a short last chunk
        out.append(model.enhance_model_rate(padded)[: part.shape[0]])
    return np.concatenate(out)
