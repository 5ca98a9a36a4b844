"""NISQA v2: non-intrusive speech quality of one signal, overall MOS and four quality dimensions.

NISQA (Mittag, Naderi, Chehadi, Möller, Interspeech 2021) predicts, from the degraded signal alone, the overall
MOS and the P.804 dimensions noisiness, discontinuity, coloration and loudness, each on a 1..5 scale (higher is
better: a high ``nisqa_noi`` means *little* noise). Five columns: ``nisqa_mos``, ``nisqa_noi``, ``nisqa_dis``,
``nisqa_col``, ``nisqa_loud``.

Weights: ``weights/nisqa/nisqa.tar`` (gabrielmittag/NISQA@fe84f0f ``weights/``), fetched through
:mod:`setoolkit.assets` and checked by sha256. **The weights are licensed CC BY-NC-SA 4.0 (non-commercial,
share-alike)**; the upstream code is MIT. setoolkit runs its own implementation of the network
(:mod:`setoolkit.metrics.nisqa_network`) and of the front end below; it equals upstream's ``run_predict.py``
within 0.01 on real files (tests/metrics/test_nisqa.py).

Front end, as upstream (``NISQA_lib.get_librosa_melspec`` and ``segment_specs`` with the checkpoint's args):
the signal at its own rate (the checkpoint has ``ms_sr=None``: no resampling), a magnitude STFT with a periodic
Hann window of 20 ms inside a 4096-point FFT, 10 ms hop, centred frames with reflect padding; 48 Slaney mel bands
up to 20 kHz (bands above the Nyquist frequency of a low-rate file stay empty, as in librosa); 20 log10 with
floor 1e-4 and an 80 dB range below the recording's maximum; 15-frame segments taken every 4 frames.
A signal needs at least 15 frames (140 ms plus one hop). Upstream refuses recordings of more than 1300 segments
(about 52 s); the network has no positional encoding and setoolkit scores longer ones the same way.

Examples
--------
>>> nisqa(noisy, 16000)          # vbd16k p232_001
{'nisqa_mos': 3.38, 'nisqa_noi': 2.60, 'nisqa_dis': 4.21, 'nisqa_col': 3.91, 'nisqa_loud': 3.95}
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from functools import lru_cache

import numpy as np

from ..assets import fetch
from ..errors import MetricError
from ..registry import require_extras
from .pairs import is_silent, mono
from .registry import Metric

#: The weight file (asset name) and its license, as the report and the metric's record state it.
WEIGHTS = "weights/nisqa/nisqa.tar"
WEIGHTS_LICENSE = "CC BY-NC-SA 4.0 (NISQA model weights; non-commercial, share-alike)"
#: Output columns, in the network's output order.
COLUMNS = ("nisqa_mos", "nisqa_noi", "nisqa_dis", "nisqa_col", "nisqa_loud")

_lock = threading.Lock()


@lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmax: float, fmin: float = 0.0) -> np.ndarray:
    """Slaney mel filterbank ``(n_mels, n_fft // 2 + 1)`` float32, as ``librosa.filters.mel(norm="slaney",
    htk=False)``: area-normalised triangles on the Slaney mel scale from ``fmin`` to ``fmax`` Hz (a band
    above ``sr / 2`` is all zeros)."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f: float) -> float:
        return min_log_mel + np.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp

    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    freqs = np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels)
    fdiff = np.diff(freqs)
    ramps = np.subtract.outer(freqs, np.fft.rfftfreq(n_fft, 1.0 / sr))
    weights = np.zeros((n_mels, n_fft // 2 + 1), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (freqs[2 : n_mels + 2] - freqs[:n_mels]))[:, np.newaxis]
    return weights


def mel_spectrogram(
    x: np.ndarray,
    sr: int,
    *,
    n_fft: int = 4096,
    hop_s: float = 0.01,
    win_s: float = 0.02,
    n_mels: int = 48,
    fmax: float = 20000.0,
) -> np.ndarray:
    """NISQA's log-mel spectrogram ``(n_mels, 1 + samples // hop)`` in dB of a mono signal ``(samples,)``.

    Window ``int(sr * win_s)`` samples (periodic Hann, centred in ``n_fft``), hop ``int(sr * hop_s)``, centred
    frames with reflect padding of ``n_fft // 2``; magnitude (not power) through :func:`mel_filterbank`; then
    ``20 log10(max(1e-4, S))`` clipped to 80 dB below its maximum. The FFT of a window zero-padded to ``n_fft``
    has the same magnitude wherever the window sits in the frame, so only the window's samples are framed.
    """
    hop, win = int(sr * hop_s), int(sr * win_s)
    padded = np.pad(np.asarray(x, dtype=np.float64), n_fft // 2, mode="reflect")
    n_frames = 1 + len(x) // hop
    start = (n_fft - win) // 2  # where librosa's pad_center puts the window inside each n_fft frame
    frames = np.lib.stride_tricks.sliding_window_view(padded[start:], win)[::hop][:n_frames]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    magnitude = np.abs(np.fft.rfft(frames * hann, n=n_fft, axis=-1))  # (frames, n_fft // 2 + 1)
    mel = mel_filterbank(sr, n_fft, n_mels, fmax).astype(np.float64) @ magnitude.T
    db = 20.0 * np.log10(np.maximum(1e-4, mel))
    return np.maximum(db, db.max() - 80.0)


def segments(spec: np.ndarray, seg_length: int = 15, seg_hop: int = 4) -> np.ndarray:
    """Overlapping segments ``(windows, 1, n_mels, seg_length)`` float32 of a spectrogram ``(n_mels, frames)``:
    window ``k`` holds frames ``k * seg_hop ... k * seg_hop + seg_length - 1``; ``windows = ceil((frames -
    seg_length + 1) / seg_hop)``. Fewer than ``seg_length`` frames is a :class:`MetricError`."""
    n_wins = spec.shape[1] - (seg_length - 1)
    if n_wins < 1:
        raise MetricError(f"NISQA needs at least {seg_length} frames (frames are 10 ms apart); got {spec.shape[1]}")
    view = np.lib.stride_tricks.sliding_window_view(spec, seg_length, axis=1)  # (n_mels, n_wins, seg_length)
    return np.ascontiguousarray(view[:, ::seg_hop].transpose(1, 0, 2)[:, None], dtype=np.float32)


@lru_cache(maxsize=2)
def _model(mirror: str | None = None):
    """The network and its checkpoint args, loaded once per process from the verified weight file (looked up in
    ``mirror`` first when given, then as :func:`setoolkit.assets.fetch` looks)."""
    require_extras(["nisqa"], "the nisqa metric")
    import torch

    from ..models.common.checkpoints import load_torch_checkpoint
    from .nisqa_network import build

    checkpoint = load_torch_checkpoint(fetch(WEIGHTS, mirror=mirror))
    args = checkpoint["args"]
    net = build(args)
    net.load_state_dict(checkpoint["model_state_dict"], strict=True)
    net.eval()
    return net, args, torch


def nisqa(x, sr: int, *, mirror: str | os.PathLike | None = None) -> dict[str, float]:
    """NISQA v2 scores of one speech signal, no reference needed.

    Parameters
    ----------
    x : np.ndarray, shape ``(samples,)`` or ``(1, samples)``
        Mono speech at ``sr`` Hz, full scale 1.0 (the level matters: NISQA rates loudness).
    sr : int
        Sample rate in Hz, used as is (NISQA's front end works at any rate).
    mirror : path, optional
        A folder holding ``weights/nisqa/nisqa.tar`` (see :mod:`setoolkit.assets`), searched first.

    Returns
    -------
    dict
        ``nisqa_mos``, ``nisqa_noi``, ``nisqa_dis``, ``nisqa_col``, ``nisqa_loud``: predicted 1..5 scores (higher is
        better); all NaN with a warning for an all-zero signal or one shorter than 15 frames (about 0.15 s).

    Examples
    --------
    >>> nisqa(noisy, 16000)["nisqa_mos"]      # vbd16k p232_001 (its clean file: 4.76)
    3.38
    """
    x = mono(x, "signal")
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    nan = dict.fromkeys(COLUMNS, math.nan)
    if is_silent(x):
        warnings.warn("NISQA of an all-zero signal is undefined; returning NaN")
        return nan
    if len(x) // int(sr * 0.01) + 1 < 15:
        warnings.warn(f"NISQA needs at least 0.15 s, got {len(x) / sr:.3f} s; returning NaN")
        return nan
    with _lock:
        net, args, torch = _model(str(mirror) if mirror else None)
        spec = mel_spectrogram(
            x,
            sr,
            n_fft=args["ms_n_fft"],
            hop_s=args["ms_hop_length"],
            win_s=args["ms_win_length"],
            n_mels=args["ms_n_mels"],
            fmax=args["ms_fmax"],
        )
        segs = segments(spec, args["ms_seg_length"], args["ms_seg_hop_length"])
        with torch.inference_mode():
            out = net(torch.from_numpy(segs)[None])[0].tolist()
    return dict(zip(COLUMNS, out, strict=True))


#: This metric's record (:mod:`setoolkit.metrics.registry`): columns, extra, weights, cost
#: (CPU-seconds per 3 s clip, measured: 0.021 per audio-second at 16 kHz, 0.030 at 48 kHz).
METRICS = (
    Metric(
        name="nisqa",
        compute=lambda est, sr, mirror=None: nisqa(est, sr, mirror=mirror),
        intrusive=False,
        columns=COLUMNS,
        label="NISQA",
        unit="MOS",
        column_labels={
            "nisqa_mos": "NISQA MOS",
            "nisqa_noi": "NISQA noisiness",
            "nisqa_dis": "NISQA discontinuity",
            "nisqa_col": "NISQA coloration",
            "nisqa_loud": "NISQA loudness",
        },
        rate=None,  # its front end works at the signal's own rate, as upstream's (ms_sr=None)
        extra="nisqa",
        libraries=("torch",),
        weights=(WEIGHTS,),
        cost=0.07,
        load=lambda mirror=None: _model(str(mirror) if mirror else None),
    ),
)
