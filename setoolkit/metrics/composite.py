"""The composite measures CSIG, CBAK, COVL (Hu & Loizou 2008) and their parts: LLR, WSS, segmental SNR.

Hu & Loizou fitted three linear regressions from objective measures to the ratings of the ITU-T P.835
listening test (signal distortion, background intrusiveness, overall quality, each 1..5)::

    CSIG = 3.093 - 1.029 LLR + 0.603 PESQ - 0.009 WSS
    CBAK = 1.634 + 0.478 PESQ - 0.007 WSS + 0.063 segSNR
    COVL = 1.594 + 0.805 PESQ - 0.512 LLR - 0.007 WSS

each clipped to ``[1, 5]``. The parts follow Loizou's ``composite.m`` (the code that accompanies the paper and
the book *Speech Enhancement: Theory and Practice*) to the frame:

* 30 ms frames (``round(0.03 sr)`` samples), hop of a quarter frame (75% overlap), the Hann window
  ``0.5 (1 - cos(2 pi n / (L + 1)))``, ``n = 1..L`` (no zero end points), and ``floor((N - L) / hop)`` frames (the last
  whole frame is not used, as in the MATLAB loop);
* **LLR**: log-likelihood ratio of LPC models (order 16 above 10 kHz, else 10; autocorrelation method,
  Levinson-Durbin), mean over the best (lowest) 95% of frames, not clipped. Frames of exact zeros have no LPC
  model and ``composite.m`` gives them NaN (and a NaN mean once they pass 5%). Here an estimate frame of zeros (a
  hard gate) is given the flat envelope ``[1, 0, ..., 0]``, so it scores the reference frame's log prediction gain,
  a large distance; a reference frame of zeros stays undefined and is left out like the worst 5% (NaN sorts last);
* **WSS**: Klatt's weighted spectral slope over 25 critical bands (50 Hz .. 3.8 kHz, Gaussian-shaped filters cut
  at -30 dB, FFT of ``2^ceil(log2(2 L))`` points, ``Kmax = 20``, ``Klocmax = 1``, energies floored at -100 dB),
  mean over the best 95% of frames. The local-peak search keeps ``composite.m``'s indexing (to the right it
  takes the band *before* the first falling slope), since the regression was fitted with that code;
* **segSNR**: per-frame SNR of the windowed frames, clipped to ``[-10, 35]`` dB, mean over all frames. It is
  not :func:`setoolkit.metrics.scoring.segmental_snr` (rectangular frames, no overlap): the regression needs this one.

**Which PESQ enters**: the wide-band MOS-LQO of ITU-T P.862.2 (``pesq`` package, ``mode="wb"``, at 16 kHz),
the value :func:`setoolkit.metrics.scoring.pesq` returns and the convention of the SE literature's tables (SEGAN,
MetricGAN, CMGAN ... compute "CSIG/CBAK/COVL" this way) and of pysepm at 16 kHz. ``composite.m`` itself fed the
narrow-band P.862 score of Loizou's MATLAB PESQ; numbers from the two conventions are not comparable.

Everything is computed at 16 kHz: other input rates are resampled first (soxr), as for wide-band PESQ.

Examples
--------
>>> composite(clean, noisy, 16000)          # vbd16k p232_046
{'csig': 3.207, 'cbak': 2.231, 'covl': 2.572}
>>> composite(clean, noisy, 16000, pesq_wb=2.0357)   # reuse a PESQ already computed
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..audio import resample
from .pairs import degenerate, equal_length, is_silent
from .pesq_p862 import pesq
from .registry import Metric

#: The rate the composite measures are computed at (Hz).
RATE = 16000
#: Fraction of frames (the best ones) that LLR and WSS average over.
BEST_FRACTION = 0.95
_MATLAB_EPS = float(np.finfo(np.float64).eps)

#: The 25 critical bands of Loizou's WSS: centre frequencies and bandwidths in Hz.
_CENT_FREQ = np.array(
    [
        50.0,
        120.0,
        190.0,
        260.0,
        330.0,
        400.0,
        470.0,
        540.0,
        617.372,
        703.378,
        798.717,
        904.128,
        1020.38,
        1148.30,
        1288.72,
        1442.54,
        1610.70,
        1794.16,
        1993.93,
        2211.08,
        2446.71,
        2701.97,
        2978.04,
        3276.17,
        3597.63,
    ]
)
_BANDWIDTH = np.array(
    [
        70.0,
        70.0,
        70.0,
        70.0,
        70.0,
        70.0,
        70.0,
        77.3724,
        86.0056,
        95.3398,
        105.411,
        116.256,
        127.914,
        140.423,
        153.823,
        168.154,
        183.457,
        199.776,
        217.153,
        235.631,
        255.255,
        276.072,
        298.126,
        321.465,
        346.136,
    ]
)


def _frames(x: np.ndarray, sr: int) -> np.ndarray:
    """Hann-windowed 30 ms frames with 75% overlap, ``(frames, frame_length)``, as ``composite.m`` cuts them."""
    win = round(0.03 * sr)
    hop = win // 4
    n = (len(x) - win) // hop
    if n < 1:
        return np.zeros((0, win))
    idx = np.arange(n)[:, None] * hop + np.arange(win)[None, :]
    w = 0.5 * (1 - np.cos(2 * np.pi * np.arange(1, win + 1) / (win + 1)))
    return x[idx] * w


def _check(ref, est, sr: int, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Pair the signals and cut frames; None (after a warning) when the measure is undefined."""
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    ref, est = equal_length(ref, est)
    if degenerate(name, ref, est):
        return None
    fr, fe = _frames(ref, sr), _frames(est, sr)
    if len(fr) == 0:
        warnings.warn(
            f"{name} needs more than 37.5 ms (one 30 ms frame and a hop), got {len(ref) / sr * 1e3:.1f} ms; "
            "returning NaN"
        )
        return None
    return ref, est, fr, fe


