"""Batch forms in a folder's scoring: which requested metrics have one (:attr:`Metric.batch`), the files in bounded
chunks, each chunk's pairs read and aligned as :func:`~setoolkit.metrics.score_pair` does and its signals through the
batch calls at each metric's rate, and its rows merged with the per-file ones
(:func:`setoolkit.metrics.score_files` drives it).

A batch form is kept only where it pays on CPU (measured on real vbd16k files, CPU seconds on one thread, batch
vs one call per file): ``spk_sim`` 1.5x less (its LSTM runs the partial utterances of 16 files in one call).
NISQA (its network on padded segment batches with per-item counts, as upstream's batch prediction: 1.2-2.3x
*more*; its front end, 60% of its cost, is per signal anyway), DistillMOS (crops of several files in one call:
1.0-1.2x more) and DNSMOS (9.01 s windows of several files in one ONNX call: 1.3x more than one window per call)
have none: on one core a bigger batch outgrows the caches.

Examples
--------
>>> split(["pesq_wb", "spk_sim"])
(['pesq_wb'], ['spk_sim'])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..audio import read, resample, to_mono
from ..errors import MetricError
from . import registry
from .pairs import is_silent

#: Files per batch call in :func:`setoolkit.metrics.score_files` (bounds memory: 16 files of a few seconds).
BATCH_FILES = 16

_LOADED: set[str] = set()


@dataclass(frozen=True)
class Item:
    """One pair as :func:`setoolkit.metrics.score_pair` holds it before scoring: ``ref`` ``(samples,)`` float32 or
    ``None``; ``est`` the estimate aligned to it (``None`` without a reference); ``raw`` the estimate as read
    (what non-intrusive metrics score); ``sr`` Hz; ``silent``: the reference is all zeros (intrusive columns NaN)."""

    ref: np.ndarray | None
    est: np.ndarray | None
    raw: np.ndarray
    sr: int
    silent: bool = False


def split(metrics: Sequence[str]) -> tuple[list[str], list[str]]:
    """``metrics`` (checked names, :func:`registry.resolve`) as ``(per-file names, batch names)``: a name goes to
    the batch side when the metric computing it has a batch form and reads nothing about the clean file beyond its
    samples (a record with an ``annotation``, such as a transcript, is scored file by file, where it gets it)."""
    batched = {k for k, m, _ in registry.plan(metrics) if m.batch is not None and m.annotation is None}
    per_file = [n for n in metrics if registry.key_of(n) not in batched]
    return per_file, [n for n in metrics if registry.key_of(n) in batched]


def chunks(items: Sequence, size: int) -> list[list]:
    """``items`` in consecutive lists of at most ``size`` (order kept)."""
    return [list(items[a : a + size]) for a in range(0, len(items), max(int(size), 1))]


def _kw(fn, mirror) -> dict:
    return {"mirror": mirror} if mirror is not None and registry.accepts(fn, "mirror") else {}


def score_items(items: Sequence[Item], names: Sequence[str], *, mirror=None) -> list[dict[str, float]]:
    """The columns of ``names`` (metrics with a batch form) for each item, as :func:`score_pair` would compute
    them one by one: an intrusive metric only for items with a reference, NaN for a silent one; each metric's
    ``batch`` called once per group of items that share its rate, signals resampled (soxr) to that rate once.
    Returns one ``{column: value}`` per item, in order."""
    out: list[dict[str, float]] = [{} for _ in items]
    copies: dict[tuple[int, str, int], np.ndarray] = {}

    def at(i: int, which: str, rate: int) -> np.ndarray:  # each signal at each rate, made once
        x = getattr(items[i], which)
        if rate == items[i].sr:
            return x
        if (i, which, rate) not in copies:
            copies[i, which, rate] = resample(x, items[i].sr, rate)
        return copies[i, which, rate]

    for key, metric, cols in registry.plan(names):
        if metric.batch is None:
            raise MetricError(f"metric {key!r} has no batch form")
        if metric.load is not None and key not in _LOADED:
            metric.load(**_kw(metric.load, mirror))
            _LOADED.add(key)
        groups: dict[int, list[int]] = {}
        for i, item in enumerate(items):
            if metric.intrusive and item.ref is None:
                continue
            if metric.intrusive and item.silent:
                out[i].update(dict.fromkeys(cols, math.nan))
                continue
            groups.setdefault(metric.rate_for(item.sr), []).append(i)
        for rate, idx in groups.items():
            signals = ["ref", "est"] if metric.intrusive else ["raw"]
            args = [[at(i, which, rate) for i in idx] for which in signals]
            values = list(metric.batch(*args, rate, **_kw(metric.batch, mirror)))
            if len(values) != len(idx):
                raise MetricError(f"metric {key!r}: its batch returned {len(values)} values for {len(idx)} items")
            for i, value in zip(idx, values):
                out[i].update(metric.column_values(value, cols, key=key, by="batch"))
    return out


def score_chunk(
    pairs: Sequence[tuple[str | None, str]],
    names: Sequence[str],
    align_signals: bool,
    warn_identical: bool,
    *,
    align: Callable,
    check_lengths: Callable,
) -> list[dict]:
    """A chunk of ``(reference_path, estimate_path)`` pairs through the batch forms of ``names``: each pair read,
    checked and aligned as :func:`setoolkit.metrics.scoring._score_files` and ``score_pair`` do (``align`` and
    ``check_lengths`` are theirs), then :func:`score_items`. One row per pair: ``file``, ``reference``, ``sr``,
    ``lag`` (with a reference) and the batch columns. ``warn_identical``: warn about an estimate equal to its
    reference (when no per-file intrusive metric warns already)."""
    intrusive = [c for _, m, cols in registry.plan(names) if m.intrusive for c in cols]
    items, rows = [], []
    for ref_path, est_path in pairs:
        est, sr = read(est_path)
        ref, aligned, lag, silent = None, None, 0, False
        if ref_path is not None:
            ref, sr_ref = read(ref_path)
            if sr != sr_ref:
                est, sr = resample(est, sr, sr_ref), sr_ref
            ref = np.asarray(to_mono(ref)[0], dtype=np.float32).reshape(-1)
        raw = np.asarray(to_mono(est)[0], dtype=np.float32).reshape(-1)
        if ref is not None:
            check_lengths(len(ref), len(raw), sr, name=est_path)
            if align_signals:
                aligned, lag = align(ref, raw, sr)
            else:
                aligned = np.pad(raw, (0, max(len(ref) - len(raw), 0)))[: len(ref)]
            silent = bool(intrusive) and is_silent(ref)
            if silent:
                warnings.warn(f"{ref_path}: the clean reference is all zeros; {', '.join(intrusive)} NaN ({est_path})")
            elif warn_identical and intrusive and np.array_equal(ref, aligned):
                warnings.warn(f"{est_path} is identical to its clean reference {ref_path}: intrusive scores at ceiling")
        items.append(Item(ref, aligned, raw, sr, silent))
        rows.append({"file": est_path, "reference": ref_path, "sr": sr} | ({"lag": lag} if ref is not None else {}))
    return [row | cols for row, cols in zip(rows, score_items(items, names))]


def merge(per_file: Sequence[dict] | None, batched: Sequence[dict], metrics: Sequence[str]) -> list[dict]:
    """Rows of the per-file path (``None`` when every metric had a batch form) and of the batch path, one per
    file in the same order, as one row each: ``file``, ``reference``, ``sr``, the columns in :func:`registry.columns`
    order, ``lag`` when there is a reference (the shape :func:`score_files` returns)."""
    order = registry.columns(metrics)
    rows = []
    for k, b in enumerate(batched):
        row = {**per_file[k], **b} if per_file is not None else dict(b)
        head = {c: row[c] for c in ("file", "reference", "sr")}
        head.update({c: row[c] for c in order if c in row})
        if "lag" in row:
            head["lag"] = row["lag"]
        rows.append(head)
    return rows
