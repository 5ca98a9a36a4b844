"""The input rules every metric shares: mono 1-D signals, two signals of one length, silence.

A metric compares signals of equal length; the one exception is rounding: lengths within
:data:`LENGTH_TOLERANCE` (0.1%, at least one sample: VoiceBank-DEMAND's own clean/noisy pairs differ by one
sample) are cut to the shorter. Anything longer is a wrong pair or a missing alignment, and an error.
Used by :mod:`setoolkit.metrics.scoring`, :mod:`setoolkit.metrics.composite`, :mod:`setoolkit.metrics.learned` and
:mod:`setoolkit.metrics.pesq_p862`; imports nothing of setoolkit but its errors.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import MetricError

#: Relative length difference (at least one sample) that :func:`equal_length` cuts away as rounding, not an error.
LENGTH_TOLERANCE = 1e-3


def mono(x, name: str) -> np.ndarray:
    """``x`` as 1-D float64 ``(samples,)``; a ``(1, samples)`` array is flattened, anything wider is an error
    naming ``name``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise ValueError(f"metrics take mono signals (samples,) or (1, samples); {name} has shape {x.shape}")
    return x


def equal_length(ref, est) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as 1-D float64 of one length; a mismatch beyond rounding (:data:`LENGTH_TOLERANCE`) is a
    :class:`MetricError`, never a silent cut."""
    ref, est = mono(ref, "reference"), mono(est, "estimate")
    n = min(len(ref), len(est))
    if abs(len(ref) - len(est)) <= max(1, LENGTH_TOLERANCE * max(len(ref), len(est))):
        ref, est = ref[:n], est[:n]
    else:
        raise MetricError(
            f"reference has {len(ref)} samples but estimate has {len(est)}: metrics compare "
            "signals of equal length; align them first (metrics.align / score_pair) or trim "
            "both to the same span"
        )
    if len(ref) == 0:
        raise MetricError("metrics need non-empty signals (both have 0 samples)")
    return ref, est


def is_silent(x: np.ndarray) -> bool:
    """True for an all-zero signal (digital silence)."""
    return not np.any(x)


def degenerate(metric: str, ref: np.ndarray, est: np.ndarray) -> bool:
    """Warn and return True when ``metric`` is undefined because the reference or the estimate is all zeros."""
    which = [n for n, x in (("reference", ref), ("estimate", est)) if is_silent(x)]
    if which:
        warnings.warn(f"{metric} of an all-zero {' and '.join(which)} is undefined; returning NaN")
        return True
    return False


def silent_reference(metric: str, ref: np.ndarray) -> bool:
    """Warn and return True when ``ref`` is all zeros: ``metric`` compares against clean speech that is not there
    (STOI would say 0, LSD ~67 dB, segmental SNR its -10 dB floor: numbers that look like scores)."""
    if is_silent(ref):
        warnings.warn(f"{metric} against an all-zero reference is undefined; returning NaN")
        return True
    return False
