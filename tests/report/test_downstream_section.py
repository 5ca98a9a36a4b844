"""The downstream section reads the trade-off: each model's change in WER and speaker similarity against the
noisy input beside its change in PESQ and the MOS predictors, paired tests with Holm across models, the direction
from the metric catalogue (lower WER is better), one sentence naming the models that lift quality while
significantly hurting word errors, one figure; and the paper-metrics section's system-level agreement (Spearman
across models, exact p for small n)."""

import re
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from setoolkit.evaluation import agreement
from setoolkit.metrics import Metric, catalog, registry
from setoolkit.report import build_report, figures
from setoolkit.report.sections import downstream

#: The downstream measures' directions as their records declare them (lower WER and CER are better).
_STAND_INS = {"wer": (False, 3), "cer": (False, 3), "spk_sim": (True, 3), "nisqa_mos": (True, 2)}


@pytest.fixture(autouse=True)
def downstream_records(monkeypatch):
    """The catalogue knows the downstream columns: their own records where the measures are installed, else
    stand-in records with the same names and directions, removed after the test."""
    registry.registered()
    for name, (higher, digits) in _STAND_INS.items():
        if name not in catalog.CATALOG:
            label = name.upper() if name in ("wer", "cer") else name
            m = Metric(name=name, compute=lambda ref, est, sr: 0.0, label=label, higher_is_better=higher, digits=digits)
            monkeypatch.setitem(registry._METRICS, name, m)
            monkeypatch.setitem(registry._COLUMNS, name, name)
    registry._generation[0] += 1  # the catalogue rebuilds its view now and after the test
    assert not catalog.higher_is_better("wer") and catalog.higher_is_better("spk_sim")
    yield
    registry._generation[0] += 1


