"""Speaker similarity ``spk_sim``: does the enhanced speech still sound like the same talker?

The cosine of two Resemblyzer speaker embeddings (the GE2E d-vector encoder of Wan et al., ICASSP 2018, as
trained and released by Resemble AI): one of the clean reference, one of the estimate. Enhancement that removes
noise but also the voice's timbre lowers it; the URGENT challenges report the same measure as "SpkSim" (with
another encoder, so the numbers are not comparable across toolkits).

Each signal goes through Resemblyzer's own calls: ``preprocess_wav(x, source_sr=sr)`` (librosa resampling to
16 kHz, level raised to -30 dBFS when quieter, long silences cut by WebRTC VAD), then
``VoiceEncoder.embed_utterance`` (40-band mel frames, 1.6 s partials at 1.3 per second through a 3-layer LSTM, the
L2-normalised mean of the partial embeddings). Embeddings are non-negative unit vectors, so the cosine lies in
0..1 and is high even between different talkers (two VoiceBank talkers: 0.55; one talker's clean and noisy speech:
0.995): read it as a change against the noisy input, not on its own.

Weights: ``weights/resemblyzer/pretrained.pt`` from inside the ``resemblyzer`` 0.1.4 wheel (Apache-2.0), resolved
through :mod:`setoolkit.assets` and checked by sha256 before the encoder loads it. The reference's embedding is
memoised on its samples (a clean file is embedded once however many models are scored against it).

Examples
--------
>>> spk_sim(clean, noisy, 16000)          # vbd16k p232_001
0.995
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import warnings
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from ..assets import fetch
from ..registry import require_extras
from .pairs import degenerate, equal_length
from .registry import Metric

#: The encoder's weights (asset name; the file inside the resemblyzer wheel).
WEIGHTS = "weights/resemblyzer/pretrained.pt"
#: Signals shorter than this (seconds) are not scored: one 1.6 s partial would be mostly zero padding.
MIN_SECONDS = 0.5

_lock = threading.Lock()
_memo: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
_MEMO_SIZE = 256


@lru_cache(maxsize=2)
def _encoder(mirror: str | None = None):
    """Resemblyzer's ``VoiceEncoder`` on CPU with the verified weights (a ``mirror`` folder searched first), and
    its ``preprocess_wav``."""
    require_extras(["speaker"], "the spk_sim metric")
    from resemblyzer import VoiceEncoder, preprocess_wav

    return VoiceEncoder("cpu", verbose=False, weights_fpath=fetch(WEIGHTS, mirror=mirror)), preprocess_wav


def embedding(x: np.ndarray, sr: int, *, mirror: str | os.PathLike | None = None) -> np.ndarray:
    """Resemblyzer embedding ``(256,)`` float32, unit norm, of a mono signal ``(samples,)`` at ``sr`` Hz:
    ``VoiceEncoder.embed_utterance(preprocess_wav(x, source_sr=sr))``. An all-zero result (no voiced frame
    survived the VAD) is returned as NaN."""
    with _lock:
        encoder, preprocess = _encoder(str(mirror) if mirror else None)
        wav = preprocess(np.asarray(x, dtype=np.float32), source_sr=sr)
        if len(wav) == 0:
            return np.full(256, np.nan, dtype=np.float32)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return encoder.embed_utterance(wav)


def _reference_embedding(ref: np.ndarray, sr: int, mirror) -> np.ndarray:
    """:func:`embedding` of the reference, memoised on its samples and rate."""
    key = (hashlib.sha1(np.ascontiguousarray(ref, dtype=np.float32).tobytes()).hexdigest(), sr)
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    emb = embedding(ref, sr, mirror=mirror)
    with _lock:
        _memo[key] = emb
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return emb


def spk_sim(ref, est, sr: int, *, mirror: str | os.PathLike | None = None) -> float:
    """Cosine similarity (0..1, higher is better) of the Resemblyzer speaker embeddings of ``ref`` and ``est``.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding, see :mod:`.pairs`); the
        level does not matter (both are brought to -30 dBFS when quieter).
    sr : int
        Sample rate in Hz; resampled to 16 kHz by Resemblyzer's ``preprocess_wav``.
    mirror : path, optional
        A folder holding ``weights/resemblyzer/pretrained.pt``, searched before the installed wheel.

    Returns
    -------
    float
        The cosine; NaN with a warning for an all-zero signal, one shorter than 0.5 s, or one in which the VAD
        found no speech.

    Examples
    --------
    >>> spk_sim(clean, noisy, 16000)      # vbd16k p232_001
    0.995
    """
    ref, est = equal_length(ref, est)
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    if degenerate("spk_sim", ref, est):
        return math.nan
    if len(ref) < MIN_SECONDS * sr:
        warnings.warn(f"spk_sim needs at least {MIN_SECONDS} s, got {len(ref) / sr:.3f} s; returning NaN")
        return math.nan
    a, b = _reference_embedding(ref, sr, mirror), embedding(est, sr, mirror=mirror)
    value = float(np.dot(a, b))
    if not math.isfinite(value):
        warnings.warn("spk_sim: no speech found by the VAD in the reference or the estimate; returning NaN")
        return math.nan
    return value


#: This metric's record (:mod:`setoolkit.metrics.registry`); cost in CPU-seconds per 3 s clip
#: (measured: 0.024 per audio-second, both signals embedded).
METRICS = (
    Metric(
        name="spk_sim",
        compute=lambda ref, est, sr, mirror=None: spk_sim(ref, est, sr, mirror=mirror),
        label="speaker similarity",
        unit="cosine",
        digits=3,
        rate=None,  # Resemblyzer's preprocess_wav resamples (librosa) as its own calls do
        extra="speaker",
        libraries=("resemblyzer", "librosa", "webrtcvad-wheels", "torch"),
        weights=(WEIGHTS,),
        cost=0.07,
        load=lambda mirror=None: _encoder(str(mirror) if mirror else None),
    ),
)
