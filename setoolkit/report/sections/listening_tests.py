"""The listening-tests section: one part per listening test with ratings (ratings with CIs, paired tests,
agreement with the metrics, :func:`setoolkit.listening.listening_section`) and a link to its page. Tests are
the folders the caller names plus those found under the report's ``listening_tests/``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ...listening import listening_section
from ...listening.build import TEST_FILE
from ...listening.page import PAGE_FILE
from ...listening.report_section import ListeningSection
from .base import ReportContext, Section


@dataclass
class ListeningTestsView:
    tests: list[ListeningSection]


def build(ctx: ReportContext) -> ListeningTestsView | None:
    """The tests with results, their figures written into ``ctx.out_dir/figures``; ``None`` when none has any."""
    found = sorted(p.parent for p in (ctx.out_dir / "listening_tests").glob(f"*/{TEST_FILE}"))
    out = []
    for folder in dict.fromkeys(Path(f).resolve() for f in [*ctx.listening, *found]):
        href = Path(os.path.relpath(folder / PAGE_FILE, ctx.out_dir.resolve())).as_posix()
        section = listening_section(folder / "results", folder, ctx.table, page_href=href)
        if section is not None:
            section.write_figure(ctx.out_dir / "figures")
            out.append(section)
    return ListeningTestsView(out) if out else None


def markdown(view: ListeningTestsView) -> list[str]:
    md = ["## Listening tests", ""]
    for sec in view.tests:
        md += [sec.markdown.replace(f"]({sec.figure_name})", f"](figures/{sec.figure_name})"), ""]
    return md


HTML = """\
  <h2>Listening tests</h2>
  {% for t in view.tests %}{{ t.html | safe }}{% endfor %}
"""

SECTION = Section(id="listening-tests", nav="Listening tests", build=build, html=HTML, markdown=markdown)
