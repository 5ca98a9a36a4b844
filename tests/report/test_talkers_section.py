"""The competing-talker section of the daily report, on a real evaluation of a small built talker set: the board
per SIR band, the sentence naming who keeps the competing voice, the CSV files, and both writers."""

from pathlib import Path

import numpy as np
import pytest

from setoolkit.datasets import make_set
from setoolkit.datasets.recipes import TalkerRecipe
from setoolkit.metrics import catalog
from setoolkit.report import build_report
from setoolkit.report.sections.base import ReportContext
from setoolkit.report.sections.talkers import build, keep_sentence, markdown

SMALL = TalkerRecipe("talkers_small", "test set", per_band=1, babble_files=1, noise_files=1)


def build_view(table, out_dir):
    return build(ReportContext(out_dir, "2026-01-01", "t", table, table.iloc[:0], None, {}, [], {}, out_dir))


def talker_sections(table, out_dir):
    """The section's view sets for ``table`` (what the report's ``build`` sees: the table and the folder)."""
    view = build_view(table, out_dir)
    return [] if view is None else view.sets


@pytest.fixture(scope="module")
def talker_run(tmp_path_factory):
    from setoolkit.evaluation import evaluate

    root = tmp_path_factory.mktemp("talkers")
    folder = make_set(SMALL, root / "sets", seed=2)
    table = evaluate(["gtcrn", "oracle-irm"], [str(folder)], root / "eval", workers=1, progress=False)
    assert len(table) == 6 * 3
    return folder, table


@pytest.mark.slow  # one real evaluation (GTCRN, an oracle mask, DNSMOS)
def test_board_per_sir_band_and_the_sentence(talker_run, tmp_path):
    _, table = talker_run
    (section,) = talker_sections(table, tmp_path)
    board = section.board.set_index("model")
    assert section.dataset == "talkers_small"
    assert board.attrs["bands"] == ["0 dB", "5 dB", "10 dB", "15 dB", "babble", "talker + noise"]
    assert list(board.index) == ["gtcrn", "oracle-irm", "noisy"]  # models first, then the ceiling and the floor
    # the noisy input's SI-SDR against the target follows its SIR band
    noisy = board.loc["noisy", ["0 dB", "5 dB", "10 dB", "15 dB"]].to_numpy(dtype=float)
    assert np.all(np.abs(noisy - [0, 5, 10, 15]) < 6) and noisy[3] - noisy[0] > 8  # one file a band: energy, not P.56
    assert board.loc["noisy", "verdict"] == "keeps" and board.loc["oracle-irm", "verdict"] == "suppresses"
    assert board.loc["gtcrn", "verdict"] == "keeps"
    assert {"pesq_wb", "OVRL"} <= set(board.columns) and "spk_sim" not in board.columns
    assert section.sentence.startswith("talkers_small: gtcrn (")
    assert " keeps the competing voice (median SIR gain" in section.sentence and "oracle" not in section.sentence
    assert (tmp_path / "talkers_retention.csv").is_file() and (tmp_path / "talkers_talkers_small.csv").is_file()
    assert list(section.pesq_bands.columns) == board.attrs["bands"]


@pytest.mark.slow  # one real evaluation (GTCRN, an oracle mask, DNSMOS)
def test_extra_metric_columns_show_when_present(talker_run, tmp_path):
    _, table = talker_run
    rng = np.random.default_rng(0)
    with_extra = table.assign(spk_sim=rng.uniform(0.5, 0.9, len(table)))
    (section,) = talker_sections(with_extra, tmp_path)
    label = catalog.label("spk_sim")  # the metric record's label ("speaker similarity")
    assert "spk_sim" in section.board.columns and (label, "set mean") in section.header
    assert any(f"{label} (set mean)" in line for line in markdown(build_view(with_extra, tmp_path)))
    out = build_report(with_extra, tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    assert f"{label}<small>set mean</small></th>" in (out / "report.html").read_text()


@pytest.mark.slow  # one real evaluation (GTCRN, an oracle mask, DNSMOS)
def test_in_the_daily_report(talker_run, tmp_path):
    _, table = talker_run
    out = build_report(table, tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    page, md = (out / "report.html").read_text(), (out / "report.md").read_text()
    assert '<section id="talkers">' in page and 'href="#talkers"' in page
    assert 'class="badge verdict-keeps">keeps</span>' in page
    assert "## Competing talkers" in md and "### talkers_small" in md
    assert (out / "talkers_talkers_small.csv").is_file()


@pytest.mark.slow  # one real evaluation (GTCRN, an oracle mask, DNSMOS)
def test_no_section_without_a_built_set(small_run, tmp_path):
    _, table = small_run
    assert talker_sections(table, tmp_path) == []
    assert not list(tmp_path.glob("talkers_*"))


def test_sentence_names_each_verdict():
    import pandas as pd

    v = pd.DataFrame(
        {
            "model": ["a", "b", "c", "d", "noisy", "oracle-irm"],
            "sir_gain_db": [0.4, 6.0, 14.0, 1.0, 0.0, 25.0],
            "verdict": ["keeps", "partly suppresses", "suppresses", "keeps", "keeps", "suppresses"],
        }
    )
    assert keep_sentence(v, "t") == (
        "t: a (+0.4 dB), d (+1.0 dB) keep the competing voice; b (+6.0 dB) partly suppresses it; c (+14.0 dB) "
        "suppresses it (median SIR gain over the one-talker files: under 3 dB keeps, from 10 dB suppresses)."
    )
    assert keep_sentence(v[v["model"] == "c"], "t").startswith("t: c (+14.0 dB) suppresses the competing voice (")
    assert keep_sentence(v[v["model"] == "noisy"], "t") == "t: no model output on a one-talker file to judge."


@pytest.mark.slow
@pytest.mark.browser
def test_section_in_chromium(talker_run, tmp_path):
    from browser_helpers import CHROMEDRIVER, CHROMIUM, chromium, screenshots, wait_for

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian chromium + chromium-driver not installed")
    _, table = talker_run
    table = table.assign(spk_sim=0.7, wer=0.1)  # the columns other metrics add: the table must still fit
    out = build_report(table, tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    with chromium() as driver:
        driver.get((out / "report.html").as_uri())
        wait_for(driver, "return document.querySelector('#talkers table.talkers')", 30, "the talker board")
        driver.execute_script("document.getElementById('talkers').scrollIntoView(); window.scrollBy(0, -70)")
        driver.save_screenshot(str(screenshots(tmp_path) / "report_talkers.png"))
        widths = driver.execute_script(
            "const t=document.querySelector('#talkers table.talkers');"
            "return [t.getBoundingClientRect().right, document.documentElement.clientWidth,"
            " document.documentElement.scrollWidth, t.rows.length,"
            " [...document.querySelectorAll('#talkers .badge')].map(b => getComputedStyle(b).backgroundColor)]"
        )
        right, client, scroll, rows, badges = widths
        assert right <= client and scroll <= client  # no column pushes the page sideways
        assert rows == 1 + 3 and len(badges) == 3 and len(set(badges)) == 2  # keeps and suppresses look different
