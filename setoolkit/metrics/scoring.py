"""Speech-quality metrics over numpy arrays, with the sample-rate rules and alignment handled: one entry point
for a pair (:func:`score_pair`) and for files (:func:`score_files`), driven by the metric records of
:mod:`setoolkit.metrics.registry`.

Intrusive metrics compare an estimate to a clean reference, both 1-D ``(samples,)`` at ``sr`` Hz:

* PESQ (ITU-T P.862, ``pesq`` package): wide-band at 16 kHz, narrow-band at 8 kHz; other rates are
  resampled first (soxr). A clip PESQ cannot score (silent, too short) gives NaN with a warning.
* STOI / ESTOI (``pystoi``, which resamples to 10 kHz itself).
* SI-SDR (zero-mean, scale-invariant), SDR (BSS-eval v4 with a 512-tap distortion filter, ``fast_bss_eval``),
  SNR, segmental SNR, log-spectral distance.

Non-intrusive ones (DNSMOS, DistillMOS, your own) score the estimate alone, as it is (not aligned).

:func:`align` removes a constant delay between estimate and reference (cross-correlation within a
bounded lag) before scoring; :func:`score_pair` reports the lag it removed. Each metric gets the pair at the rate
its record names, resampled once per rate however many metrics share it.

Metrics never lie about their inputs:

* the two signals must have the same length: a mismatch raises :class:`MetricError` naming both lengths.
  The one documented exception is rounding: lengths within :data:`~setoolkit.metrics.pairs.LENGTH_TOLERANCE` (0.1%,
  at least one sample: VoiceBank-DEMAND's own clean/noisy pairs differ by one sample) are cut to the shorter. A
  :func:`score_pair` aligns, and only within its bounded lag;
* degenerate inputs (an all-zero reference or estimate, a clip too short for PESQ/STOI) give NaN with a
  warning, never a number that looks like a score;
* a perfect estimate (``est == ref``, or a scaled copy for the scale-invariant SI-SDR and SDR) scores ``+inf`` dB
  in SI-SDR, SDR and SNR, and the highest value of the bounded metrics (PESQ 4.64 / 4.55, STOI 1.0); summaries
  treat ``inf`` like any value. An estimate identical to its reference is warned about once, naming it: it is
  usually a clean file given as the noisy or enhanced one.

Examples
--------
>>> scores = score_pair(clean, enhanced, 16000)      # dict: pesq_wb, stoi, si_sdr, ..., lag
>>> score_pair(None, enhanced, 16000, metrics=["dnsmos", "distillmos"])   # non-intrusive: no reference
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

from ..audio import read, resample, to_mono
from ..errors import MetricError, SetoolkitError
from ..processes import GUARD_HELP, check_not_bootstrapping, limit_threads, unguarded_main_line
from . import batching, registry
from .pairs import is_silent
from .pesq_p862 import pesq
from .signal import lsd, sdr, segmental_snr, si_sdr, snr
from .stoi_estoi import stoi

__all__ = ["lsd", "pesq", "sdr", "segmental_snr", "si_sdr", "snr", "stoi"]

#: Metrics computed by :func:`score_pair` unless told otherwise (the records with ``default=True``): the set SE
#: papers print (PESQ, CSIG/CBAK/COVL of Hu & Loizou 2008 on the wide-band PESQ, STOI) and the signal-level ones.
DEFAULT_METRICS = tuple(c for m in registry.builtin() if m.default for c in m.columns)
#: Every column of setoolkit's own metrics: the defaults, ViSQOL v3 (intrusive, speech mode), DistillMOS and DNSMOS
#: (non-intrusive). Plug-ins and specs are in :func:`setoolkit.metrics.registry.registered`.
ALL_METRICS = tuple(c for m in registry.builtin() for c in m.columns)


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


def metric_groups(metrics: Sequence[str]) -> list[tuple[str, ...]]:
    """``metrics`` as the calls that compute them: the columns of each metric computed once (``csig``, ``cbak``,
    ``covl`` are one call of the composite measures; the four DNSMOS columns one call)."""
    return [cols for _, _, cols in registry.plan(metrics)]


def _no_clock(stage: str):
    return nullcontext()


_LOADED: set[str] = set()


def _call(metric: registry.Metric, args: tuple, mirror, reference_path=None) -> object:
    kw: dict = {"mirror": mirror} if mirror is not None and registry.accepts(metric.compute, "mirror") else {}
    if metric.annotation is not None and registry.accepts(metric.compute, "annotation"):
        kw["annotation"] = annotation_of(metric, reference_path)
    return metric.compute(*args, **kw)


def annotation_of(metric: registry.Metric, reference_path) -> str | None:
    """What ``metric`` reads about the clean file ``reference_path`` beyond its samples (its record's
    ``annotation``: the set's transcript of it), or ``None`` (no such reader, no file, nothing for this file)."""
    if metric.annotation is None or reference_path is None:
        return None
    return metric.annotation(os.fspath(reference_path))


def _load(key: str, metric: registry.Metric, mirror) -> None:
    """``metric.load`` once per process (models opened before the first signal is timed)."""
    if metric.load is None or key in _LOADED:
        return
    metric.load(**({"mirror": mirror} if mirror is not None and registry.accepts(metric.load, "mirror") else {}))
    _LOADED.add(key)


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
    mirror=None,
    non_intrusive: bool = True,
    reference_path: str | os.PathLike | None = None,
) -> dict[str, float]:
    """Every metric in ``metrics`` (names, columns or metric specs) for one (reference, estimate) pair at ``sr``
    Hz, plus ``lag`` (samples) when there is a reference.

    ``ref``: ``(samples,)``, or ``None``: no reference, the intrusive metrics are left out (only the non-intrusive
    ones are computed). ``est``: ``(samples,)``. Their lengths may differ by at most the alignment window
    (``max_lag_seconds``, a model's delay or a resampler's rounding); a larger difference is a wrong pair or a
    truncated file and raises :class:`MetricError` naming ``name`` and both lengths.

    An all-zero reference (``reference`` names it in the warning) makes every intrusive metric NaN, with one
    warning; the non-intrusive ones are still computed (unless ``non_intrusive=False``: an oracle's rows).

    ``clock``: ``clock(stage)`` returns a context manager that times ``stage`` (e.g.
    :meth:`setoolkit.evaluation.profile.Profile.stage`): ``align``, ``load`` (a metric's models, once per
    process), then one stage per metric (its name: ``pesq_wb``, ``composite``, ``dnsmos``...). ``mirror``: the
    asset mirror for metrics with weights (DNSMOS). ``reference_path``: the clean file ``ref`` was read from, for
    the metrics that read something about it beyond its samples (``wer``/``cer``: the set's transcript of it, see
    :func:`setoolkit.metrics.asr.transcript_for`); without it they fall back as their records say.
    """
    clock = clock or _no_clock
    steps = [
        s
        for s in registry.plan(metrics)
        if (ref is not None or not s[1].intrusive) and (non_intrusive or s[1].intrusive)
    ]
    raw = np.asarray(est, dtype=np.float32).reshape(-1)
    out: dict[str, float] = {}
    lag = 0
    pair = None
    if ref is not None:
        ref = np.asarray(ref, dtype=np.float32).reshape(-1)
        check_lengths(len(ref), len(raw), sr, name=name, max_lag_seconds=max_lag_seconds)
        if align_signals:
            with clock("align"):
                aligned, lag = align(ref, raw, sr, max_lag_seconds=max_lag_seconds)
        else:
            aligned = np.pad(raw, (0, max(len(ref) - len(raw), 0)))[: len(ref)]
        pair = (ref, aligned)
        intrusive = [c for _, m, cols in steps if m.intrusive for c in cols]
        if intrusive and is_silent(ref):
            # no clean speech to compare with: every intrusive metric is undefined (STOI would say 0, LSD 67 dB,
            # segmental SNR -10 dB: numbers that look like scores and would enter the means)
            warnings.warn(
                f"{reference}: the clean reference is all zeros; {', '.join(intrusive)} undefined, NaN (for {name})"
            )
            out.update(dict.fromkeys(intrusive, float("nan")))
            steps = [s for s in steps if not s[1].intrusive]
        elif intrusive and np.array_equal(ref, aligned):
            warnings.warn(
                f"{name} is identical to its clean reference{'' if reference == 'reference' else ' ' + reference}: "
                "the intrusive metrics score their ceiling (PESQ 4.64, SI-SDR inf), not a measurement; "
                "is a clean file given as the noisy or enhanced one?"
            )
    copies: dict[tuple[str, int], np.ndarray] = {}

    def at(which: str, x: np.ndarray, rate: int) -> np.ndarray:  # each signal at each rate, made once
        if rate == sr:
            return x
        if (which, rate) not in copies:
            copies[which, rate] = resample(x, sr, rate)
        return copies[which, rate]

    for key, metric, cols in steps:
        if metric.load is not None and key not in _LOADED:
            with clock("load"):
                _load(key, metric, mirror)
        rate = metric.rate_for(sr)
        with clock(metric.name):
            if metric.intrusive:
                assert pair is not None  # steps keep intrusive metrics only with a reference
                args = (at("ref", pair[0], rate), at("est", pair[1], rate), rate)
                value = _call(metric, args, mirror, reference_path)
            else:
                value = _call(metric, (at("raw", raw, rate), rate), mirror)
        out.update(metric.column_values(value, cols, key=key))
    order = [c for _, m, cols in registry.plan(metrics) for c in cols if c in out]
    result = {c: out[c] for c in order}
    if ref is not None:
        result["lag"] = lag
    return result


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
    est, sr = read(est_path)
    ref = None
    if ref_path is not None:
        ref, sr_ref = read(ref_path)
        if sr != sr_ref:
            est, sr = resample(est, sr, sr_ref), sr_ref
        ref = to_mono(ref)[0]
    row: dict = {"file": str(est_path), "reference": str(ref_path) if ref_path is not None else None, "sr": sr}
    row.update(
        score_pair(
            ref,
            to_mono(est)[0],
            sr,
            metrics=metrics,
            align_signals=align_signals,
            name=str(est_path),
            reference=str(ref_path),
            reference_path=ref_path,
        )
    )
    return row


