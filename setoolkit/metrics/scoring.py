"""Speech-quality metrics over numpy arrays, with the sample-rate rules and alignment handled.

Intrusive metrics compare an estimate to a clean reference, both 1-D ``(samples,)`` at ``sr`` Hz:

* PESQ (ITU-T P.862, ``pesq`` package): wide-band at 16 kHz, narrow-band at 8 kHz; other rates are
  resampled first (soxr). A clip PESQ cannot score (silent, too short) gives NaN with a warning.
* STOI / ESTOI (``pystoi``, which resamples to 10 kHz itself).
* SI-SDR (zero-mean, scale-invariant), SDR (BSS-eval v4 with a 512-tap distortion filter, ``fast_bss_eval``),
  SNR, segmental SNR, log-spectral distance.

:func:`align` removes a constant delay between estimate and reference (cross-correlation within a
bounded lag) before scoring; :func:`score_pair` reports the lag it removed.

Metrics never lie about their inputs:

* the two signals must have the same length: a mismatch raises :class:`MetricError` naming both lengths.
  The one documented exception is rounding: lengths within :data:`~setoolkit.metrics.pairs.LENGTH_TOLERANCE` (0.1%,
  at least one
  sample: VoiceBank-DEMAND's own clean/noisy pairs differ by one sample) are cut to the shorter. A
  :func:`score_pair` aligns, and only within its bounded lag;
* degenerate inputs (an all-zero reference or estimate, a clip too short for PESQ/STOI) give NaN with a
  warning, never a number that looks like a score;
* a perfect estimate (``est == ref`` bit for bit) scores ``+inf`` dB in SI-SDR, SDR and SNR, and the
  highest value of the bounded metrics (PESQ 4.64 / 4.55, STOI 1.0); summaries treat ``inf`` like any value.

Examples
--------
>>> scores = score_pair(clean, enhanced, 16000)      # dict: pesq_wb, stoi, si_sdr, ..., lag
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

from ..audio import read, resample, to_mono
from ..errors import MetricError
from ..stft import stft_np, window
from . import catalog
from . import learned as quality_models
from .composite import composite
from .pairs import degenerate, equal_length, is_silent, silent_reference
from .pesq_p862 import pesq

#: Metrics computed by :func:`score_pair` unless told otherwise: the set SE papers print (PESQ, CSIG/CBAK/COVL
#: of Hu & Loizou 2008 on the wide-band PESQ, STOI) and the signal-level ones.
DEFAULT_METRICS = (
    "pesq_wb",
    "pesq_nb",
    "csig",
    "cbak",
    "covl",
    "stoi",
    "estoi",
    "si_sdr",
    "sdr",
    "snr",
    "segsnr",
    "lsd",
)
#: Every metric :func:`score_pair` knows: the defaults, ViSQOL v3 (intrusive, speech mode, ~0.2 s a call) and
#: DistillMOS (non-intrusive, of the estimate alone, ~0.5 s a call): :mod:`setoolkit.metrics.learned`.
ALL_METRICS = DEFAULT_METRICS + ("visqol", "distillmos")

_EPS = 1e-12
#: The rate of wide-band PESQ, the composite measures, ViSQOL and DistillMOS (Hz).
WIDEBAND = 16000


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(fast_bss_eval.sdr(ref[None], est[None], filter_length=filter_length, use_cg_iter=None)[0])
    return value if not math.isnan(value) else math.inf  # NaN from fast_bss_eval: the residual vanished


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


def stoi(ref, est, sr: int, *, extended: bool = False) -> float:
    """STOI (or ESTOI with ``extended=True``), 0..1, via ``pystoi`` (which works at 10 kHz internally).

    ``ref``, ``est``: ``(samples,)`` of equal length at ``sr`` Hz. NaN (with a warning) for a clip too short or
    too silent to hold one 384 ms analysis segment."""
    from pystoi import stoi as _stoi

    ref, est = equal_length(ref, est)
    if silent_reference("ESTOI" if extended else "STOI", ref):
        return float("nan")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(_stoi(ref, est, sr, extended=extended))
    except (ValueError, IndexError, np.exceptions.AxisError) as exc:  # pystoi on clips shorter than a few frames
        warnings.warn(f"STOI could not score this clip of {len(ref) / sr:.3f} s ({type(exc).__name__}); returning NaN")
        return float("nan")
    if not np.isfinite(value) or value == 1e-5:  # pystoi's value for "not enough frames"
        warnings.warn("STOI could not score this clip (too short or silent); returning NaN")
        return float("nan")
    return value


def align(ref, est, sr: int, *, max_lag_seconds: float = 0.1) -> tuple[np.ndarray, int]:
    """Shift ``est`` so it lines up with ``ref``; returns ``(aligned_est, lag)``.

    ``lag`` > 0 means ``est`` was late by ``lag`` samples. The lag maximises the cross-correlation within
    ``+-max_lag_seconds``; the aligned estimate has ``len(ref)`` samples (zero-padded where shifted in).
    """
    r = np.asarray(ref, dtype=np.float64).reshape(-1)
    e = np.asarray(est, dtype=np.float64).reshape(-1)
    max_lag = int(max_lag_seconds * sr)
    n = len(r) + len(e)
    nfft = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(e, nfft) * np.conj(np.fft.rfft(r, nfft)), nfft)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([xc[: max_lag + 1], xc[nfft - max_lag :]])
    lag = int(lags[np.argmax(vals)])
    if lag >= 0:
        shifted = e[lag:]
    else:
        shifted = np.concatenate([np.zeros(-lag), e])
    out = np.zeros(len(r))
    m = min(len(r), len(shifted))
    out[:m] = shifted[:m]
    return out.astype(np.float32), lag


#: Metrics :func:`score_pair` computes together in one call (the composite measures reuse PESQ-WB).
SHARED_METRICS = (("pesq_wb", "csig", "cbak", "covl"),)


def metric_groups(metrics: Sequence[str]) -> list[tuple[str, ...]]:
    """``metrics`` as the calls that compute them: each group of :data:`SHARED_METRICS` present is one
    call (at the place of its first member), every other metric its own."""
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for m in metrics:
        if m in seen:
            continue
        group = next((tuple(x for x in g if x in metrics) for g in SHARED_METRICS if m in g), (m,))
        groups.append(group)
        seen.update(group)
    return groups


def _no_clock(stage: str):
    return nullcontext()


def score_pair(
    ref,
    est,
    sr: int,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    align_signals: bool = True,
    max_lag_seconds: float = 0.1,
    name: str = "estimate",
    reference: str = "reference",
    clock: Callable[[str], AbstractContextManager] | None = None,
) -> dict[str, float]:
    """Every metric in ``metrics`` for one (reference, estimate) pair at ``sr`` Hz, plus ``lag`` (samples).

    An all-zero reference (``reference`` names it in the warning) makes every intrusive metric NaN, with one
    warning; the non-intrusive ones (DistillMOS) are still computed.

    ``ref``, ``est``: ``(samples,)``. Their lengths may differ by at most the alignment window
    (``max_lag_seconds``, a model's delay or a resampler's rounding); a larger difference is a wrong pair or a
    truncated file and raises :class:`MetricError` naming ``name`` and both lengths.

    ``clock``: ``clock(stage)`` returns a context manager that times ``stage`` (e.g.
    :meth:`setoolkit.evaluation.profile.Profile.stage`): ``align``, then one stage per group of metrics computed
    together (:func:`metric_groups`, e.g. ``pesq_wb+csig+cbak+covl``).
    """
    clock = clock or _no_clock
    ref = np.asarray(ref, dtype=np.float32).reshape(-1)
    est = np.asarray(est, dtype=np.float32).reshape(-1)
    check_lengths(len(ref), len(est), sr, name=name, max_lag_seconds=max_lag_seconds)
    lag = 0
    if align_signals:
        with clock("align"):
            est, lag = align(ref, est, sr, max_lag_seconds=max_lag_seconds)
    else:
        est = np.pad(est, (0, max(len(ref) - len(est), 0)))[: len(ref)]
    cache: dict[str, float] = {}
    wide: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def wideband() -> tuple[np.ndarray, np.ndarray]:
        # the 16 kHz copy of the pair that PESQ, the composite measures, ViSQOL and DistillMOS score: made once
        if "wideband" not in wide:
            wide["wideband"] = (
                (ref, est) if sr == WIDEBAND else (resample(ref, sr, WIDEBAND), resample(est, sr, WIDEBAND))
            )
        return wide["wideband"]

    def pesq_wb():  # shared by pesq_wb and the composite measures
        if "pesq_wb" not in cache:
            cache["pesq_wb"] = pesq(*wideband(), WIDEBAND, "wb")
        return cache["pesq_wb"]

    def pesq_nb():  # P.862 narrow-band runs at 16 kHz from 16 kHz up, at 8 kHz below
        return pesq(*wideband(), WIDEBAND, "nb") if sr >= WIDEBAND else pesq(ref, est, sr, "nb")

    def composite_part(key):
        if "composite" not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pesq_wb already warned for an unscorable clip
                cache["composite"] = composite(*wideband(), WIDEBAND, pesq_wb=pesq_wb())
        return cache["composite"][key]

    def visqol():
        return quality_models.visqol(*wideband(), WIDEBAND)

    fns = {
        "pesq_wb": pesq_wb,
        "pesq_nb": pesq_nb,
        "stoi": lambda: stoi(ref, est, sr),
        "estoi": lambda: stoi(ref, est, sr, extended=True),
        "si_sdr": lambda: si_sdr(ref, est),
        "sdr": lambda: sdr(ref, est),
        "snr": lambda: snr(ref, est),
        "segsnr": lambda: segmental_snr(ref, est, sr),
        "lsd": lambda: lsd(ref, est, sr),
        "csig": lambda: composite_part("csig"),
        "cbak": lambda: composite_part("cbak"),
        "covl": lambda: composite_part("covl"),
        "visqol": visqol,
        "distillmos": lambda: quality_models.distillmos(wideband()[1], WIDEBAND),
    }
    unknown = [m for m in metrics if m not in fns]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(fns)}")
    intrusive = [m for m in metrics if catalog.info(m).intrusive]
    if intrusive and is_silent(ref):
        # no clean speech to compare with: every intrusive metric is undefined (STOI would say 0, LSD 67 dB,
        # segmental SNR -10 dB: numbers that look like scores and would enter the means)
        warnings.warn(
            f"{reference}: the clean reference is all zeros; {', '.join(intrusive)} undefined, NaN (for {name})"
        )
        out = {m: (float("nan") if m in intrusive else fns[m]()) for m in metrics}
        out["lag"] = lag
        return out
    out = {}
    for group in metric_groups(metrics):
        with clock("+".join(group)):
            out.update({m: fns[m]() for m in group})
    out = {m: out[m] for m in metrics}
    out["lag"] = lag
    return out


def check_lengths(n_ref: int, n_est: int, sr: int, *, name: str = "estimate", max_lag_seconds: float = 0.1) -> None:
    """Raise :class:`MetricError` when an estimate's length (samples) differs from its reference's by more
    than ``max_lag_seconds`` (the tolerance :func:`score_pair` aligns away)."""
    tol = int(max_lag_seconds * sr)
    if abs(n_ref - n_est) > tol:
        raise MetricError(
            f"{name}: {n_est} samples ({n_est / sr:.2f} s) against a reference of {n_ref} "
            f"({n_ref / sr:.2f} s); lengths may differ by at most {tol} samples "
            f"({max_lag_seconds:g} s). Wrong pair, truncated file or a model that changed the length"
        )


def _score_files(job: tuple) -> dict:

    ref_path, est_path, metrics, align_signals = job
    ref, sr_ref = read(ref_path)
    est, sr_est = read(est_path)
    if sr_est != sr_ref:
        est = resample(est, sr_est, sr_ref)
    row = {"file": str(est_path), "reference": str(ref_path), "sr": sr_ref}
    row.update(
        score_pair(
            to_mono(ref)[0], to_mono(est)[0], sr_ref, metrics=metrics, align_signals=align_signals, name=str(est_path)
        )
    )
    return row


def score_files(
    pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    align_signals: bool = True,
    workers: int | None = None,
    progress: bool = True,
) -> list[dict]:
    """Score many ``(reference_path, estimate_path)`` pairs in parallel processes with a progress bar.

    Returns one dict per pair (``file``, ``reference``, ``sr``, the metrics, ``lag``), in input order.
    """
    from tqdm.auto import tqdm

    jobs = [(str(r), str(e), tuple(metrics), align_signals) for r, e in pairs]
    workers = workers if workers is not None else min(len(jobs), cpu_count())
    if workers <= 1 or len(jobs) <= 1:
        return [_score_files(j) for j in tqdm(jobs, desc="scoring", disable=not progress)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(_score_files, jobs), total=len(jobs), desc="scoring", disable=not progress))


@dataclass(frozen=True)
class Improvement:
    """Scores of the noisy inputs and of their enhanced versions against the clean references.

    ``before``, ``after``: ``(files, metrics)`` arrays in ``metrics`` order; ``delta = after - before``.
    """

    metrics: tuple[str, ...]
    before: np.ndarray
    after: np.ndarray

    @property
    def delta(self) -> np.ndarray:
        return self.after - self.before

    def mean_delta(self) -> dict[str, float]:
        """``{metric: mean improvement over the files}`` (NaN scores ignored)."""
        return {m: float(np.nanmean(self.delta[:, k])) for k, m in enumerate(self.metrics)}


def score_improvement(
    enhance,
    pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]],
    *,
    metrics: Sequence[str] = ("si_sdr", "pesq_wb"),
    score_rate: int | None = None,
) -> Improvement:
    """Score each ``(clean_path, noisy_path)`` pair before and after ``enhance``.

    ``enhance``: ``(audio (channels, samples), sr) -> (channels, samples)``, e.g. ``model.enhance``. Files are
    read at their own rate (first channel scored); ``score_rate``: resample clean, noisy and enhanced to this rate
    (Hz) before scoring (e.g. 16000 to score a 48 kHz set with PESQ-WB). Returns an :class:`Improvement`.

    Examples
    --------
    >>> score_improvement(model.enhance, assets.dataset_pairs("vbd16k")[:4]).mean_delta()
    {'si_sdr': 9.4, 'pesq_wb': 0.61}
    """
    before, after = [], []
    for clean_path, noisy_path in pairs:
        clean, sr = read(clean_path)
        noisy, _ = read(noisy_path)
        y = np.asarray(enhance(noisy, sr))
        c, n, e = clean[0], noisy[0], y[0]
        rate = sr
        if score_rate is not None and score_rate != sr:
            c, n, e = (resample(a, sr, score_rate) for a in (c, n, e))
            rate = score_rate
        b = score_pair(c, n, rate, metrics=metrics, name=str(noisy_path))
        a = score_pair(c, e, rate, metrics=metrics, name=f"enhanced {noisy_path}")
        before.append([b[m] for m in metrics])
        after.append([a[m] for m in metrics])
    return Improvement(tuple(metrics), np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64))


def cpu_count() -> int:
    import os

    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - non-Linux
        return max(os.cpu_count() or 1, 1)
