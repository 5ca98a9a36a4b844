"""What a report section is: the record the registry holds (:class:`Section`) and what every section's
``build`` reads (:class:`ReportContext`, computed once per report by :func:`setoolkit.report.build_report`).

A section's ``build(ctx)`` returns its view model (a small dataclass of display-ready values) or ``None`` to be
left out; its ``html`` is a Jinja2 fragment rendered with that view as ``view`` (autoescaped; helpers ``url``,
``json``, ``label``); its ``markdown(view)`` returns the lines of its part of ``report.md`` (``None``: the section
is on the HTML page only).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class ReportContext:
    """The inputs and shared results every section reads: the evaluation ``table`` (display names), its
    ``summary`` (:func:`setoolkit.evaluation.summarize`), the VoiceBank-DEMAND SNR ``bands`` (or ``None``), the
    timing pass's ``speed`` files (:func:`setoolkit.report.leaderboard.read_speed`), the ``datasets`` in report
    order with their leaderboards ``boards``, and the caller's options."""

    out_dir: Path
    date: str
    title: str
    table: pd.DataFrame
    summary: pd.DataFrame
    bands: pd.DataFrame | None
    speed: dict
    datasets: list[str]
    boards: dict[str, pd.DataFrame]
    figures_dir: Path
    sizes: dict | None = None
    notes: list[str] = field(default_factory=list)
    previous: Path | None = None
    examples: int = 2
    listening: Sequence[str | os.PathLike] = ()

    @property
    def threads(self) -> int | None:
        """Threads of the timing pass (timing.csv ``threads``), ``None`` without one."""
        timing = self.speed["timing"]
        if timing is None or "threads" not in timing or not len(timing):
            return None
        return int(timing["threads"].iloc[0])

    @property
    def has_bands(self) -> bool:
        return self.bands is not None and len(self.bands) > 0


@dataclass(frozen=True)
class Section:
    """One part of the report, in the registry's order on the page and in ``report.md``.

    ``id``: the HTML ``<section id>`` and the navigation anchor; ``nav``: the navigation link's text;
    ``build``: ``ReportContext -> view model`` (``None``: left out of both pages and the navigation); ``html``:
    a Jinja2 fragment (the section's inner HTML) rendered with ``view``; ``markdown``: ``view -> lines`` of
    ``report.md`` (``None``: HTML only).
    """

    id: str
    nav: str
    build: Callable[[ReportContext], Any]
    html: str
    markdown: Callable[[Any], list[str]] | None = None
