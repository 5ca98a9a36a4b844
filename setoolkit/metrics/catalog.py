"""What each table column is, derived from the metric records (:mod:`setoolkit.metrics.registry`): the label and
unit figures and tables print, the digits they round to, whether higher is better, whether it needs a clean
reference, the rate it is computed at and its rough cost.

The report, the figures, the CLI and the evaluation engine read this view; the facts themselves live once, in
each metric's :class:`~setoolkit.metrics.registry.Metric` record beside its code (a metric that writes several
columns, DNSMOS, gives each its label and shares the rest). A few table columns that are not metrics of a pair
(``rtf``, ``latency_ms``, ``params``) are described here.

Examples
--------
>>> info("pesq_wb").label, info("pesq_wb").unit
('PESQ-WB', 'MOS-LQO')
>>> label("delta_si_sdr")
'Δ SI-SDR'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from . import registry


@dataclass(frozen=True)
class MetricInfo:
    """One column's facts.

    ``rate``: the sample rate (Hz) it is computed at (``None``: the pair's own rate, or one that depends on it);
    ``cost``: rough seconds per 3 s clip on one core (what the evaluation profile measured), to plan a run; a
    metric that writes several columns carries its cost on the first.
    """

    name: str
    label: str
    unit: str = ""
    digits: int = 2
    higher_is_better: bool = True
    intrusive: bool = True
    rate: int | None = None
    cost: float = 0.01


#: Table columns that are not metrics of a pair, but that the same tables and figures print.
TABLE_COLUMNS = (
    MetricInfo("rtf", "real-time factor", "", 2, False, False),
    MetricInfo("latency_ms", "algorithmic latency", "ms", 1, False, False),
    MetricInfo("params", "parameters", "", 0, False, False),
)


def _infos(metric: registry.Metric) -> list[MetricInfo]:
    rate = metric.rate if isinstance(metric.rate, int) else None
    return [
        MetricInfo(
            c,
            metric.column_label(c),
            metric.unit,
            metric.digits,
            metric.higher_is_better,
            metric.intrusive,
            rate,
            metric.cost if k == 0 else 0.0,
        )
        for k, c in enumerate(metric.columns)
    ]


class _Catalog(Mapping):
    """``{column: MetricInfo}`` of every registered metric's columns and :data:`TABLE_COLUMNS`, read live (a
    metric registered later, a plug-in or a spec, is in it)."""

    def __init__(self) -> None:
        self._cache: tuple[int, dict[str, MetricInfo]] = (-1, {})

    def _table(self) -> dict[str, MetricInfo]:
        metrics = registry.registered()
        if self._cache[0] != registry.generation():
            out = {i.name: i for m in metrics for i in _infos(m)}
            out.update({i.name: i for i in TABLE_COLUMNS})
            self._cache = (registry.generation(), out)
        return self._cache[1]

    def __getitem__(self, name: str) -> MetricInfo:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: Every known column by name (a live view of the registry).
CATALOG: Mapping[str, MetricInfo] = _Catalog()


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
    """Direction of ``name`` (from its metric's record; True for an unknown column)."""
    return info(name).higher_is_better