def _best_mean(per_frame: np.ndarray, name: str) -> float:
    """Mean of the lowest 95% (``round`` as MATLAB rounds) of the per-frame distortions; NaN frames sort last."""
    d = np.sort(per_frame)
    keep = max(math.floor(len(d) * BEST_FRACTION + 0.5), 1)
    value = float(np.mean(d[:keep]))
    if math.isnan(value):
        warnings.warn(
            f"{name}: more than {100 * (1 - BEST_FRACTION):.0f}% of the frames are undefined "
            "(digital silence in the reference); returning NaN"
        )
    return value


def _lpc(frames: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation ``(frames, order + 1)`` and prediction polynomial ``[1, -a1, ..., -ap]`` of each frame
    (Levinson-Durbin, all frames at once). A frame of exact zeros gets the flat polynomial ``[1, 0, ..., 0]``."""
    n = frames.shape[1]
    r = np.stack([np.einsum("ij,ij->i", frames[:, : n - k], frames[:, k:]) for k in range(order + 1)], axis=1)
    a = np.zeros((len(frames), order))
    e = r[:, 0].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(order):
            k = (r[:, i + 1] - np.einsum("ij,ij->i", a[:, :i], r[:, i:0:-1])) / e
            a_prev = a[:, :i].copy()
            a[:, i] = k
            a[:, :i] = a_prev - k[:, None] * a_prev[:, ::-1]
            e = (1 - k * k) * e
    a[r[:, 0] == 0] = 0.0
    return r, np.concatenate([np.ones((len(frames), 1)), -a], axis=1)


def llr_frames(ref, est, sr: int) -> np.ndarray:
    """Per-frame log-likelihood ratio ``log(a_est R_ref a_est' / a_ref R_ref a_ref')``, ``(frames,)``.

    ``ref``, ``est``: ``(samples,)`` of equal length at ``sr`` Hz. Frames as in the module docstring; a frame whose
    estimate is exact zeros scores against a flat envelope, one whose reference is exact zeros is NaN. An all-zero
    signal or a clip under 37.5 ms gives an empty array (with a warning)."""
    checked = _check(ref, est, sr, "LLR")
    if checked is None:
        return np.zeros(0)
    _, _, fr, fe = checked
    order = 10 if sr < 10000 else 16
    r_ref, a_ref = _lpc(fr, order)
    _, a_est = _lpc(fe, order)
    toe = r_ref[:, np.abs(np.arange(order + 1)[:, None] - np.arange(order + 1)[None, :])]
    with np.errstate(divide="ignore", invalid="ignore"):
        num = np.einsum("fi,fij,fj->f", a_est, toe, a_est)
        den = np.einsum("fi,fij,fj->f", a_ref, toe, a_ref)
        return np.log(num / den)


def llr(ref, est, sr: int) -> float:
    """Log-likelihood ratio (LPC distance, >= 0, lower is better), mean over the best 95% of 30 ms frames.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding, see
        :mod:`setoolkit.metrics.pairs`).
    sr : int
        Sample rate in Hz; LPC order 16 from 10 kHz up, else 10.

    Returns
    -------
    float
        Mean LLR (natural log, unitless); NaN with a warning for an all-zero signal or a clip under 37.5 ms.

    Examples
    --------
    >>> llr(clean, noisy, 16000)      # vbd16k p232_046
    0.711
    """
    per_frame = llr_frames(ref, est, sr)
    return _best_mean(per_frame, "LLR") if len(per_frame) else float("nan")


def _critical_filters(sr: int, n_fft: int) -> np.ndarray:
    """Loizou's 25 Gaussian-shaped critical-band filters over the first ``n_fft / 2`` bins, ``(25, n_fft // 2)``."""
    half = n_fft // 2
    max_freq = sr / 2
    min_factor = math.exp(-30.0 / (2.0 * 2.303))  # -30 dB point of a filter
    f0 = np.floor(_CENT_FREQ / max_freq * half)
    bw = _BANDWIDTH / max_freq * half
    norm = np.log(_BANDWIDTH[0]) - np.log(_BANDWIDTH)
    j = np.arange(half)
    filt = np.exp(-11 * ((j[None, :] - f0[:, None]) / bw[:, None]) ** 2 + norm[:, None])
    return filt * (filt > min_factor)


