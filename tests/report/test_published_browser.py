"""The published-vs-measured table in Chromium, from real runs: one line per row (no wrapped citation column), the
sources as numbered notes the rows link to, the noisy input's baseline rows, and the page no wider than the
window. Screenshot: ``published.png`` under ``$SETOOLKIT_SCREENSHOTS`` (default: the test's tmp folder)."""

from __future__ import annotations

import pandas as pd
import pytest
from browser_helpers import chromium, pytestmark, screenshots  # noqa: F401  (pytestmark: the Chromium skip)

ROWS = """
const t = document.querySelector('table.published');
t.scrollIntoView({block: 'start'}); window.scrollBy(0, -260);
const cells = r => [...r.querySelectorAll('td')].map(c => c.textContent);
return {
  heights: [...t.querySelectorAll('tbody tr')].map(r => r.getBoundingClientRect().height),
  head: [...t.querySelectorAll('th')].map(c => c.textContent),
  rows: [...t.querySelectorAll('tbody tr')].map(cells),
  links: [...t.querySelectorAll('a')].map(a => a.getAttribute('href')),
  notes: [...document.querySelectorAll('ol.notes li')].map(li => li.id),
  page: document.documentElement.scrollWidth, win: window.innerWidth,
};
"""


@pytest.mark.slow
def test_published_table_in_chromium(tmp_path, mirror):
    from setoolkit.evaluation import evaluate
    from setoolkit.report import build_report

    kw = dict(metrics=["pesq_wb", "stoi", "snr"], use_dnsmos=False, workers=1, progress=False)
    table = pd.concat(
        [
            pd.DataFrame(evaluate(["gtcrn-vctk"], ["vbd16k"], tmp_path / "run", limit=12, **kw)),
            pd.DataFrame(evaluate(["deepfilternet3"], ["vbd48k"], tmp_path / "run", **kw)),
        ],
        ignore_index=True,
    )
    out = build_report(table, tmp_path / "r" / "2026-12-06", date="2026-12-06", figures_dir=tmp_path / "f", examples=0)
    with chromium(1300, 1000) as driver:
        driver.get((out / "report.html").as_uri())
        got = driver.execute_script(ROWS)
        driver.save_screenshot(str(screenshots(tmp_path) / "published.png"))
    assert got["head"][:4] == ["model", "set", "condition", "published"] and "SNR-standardised" in got["head"]
    assert max(got["heights"]) < 32 and max(got["heights"]) - min(got["heights"]) < 1  # one line per row
    rows = {(r[0], r[1], r[2].rsplit(", ", 1)[-1]): r for r in got["rows"]}
    dfn = rows[("deepfilternet3", "vbd48k", "PESQ-WB (P.862.2)")]
    assert dfn[3] == "3.17" and "48 kHz" in dfn[2]
    assert ("deepfilternet3", "vbd16k", "PESQ-WB (P.862.2)") not in rows  # the 48 kHz number meets vbd48k only
    noisy = rows[("noisy input", "vbd16k", "PESQ-WB (P.862.2)")]
    assert noisy[3] == "1.97" and noisy[5] != "–"  # baseline row, with its SNR-standardised mean
    assert {h.removeprefix("#") for h in got["links"]} <= set(got["notes"]) and got["notes"]
    assert not any(r[1] in {"dns3_blind", ""} for r in got["rows"])  # only sets that were run
    assert got["page"] <= got["win"]
