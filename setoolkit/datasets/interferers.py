"""Pure mixing functions for interfering-talker sets: cut or place a source, babble, mix at an SIR and an SNR.

Every level is set by ITU-T P.56 active speech level (:mod:`.p56`): the target at ``target_level_db``, a
competing talker (or the babble) ``sir_db`` below it, so the SIR does not depend on how long either one pauses.
Noise is set by its RMS level ``snr_db`` below the target's active level (noise has no pauses to skip). The
clean reference is the target alone; the function returns every component, so ``noisy = clean + interferer +
noise`` exactly (before the writer's 16-bit rounding).

Examples
--------
>>> seg = segment(other_speaker, len(target), offset=1200)          # (samples,) at the target's length
>>> parts = mix(target, seg, sr=16000, sir_db=5.0)
>>> parts["noisy"], parts["clean"], parts["interferer"]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .p56 import active_level

#: Active speech level of the target in every mixture (dBov; ITU-T P.56's customary -26 dBov).
TARGET_LEVEL_DB = -26.0
#: Largest absolute sample a mixture may reach; louder mixtures are scaled down as a whole (all components alike).
PEAK_LIMIT = 0.99


def rms_db(x: np.ndarray) -> float:
    """RMS level of ``x`` (``(samples,)``) in dB re full scale (-inf for silence)."""
    x = np.asarray(x, dtype=np.float64)
    ms = float(np.mean(x * x)) if x.size else 0.0
    return 10 * np.log10(ms) if ms > 0 else -np.inf


def segment(x: np.ndarray, length: int, offset: int) -> np.ndarray:
    """``length`` samples of ``x`` (``(samples,)``): when ``x`` is at least that long, ``x[offset:offset+length]``;
    when it is shorter, ``x`` placed at ``offset`` in silence. ``offset`` must keep the result inside ``x``
    (longer ``x``) or ``x`` inside the result (shorter ``x``): anything else is a ``ValueError``."""
    x = np.asarray(x, dtype=np.float64)
    if length <= 0:
        raise ValueError(f"segment: length={length} samples must be positive")
    if x.size >= length:
        if not 0 <= offset <= x.size - length:
            raise ValueError(f"segment: offset={offset} outside [0, {x.size - length}] for {x.size} samples")
        return x[offset : offset + length].copy()
    if not 0 <= offset <= length - x.size:
        raise ValueError(f"segment: offset={offset} outside [0, {length - x.size}] to place {x.size} samples")
    out = np.zeros(length)
    out[offset : offset + x.size] = x
    return out


def fade(x: np.ndarray, sr: int, *, ms: float = 10.0, start: bool = True, end: bool = True) -> np.ndarray:
    """``x`` (``(samples,)``) with raised-cosine ramps of ``ms`` milliseconds at its start and/or end (a cut that
    falls inside speech then does not click)."""
    x = np.asarray(x, dtype=np.float64).copy()
    n = min(int(round(ms * sr / 1000)), x.size // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        if start:
            x[:n] *= ramp
        if end:
            x[-n:] *= ramp[::-1]
    return x


def concatenate(utterances: Sequence[np.ndarray], *, gap: int = 0) -> np.ndarray:
    """The ``(samples,)`` utterances one after another with ``gap`` samples of silence between them."""
    parts: list[np.ndarray] = []
    for i, u in enumerate(utterances):
        if i and gap:
            parts.append(np.zeros(gap))
        parts.append(np.asarray(u, dtype=np.float64))
    if not parts:
        raise ValueError("concatenate: no utterances")
    return np.concatenate(parts)


def babble(talkers: Sequence[np.ndarray], sr: int) -> tuple[np.ndarray, list[float]]:
    """Babble: the sum of ``talkers`` (each ``(samples,)``, one length), each first brought to one P.56 active
    level (:data:`TARGET_LEVEL_DB`), so no talker stands out. Returns the sum and each talker's gain."""
    if len(talkers) < 2:
        raise ValueError(f"babble: needs at least 2 talkers, got {len(talkers)}")
    n = {len(t) for t in talkers}
    if len(n) != 1:
        raise ValueError(f"babble: talkers differ in length ({sorted(n)} samples)")
    out = np.zeros(n.pop())
    gains = []
    for t in talkers:
        level, _ = active_level(t, sr)
        g = 10 ** ((TARGET_LEVEL_DB - level) / 20)
        out += g * np.asarray(t, dtype=np.float64)
        gains.append(float(g))
    return out, gains


