"""MUSHRA anchors (ITU-R BS.1534-3): the reference low-passed at 3.5 kHz (low anchor) and 7 kHz (mid anchor).

The low-pass is a zero-phase linear-phase FIR: a Kaiser-window design (:func:`scipy.signal.firwin`) with
80 dB stop-band attenuation whose transition band (10 % of the cut-off) *ends* at the cut-off, so nothing
above the cut-off passes by more than -80 dB; the odd-length symmetric filter is applied centred
(``mode="same"``), so the anchor is time-aligned with the reference (no delay, no phase change).

Examples
--------
>>> low = lowpass(reference, 16000, 3500.0)          # (samples,) or (channels, samples)
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve, firwin, kaiserord

#: The anchors' cut-off frequencies (Hz), by system name.
ANCHORS = {"anchor_3.5k": 3500.0, "anchor_7k": 7000.0}
STOP_DB = 80.0
TRANSITION = 0.10


def lowpass_taps(sr: int, cutoff_hz: float, *, stop_db: float = STOP_DB, transition: float = TRANSITION) -> np.ndarray:
    """Odd-length, symmetric FIR taps: pass band to ``(1 - transition) * cutoff_hz``, >= ``stop_db`` dB
    attenuation from ``cutoff_hz`` (Hz) to Nyquist. ``sr`` in Hz."""
    if not 0 < cutoff_hz < sr / 2:
        raise ValueError(f"lowpass: cutoff_hz={cutoff_hz} must be in (0, {sr / 2}) for sr={sr}")
    width = transition * cutoff_hz
    numtaps, beta = kaiserord(stop_db, width / (sr / 2))
    numtaps |= 1
    return firwin(numtaps, cutoff_hz - width / 2, window=("kaiser", beta), fs=sr)


def lowpass(x: np.ndarray, sr: int, cutoff_hz: float) -> np.ndarray:
    """Zero-phase low-pass of ``x`` (``(samples,)`` or ``(channels, samples)``) at ``cutoff_hz`` Hz.

    Returns float32 of the same shape, time-aligned with ``x``.
    """
    h = lowpass_taps(sr, cutoff_hz)
    x = np.asarray(x, dtype=np.float64)
    h = h.reshape((1,) * (x.ndim - 1) + (-1,))
    return fftconvolve(x, h, mode="same", axes=-1).astype(np.float32)


def anchor(reference: np.ndarray, sr: int, name: str) -> np.ndarray:
    """The anchor ``name`` (a key of :data:`ANCHORS`) made from ``reference`` ``(samples,)``."""
    if name not in ANCHORS:
        raise ValueError(f"anchor: name={name!r} is not one of {sorted(ANCHORS)}")
    return lowpass(reference, sr, ANCHORS[name])