def _run_job(job: tuple) -> dict | list[dict]:
    """One job of :func:`score_files`: ``("file", job)`` for :func:`_score_files`, ``("batch", job)`` for
    :func:`batching.score_chunk` (a chunk of pairs through the batch forms)."""
    kind, args = job
    if kind == "batch":  # score_pair's length check and alignment, passed in (batching does not import scoring)
        return batching.score_chunk(*args, align=align, check_lengths=check_lengths)
    return _score_files(args)


def score_files(
    pairs: Iterable[tuple[str | os.PathLike | None, str | os.PathLike]],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    align_signals: bool = True,
    workers: int | None = None,
    progress: bool = True,
    batch_files: int = batching.BATCH_FILES,
) -> list[dict]:
    """Score many ``(reference_path, estimate_path)`` pairs in parallel processes with a progress bar.

    ``reference_path`` may be ``None`` when every metric is non-intrusive. ``metrics`` are checked first
    (:func:`setoolkit.metrics.registry.resolve`: an unknown name is one error before any file is read). Returns
    one dict per pair (``file``, ``reference``, ``sr``, the metrics, ``lag`` when there is a reference), in input
    order.

    Metrics with a batch form (:mod:`setoolkit.metrics.batching`: ``spk_sim``) are computed over chunks of
    ``batch_files`` files (one job each), the others file by file; the values equal the per-file path's within
    the batch form's float tolerance (spk_sim: 1e-6). ``batch_files=0``: every metric file by file.
    """
    from tqdm.auto import tqdm

    metrics = registry.resolve(metrics)
    per_file, batched = batching.split(metrics) if batch_files > 0 else (list(metrics), [])
    pairs = [(str(r) if r is not None else None, str(e)) for r, e in pairs]
    jobs = [(r, e, metrics, align_signals) for r, e in pairs]
    if batched:
        intrusive_here = any(m.intrusive for _, m, _ in registry.plan(per_file))
        file_jobs = [("file", (r, e, tuple(per_file), align_signals)) for r, e in pairs] if per_file else []
        batch_jobs = [
            ("batch", (c, tuple(batched), align_signals, not intrusive_here))
            for c in batching.chunks(pairs, batch_files)
        ]
        workers = workers if workers is not None else min(len(file_jobs) + len(batch_jobs), cpu_count())
        done = _map(_run_job, batch_jobs + file_jobs, workers, metrics, progress, tqdm)
        rows = [r for b in done[: len(batch_jobs)] for r in b]
        return batching.merge(done[len(batch_jobs) :] or None, rows, metrics)
    workers = workers if workers is not None else min(len(jobs), cpu_count())
    return _map(_score_files, jobs, workers, metrics, progress, tqdm)


