"""STOI and ESTOI (Taal et al. 2011, Jensen & Taal 2016) through ``pystoi``, which works at 10 kHz internally.

Examples
--------
>>> stoi(clean, noisy, 16000), stoi(clean, noisy, 16000, extended=True)
(0.87, 0.71)
"""

from __future__ import annotations

import warnings

import numpy as np

from .pairs import equal_length, silent_reference
from .registry import Metric


def stoi(ref, est, sr: int, *, extended: bool = False) -> float:
    """STOI (or ESTOI with ``extended=True``), 0..1, via ``pystoi`` (which works at 10 kHz internally).

    ``ref``, ``est``: ``(samples,)`` of equal length at ``sr`` Hz. NaN (with a warning) for a clip too short or
    too silent to hold one 384 ms analysis segment."""
    from pystoi import stoi as _stoi

    ref, est = equal_length(ref, est)
    if silent_reference("ESTOI" if extended else "STOI", ref):
        return float("nan")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(_stoi(ref, est, sr, extended=extended))
    except (ValueError, IndexError, np.exceptions.AxisError) as exc:  # pystoi on clips shorter than a few frames
        warnings.warn(f"STOI could not score this clip of {len(ref) / sr:.3f} s ({type(exc).__name__}); returning NaN")
        return float("nan")
    if not np.isfinite(value) or value == 1e-5:  # pystoi's value for "not enough frames"
        warnings.warn("STOI could not score this clip (too short or silent); returning NaN")
        return float("nan")
    return value


#: The records of this family (:mod:`setoolkit.metrics.registry`); pystoi resamples to 10 kHz itself.
METRICS = (
    Metric(
        name="stoi",
        compute=stoi,
        label="STOI",
        unit="0..1",
        digits=3,
        libraries=("pystoi",),
        cost=0.03,
        default=True,
    ),
    Metric(
        name="estoi",
        compute=lambda ref, est, sr: stoi(ref, est, sr, extended=True),
        label="ESTOI",
        unit="0..1",
        digits=3,
        libraries=("pystoi",),
        cost=0.06,
        default=True,
    ),
)
