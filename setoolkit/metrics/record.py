"""The :class:`Metric` record: what one metric computes, what it writes, what it needs, how tables print it.

Declared beside each metric's code (``METRICS`` in each family module) and collected by
:mod:`setoolkit.metrics.registry`, which explains how to add one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MetricError


@dataclass(frozen=True, eq=False)
class Metric:
    """One metric: what it computes, what it writes, what it needs, and how tables print it.

    Parameters
    ----------
    name : str
        Unique name (``"pesq_wb"``, ``"dnsmos"``); its one column unless ``columns`` says otherwise.
    compute : callable
        ``compute(est, sr)`` (non-intrusive) or ``compute(ref, est, sr)`` (intrusive): ``(samples,)`` float arrays
        at ``sr`` Hz, of equal length for an intrusive metric (aligned first). Returns a float, or a dict
        ``{column: float}`` when the metric writes several columns. A keyword ``mirror`` in its signature receives
        the run's asset mirror. NaN with a warning for a clip it cannot score.
    intrusive : bool
        Whether it needs the clean reference.
    columns : tuple of str
        The table columns it writes (default ``(name,)``). ``column_labels`` may label each.
    label, unit, digits, higher_is_better
        How tables and figures print it (``label`` defaults to ``name``).
    rate : int, callable or None
        The rate (Hz) it works at: the signals are resampled (soxr) to it before ``compute``, once per signal and
        rate however many metrics share it. A callable maps the signal's rate to it (narrow-band PESQ:
        16 kHz from 16 kHz up, else 8 kHz). ``None``: the signal's own rate.
    extra : str or None
        The setoolkit extra it needs (``"learned-mos"``): a missing one is an error before any work.
    libraries : tuple of str
        Distributions (as ``pip`` names them) whose version can change its numbers: they enter the content key of
        exactly the rows that carry this metric.
    weights : tuple of str
        Files whose bytes can change its numbers: asset names (``"weights/dnsmos/p835/model_v8.onnx"``, keyed by
        their registered sha256), ``"package:path/in/package"`` (a file shipped in a wheel) or file paths.
    annotation : callable or None
        ``annotation(clean_path) -> str | None``: what the metric reads about a clean file beyond its samples (the
        set's transcript of it, for word error rates). When scoring files, its value reaches ``compute`` as the
        keyword ``annotation`` (``None`` where the file has none, or when there is no file, as for arrays), and
        it enters the content key of exactly that file's rows carrying this metric: an edited transcript line
        recomputes that file's rows, and only those.
    cost : float
        Rough seconds per 3 s clip on one core, to plan a run (the main job's ``profile.csv`` measures it).
    default : bool
        Part of :data:`~setoolkit.metrics.DEFAULT_METRICS` (what :func:`~setoolkit.metrics.score_pair` computes
        unless told otherwise).
    summary : bool
        Summarised by :func:`setoolkit.evaluation.summarize` by default.
    load : callable or None
        Optional ``load(mirror=None)``: opens models once per process (timed as ``load``, not as the metric).
    batch : callable or None
        Optional batch form, where it pays: ``batch(ests, sr)`` (non-intrusive) or ``batch(refs, ests, sr)``
        (intrusive) over lists of ``(samples,)`` float arrays at ``sr`` Hz (lengths may differ between items; a
        ref and its est as ``compute`` takes them), returning a list of what ``compute`` returns, one per item,
        equal to ``compute`` on each item to float error (the metric's test states its bar). A keyword ``mirror``
        is passed as to ``compute``. :func:`~setoolkit.metrics.score_files` calls it on bounded chunks of files.
    """

    name: str
    compute: Callable[..., Any]
    intrusive: bool = True
    columns: tuple[str, ...] = ()
    label: str = ""
    unit: str = ""
    digits: int = 2
    higher_is_better: bool = True
    rate: int | Callable[[int], int] | None = None
    extra: str | None = None
    libraries: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()
    annotation: Callable[[str], str | None] | None = None
    cost: float = 0.01
    default: bool = False
    summary: bool = True
    column_labels: Mapping[str, str] = field(default_factory=dict)
    load: Callable[..., Any] | None = None
    batch: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or ":" in self.name or "," in self.name:
            raise MetricError(f"metric name {self.name!r}: a non-empty string without ':' or ','")
        if not callable(self.compute):
            raise MetricError(f"metric {self.name!r}: compute is a {type(self.compute).__name__}, not a callable")
        if self.batch is not None and not callable(self.batch):
            raise MetricError(f"metric {self.name!r}: batch is a {type(self.batch).__name__}, not a callable")
        object.__setattr__(self, "columns", tuple(self.columns) or (self.name,))
        object.__setattr__(self, "libraries", tuple(self.libraries))
        object.__setattr__(self, "weights", tuple(self.weights))
        object.__setattr__(self, "label", self.label or self.name)

    def rate_for(self, sr: int) -> int:
        """The rate (Hz) ``compute`` receives a signal recorded at ``sr`` Hz."""
        if self.rate is None:
            return sr
        return int(self.rate(sr)) if callable(self.rate) else int(self.rate)

    def column_values(self, value, cols: tuple[str, ...], *, key: str = "", by: str = "compute") -> dict[str, float]:
        """``{column: float}`` for ``cols`` (some of :attr:`columns`) from what ``compute`` (or, ``by="batch"``, one
        item of ``batch``) returned: a float, or a dict of columns for a metric that writes several. A missing
        column or a bare number from a several-column metric is a :class:`MetricError` naming the metric (``key``:
        its name as asked for, a spec's ``path:name``)."""
        key = key or self.name
        if isinstance(value, dict):
            missing = [c for c in cols if c not in value]
            if missing:
                raise MetricError(
                    f"metric {key!r}: its {by} returned no {', '.join(missing)} (it returned {sorted(value)})"
                )
            return {c: float(value[c]) for c in cols}
        if len(self.columns) != 1:
            raise MetricError(f"metric {key!r} writes {self.columns}: its {by} must return a dict of them")
        return {cols[0]: float(value)}

    def column_label(self, column: str) -> str:
        """The label of one of its columns (``"DNSMOS OVRL"``)."""
        return self.column_labels.get(column, self.label if len(self.columns) == 1 else column)
