"""Speech-quality metrics: one entry point for a pair (:func:`score_pair`), for files (:func:`score_files`), and
the functions each metric family provides.

Modules, one job each: :mod:`.catalog` (what each metric is: label, unit, digits, direction, intrusive, rate,
cost), :mod:`.pairs` (the input rules every metric shares), :mod:`.pesq_p862` (PESQ), :mod:`.composite`
(CSIG/CBAK/COVL), :mod:`.dnsmos` (DNSMOS P.835/P.808), :mod:`.learned` (DistillMOS, ViSQOL), :mod:`.scoring`
(the signal metrics, STOI, alignment, :func:`score_pair`).
"""

from .catalog import CATALOG, MetricInfo, digits, higher_is_better, info, label
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
    "score_files",
    "score_improvement",
    "score_pair",
    "sdr",
    "segmental_snr",
    "si_sdr",
    "snr",
    "stoi",
]