def mix(
    target: np.ndarray,
    interferer: np.ndarray | None,
    *,
    sr: int,
    sir_db: float | None = None,
    noise: np.ndarray | None = None,
    snr_db: float | None = None,
    target_level_db: float = TARGET_LEVEL_DB,
    peak: float = PEAK_LIMIT,
) -> dict:
    """Mix ``target`` with a competing ``interferer`` at ``sir_db`` (P.56 active levels) and/or ``noise`` at
    ``snr_db`` (noise RMS below the target's active level). All inputs ``(samples,)`` of one length at ``sr`` Hz.

    Returns a dict of ``(samples,)`` float64 arrays ``noisy, clean, interferer, noise`` (zeros for an absent
    component) and the numbers a recipe records: ``target_gain, interferer_gain, noise_gain`` (linear, peak
    scaling included), ``peak_scale`` (<= 1: the whole mixture's scaling to stay under ``peak``), the measured
    ``target_level_db, interferer_level_db`` (P.56, after scaling), ``noise_rms_db``, ``sir_measured_db`` and
    ``snr_measured_db``. Raises ``ValueError`` for mismatched lengths, a silent target or interferer, or a level
    given without its signal.
    """
    t = np.asarray(target, dtype=np.float64)
    n = t.size
    for name, x in (("interferer", interferer), ("noise", noise)):
        if x is not None and np.asarray(x).shape != (n,):
            raise ValueError(f"mix: {name} has shape {np.asarray(x).shape}, the target ({n},)")
    if (interferer is None) != (sir_db is None) or (noise is None) != (snr_db is None):
        raise ValueError("mix: give sir_db with an interferer and snr_db with noise")
    t_level, _ = active_level(t, sr)
    if t_level <= -100:
        raise ValueError("mix: the target is silent")
    gains = {"target_gain": 10 ** ((target_level_db - t_level) / 20), "interferer_gain": 0.0, "noise_gain": 0.0}
    clean = t * gains["target_gain"]
    v = np.zeros(n)
    if interferer is not None:
        assert sir_db is not None
        i_level, _ = active_level(np.asarray(interferer, dtype=np.float64), sr)
        if i_level <= -100:
            raise ValueError("mix: the interferer is silent")
        gains["interferer_gain"] = 10 ** ((target_level_db - sir_db - i_level) / 20)
        v = np.asarray(interferer, dtype=np.float64) * gains["interferer_gain"]
    e = np.zeros(n)
    if noise is not None:
        assert snr_db is not None
        level = rms_db(noise)
        if not np.isfinite(level):
            raise ValueError("mix: the noise is silent")
        gains["noise_gain"] = 10 ** ((target_level_db - snr_db - level) / 20)
        e = np.asarray(noise, dtype=np.float64) * gains["noise_gain"]
    noisy = clean + v + e
    top = float(np.max(np.abs(noisy)))
    scale = min(1.0, peak / top) if top > 0 else 1.0
    clean, v, e, noisy = clean * scale, v * scale, e * scale, noisy * scale
    out: dict = {"noisy": noisy, "clean": clean, "interferer": v, "noise": e, "peak_scale": scale}
    out.update({k: g * scale for k, g in gains.items()})
    out["target_level_db"] = active_level(clean, sr)[0]
    out["interferer_level_db"] = active_level(v, sr)[0] if interferer is not None else None
    out["noise_rms_db"] = rms_db(e) if noise is not None else None
    out["sir_measured_db"] = out["target_level_db"] - out["interferer_level_db"] if interferer is not None else None
    out["snr_measured_db"] = out["target_level_db"] - out["noise_rms_db"] if noise is not None else None
    return out


def quantize16(x: np.ndarray) -> np.ndarray:
    """``x`` (full scale = 1) as 16-bit integers, rounded half to even and clipped, exactly what reading the
    written file back (``int / 32768``) returns."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)
