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

Batch form (:func:`spk_sim_batch`, the record's ``batch``): the partial utterances of every signal of a batch go
through the LSTM in one call (at most :data:`MAX_PARTIALS` partials per call) instead of one call per signal; each
signal's preprocessing, slicing and mean are Resemblyzer's own, so the cosines equal :func:`spk_sim`'s within
1e-6 (measured: 1.8e-7 on 32 vbd16k pairs). 1.5x less CPU on one thread (32 vbd16k pairs: 3.23 s per pair
one at a time, 2.13 s in batches of 16).

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
#: Partial utterances per LSTM call in :func:`embeddings` (bounds memory: 160 frames x 256 units x 3 layers each).
MAX_PARTIALS = 256

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


def embeddings(xs, sr: int, *, mirror: str | os.PathLike | None = None) -> list[np.ndarray]:
    """:func:`embedding` of each mono signal in ``xs`` (``(samples,)`` each, any lengths, at ``sr`` Hz), their
    partial utterances through the LSTM together: ``VoiceEncoder.embed_utterance``'s slicing (rate 1.3,
    coverage 0.75), mel frames and L2-normalised mean, one batched forward per :data:`MAX_PARTIALS` partials."""
    with _lock:
        encoder, preprocess = _encoder(str(mirror) if mirror else None)
        import torch
        from resemblyzer import audio

        parts: list[np.ndarray | None] = []
        for x in xs:
            wav = preprocess(np.asarray(x, dtype=np.float32), source_sr=sr)
            if len(wav) == 0:
                parts.append(None)
                continue
            wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), 1.3, 0.75)
            if wav_slices[-1].stop >= len(wav):
                wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)), "constant")
            mel = audio.wav_to_mel_spectrogram(wav)
            parts.append(np.array([mel[s] for s in mel_slices]))
        mels = [p for p in parts if p is not None]
        flat = np.concatenate(mels) if mels else np.zeros((0, 160, 40), dtype=np.float32)
        partial = []
        with torch.no_grad():
            for a in range(0, len(flat), MAX_PARTIALS):
                partial.append(encoder(torch.from_numpy(flat[a : a + MAX_PARTIALS])).cpu().numpy())
        partials = np.concatenate(partial) if partial else flat
    out, at = [], 0
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for p in parts:
            if p is None:
                out.append(np.full(256, np.nan, dtype=np.float32))
                continue
            raw = np.mean(partials[at : at + len(p)], axis=0)
            at += len(p)
            out.append(raw / np.linalg.norm(raw, 2))
    return out


def _memo_key(ref: np.ndarray, sr: int) -> tuple[str, int]:
    return hashlib.sha1(np.ascontiguousarray(ref, dtype=np.float32).tobytes()).hexdigest(), sr


def _remember(key: tuple[str, int], emb: np.ndarray) -> None:
    with _lock:
        _memo[key] = emb
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def _reference_embedding(ref: np.ndarray, sr: int, mirror) -> np.ndarray:
    """:func:`embedding` of the reference, memoised on its samples and rate."""
    key = _memo_key(ref, sr)
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    emb = embedding(ref, sr, mirror=mirror)
    _remember(key, emb)
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
    pair = _checked(ref, est, sr)
    if pair is None:
        return math.nan
    return _cosine(_reference_embedding(pair[0], sr, mirror), embedding(pair[1], sr, mirror=mirror))


def _checked(ref, est, sr: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The pair cut to equal length, or ``None`` (with a warning) when it cannot be scored."""
    ref, est = equal_length(ref, est)
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    if degenerate("spk_sim", ref, est):
        return None
    if len(ref) < MIN_SECONDS * sr:
        warnings.warn(f"spk_sim needs at least {MIN_SECONDS} s, got {len(ref) / sr:.3f} s; returning NaN")
        return None
    return ref, est


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    value = float(np.dot(a, b))
    if not math.isfinite(value):
        warnings.warn("spk_sim: no speech found by the VAD in the reference or the estimate; returning NaN")
        return math.nan
    return value


def spk_sim_batch(refs, ests, sr: int, *, mirror: str | os.PathLike | None = None) -> list[float]:
    """:func:`spk_sim` of each ``(refs[i], ests[i])`` pair (``(samples,)`` arrays at ``sr`` Hz, lengths may differ
    between pairs), the embeddings computed together (:func:`embeddings`): equal to calling :func:`spk_sim` on
    each pair within 1e-6, with the same NaN rules and warnings; references already embedded in this process
    come from the memo."""
    if len(refs) != len(ests):
        raise ValueError(f"spk_sim_batch: {len(refs)} references for {len(ests)} estimates")
    out = [math.nan] * len(ests)
    todo = [(i, p) for i, p in enumerate(_checked(r, e, sr) for r, e in zip(refs, ests)) if p is not None]
    keys = [_memo_key(p[0], sr) for _, p in todo]
    with _lock:
        known = {k: _memo[k] for k in keys if k in _memo}
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    first = {k: p[0] for k, (_, p) in zip(keys, todo)}
    embs = embeddings([first[k] for k in missing] + [p[1] for _, p in todo], sr, mirror=mirror)
    for k, emb in zip(missing, embs):
        known[k] = emb
        _remember(k, emb)
    for (i, _), k, emb in zip(todo, keys, embs[len(missing) :]):
        out[i] = _cosine(known[k], emb)
    return out


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
        batch=lambda refs, ests, sr, mirror=None: spk_sim_batch(refs, ests, sr, mirror=mirror),
    ),
)
