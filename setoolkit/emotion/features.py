"""Features for emotion recognition: openSMILE functionals (eGeMAPSv02, ComParE 2016) and log-mel spectrograms.

Functionals are one vector per utterance; log-mels are ``(n_mels, frames)`` images for the learned models.
Feature extraction is the slow part of every experiment, so :func:`functionals` can cache its result on disk
keyed by a hash of the audio and the settings (pass ``cache_dir``; the repository ignores ``outputs/``).

Examples
--------
>>> X = functionals(audio, 16000)                      # (utterances, 88) eGeMAPSv02 functionals
>>> M = logmel(audio, 16000)                           # (utterances, 64, 201) log-mel, 25 ms / 10 ms
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import AudioError, FeatureError

FEATURE_SETS = ("eGeMAPSv02", "ComParE_2016", "GeMAPSv01b")


def _check_batch(audio, name: str = "audio") -> np.ndarray:
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] == 0:
        raise AudioError(f"{name}: expected (utterances, samples), got shape {tuple(np.shape(audio))}")
    if not np.isfinite(a).all():
        raise AudioError(f"{name}: holds NaN or Inf samples")
    return a


def audio_key(audio: np.ndarray, *parts) -> str:
    """Short sha1 of the audio bytes and any settings: the cache key of a feature matrix."""
    h = hashlib.sha1(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    for p in parts:
        h.update(repr(p).encode())
    return h.hexdigest()[:16]


def smile(feature_set: str = "eGeMAPSv02"):
    """An ``opensmile.Smile`` extracting utterance-level functionals of ``feature_set``."""
    import opensmile

    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set: {feature_set!r} is not one of {FEATURE_SETS}")
    return opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, feature_set), feature_level=opensmile.FeatureLevel.Functionals
    )


def feature_names(feature_set: str = "eGeMAPSv02") -> list[str]:
    """Names of the functionals of ``feature_set`` (88 for eGeMAPSv02)."""
    return list(smile(feature_set).feature_names)


def _extract_in_worker(audio: np.ndarray, sr: int, feature_set: str, folder: Path, k: int) -> np.ndarray:
    """Run :mod:`setoolkit.emotion.smile_worker` on ``audio`` ``(utterances, samples)`` in a fresh interpreter."""
    src, dst = folder / f"in{k}.npy", folder / f"out{k}.npy"
    np.save(src, audio)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the setoolkit package
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "setoolkit.emotion.smile_worker", str(src), str(dst), str(sr), feature_set],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise FeatureError(
            f"openSMILE {feature_set} worker failed (exit {done.returncode}): {done.stderr.strip()[-1500:]}"
        )
    return np.load(dst)


def functionals(
    audio,
    sr: int,
    *,
    feature_set: str = "eGeMAPSv02",
    cache_dir: str | Path | None = None,
    progress: bool = False,
    workers: int = 1,
    chunk: int = 128,
) -> np.ndarray:
    """OpenSMILE functionals, one row per utterance.

    Extraction runs in worker interpreters (:mod:`setoolkit.emotion.smile_worker`; openSMILE aborts a process
    that has imported TensorFlow), ``chunk`` utterances per worker, ``workers`` at a time.

    Parameters
    ----------
    audio : float32 ``(utterances, samples)`` (or one ``(samples,)`` clip), full scale 1.0
    sr : sample rate in Hz
    feature_set : ``"eGeMAPSv02"`` (88 features), ``"GeMAPSv01b"`` (62) or ``"ComParE_2016"`` (6373)
    cache_dir : folder for an ``.npy`` cache keyed by the audio hash and settings (None: no cache)

    Returns float32 ``(utterances, features)``.
    """
    from concurrent.futures import ThreadPoolExecutor

    a = _check_batch(audio)
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set: {feature_set!r} is not one of {FEATURE_SETS}")
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{feature_set}_{sr}_{audio_key(a, sr, feature_set)}.npy"
        if path.is_file():
            return np.load(path)
    starts = range(0, len(a), chunk)
    with (
        tempfile.TemporaryDirectory(prefix="setoolkit-smile-") as tmp,
        ThreadPoolExecutor(max_workers=max(1, min(workers, len(starts)))) as pool,
    ):
        parts = pool.map(
            lambda k: _extract_in_worker(a[starts[k] : starts[k] + chunk], sr, feature_set, Path(tmp), k),
            range(len(starts)),
        )
        if progress:
            from tqdm.auto import tqdm

            parts = tqdm(parts, total=len(starts), desc=feature_set, unit="chunk", leave=False)
        X = np.concatenate(list(parts))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = path.with_suffix(".tmp.npy")
        np.save(tmp_path, X)
        tmp_path.replace(path)
    return X


def logmel(
    audio,
    sr: int,
    *,
    n_mels: int = 64,
    win_ms: float = 25.0,
    hop_ms: float = 10.0,
    fmin: float = 50.0,
    fmax: float | None = None,
) -> np.ndarray:
    """Log-mel power spectrogram, ``log(mel + 1e-6)``, Hann window, HTK mel scale, centred frames.

    Parameters
    ----------
    audio : float32 ``(utterances, samples)``
    sr : sample rate in Hz; ``fmax`` defaults to ``sr / 2``

    Returns float32 ``(utterances, n_mels, frames)`` with ``frames = samples // hop + 1``.
    """
    import torch
    import torchaudio

    a = _check_batch(audio)
    win, hop = int(round(win_ms * sr / 1000)), int(round(hop_ms * sr / 1000))
    n_fft = 1 << (win - 1).bit_length()
    mel = torchaudio.transforms.MelSpectrogram(
        sr,
        n_fft=n_fft,
        win_length=win,
        hop_length=hop,
        f_min=fmin,
        f_max=fmax or sr / 2,
        n_mels=n_mels,
        power=2.0,
        center=True,
    )
    with torch.no_grad():
        out = [mel(torch.from_numpy(a[i : i + 64])) for i in range(0, len(a), 64)]
    return torch.log(torch.cat(out) + 1e-6).numpy().astype(np.float32)


def speaker_standardise(X, speakers) -> np.ndarray:
    """Standardise each speaker's rows with that speaker's own mean and std (speaker normalisation).

    ``X``: ``(utterances, features)``; ``speakers``: one id per row. Uses no labels, but it does use every
    utterance of the test speaker at once (transductive), so results with it are reported apart from the
    strictly per-utterance protocol. Returns float32 of the same shape.
    """
    X = np.asarray(X, dtype=np.float64)
    speakers = np.asarray(speakers).astype(str)
    out = np.empty_like(X)
    for s in np.unique(speakers):
        m = speakers == s
        out[m] = (X[m] - X[m].mean(0)) / (X[m].std(0) + 1e-8)
    return out.astype(np.float32)


def feature_shift(reference, clean, degraded, names=None):
    """How far a degradation moves each feature, in units of the ``reference`` (training) standard deviation:
    the median over utterances of ``|degraded - clean| / std(reference)``.

    ``reference``: ``(n_train, d)``; ``clean``, ``degraded``: ``(n, d)`` (the same utterances). Returns a pandas
    Series indexed by ``names`` (default: eGeMAPSv02 names when ``d == 88``), largest shift first. A classifier
    standardised on clean training data sees shifts of several units as out-of-distribution input.
    """
    import pandas as pd

    reference, clean, degraded = (np.asarray(v, dtype=np.float64) for v in (reference, clean, degraded))
    if clean.shape != degraded.shape or clean.shape[1] != reference.shape[1]:
        raise ValueError(f"shapes differ: reference {reference.shape}, clean {clean.shape}, degraded {degraded.shape}")
    shift = np.median(np.abs(degraded - clean), axis=0) / (reference.std(axis=0) + 1e-12)
    if names is None:
        names = feature_names() if clean.shape[1] == 88 else [f"f{i}" for i in range(clean.shape[1])]
    return pd.Series(shift, index=list(names)).sort_values(ascending=False)
