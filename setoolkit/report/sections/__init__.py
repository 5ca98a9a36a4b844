"""The report's sections, in page order: the one registry the HTML and Markdown writers read.

How to add a section (e.g. ``downstream``):
1. Write ``setoolkit/report/sections/downstream.py``: a view-model dataclass; ``build(ctx: ReportContext)``
   returning it (or ``None`` to leave the section out, e.g. without the columns it needs); ``HTML``, a Jinja2
   fragment of the section's inner markup reading ``view`` (autoescaped: mark only markup you made ``| safe``;
   helpers ``url``, ``json``, ``label``); optionally ``markdown(view) -> list[str]`` (its lines of report.md).
2. End the module with ``SECTION = Section(id="downstream", nav="Downstream", build=build, html=HTML,
   markdown=markdown)``: ``id`` is the ``<section id>`` and the navigation anchor, ``nav`` the link text.
3. Add ``downstream.SECTION`` to :data:`SECTIONS` below where it belongs on the page; the writers, the
   navigation and report.md follow. Files the section writes go under ``ctx.out_dir`` (figures in
   ``ctx.out_dir / "figures"``); shared inputs are on :class:`ReportContext` (add a field there only when two
   sections need it). Test it in ``tests/report/test_sections.py`` style: build a report, find its ``id``.
"""

from __future__ import annotations

from . import (
    changes,
    figure_gallery,
    full_tables,
    groups,
    leaderboards,
    listen,
    listening_tests,
    papers,
    snr_bands,
    speed,
    talkers,
)
from .base import ReportContext, Section

#: Every section of the daily report, in page (and report.md) order.
SECTIONS: tuple[Section, ...] = (
    leaderboards.SECTION,
    groups.SECTION,
    papers.SECTION,
    snr_bands.SECTION,
    talkers.SECTION,
    figure_gallery.SECTION,
    listen.SECTION,
    listening_tests.SECTION,
    speed.SECTION,
    changes.SECTION,
    full_tables.SECTION,
)

__all__ = ["SECTIONS", "ReportContext", "Section"]
