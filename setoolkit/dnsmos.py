"""DNSMOS: non-intrusive MOS of a recording (no clean reference), Microsoft's DNS Challenge models.

P.835 (``SIG`` speech quality, ``BAK`` background, ``OVRL`` overall; ``sig_bak_ovr.onnx`` on the raw
16 kHz waveform, mapped through the official calibration polynomials) and P.808 (``P808_MOS``;
``model_v8.onnx`` on a 120-band log-mel spectrogram). As upstream ``DNSMOS/dnsmos_local.py``: audio at
16 kHz, clips shorter than 9.01 s are repeated to that length, 9.01 s windows advance by 1 s, and the
per-window scores are averaged. Other rates are resampled with soxr first.

Examples
--------
>>> dnsmos(audio, 48000)      # {'SIG': 3.4, 'BAK': 3.9, 'OVRL': 3.0, 'P808_MOS': 3.5}
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .assets import fetch
from .audio import resample

SR = 16000
WINDOW_SECONDS = 9.01
HOP_SECONDS = 1.0

# Official calibration polynomials (highest power first), from DNSMOS/dnsmos_local.py
_POLY = {
    False: {"SIG": [-0.08397278, 1.22083953, 0.0052439], "BAK": [-0.13166888, 1.60915514, -0.39604546],
            "OVRL": [-0.06766283, 1.11546468, 0.04602535]},
    True: {"SIG": [-0.01019296, 0.02751166, 1.19576786, -0.24348726],
           "BAK": [-0.04976499, 0.44276479, -0.1644611, 0.96883132],
           "OVRL": [-0.00533021, 0.005101, 1.18058466, -0.11236046]},
}


@lru_cache(maxsize=2)
def _sessions(personalized: bool, mirror=None):
    from .models.runtimes import onnx_session

    primary = "weights/dnsmos/personalized/sig_bak_ovr.onnx" if personalized else "weights/dnsmos/p835/sig_bak_ovr.onnx"
    return (onnx_session(str(fetch(primary, mirror=mirror))),
            onnx_session(str(fetch("weights/dnsmos/p835/model_v8.onnx", mirror=mirror))))


def p808_features(segment: np.ndarray) -> np.ndarray:
    """120-band log-mel of a 16 kHz segment as the P.808 model expects: ``(frames, 120)`` float32
    (n_fft 321, hop 160, ``(power_to_db(ref=max) + 40) / 40``)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=segment, sr=SR, n_fft=321, hop_length=160, n_mels=120)
    return ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T.astype(np.float32)


def dnsmos(audio, sr: int, *, personalized: bool = False, mirror=None) -> dict[str, float]:
    """DNSMOS P.835 and P.808 of a mono recording ``(samples,)`` (or ``(1, samples)``) at ``sr`` Hz.

    Returns ``{"SIG", "BAK", "OVRL", "P808_MOS"}`` (1..5, higher is better). ``personalized`` uses
    pDNSMOS (penalises interfering talkers) for P.835.
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if sr != SR:
        x = resample(x.astype(np.float32), sr, SR).astype(np.float64)
    n_win = int(WINDOW_SECONDS * SR)
    if x.size == 0:
        raise ValueError("dnsmos: empty audio")
    while len(x) < n_win:
        x = np.concatenate([x, x])
    n_hops = int(np.floor(len(x) / SR) - WINDOW_SECONDS) + 1
    p835, p808 = _sessions(personalized, mirror)
    raw, p808_scores = [], []
    for k in range(n_hops):
        seg = x[int(k * HOP_SECONDS * SR): int((k * HOP_SECONDS + WINDOW_SECONDS) * SR)]
        if len(seg) < n_win:
            continue
        raw.append(p835.run(None, {"input_1": seg.astype(np.float32)[None]})[0][0])
        p808_scores.append(p808.run(None, {"input_1": p808_features(seg[:-160])[None]})[0][0][0])
    raw = np.asarray(raw, dtype=np.float64)
    out = {name: float(np.mean(np.polyval(_POLY[personalized][name], raw[:, k])))
           for k, name in enumerate(("SIG", "BAK", "OVRL"))}
    out["P808_MOS"] = float(np.mean(p808_scores))
    return out