def _map(fn: Callable, jobs: list, workers: int, metrics: Sequence[str], progress: bool, tqdm) -> list:
    """``[fn(job) for job in jobs]``, in ``workers`` spawned processes when there are several (and the metrics
    registered in this process can be rebuilt there), else here."""
    if workers <= 1 or len(jobs) <= 1:
        return [fn(j) for j in tqdm(jobs, desc="scoring", disable=not progress)]
    check_not_bootstrapping("score_files()")
    where = unguarded_main_line()
    if where is not None:  # each spawned worker would run the script again: one clear error, before any work
        raise SetoolkitError(f"{where}: score_files(..., workers={workers}) is called at module level: {GUARD_HELP}")
    ours = {m.name for m in registry.builtin()}
    added = [(k, registry.get(k)) for k in metrics if k not in ours and registry.spec_file(k) is None]
    try:
        pickle.dumps(added)
    except Exception:  # a metric registered from a notebook cell or __main__: the workers could not rebuild it
        warnings.warn(
            f"metrics {[k for k, _ in added]} were registered in this process only: scored here, without workers",
            stacklevel=2,
        )
        return [fn(j) for j in tqdm(jobs, desc="scoring", disable=not progress)]
    # spawned, not forked: a fork of a process that has run torch (NISQA, DistillMOS) hangs on its first torch call
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_worker_init, initargs=(added,)
    ) as pool:
        return list(tqdm(pool.map(fn, jobs), total=len(jobs), desc="scoring", disable=not progress))


def _worker_init(added: list) -> None:
    """A scoring worker: one thread per numeric library (as many workers as cores; torch's default of one thread
    per core made the NISQA network cost 8.5x the CPU on a 2-core machine), the caller's registered metrics."""
    limit_threads(1)
    registry.register_all(added)


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
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - non-Linux
        return max(os.cpu_count() or 1, 1)
