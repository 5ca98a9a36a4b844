"""Oracle (ideal) masks: the ceiling a mask-based model could reach if it knew the clean speech.

Not models a user runs on new audio: each needs the clean reference. They are the top row of every paired
leaderboard, so a model's score reads as a share of the gap between the noisy input and the oracle.

* ``irm`` ideal ratio mask (Wang et al. 2014, beta = 1/2): ``sqrt(|S|^2 / (|S|^2 + |N|^2))``, magnitude only;
* ``psm`` phase-sensitive mask (Erdogan et al. 2015): ``|S| / |Y| cos(angle S - angle Y)``, truncated to [0, 1];
* ``cirm`` complex ideal ratio mask (Williamson et al. 2016): ``S / Y`` with its real and imaginary parts bounded
  to [-10, 10] (the range of the tanh-compressed target, K = 10), applied as a complex gain.

``S`` = STFT of the clean speech, ``Y`` of the noisy mixture, ``N = Y - S``. The STFT is the one each model
family works at: 512/256 at 16 kHz (GTCRN, DPCRN-base), 960/480 at 48 kHz (DeepFilterNet), square-root Hann
(perfect reconstruction); other rates use a 32 ms frame and half of it as hop.

Examples
--------
>>> est = oracle_enhance(clean, noisy, 16000, "irm")       # (samples,) -> (samples,)
"""

from __future__ import annotations

import numpy as np

from ..errors import AudioError
from ..stft import istft_np, stft_np, window

#: Oracle masks by name (the evaluation table's model name is ``oracle-<kind>``).
KINDS = ("irm", "psm", "cirm")
#: Bound of the cIRM's real and imaginary parts.
CIRM_BOUND = 10.0
_EPS = 1e-12


def family_stft(sr: int) -> tuple[int, int]:
    """``(n_fft, hop)`` in samples for a rate in Hz: 512/256 at 16 kHz, 960/480 at 48 kHz, else 32 ms / 16 ms."""
    return {16000: (512, 256), 48000: (960, 480)}.get(sr, (int(round(0.032 * sr)), int(round(0.016 * sr))))


def ideal_mask(clean_spec: np.ndarray, noisy_spec: np.ndarray, kind: str) -> np.ndarray:
    """The ``kind`` oracle mask from STFTs ``(freq, frames)`` complex of clean speech and noisy mixture.

    Returns ``(freq, frames)``: real in [0, 1] for ``irm`` / ``psm``, complex for ``cirm``.
    """
    s, y = clean_spec, noisy_spec
    if kind == "irm":
        n = y - s
        ps, pn = np.abs(s) ** 2, np.abs(n) ** 2
        return np.sqrt(ps / (ps + pn + _EPS))
    if kind == "psm":
        ratio = np.abs(s) / (np.abs(y) + _EPS)
        return np.clip(ratio * np.cos(np.angle(s) - np.angle(y)), 0.0, 1.0)
    if kind == "cirm":
        m = s * np.conj(y) / (np.abs(y) ** 2 + _EPS)
        return np.clip(m.real, -CIRM_BOUND, CIRM_BOUND) + 1j * np.clip(m.imag, -CIRM_BOUND, CIRM_BOUND)
    raise ValueError(f"unknown oracle mask {kind!r}; choose from {KINDS}")


def oracle_enhance(
    clean: np.ndarray, noisy: np.ndarray, sr: int, kind: str, *, n_fft: int | None = None, hop: int | None = None
) -> np.ndarray:
    """Apply the ``kind`` oracle mask to ``noisy``.

    ``clean``, ``noisy``: ``(samples,)`` float at ``sr`` Hz (lengths may differ by rounding: the shorter rules,
    the result is zero-padded back to ``len(noisy)``). ``n_fft``/``hop`` default to :func:`family_stft`.
    Returns ``(samples,)`` float32 aligned with ``noisy``.
    """
    clean = np.asarray(clean, dtype=np.float64).reshape(-1)
    noisy = np.asarray(noisy, dtype=np.float64).reshape(-1)
    if abs(len(clean) - len(noisy)) > max(1, len(noisy) // 1000):
        raise AudioError(f"oracle mask: clean has {len(clean)} samples, noisy {len(noisy)}: not a pair")
    d_fft, d_hop = family_stft(sr)
    n_fft, hop = n_fft or d_fft, hop or d_hop
    n = min(len(clean), len(noisy))
    w = np.sqrt(window("hann", n_fft, dtype=np.float64))
    s = stft_np(clean[:n], n_fft, hop, w, center=True)
    y = stft_np(noisy[:n], n_fft, hop, w, center=True)
    est = istft_np(ideal_mask(s, y, kind) * y, n_fft, hop, w, center=True, length=n)
    out = np.zeros(len(noisy), dtype=np.float32)
    out[:n] = est
    return out
