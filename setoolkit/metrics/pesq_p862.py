"""PESQ (ITU-T P.862) through the ``pesq`` package, with setoolkit's rate and input rules.

Its own module because the composite measures need it too (:mod:`setoolkit.metrics.composite`: CSIG/CBAK/COVL
are regressions on the wide-band PESQ). The last few values are kept by the content of the pair, so a pair scored
as ``pesq_wb`` and as the composite measures runs P.862 once.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict

import numpy as np

from ..audio import resample
from .pairs import equal_length
from .registry import Metric

_MEMO: OrderedDict = OrderedDict()
_MEMO_SIZE = 8


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
    key = (mode, fs, hashlib.sha1(ref.tobytes()).hexdigest(), hashlib.sha1(est.tobytes()).hexdigest())
    if key in _MEMO:
        return _MEMO[key]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = float(_pesq(fs, ref, est, mode))
    except Exception as exc:  # pesq raises its own error types for unscorable clips
        warnings.warn(f"PESQ-{mode} could not score this clip ({type(exc).__name__}: {exc}); returning NaN")
        value = float("nan")
    _MEMO[key] = value
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return value


def nb_rate(sr: int) -> int:
    """The rate narrow-band P.862 scores a pair at ``sr`` Hz: 16 kHz from 16 kHz up, else 8 kHz."""
    return 16000 if sr >= 16000 else 8000


#: The records of this family (:mod:`setoolkit.metrics.registry`).
METRICS = (
    Metric(
        name="pesq_wb",
        compute=lambda ref, est, sr: pesq(ref, est, sr, "wb"),
        label="PESQ-WB",
        unit="MOS-LQO",
        rate=16000,
        libraries=("pesq",),
        cost=0.09,
        default=True,
    ),
    Metric(
        name="pesq_nb",
        compute=lambda ref, est, sr: pesq(ref, est, sr, "nb"),
        label="PESQ-NB",
        unit="MOS-LQO",
        rate=nb_rate,
        libraries=("pesq",),
        cost=0.09,
        default=True,
        summary=False,
    ),
)
