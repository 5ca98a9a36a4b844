"""PESQ (ITU-T P.862) through the ``pesq`` package, with setoolkit's rate and input rules.

Its own module because two others need it: :mod:`setoolkit.metrics.scoring` (``pesq_wb``, ``pesq_nb``) and
:mod:`setoolkit.metrics.composite` (CSIG/CBAK/COVL are regressions on the wide-band PESQ).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..audio import resample
from .pairs import equal_length


def pesq(ref, est, sr: int, mode: str = "wb") -> float:
    """PESQ MOS-LQO (1.04-4.64 wide-band, 1.02-4.55 narrow-band) of ``est`` against ``ref``, both ``(samples,)`` of
    equal length at ``sr`` Hz. ``mode="wb"`` scores at 16 kHz; ``"nb"`` at 16 kHz when ``sr >= 16000``, else at
    8 kHz (the two rates P.862 defines); other input rates are resampled with soxr first.

    Returns NaN with a warning for clips PESQ cannot score (no utterance found, too short), so one bad
    clip never stops a batch.
    """
    from pesq import pesq as _pesq

    if mode not in ("wb", "nb"):
        raise ValueError(f"PESQ mode must be 'wb' or 'nb', got {mode!r}")
    ref, est = equal_length(ref, est)
    fs = 16000 if (mode == "wb" or sr >= 16000) else 8000
    if sr != fs:
        ref = resample(ref.astype(np.float32), sr, fs)
        est = resample(est.astype(np.float32), sr, fs)
    if len(ref) < fs // 4:
        warnings.warn(f"PESQ needs at least 0.25 s, got {len(ref) / fs:.3f} s; returning NaN")
        return float("nan")
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(_pesq(fs, ref, est, mode))
    except Exception as exc:  # pesq raises its own error types for unscorable clips
        warnings.warn(f"PESQ-{mode} could not score this clip ({type(exc).__name__}: {exc}); returning NaN")
        return float("nan")