def _local_peaks(slope: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """``composite.m``'s nearest spectral peak for each band, ``(frames, bands - 1)``.

    A rising slope searches to the right for the first falling one at ``n`` and takes ``energy[n - 1]``; a
    falling one searches left for the last rising one at ``n`` and takes ``energy[n + 1]``."""
    frames, m = slope.shape
    nxt = np.empty((frames, m), dtype=np.intp)  # first n >= i with slope <= 0, else m
    prv = np.empty((frames, m), dtype=np.intp)  # last n <= i with slope > 0, else -1
    after = np.full(frames, m)
    for i in range(m - 1, -1, -1):
        after = np.where(slope[:, i] <= 0, i, after)
        nxt[:, i] = after
    before = np.full(frames, -1)
    for i in range(m):
        before = np.where(slope[:, i] > 0, i, before)
        prv[:, i] = before
    rows = np.arange(frames)[:, None]
    return np.where(slope > 0, energy[rows, nxt - 1], energy[rows, prv + 1])


def wss_frames(ref, est, sr: int) -> np.ndarray:
    """Per-frame weighted spectral slope distance, ``(frames,)``; frames as in the module docstring.

    ``ref``, ``est``: ``(samples,)`` of equal length at ``sr`` Hz; an empty array (with a warning) for an all-zero
    signal or a clip under 37.5 ms."""
    checked = _check(ref, est, sr, "WSS")
    if checked is None:
        return np.zeros(0)
    _, _, fr, fe = checked
    k_max, k_locmax = 20.0, 1.0
    win = fr.shape[1]
    n_fft = 2 ** math.ceil(math.log2(2 * win))
    filt = _critical_filters(sr, n_fft)
    weights = []
    slopes = []
    for f in (fr, fe):
        power = np.abs(np.fft.rfft(f, n_fft, axis=1)[:, : n_fft // 2]) ** 2
        energy = 10 * np.log10(np.maximum(power @ filt.T, 1e-10))  # (frames, 25) dB
        slope = np.diff(energy, axis=1)
        peaks = _local_peaks(slope, energy)
        w_max = k_max / (k_max + energy.max(axis=1, keepdims=True) - energy[:, :-1])
        w_locmax = k_locmax / (k_locmax + peaks - energy[:, :-1])
        weights.append(w_max * w_locmax)
        slopes.append(slope)
    w = (weights[0] + weights[1]) / 2
    return np.sum(w * (slopes[0] - slopes[1]) ** 2, axis=1) / np.sum(w, axis=1)


def wss(ref, est, sr: int) -> float:
    """Weighted spectral slope distance (Klatt 1982; >= 0, lower is better), mean over the best 95% of frames.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding).
    sr : int
        Sample rate in Hz. The 25 critical bands end at 3.8 kHz at every rate (as in ``composite.m``).

    Returns
    -------
    float
        Mean WSS (dB^2-weighted slope distance); NaN with a warning for an all-zero signal or a clip under 37.5 ms.

    Examples
    --------
    >>> wss(clean, noisy, 16000)      # vbd16k p232_046
    42.46
    """
    per_frame = wss_frames(ref, est, sr)
    return _best_mean(per_frame, "WSS") if len(per_frame) else float("nan")


def segsnr(ref, est, sr: int, *, lo: float = -10.0, hi: float = 35.0) -> float:
    """Segmental SNR in dB as ``composite.m`` computes it: Hann-windowed 30 ms frames, 75% overlap, each frame's
    SNR clipped to ``[lo, hi]`` dB, mean over all frames.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding).
    sr : int
        Sample rate in Hz.

    Returns
    -------
    float
        dB; ``hi`` for a perfect estimate; NaN with a warning for an all-zero reference or a clip under 37.5 ms.

    Examples
    --------
    >>> segsnr(clean, noisy, 16000)   # vbd16k p232_046
    -1.26
    """
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    r, e = equal_length(ref, est)
    if is_silent(r):
        warnings.warn("segSNR against an all-zero reference is undefined; returning NaN")
        return float("nan")
    fr, fe = _frames(r, sr), _frames(e, sr)
    if len(fr) == 0:
        warnings.warn(f"segSNR needs more than 37.5 ms, got {len(r) / sr * 1e3:.1f} ms; returning NaN")
        return float("nan")
    signal = np.sum(fr**2, axis=1)
    noise = np.sum((fr - fe) ** 2, axis=1)
    seg = 10 * np.log10(signal / (noise + _MATLAB_EPS) + _MATLAB_EPS)
    return float(np.mean(np.clip(seg, lo, hi)))


def composite_from_parts(pesq_wb: float, llr_value: float, wss_value: float, segsnr_value: float) -> dict[str, float]:
    """Hu & Loizou's regression from its four inputs to ``{'csig', 'cbak', 'covl'}``, each clipped to [1, 5].

    ``pesq_wb``: P.862.2 wide-band MOS-LQO; ``llr_value``, ``wss_value``: best-95% means; ``segsnr_value``: dB.
    A NaN input gives NaN outputs."""
    csig = 3.093 - 1.029 * llr_value + 0.603 * pesq_wb - 0.009 * wss_value
    cbak = 1.634 + 0.478 * pesq_wb - 0.007 * wss_value + 0.063 * segsnr_value
    covl = 1.594 + 0.805 * pesq_wb - 0.512 * llr_value - 0.007 * wss_value
    # np.clip keeps NaN as NaN (min/max would not)
    return {k: float(np.clip(v, 1.0, 5.0)) for k, v in (("csig", csig), ("cbak", cbak), ("covl", covl))}


def composite(ref, est, sr: int, *, pesq_wb: float | None = None, parts: bool = False) -> dict[str, float]:
    """CSIG, CBAK, COVL (Hu & Loizou 2008), each 1..5, higher is better.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding, see
        :mod:`setoolkit.metrics.pairs`); ``(1, samples)`` is accepted too. Not aligned here: align first
        (``metrics.align``) if the estimate is delayed.
    sr : int
        Sample rate in Hz; other rates than 16 kHz are resampled to 16 kHz (soxr) first.
    pesq_wb : float, optional
        The P.862.2 wide-band PESQ MOS-LQO of this pair at 16 kHz if already computed
        (``metrics.pesq(ref, est, sr, "wb")``); computed here otherwise.
    parts : bool
        Also return the four inputs: ``pesq_wb``, ``llr``, ``wss``, ``segsnr_loizou`` (dB; not ``metrics``'
        ``segsnr``).

    Returns
    -------
    dict
        ``{'csig': float, 'cbak': float, 'covl': float}`` (and the parts). All NaN, with a warning, for an all-zero
        signal or a clip PESQ cannot score (under 0.25 s, no speech).

    Examples
    --------
    >>> composite(clean, noisy, 16000)   # vbd16k p232_046
    {'csig': 3.207, 'cbak': 2.231, 'covl': 2.572}
    """
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    ref, est = equal_length(ref, est)
    if sr != RATE:
        ref = resample(ref.astype(np.float32), sr, RATE).astype(np.float64)
        est = resample(est.astype(np.float32), sr, RATE).astype(np.float64)
    nan = {"csig": math.nan, "cbak": math.nan, "covl": math.nan}
    if _check(ref, est, RATE, "CSIG/CBAK/COVL") is None:
        values = dict(nan, pesq_wb=math.nan, llr=math.nan, wss=math.nan, segsnr_loizou=math.nan)
        return values if parts else nan
    p = float(pesq(ref, est, RATE, "wb")) if pesq_wb is None else float(pesq_wb)
    values = {
        "pesq_wb": p,
        "llr": llr(ref, est, RATE),
        "wss": wss(ref, est, RATE),
        "segsnr_loizou": segsnr(ref, est, RATE),
    }
    scores = composite_from_parts(values["pesq_wb"], values["llr"], values["wss"], values["segsnr_loizou"])
    return {**scores, **values} if parts else scores


#: The record of this family (:mod:`setoolkit.metrics.registry`): one computation, three columns.
METRICS = (
    Metric(
        name="composite",
        compute=composite,
        columns=("csig", "cbak", "covl"),
        label="composite",
        column_labels={"csig": "CSIG", "cbak": "CBAK", "covl": "COVL"},
        unit="1..5",
        rate=RATE,
        libraries=("pesq",),
        cost=0.02,
        default=True,
    ),
)
