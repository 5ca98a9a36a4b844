"""Published vs measured under the paper's protocol, on real runs: each published number meets the run of its
condition (set and rate), the noisy input's published baseline is a row of its own, an SNR-standardised mean sits
beside the raw one, and only sets that were run appear."""

import math

import numpy as np
import pandas as pd
import pytest

from setoolkit.evaluation.paired import snr_band
from setoolkit.registry import CARDS, Published
from setoolkit.studies.published import (
    BASELINES,
    band_counts,
    condition_text,
    published_vs_measured,
    set_caveat,
    snr_standardised_mean,
)

METRICS = ["pesq_wb", "stoi", "snr"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mirror):
    """deepfilternet3 (a 48 kHz paper number) on both VoiceBank-DEMAND copies, gtcrn-vctk (16 kHz) on vbd16k:
    12 of the 44 vbd16k pairs (every SNR band twice or more) and the 6 vbd48k pairs (no 12.5 dB pair)."""
    from setoolkit.evaluation import evaluate

    out = tmp_path_factory.mktemp("published")
    kw = dict(metrics=METRICS, use_dnsmos=False, workers=1, progress=False)
    a = evaluate(["deepfilternet3", "gtcrn-vctk"], ["vbd16k"], out, limit=12, **kw)
    b = evaluate(["deepfilternet3"], ["vbd48k"], out, **kw)
    return pd.concat([pd.DataFrame(a), pd.DataFrame(b)], ignore_index=True)


@pytest.mark.slow
def test_a_48k_paper_number_meets_the_48k_run(runs):
    t = published_vs_measured(runs)
    dfn = t[(t.model == "deepfilternet3") & (t.metric == "pesq_wb")]
    assert list(dfn.set) == ["vbd48k"]  # before: vbd16k (inputs band-limited to 8 kHz), "-0.92"
    row = dfn.iloc[0]
    assert row.condition == "VoiceBank-DEMAND test (824 pairs), 48 kHz, PESQ-WB (P.862.2)"
    own = runs[(runs.dataset == "vbd48k") & (runs.model == "deepfilternet3")].set_index("file").pesq_wb
    noisy = runs[(runs.dataset == "vbd48k") & (runs.model == "noisy")].set_index("file").pesq_wb
    assert (row.n, row.measured) == (6, pytest.approx(own.mean()))
    assert row.measured_gain == pytest.approx((own - noisy.reindex(own.index)).mean()) and row.measured_gain > 1.2
    assert row.published_gain == pytest.approx(3.17 - 1.97)  # the paper's gain over the published noisy row
    gtcrn = t[t.model == "gtcrn-vctk"]
    assert set(gtcrn.set) == {"vbd16k"} and (gtcrn.rate == 16000).all()


@pytest.mark.slow
def test_the_noisy_input_has_its_published_baseline_row(runs):
    t = published_vs_measured(runs)
    noisy = t[(t.model == "noisy") & (t.metric == "pesq_wb")].set_index("set")
    assert set(noisy.index) == {"vbd16k", "vbd48k"} and (noisy.published == 1.97).all()
    sub = runs[(runs.dataset == "vbd16k") & (runs.model == "noisy")]
    assert noisy.loc["vbd16k", "measured"] == pytest.approx(sub.pesq_wb.mean())
    assert math.isnan(noisy.loc["vbd16k", "measured_gain"])


@pytest.mark.slow
def test_snr_standardised_mean_weighs_each_band_a_quarter(runs):
    t = published_vs_measured(runs).set_index(["model", "set", "metric"])
    noisy = runs[(runs.dataset == "vbd16k") & (runs.model == "noisy")].set_index("file")
    own = runs[(runs.dataset == "vbd16k") & (runs.model == "gtcrn-vctk")].set_index("file").pesq_wb
    band = pd.Series(snr_band(noisy.snr.reindex(own.index)), index=own.index)
    hand = own.groupby(band).mean()
    assert len(hand) == 4 and hand.index.tolist() == [2.5, 7.5, 12.5, 17.5]
    row = t.loc[("gtcrn-vctk", "vbd16k", "pesq_wb")]
    assert row.standardised == pytest.approx(hand.mean()) and row.measured == pytest.approx(own.mean())
    assert row.standardised_lo < row.standardised < row.standardised_hi
    assert row.difference == pytest.approx(row.standardised - 2.87)
    # vbd48k has no 12.5 dB pair: no standardised mean, and the caveat says why
    assert band_counts(runs, "vbd48k")[12.5] == 0
    assert math.isnan(t.loc[("deepfilternet3", "vbd48k", "pesq_wb"), "standardised"])
    assert "no file in 12.5 dB" in set_caveat(runs, "vbd48k")
    assert "12 pairs" in set_caveat(runs, "vbd16k") and "a quarter each" in set_caveat(runs, "vbd16k")


@pytest.mark.slow
def test_only_sets_that_were_run_appear(runs):
    t = published_vs_measured(runs)
    assert set(t.set) == {"vbd16k", "vbd48k"} and set(t.model) == {"noisy", "deepfilternet3", "gtcrn-vctk"}
    assert not t.measured.isna().any() and (t.n > 0).all()
    # a card's number at a rate no set measures, or a set not run, gives no row
    only16 = published_vs_measured(runs[runs.dataset == "vbd16k"])
    assert "deepfilternet3" not in set(only16.model)


def test_standardised_mean_by_hand():
    m, lo, hi = snr_standardised_mean([1.0, 1.2, 2.0, 3.0, 4.0], [2, 3, 8, 12, 17])
    assert m == pytest.approx((1.1 + 2 + 3 + 4) / 4) and math.isnan(lo) and math.isnan(hi)  # bands of one
    rng = np.random.default_rng(0)
    snr = np.repeat([2.5, 7.5, 12.5, 17.5], [30, 10, 5, 5])  # weighted to low SNR, like vbd16k
    v = snr / 10 + rng.normal(0, 0.1, snr.size)
    m, lo, hi = snr_standardised_mean(v, snr)
    assert m == pytest.approx(np.mean([v[snr == b].mean() for b in (2.5, 7.5, 12.5, 17.5)]))
    assert v.mean() < lo < m < hi  # the raw mean sits below: most pairs are at 2.5 dB
    assert math.isnan(snr_standardised_mean([1.0, 2.0], [2.5, 7.5])[0])  # two bands empty


def test_every_published_number_names_its_condition():
    for name, card in CARDS.items():
        for p in card.published:
            text = condition_text(p, p.rate or card.sample_rate)
            assert text.count(",") >= 1, (name, text)
    assert condition_text(Published("vbd", "si_sdr", 8.45, "x", variant="SI-SNR"), 16000).endswith("16 kHz, SI-SNR")
    assert {p.metric for p in BASELINES} >= {"pesq_wb", "stoi"} and next(
        p.value for p in BASELINES if p.metric == "pesq_wb"
    ) == 1.97
