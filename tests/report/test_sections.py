"""The report is its registry of sections: the page and report.md follow ``SECTIONS`` in order, a section whose
``build`` returns ``None`` is left out of both and of the navigation, and a new section is one record."""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from setoolkit.report import build_report, daily
from setoolkit.report.sections import SECTIONS, Section


def _table(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        q = rng.uniform(1.5, 3.0)
        for model, gain in (("noisy", 0.0), ("gtcrn", 0.8), ("rnnoise", 0.4)):
            rows.append({"dataset": "synth", "model": model, "file": f"f{i}.wav", "pesq_wb": q + gain, "rtf": 0.1})
    return pd.DataFrame(rows)


def _ids(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


def test_page_and_markdown_follow_the_registry(tmp_path):
    out = build_report(_table(), tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    page = (out / "report.html").read_text()
    ids = _ids(page)
    registry = [s.id for s in SECTIONS]
    assert ids == [i for i in registry if i in ids]  # registry order
    assert {"leaderboards", "groups", "figures", "speed", "changes", "full"} <= set(ids)
    assert "snr" not in ids and "listening-tests" not in ids  # build returned None: no bands, no tests
    nav = re.search(r"<nav>(.*?)</nav>", page, flags=re.S).group(1)
    assert re.findall(r'href="#([^"]+)"', nav) == ids
    md = (out / "report.md").read_text()
    heads = [md.index(h) for h in ("## At a glance", "## Comparison groups", "## Figures", "## What changed")]
    assert heads == sorted(heads)


@dataclass
class _Count:
    models: int


def test_a_new_section_is_one_record(tmp_path, monkeypatch):
    extra = Section(
        id="count",
        nav="Count",
        build=lambda ctx: _Count(int(ctx.summary["model"].nunique())),
        html="<h2>Count</h2><p>{{ view.models }} models, <b>{{ '<escaped>' }}</b></p>",
        markdown=lambda view: ["## Count", "", f"{view.models} models", ""],
    )
    monkeypatch.setattr(daily, "SECTIONS", (*SECTIONS[:2], extra, *SECTIONS[2:]))
    out = build_report(_table(), tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    page = (out / "report.html").read_text()
    assert _ids(page)[:3] == ["leaderboards", "groups", "count"]
    assert '<a href="#count">Count</a>' in page and "3 models, <b>&lt;escaped&gt;</b>" in page
    md = (out / "report.md").read_text()
    assert md.index("## Comparison groups") < md.index("## Count\n\n3 models") < md.index("## Figures")
