"""Does speech enhancement help emotion recognition? Mix test utterances with real noise at known SNRs, enhance
them with setoolkit models, and score classifiers trained on clean speech on clean, noisy and enhanced input.

The SNR is the ratio of the whole clean clip's energy to the added noise's energy over the same samples
(``10 log10(sum s^2 / sum n^2)``); :func:`mix_at_snr` returns the mixture and the scaled noise so a test can
measure it back.

Examples
--------
>>> noises = load_noises()                                      # {name: (samples,)} at 16 kHz
>>> noisy = mix_batch(audio, noises, snr_db=5, seed=0)          # (utterances, samples)
>>> enhanced = enhance_batch(setoolkit.load("gtcrn"), noisy, 16000)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..assets import dataset_files
from ..audio import read, resample, to_mono
from ..errors import AudioError
from ..metrics import snr
from .datasets import DatasetError


def load_noises(root: str | os.PathLike | None = None, *, sr: int = 16000) -> dict[str, np.ndarray]:
    """Every wav in ``root`` (default: the registry's ``data/noise`` recordings, sha256-verified, from the mirror
    or cache) as mono float32 ``(samples,)`` at ``sr`` Hz, keyed by file stem, sorted by name."""
    if root is None:
        files = dataset_files("noise")
    else:
        files = sorted(Path(root).glob("*.wav"))
        if not files:
            raise DatasetError(f"noise folder {root} holds no .wav files")
    out = {}
    for f in files:
        x, file_sr = read(f)
        out[f.stem] = resample(to_mono(x), file_sr, sr)[0]
    return out


def mix_at_snr(
    speech: np.ndarray, noise: np.ndarray, snr_db: float, *, offset: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Add ``noise`` to ``speech`` at ``snr_db``.

    Parameters
    ----------
    speech : ``(samples,)`` float32
    noise : ``(noise_samples,)``; the segment starting at ``offset`` is used (looped when too short)
    snr_db : target 10 log10(speech energy / noise energy) over the clip, dB

    Returns ``(mixture (samples,), scaled_noise (samples,))``, float32. Raises AudioError for silent speech
    or silent noise (the SNR would be undefined).
    """
    s = np.asarray(speech, dtype=np.float64).reshape(-1)
    n_all = np.asarray(noise, dtype=np.float64).reshape(-1)
    if n_all.size == 0:
        raise AudioError("noise: empty array")
    idx = (offset + np.arange(s.size)) % n_all.size
    n = n_all[idx]
    ps, pn = np.sum(s**2), np.sum(n**2)
    if ps <= 0:
        raise AudioError("speech: silent clip (zero energy), SNR undefined")
    if pn <= 0:
        raise AudioError("noise: silent segment (zero energy), SNR undefined")
    n = n * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    return (s + n).astype(np.float32), n.astype(np.float32)


def measured_snr(speech: np.ndarray, mixture: np.ndarray) -> float:
    """10 log10(speech energy / (mixture - speech) energy), dB: :func:`setoolkit.metrics.snr`."""
    return snr(speech, mixture)


def mix_batch(
    audio: np.ndarray, noises: dict[str, np.ndarray], snr_db: float, *, seed: int = 0, peak_limit: float | None = None
) -> np.ndarray:
    """Mix every row of ``audio (utterances, samples)`` with one noise at ``snr_db``: noise type ``i % n_types``
    for utterance ``i``, random offset from ``seed`` (the same for every SNR, so SNR conditions differ only in the
    noise level). The speech keeps its level (loudness is an emotion cue), so a mixture may peak above 1.0; with
    ``peak_limit`` a mixture peaking above it is scaled down as a whole (SNR unchanged, speech level not).
    Returns float32 ``(utterances, samples)``."""
    names = sorted(noises)
    rng = np.random.default_rng(seed)
    out = np.empty_like(np.asarray(audio, dtype=np.float32))
    for i, x in enumerate(audio):
        noise = noises[names[i % len(names)]]
        mix, _ = mix_at_snr(x, noise, snr_db, offset=int(rng.integers(0, noise.size)))
        peak = np.max(np.abs(mix))
        out[i] = mix * (peak_limit / peak) if peak_limit is not None and peak > peak_limit else mix
    return out


def enhance_batch(model, audio: np.ndarray, sr: int) -> np.ndarray:
    """``model.enhance`` (a setoolkit :class:`~setoolkit.models.common.base.Enhancer`) on every row of ``audio``
    ``(utterances, samples)`` at ``sr`` Hz; returns float32 ``(utterances, samples)``."""
    return np.stack([np.asarray(model.enhance(x, sr), dtype=np.float32).reshape(-1) for x in audio])
