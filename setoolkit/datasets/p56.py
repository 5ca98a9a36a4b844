"""Active speech level by ITU-T P.56 method B (the speech voltmeter of the ITU-T STL, ``sv-p56.c``).

The level of speech over the time it is active, not over its pauses: two cascaded one-pole smoothers (time
constant 30 ms) give the envelope of ``|x|``; a sample is active at threshold ``c`` while the envelope is at or
above ``c`` or less than 200 ms (the hangover) after it last was; the active level is the energy over the active
samples at the threshold that sits 15.9 dB (the margin) below it, found between the 15 thresholds
``2**-15 ... 2**-1`` (6 dB apart, full scale = 1) by the STL's bisection. Mixing two talkers at their active
levels makes an SIR independent of how long each one pauses.

Examples
--------
>>> level_db, activity = active_level(speech, 16000)    # dB re full scale (dBov), fraction of samples active
>>> speech * 10 ** ((-26 - level_db) / 20)              # speech at -26 dBov active level
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

#: Time constant of the envelope smoothers (s), hangover (s), margin (dB) and number of thresholds (P.56 method B).
TIME_CONSTANT, HANGOVER, MARGIN, THRESHOLDS = 0.03, 0.20, 15.9, 15
#: Tolerance (dB) of the STL's bisection between two thresholds.
TOLERANCE = 0.5
#: The level :func:`active_level` returns for silence (dBov), as the STL does.
SILENCE_DB = -100.0
_LOG_OFFSET = 1e-20


def _bisect(up_count: float, low_count: float, up_thr: float, low_thr: float, margin: float, tol: float) -> float:
    """The STL's ``bin_interp`` (v2.3): the level (dB) between two thresholds where level - threshold = margin."""
    if abs(up_count - up_thr - margin) < tol:
        return up_count
    if abs(low_count - low_thr - margin) < tol:
        return low_count
    mid_count, mid_thr = (up_count + low_count) / 2, (up_thr + low_thr) / 2
    diff, iterations = mid_count - mid_thr - margin, 1
    while abs(diff) > tol:
        iterations += 1
        if iterations > 20:
            tol *= 1.1
        if diff > tol:
            mid_count, mid_thr = (up_count + mid_count) / 2, (up_thr + mid_thr) / 2
            low_count, low_thr = mid_count, mid_thr
        elif diff < -tol:
            mid_count, mid_thr = (mid_count + low_count) / 2, (mid_thr + low_thr) / 2
            up_count, up_thr = mid_count, mid_thr
        diff = mid_count - mid_thr - margin
    return mid_count


def activity_counts(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds ``c`` (15, ascending, full scale = 1) and the number of active samples at each (P.56 process 2).

    ``x``: ``(samples,)`` at ``sr`` Hz. A sample counts at threshold ``c[j]`` when the envelope is >= ``c[j]`` or
    the envelope last was within the hangover (``round(0.2 * sr)`` samples) before it, exactly as the STL's loop.
    """
    g = math.exp(-1.0 / (sr * TIME_CONSTANT))
    p = lfilter([1 - g], [1, -g], np.abs(np.asarray(x, dtype=np.float64)))
    q = lfilter([1 - g], [1, -g], p)
    hang = math.floor(HANGOVER * sr + 0.5)
    c = 0.5 ** np.arange(THRESHOLDS, 0, -1, dtype=np.float64)
    idx = np.arange(q.size)
    counts = np.zeros(THRESHOLDS, dtype=np.int64)
    for j, thr in enumerate(c):
        last = np.maximum.accumulate(np.where(q >= thr, idx, -(hang + 1) - q.size))
        counts[j] = int(np.count_nonzero(idx - last <= hang))
    return c, counts


def active_level(x: np.ndarray, sr: int, *, tol: float = TOLERANCE) -> tuple[float, float]:
    """Active speech level of ``x`` by ITU-T P.56 method B.

    Parameters
    ----------
    x : ndarray, shape ``(samples,)``, full scale = 1
    sr : sample rate in Hz
    tol : the bisection's tolerance in dB (the STL's 0.5 dB)

    Returns
    -------
    level_db : active speech level in dB re full scale (dBov: a full-scale sine is -3 dB); :data:`SILENCE_DB`
        for silence or a signal that is never active at the lowest threshold
    activity : fraction of the samples that are active (0 to 1)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"active_level: x must be (samples,) with samples > 0, got shape {x.shape}")
    if sr <= 0:
        raise ValueError(f"active_level: sr={sr} Hz must be positive")
    sq = float(np.dot(x, x))
    long_term = 10 * math.log10(sq / x.size + _LOG_OFFSET)
    c, a = activity_counts(x, sr)
    a_db = 10 * np.log10(sq / np.maximum(a, 1) + _LOG_OFFSET)
    c_db = 20 * np.log10(c + _LOG_OFFSET)
    if a[0] == 0 or a_db[0] - c_db[0] < MARGIN:  # never active, or too quiet for the lowest threshold: silence
        return SILENCE_DB, 0.0
    for j in range(1, THRESHOLDS):
        if a[j] != 0 and a_db[j] - c_db[j] <= MARGIN:
            level = _bisect(a_db[j], a_db[j - 1], c_db[j], c_db[j - 1], MARGIN, tol)
            return float(level), float(min(1.0, 10 ** ((long_term - level) / 10)))
    return SILENCE_DB, 0.0


def scale_to_level(x: np.ndarray, sr: int, level_db: float) -> tuple[np.ndarray, float]:
    """``x`` scaled so its P.56 active level is ``level_db`` (dBov), and the linear gain applied.

    Raises ``ValueError`` for a silent ``x`` (no active level to scale)."""
    measured, _ = active_level(x, sr)
    if measured <= SILENCE_DB:
        raise ValueError("scale_to_level: the signal is silent (no active speech level)")
    gain = 10 ** ((level_db - measured) / 20)
    return np.asarray(x, dtype=np.float64) * gain, gain
