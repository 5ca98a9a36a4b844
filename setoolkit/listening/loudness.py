"""Active speech level (a simple ITU-T P.56 method B) and loudness normalisation to one target in dBov.

Every stimulus of a listening test is scaled so that its *active* speech level is :data:`TARGET_DBOV`
(-26 dBov, the ITU-T P.800 / P.835 / P.808 presentation level), so that no condition wins or loses by being
louder. dBov is relative to the overload point: full scale is 1.0 and a full-scale square wave is 0 dBov (a
full-scale sine is -3 dBov); level = 10 log10(mean square).

The active level follows P.56 method B, simplified: the rectified signal is smoothed by two cascaded
first-order sections (time constant 0.03 s); a sample is active at threshold ``c`` when the envelope is at
least ``c`` or was within the last 0.2 s (hangover); for each threshold on a 1 dB grid the energy per active
sample ``A(c)`` is computed, and the active level is ``A`` where ``A(c) - c`` falls to the margin 15.9 dB
(linear interpolation between grid points).

Examples
--------
>>> level = active_speech_level(x, 16000)           # dBov
>>> y = normalize_level(x, 16000)                    # active level -26 dBov
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.signal import lfilter

#: Presentation level of every stimulus (dBov, active speech level).
TARGET_DBOV = -26.0
#: P.56 constants: envelope time constant (s), hangover (s), margin (dB).
TIME_CONSTANT_S, HANGOVER_S, MARGIN_DB = 0.03, 0.2, 15.9
#: Thresholds (dBov) searched for the margin crossing, on a 1 dB grid.
THRESHOLDS_DB = np.arange(-100.0, 0.5, 1.0)


def envelope(x: np.ndarray, sr: int) -> np.ndarray:
    """P.56 envelope of ``x`` ``(samples,)``: ``|x|`` through two cascaded one-pole smoothers (0.03 s).

    Returns ``(samples,)`` float64, same units as ``x`` (full scale 1).
    """
    g = np.exp(-1.0 / (TIME_CONSTANT_S * sr))
    p = lfilter([1 - g], [1, -g], np.abs(np.asarray(x, dtype=np.float64)))
    return lfilter([1 - g], [1, -g], p)


def _activity(env: np.ndarray, threshold: float, hangover: int) -> int:
    """Samples active at ``threshold``: envelope above it now or within the last ``hangover`` samples."""
    idx = np.arange(env.size)
    last = np.maximum.accumulate(np.where(env >= threshold, idx, -hangover - 1))
    return int(np.count_nonzero(idx - last <= hangover))


def active_speech_level(x: np.ndarray, sr: int) -> float:
    """Active speech level of ``x`` (``(samples,)`` or ``(channels, samples)``, downmixed) in dBov.

    ``-inf`` for digital silence. See the module docstring for the method.

    Examples
    --------
    >>> active_speech_level(np.sign(np.sin(np.arange(16000))), 16000)   # a full-scale square wave: ~0 dBov
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    energy = float(np.sum(x * x))
    if energy == 0.0 or x.size == 0:
        return -np.inf
    env = envelope(x, sr)
    hang = round(HANGOVER_S * sr)
    a_list: list[float] = []
    delta_list: list[float] = []
    for c_db in THRESHOLDS_DB:
        n = _activity(env, 10 ** (c_db / 20), hang)
        if n == 0:
            break
        a = 10 * np.log10(energy / n)
        a_list.append(a)
        delta_list.append(a - c_db)
        if delta_list[-1] <= MARGIN_DB:  # the first crossing of the margin is all that is needed
            break
    a_db, delta = np.asarray(a_list), np.asarray(delta_list)
    below = np.nonzero(delta <= MARGIN_DB)[0]
    if not below.size:  # never reaches the margin: everything is active
        return float(a_db[-1])
    j = below[0]
    if j == 0:
        return float(a_db[0])
    w = (delta[j - 1] - MARGIN_DB) / (delta[j - 1] - delta[j])
    return float(a_db[j - 1] + w * (a_db[j] - a_db[j - 1]))


def normalize_level(x: np.ndarray, sr: int, *, target_dbov: float = TARGET_DBOV) -> np.ndarray:
    """``x`` scaled so that its active speech level is ``target_dbov`` (dBov); same shape, float32.

    A silent input is returned unchanged. A peak beyond full scale after the gain is warned about (and would
    be clipped when written as 16-bit PCM).
    """
    level = active_speech_level(x, sr)
    if not np.isfinite(level):
        return np.asarray(x, dtype=np.float32)
    y = np.asarray(x, dtype=np.float64) * 10 ** ((target_dbov - level) / 20)
    peak = float(np.max(np.abs(y)))
    if peak > 1.0:
        warnings.warn(f"normalize_level: peak {20 * np.log10(peak):+.1f} dBFS at {target_dbov} dBov active level")
    return y.astype(np.float32)
