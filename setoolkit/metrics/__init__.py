"""Speech-quality metrics: one entry point for a pair (:func:`score_pair`), for files (:func:`score_files`), the
registry of metric records (:class:`Metric`, :func:`register`) and the functions each metric family provides.

Modules, one job each: :mod:`.record` (the :class:`Metric` record), :mod:`.registry` (:func:`register`, lookup,
specs and entry points: how to add a metric), :mod:`.catalog` (the per-column view tables and figures read:
label, unit, digits, direction), :mod:`.pairs` (the input rules every metric shares), and one module per family,
each declaring its records in ``METRICS``: :mod:`.pesq_p862` (PESQ), :mod:`.composite` (CSIG/CBAK/COVL),
:mod:`.stoi_estoi`, :mod:`.signal` (SI-SDR, SDR, SNR, segmental SNR, LSD), :mod:`.learned` (ViSQOL, DistillMOS),
:mod:`.dnsmos` (DNSMOS P.835/P.808); :mod:`.scoring` (alignment, :func:`score_pair`, :func:`score_files`),
:mod:`.batching` (batch forms in :func:`score_files`), :mod:`.folders` (``setoolkit score``).
"""

from . import registry
from .catalog import CATALOG, MetricInfo, digits, higher_is_better, info, label
from .registry import Metric, register
from .scoring import (
    ALL_METRICS,
    DEFAULT_METRICS,
    Improvement,
    align,
    check_lengths,
    cpu_count,
    lsd,
    metric_groups,
    pesq,
    score_files,
    score_improvement,
    score_pair,
    sdr,
    segmental_snr,
    si_sdr,
    snr,
    stoi,
)

__all__ = [
    "ALL_METRICS",
    "CATALOG",
    "DEFAULT_METRICS",
    "Improvement",
    "Metric",
    "MetricInfo",
    "align",
    "check_lengths",
    "digits",
    "metric_groups",
    "higher_is_better",
    "label",
    "cpu_count",
    "info",
    "lsd",
    "pesq",
    "register",
    "registry",
    "score_files",
    "score_improvement",
    "score_pair",
    "sdr",
    "segmental_snr",
    "si_sdr",
    "snr",
    "stoi",
]