def _table(n: int = 8, seed: int = 0) -> pd.DataFrame:
    """``n`` paired files; ``gtcrn`` lifts OVRL and PESQ but adds word errors on every file, ``rnnoise`` lifts
    OVRL and removes word errors, ``nsnet2`` changes WER by noise only; speaker similarity does not move."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        pesq, ovrl, wer, spk = (
            rng.uniform(1.5, 2.5),
            rng.uniform(2.2, 2.8),
            rng.uniform(0.2, 0.5),
            rng.uniform(0.8, 0.9),
        )
        effects = {
            "noisy": (0.0, 0.0, 0.0),
            "gtcrn": (0.6, 0.5, 0.08 + 0.01 * i),
            "rnnoise": (0.3, 0.4, -0.05 - 0.01 * i),
            "nsnet2": (0.4, 0.3, 0.02 * (-1) ** i),
        }
        for model, (dp, do, dw) in effects.items():
            rows.append(
                {
                    "dataset": "vbd16k",
                    "model": model,
                    "file": f"p232_{i:03d}.wav",
                    "pesq_wb": pesq + dp + rng.normal(0, 0.02) * (model != "noisy"),
                    "OVRL": ovrl + do + rng.normal(0, 0.02) * (model != "noisy"),
                    "wer": wer + dw,
                    "spk_sim": spk,
                    "rtf": 0.1,
                }
            )
    return pd.DataFrame(rows)


def _ids(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


def test_changes_take_their_direction_from_the_catalogue():
    ch = downstream.changes_vs_noisy(_table(), "vbd16k", ["wer", "OVRL"], ["gtcrn", "rnnoise", "nsnet2"])
    wer = ch[ch["metric"] == "wer"].set_index("model")
    # more word errors is worse, fewer is better; 8 pairs of one sign: exact p 2/256, Holm x3 = 0.023
    assert wer.at["gtcrn", "difference"] == pytest.approx(0.08 + 0.035)
    assert not wer.at["gtcrn", "better"] and wer.at["gtcrn", "significant"]
    assert wer.at["rnnoise", "better"] and wer.at["rnnoise", "significant"]
    assert wer.at["gtcrn", "p"] == pytest.approx(2 / 2**8)
    assert wer.at["gtcrn", "p_holm"] == pytest.approx(3 * 2 / 2**8)
    assert not wer.at["nsnet2", "significant"]  # +-0.02 alternating: no shift
    assert wer.at["gtcrn", "ci_low"] > 0.08 and wer.at["gtcrn", "ci_high"] < 0.16
    ovrl = ch[ch["metric"] == "OVRL"].set_index("model")
    assert ovrl["better"].all()


def test_the_sentence_names_who_trades_word_errors_for_quality():
    t = _table()
    ch = downstream.changes_vs_noisy(t, "vbd16k", ["wer", "spk_sim", "pesq_wb", "OVRL"])
    text = downstream.tradeoff_sentence(ch, "vbd16k")
    assert text.startswith("On vbd16k, gtcrn raises PESQ-WB +0.60 and DNSMOS OVRL +0.52")
    assert "but worsens WER +0.115 (Holm p 0.023)" in text
    assert "rnnoise" not in text and "nsnet2" not in text
    # no harm anywhere: "none does", not silence
    calm = t.assign(wer=np.where(t["model"] == "gtcrn", t["wer"] - 0.2, t["wer"]))
    ch = downstream.changes_vs_noisy(calm, "vbd16k", ["wer", "OVRL"])
    assert "no model raises a quality score while significantly hurting" in downstream.tradeoff_sentence(ch, "vbd16k")


def test_too_few_files_is_said_not_read_as_no_harm():
    t = _table(n=5)
    ch = downstream.changes_vs_noisy(t, "vbd16k", ["wer", "OVRL"])
    assert not ch["significant"].any()
    text = downstream.tradeoff_sentence(ch, "vbd16k")
    assert "no model can be shown" in text and "with 5 files and 3 models" in text
    # what the means lean to is said, as such
    assert text.endswith(
        "Not significant, in the means only: gtcrn raises a quality score but worsens WER +0.100; "
        "nsnet2 raises a quality score but worsens WER +0.004."
    )


def test_the_section_is_in_the_report_with_its_figure(tmp_path):
    out = build_report(_table(), tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    page = (out / "report.html").read_text()
    ids = _ids(page)
    assert ids.index("papers") < ids.index("downstream") and '<a href="#downstream">Downstream</a>' in page
    section = page[page.index('<section id="downstream">') :]
    section = section[: section.index("</section>")]
    assert "gtcrn raises" in section and 'class="num worse"' in section and 'class="num better"' in section
    assert "figures/2026-01-01_vbd16k_quality_vs_wer.png" in section
    assert (out / "figures" / "2026-01-01_vbd16k_quality_vs_wer.png").stat().st_size > 10000
    csv = pd.read_csv(out / "downstream_vbd16k.csv")
    assert set(csv["metric"]) == {"wer", "spk_sim", "pesq_wb", "OVRL"} and len(csv) == 12
    md = (out / "report.md").read_text()
    assert md.index("## Downstream") < md.index("## Figures")
    assert "| gtcrn | +0.115\\* | 0.000 | +0.60\\* | +0.52\\* |" in md
    assert "| nsnet2 | 0.000 |" in md  # a change that rounds to zero carries no sign


def test_without_downstream_columns_the_section_is_left_out(tmp_path):
    t = _table().drop(columns=["wer", "spk_sim"])
    out = build_report(t, tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    page = (out / "report.html").read_text()
    assert "downstream" not in _ids(page) and not (out / "downstream_vbd16k.csv").exists()
    # a column of NaN (the measure not computed on this set) is absent too
    t = _table().assign(wer=np.nan, spk_sim=np.nan)
    out = build_report(t, tmp_path / "r2", date="2026-01-01", figures_dir=tmp_path / "f2", examples=0)
    assert "downstream" not in _ids((out / "report.html").read_text())


def test_the_figure_is_readable(tmp_path, monkeypatch):
    found = {}
    save = figures._save

    def checking_save(fig, out):
        found["overlaps"] = figures.text_overlaps(fig)
        found["texts"] = [t for t, _ in figures.text_boxes(fig)]
        ax = fig.axes[0]
        found["labels"] = ax.get_xlabel(), ax.get_ylabel()
        found["colours"] = {line.get_label(): line.get_color() for line in ax.get_lines()}
        return save(fig, out)

    monkeypatch.setattr(figures, "_save", checking_save)
    models = ["gtcrn", "gtcrn-vctk", "rnnoise", "nsnet2", "deepfilternet3", "dpcrn-quant", "dtln"]
    rows = []
    for i, m in enumerate(models):  # near-equal changes, the worst case for labels
        for metric, d in (("wer", 0.01 * (i % 3)), ("OVRL", 0.3 + 0.01 * i)):
            rows.append(
                {
                    "model": m,
                    "metric": metric,
                    "difference": d,
                    "ci_low": d - 0.02,
                    "ci_high": d + 0.02,
                    "significant": i == 0,
                }
            )
    out = figures.quality_vs_wer(pd.DataFrame(rows), tmp_path / "t.png", quality="OVRL", dataset="vbd16k")
    assert out.stat().st_size > 10000
    assert found["overlaps"] == [], found["overlaps"]
    assert all(m in found["texts"] for m in models)  # every model named, by its point or in the legend
    x, y = found["labels"]
    assert x.startswith("Δ WER vs noisy input (percentage points") and x.endswith("; lower is better)")
    assert y == "Δ DNSMOS OVRL vs noisy input\n(MOS points; higher is better)"
    for fam in ("gtcrn", "rnnoise", "deepfilternet"):
        assert fam in found["texts"]  # family legend, in the colours of every other figure
    styles = figures.model_styles(models)
    assert styles["gtcrn"]["color"] == styles["gtcrn-vctk"]["color"] == figures.FAMILY_COLOURS["gtcrn"]


def test_spearman_exact_p_enumerates_every_ordering():
    assert agreement.spearman_exact_p([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(2 / 24)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=6), rng.normal(size=6)
    rho = stats.spearmanr(x, y).statistic
    brute = np.mean([abs(stats.spearmanr(x, np.array(p)).statistic) >= abs(rho) - 1e-12 for p in permutations(y)])
    assert agreement.spearman_exact_p(x, y) == pytest.approx(brute)
    n, r, p, exact = agreement.spearman(np.arange(12.0), np.arange(12.0) ** 2)
    assert (n, r, exact) == (12, pytest.approx(1.0), False) and p < 1e-6  # scipy above 8 models
    assert np.isnan(agreement.spearman([1, 2], [2, 1])[1])  # 2 models: no ranking to test
    assert agreement.smallest_p(4) == pytest.approx(2 / 24) and agreement.smallest_p(2) == 1.0


def test_agreement_aligns_directions_and_is_in_the_paper_metrics(tmp_path):
    t = _table()
    agree = agreement.system_agreement(t, "vbd16k").set_index(["a", "b"])
    assert list(agree.index) == [
        ("pesq_wb", "OVRL"),
        ("pesq_wb", "wer"),
        ("pesq_wb", "spk_sim"),
        ("OVRL", "wer"),
        ("OVRL", "spk_sim"),
        ("wer", "spk_sim"),
    ]
    # models by mean: PESQ gtcrn > nsnet2 > rnnoise; WER rnnoise best, gtcrn worst: the opposite order
    assert agree.at[("pesq_wb", "wer"), "rho"] == pytest.approx(-1.0)
    assert agree.at[("pesq_wb", "wer"), "n"] == 3 and agree.at[("pesq_wb", "wer"), "p"] == pytest.approx(2 / 6)
    out = build_report(t, tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    page = (out / "report.html").read_text()
    papers = page[page.index('<section id="papers">') :]
    papers = papers[: papers.index("</section>")]
    assert "table class='small agree'" in papers and "Spearman" in papers
    assert "<td class='num'>-1.00<small>p 0.33</small></td>" in papers
    assert "with 3 models the smallest possible p is 0.33" in papers


def test_each_set_says_what_its_word_errors_were_measured_against(tmp_path, data):
    t = _table()
    clean = sorted((data / "vbd16k" / "clean").glob("*.wav"))[:8]  # shipped VCTK texts for these recordings
    t["clean_path"] = [str(clean[int(f[5:8])]) for f in t["file"]]
    out = build_report(t, tmp_path / "r", date="2026-01-01", figures_dir=tmp_path / "f", examples=0)
    page = (out / "report.html").read_text()
    assert "WER and CER\n    vs the written transcript)" in page
    assert "WER and CER vs the written transcript." in (out / "report.md").read_text()
    t["clean_path"] = None  # a table without the files: the recogniser's own transcript is what it can say
    out = build_report(t, tmp_path / "r2", date="2026-01-01", figures_dir=tmp_path / "f2", examples=0)
    assert "vs the clean file&#39;s transcript" in (out / "report.html").read_text()
