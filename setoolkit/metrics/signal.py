"""Signal-level metrics of an estimate against its clean reference, at the pair's own rate: SI-SDR, SDR, SNR,
segmental SNR, log-spectral distance.

``ref``, ``est``: ``(samples,)`` of equal length (within rounding, :mod:`setoolkit.metrics.pairs`). A perfect
estimate scores ``+inf`` dB in SI-SDR, SDR and SNR (SI-SDR and SDR ignore scale, so ``0.5 * ref`` is perfect
too); an all-zero signal gives NaN with a warning.

Examples
--------
>>> si_sdr(clean, noisy), sdr(clean, 0.5 * clean)
(5.3, inf)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..stft import stft_np, window
from .pairs import degenerate, equal_length, is_silent, silent_reference
from .registry import Metric

_EPS = 1e-12
#: Residual energy (relative to the estimate's) below which an estimate counts as a scaled copy of its
#: reference: SDR ``+inf`` (above 200 dB no float32 signal is distinguishable from a perfect one).
PERFECT = 1e-20


def _ratio_db(signal_energy: float, error_energy: float) -> float:
    """``10 log10(signal / error)``; ``+inf`` when the error is exactly zero (a perfect estimate)."""
    if error_energy == 0.0:
        return math.inf
    return float(10 * np.log10(signal_energy / error_energy))


def si_sdr(ref, est) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), both signals made zero-mean.

    ``ref``, ``est``: ``(samples,)`` of equal length. Returns dB; ``+inf`` for a perfect estimate, NaN (with a
    warning) when either signal is all zeros or constant.
    """
    ref, est = equal_length(ref, est)
    ref = ref - ref.mean()
    est = est - est.mean()
    if degenerate("SI-SDR", ref, est):
        return float("nan")
    alpha = np.dot(est, ref) / np.dot(ref, ref)
    target = alpha * ref
    return _ratio_db(float(np.sum(target**2)), float(np.sum((est - target) ** 2)))


def sdr(ref, est, *, filter_length: int = 512) -> float:
    """BSS-eval SDR in dB (distortion filter of ``filter_length`` taps), via ``fast_bss_eval``.

    ``ref``, ``est``: ``(samples,)`` of equal length (more than ``filter_length``). Returns dB; ``+inf`` for a
    perfect estimate, NaN (with a warning) for an all-zero signal or a clip shorter than the filter."""
    import fast_bss_eval

    ref, est = equal_length(ref, est)
    if degenerate("SDR", ref, est):
        return float("nan")
    if np.array_equal(ref, est):
        return math.inf
    if len(ref) <= filter_length:
        warnings.warn(f"SDR needs more than its {filter_length}-tap filter, got {len(ref)} samples; returning NaN")
        return float("nan")
    if _scaled_copy(ref, est):  # fast_bss_eval fails on a residual that vanishes (ValueError from its solver)
        return math.inf
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            value = float(fast_bss_eval.sdr(ref[None], est[None], filter_length=filter_length, use_cg_iter=None)[0])
    except (ValueError, np.linalg.LinAlgError) as exc:
        warnings.warn(f"SDR could not score this clip ({type(exc).__name__}: {exc}); returning NaN")
        return float("nan")
    return value if not math.isnan(value) else math.inf  # NaN from fast_bss_eval: the residual vanished


def _scaled_copy(ref: np.ndarray, est: np.ndarray) -> bool:
    """Whether ``est`` is ``ref`` times a constant, to :data:`PERFECT` relative residual energy."""
    alpha = np.dot(est, ref) / np.dot(ref, ref)
    return float(np.sum((est - alpha * ref) ** 2)) <= PERFECT * float(np.sum(est**2))


def snr(ref, est) -> float:
    """SNR in dB of ``est`` against ``ref`` (noise = est - ref, no scaling); ``+inf`` for a perfect estimate,
    NaN (with a warning) for an all-zero reference."""
    ref, est = equal_length(ref, est)
    if is_silent(ref):
        warnings.warn("SNR against an all-zero reference is undefined; returning NaN")
        return float("nan")
    return _ratio_db(float(np.sum(ref**2)), float(np.sum((est - ref) ** 2)))


def segmental_snr(ref, est, sr: int, *, frame_seconds: float = 0.03, lo: float = -10.0, hi: float = 35.0) -> float:
    """Mean per-frame SNR in dB, each frame clamped to ``[lo, hi]`` dB (Hansen & Pellom convention).

    ``ref``, ``est``: ``(samples,)`` of equal length at ``sr`` Hz; frames of ``frame_seconds`` (s), no overlap."""
    ref, est = equal_length(ref, est)
    if silent_reference("segmental SNR", ref):
        return float("nan")
    n = max(int(frame_seconds * sr), 1)
    k = len(ref) // n
    if k == 0:
        return snr(ref, est)
    r = ref[: k * n].reshape(k, n)
    e = est[: k * n].reshape(k, n)
    seg = 10 * np.log10((np.sum(r**2, 1) + _EPS) / (np.sum((e - r) ** 2, 1) + _EPS))
    return float(np.mean(np.clip(seg, lo, hi)))


def lsd(ref, est, sr: int, *, n_fft: int | None = None) -> float:
    """Log-spectral distance in dB: RMS over frequency of the log-power difference, mean over frames.

    ``ref``, ``est``: ``(samples,)`` of equal length at ``sr`` Hz; Hann frames of ``n_fft`` samples (default
    512 up to 16 kHz, else 2048), hop ``n_fft // 4``. NaN for a clip shorter than one frame."""
    ref, est = equal_length(ref, est)
    if silent_reference("LSD", ref):
        return float("nan")
    n_fft = n_fft or (512 if sr <= 16000 else 2048)
    if len(ref) < n_fft:
        return float("nan")
    w = window("hann", n_fft, dtype=np.float64)
    pr = np.abs(stft_np(ref, n_fft, n_fft // 4, w)) ** 2
    pe = np.abs(stft_np(est, n_fft, n_fft // 4, w)) ** 2
    d = 10 * np.log10(pr + 1e-10) - 10 * np.log10(pe + 1e-10)
    return float(np.mean(np.sqrt(np.mean(d**2, axis=0))))


#: The records of this family (:mod:`setoolkit.metrics.registry`).
METRICS = (
    Metric(
        name="si_sdr",
        compute=lambda ref, est, sr: si_sdr(ref, est),
        label="SI-SDR",
        unit="dB",
        digits=1,
        cost=0.001,
        default=True,
    ),
    Metric(
        name="sdr",
        compute=lambda ref, est, sr: sdr(ref, est),
        label="SDR",
        unit="dB",
        digits=1,
        libraries=("fast-bss-eval",),
        cost=0.05,
        default=True,
    ),
    Metric(
        name="snr",
        compute=lambda ref, est, sr: snr(ref, est),
        label="SNR",
        unit="dB",
        cost=0.001,
        default=True,
        summary=False,
    ),
    Metric(
        name="segsnr",
        compute=segmental_snr,
        label="segmental SNR",
        unit="dB",
        cost=0.002,
        default=True,
        summary=False,
    ),
    Metric(
        name="lsd",
        compute=lsd,
        label="LSD",
        unit="dB",
        higher_is_better=False,
        cost=0.005,
        default=True,
        summary=False,
    ),
)
