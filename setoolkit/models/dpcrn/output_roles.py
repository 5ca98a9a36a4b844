"""Identify a model's outputs by what they are, not by the position an export happened to give them.

TFLite/ONNX exports reorder outputs freely (the DPCRN-base TFLite files list mask, sin, cos as
Identity, Identity_1, Identity_2, while upstream scripts read them as mask, cos, sin). These checks
look at the values instead.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...errors import ModelError


def find_phase_pair(arrays: list[np.ndarray], *, tol: float = 1e-3) -> tuple[int, int]:
    """Indices ``(cos, sin)`` of the two arrays with ``cos**2 + sin**2 == 1`` everywhere (within ``tol``).

    Of the pair, ``cos`` is the one with the larger mean: on speech the predicted phase correction is
    mostly small, so cos is near 1 and sin near 0.
    """
    best = None
    for i, j in itertools.combinations(range(len(arrays)), 2):
        a, b = arrays[i], arrays[j]
        if a.shape != b.shape:
            continue
        err = float(np.max(np.abs(a.astype(np.float64) ** 2 + b.astype(np.float64) ** 2 - 1.0)))
        if err < tol and (best is None or err < best[0]):
            best = (err, i, j)
    if best is None:
        raise ModelError(
            "no pair of outputs satisfies cos^2 + sin^2 = 1: the model has no phase outputs or they are not normalised"
        )
    _, i, j = best
    return (i, j) if arrays[i].mean() >= arrays[j].mean() else (j, i)


def probe_signal(n: int, sr: int, *, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A deterministic voiced-speech-like probe ``(n,)``: harmonics of ``f0`` with a 1/k envelope and
    light noise, peak 0.3. Used to run a model once at load time and identify its outputs."""
    t = np.arange(n) / sr
    k = np.arange(1, int(4000 / f0))
    x = np.sum(np.sin(2 * np.pi * f0 * k[:, None] * t[None, :]) / k[:, None], axis=0)
    x += 0.05 * np.random.default_rng(seed).standard_normal(n)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)
