"""What each metric is, in one place: the label and unit figures and tables print, the digits they round to,
whether higher is better, whether it needs a clean reference, the rate it is computed at and its rough cost.

The report, the figures, the CLI and the evaluation engine all read this table; nothing else keeps its own
copy of these facts.

Examples
--------
>>> info("pesq_wb").label, info("pesq_wb").unit
('PESQ-WB', 'MOS-LQO')
>>> label("delta_si_sdr")
'Δ SI-SDR'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """One metric's facts.

    ``rate``: the sample rate (Hz) it is computed at (``None``: the pair's own rate); ``cost``: rough seconds
    per 3 s clip on one core (what the evaluation profile measured), to plan a run.
    """

    name: str
    label: str
    unit: str = ""
    digits: int = 2
    higher_is_better: bool = True
    intrusive: bool = True
    rate: int | None = None
    cost: float = 0.01


_INFOS = (
    MetricInfo("pesq_wb", "PESQ-WB", "MOS-LQO", 2, True, True, 16000, 0.09),
    MetricInfo("pesq_nb", "PESQ-NB", "MOS-LQO", 2, True, True, 8000, 0.09),
    MetricInfo("csig", "CSIG", "1..5", 2, True, True, 16000, 0.02),
    MetricInfo("cbak", "CBAK", "1..5", 2, True, True, 16000, 0.0),
    MetricInfo("covl", "COVL", "1..5", 2, True, True, 16000, 0.0),
    MetricInfo("stoi", "STOI", "0..1", 3, True, True, 10000, 0.03),
    MetricInfo("estoi", "ESTOI", "0..1", 3, True, True, 10000, 0.06),
    MetricInfo("si_sdr", "SI-SDR", "dB", 1, True, True, None, 0.001),
    MetricInfo("sdr", "SDR", "dB", 1, True, True, None, 0.05),
    MetricInfo("snr", "SNR", "dB", 2, True, True, None, 0.001),
    MetricInfo("segsnr", "segmental SNR", "dB", 2, True, True, None, 0.002),
    MetricInfo("lsd", "LSD", "dB", 2, False, True, None, 0.005),
    MetricInfo("visqol", "ViSQOL", "MOS-LQO", 2, True, True, 16000, 0.2),
    MetricInfo("distillmos", "DistillMOS", "MOS", 2, True, False, 16000, 0.6),
    MetricInfo("OVRL", "DNSMOS OVRL", "DNSMOS", 2, True, False, 16000, 0.3),
    MetricInfo("SIG", "DNSMOS SIG", "DNSMOS", 2, True, False, 16000, 0.0),
    MetricInfo("BAK", "DNSMOS BAK", "DNSMOS", 2, True, False, 16000, 0.0),
    MetricInfo("P808_MOS", "DNSMOS P.808", "DNSMOS P.808", 2, True, False, 16000, 0.2),
    # not metrics of a pair, but columns the same tables and figures print
    MetricInfo("rtf", "real-time factor", "", 2, False, False),
    MetricInfo("latency_ms", "algorithmic latency", "ms", 1, False, False),
    MetricInfo("params", "parameters", "", 0, False, False),
)

#: Every known metric (and table column) by name.
CATALOG: dict[str, MetricInfo] = {m.name: m for m in _INFOS}
#: The non-intrusive MOS columns DNSMOS adds to every row.
DNSMOS_COLUMNS = ("SIG", "BAK", "OVRL", "P808_MOS")


def info(name: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``name``; an unknown name gets a neutral record labelled by its own name."""
    return CATALOG.get(name) or MetricInfo(name, name)


def label(name: str, *, with_unit: bool = False) -> str:
    """Readable name of a metric or of its ``delta_`` column (``"Δ SI-SDR"``); ``with_unit`` appends the unit
    when the label does not already say it (``"SI-SDR (dB)"``)."""
    if name.startswith("delta_"):
        return "Δ " + label(name[len("delta_") :], with_unit=with_unit)
    m = info(name)
    if with_unit and m.unit and m.unit not in m.label:
        return f"{m.label} ({m.unit})"
    return m.label


def digits(name: str) -> int:
    """Decimals a table prints for ``name`` (a ``delta_`` column rounds like its metric)."""
    return info(name[len("delta_") :] if name.startswith("delta_") else name).digits


def higher_is_better(name: str) -> bool:
    """Direction of ``name`` (True for every quality metric but LSD)."""
    return info(name).higher_is_better
