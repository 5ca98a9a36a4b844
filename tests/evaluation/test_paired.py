"""Paired statistics against scipy and hand computations, on synthetic tables with known effects."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from setoolkit.errors import MetricError
from setoolkit.evaluation.paired import (
    compare,
    holm,
    leader_ties,
    rank_biserial,
    smallest_p,
    snr_band,
    versus_best,
)

N = 80
BANDS = (2.5, 7.5, 12.5, 17.5)


def _table(effects: dict, *, n: int = N, seed: int = 1) -> pd.DataFrame:
    """``noisy`` rows (snr spread over the four VoiceBank bands) plus one model per ``effects`` entry: a shared
    per-file quality plus the model's shift (a number, or a per-band dict) plus its own noise (sd 0.2)."""
    rng = np.random.default_rng(seed)
    files = [f"p232_{k:03d}.wav" for k in range(n)]
    snr = np.array(BANDS)[np.arange(n) % 4] + rng.uniform(-1.5, 1.5, n)
    base = rng.normal(2.5, 0.5, n)
    rows = [
        {"dataset": "vbd16k", "model": "noisy", "file": f, "pesq_wb": b - 0.8, "snr": s}
        for f, b, s in zip(files, base, snr)
    ]
    for model, shift in effects.items():
        band = snr_band(snr)
        delta = np.array([shift.get(b, 0.0) for b in band]) if isinstance(shift, dict) else np.full(n, shift)
        values = base + delta + rng.normal(0, 0.2, n)
        rows += [
            {"dataset": "vbd16k", "model": model, "file": f, "pesq_wb": v, "snr": np.nan} for f, v in zip(files, values)
        ]
    return pd.DataFrame(rows)


def test_planted_shift_is_found_and_matches_scipy():
    t = _table({"a": 0.0, "b": 0.3})
    r = compare(t, "b", "a", "pesq_wb", dataset="vbd16k")
    d = t[t.model == "b"].pesq_wb.to_numpy() - t[t.model == "a"].pesq_wb.to_numpy()
    assert r.n == N and r.n_dropped == 0
    assert r.difference == pytest.approx(d.mean()) and 0.2 < r.difference < 0.4
    assert r.p == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-12) and r.p < 1e-6
    assert r.ci_low > 0.15 and r.ci_high < 0.45 and r.ci_low < r.difference < r.ci_high
    ref = stats.bootstrap((d,), np.mean, method="percentile", n_resamples=4000, random_state=0).confidence_interval
    assert r.ci_low == pytest.approx(ref.low, abs=0.015) and r.ci_high == pytest.approx(ref.high, abs=0.015)
    assert r.cohen_dz == pytest.approx(d.mean() / d.std(ddof=1))
    ranks = stats.rankdata(np.abs(d))
    assert r.rank_biserial == pytest.approx((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())
    assert r.rank_biserial > 0.8 and r.significant()


def test_null_shift_is_not_found():
    r = compare(_table({"a": 0.0, "c": 0.0}), "c", "a", "pesq_wb")
    assert r.p > 0.05 and r.ci_low < 0 < r.ci_high and abs(r.rank_biserial) < 0.3 and not r.significant()


def test_pairs_are_the_same_files_and_nan_pairs_are_dropped_and_counted():
    t = _table({"a": 0.0, "b": 0.3})
    b_rows = t.index[t.model == "b"]
    t.loc[b_rows[:3], "pesq_wb"] = np.nan  # 3 pairs with a NaN side
    t = t.drop(index=b_rows[-5:])  # 5 files b was not run on
    shuffled = t.sample(frac=1, random_state=0)  # row order must not matter: joined on file
    r = compare(shuffled, "b", "a", "pesq_wb", dataset="vbd16k")
    assert (r.n, r.n_dropped) == (N - 8, 3)
    a = t[t.model == "a"].set_index("file").pesq_wb
    b = t[t.model == "b"].set_index("file").pesq_wb.dropna()
    assert r.difference == pytest.approx((b - a.reindex(b.index)).mean())


def test_all_zero_differences():
    t = _table({"a": 0.0})
    t = pd.concat([t, t[t.model == "a"].assign(model="a2")], ignore_index=True)
    r = compare(t, "a2", "a", "pesq_wb")
    assert (r.difference, r.p, r.rank_biserial, r.ci_low, r.ci_high) == (0.0, 1.0, 0.0, 0.0, 0.0)
    assert math.isnan(r.cohen_dz)


def test_per_band_breakdown_finds_the_band_with_the_effect():
    r = compare(_table({"a": 0.0, "b": {2.5: 0.5}}), "b", "a", "pesq_wb", dataset="vbd16k")
    bands = r.bands.set_index("band")
    assert list(bands.index) == list(BANDS) and bands.n.sum() == r.n == N
    assert bands.loc[2.5, "p"] < 1e-3 and 0.35 < bands.loc[2.5, "difference"] < 0.65
    assert (bands.loc[[7.5, 12.5, 17.5], "p"] > 0.01).all()
    assert (bands.ci_low <= bands.difference).all() and (bands.difference <= bands.ci_high).all()


def test_holm_equals_hand_computation():
    p = [0.01, 0.04, 0.03, 0.2, np.nan]
    # sorted 0.01, 0.03, 0.04, 0.2 (m = 4): 4*0.01 = 0.04; 3*0.03 = 0.09; 2*0.04 = 0.08 -> running max 0.09; 0.2
    assert np.allclose(holm(p)[:4], [0.04, 0.09, 0.09, 0.2]) and np.isnan(holm(p)[4])
    assert np.allclose(holm([0.5, 0.6]), [1.0, 1.0]) and holm([]).shape == (0,)


def test_rank_biserial_bounds():
    assert rank_biserial([1.0, 2.0, 3.0]) == 1.0 and rank_biserial([-1.0, -2.0]) == -1.0
    assert rank_biserial([1.0, -1.0]) == 0.0


def test_leader_ties_holm_across_the_leaderboard():
    t = _table({"lead": 0.3, "tie": 0.28, "worse": 0.0, "oracle-irm": 2.0})
    lt = leader_ties(t, "vbd16k", "pesq_wb").set_index("model")
    assert "noisy" not in lt.index and "oracle-irm" not in lt.index  # baselines are not competitors
    assert lt.leader.idxmax() == "lead" and lt.loc["lead", "tied"]
    assert lt.loc["tie", "tied"] and not lt.loc["worse", "tied"] and lt.loc["worse", "p_holm"] < 1e-6
    raw = lt.loc[["tie", "worse"], "p"].to_numpy()
    hand = [min(1.0, 2 * raw.min()), max(min(1.0, 2 * raw.min()), min(1.0, raw.max()))]
    assert np.allclose(sorted(lt.loc[["tie", "worse"], "p_holm"]), hand)
    lower = leader_ties(t, "vbd16k", "pesq_wb", higher_is_better=False)
    assert lower.iloc[0].model == "worse"


def test_versus_best_sentence_names_the_significant_differences():
    t = _table({"lead": 0.3, "mine": 0.28, "worse": 0.0, "worst": -0.4})
    s = versus_best(t, "vbd16k", "pesq_wb", "mine")
    assert s.startswith("On vbd16k, mine (pesq_wb ")
    assert "not significantly different from the best, lead" in s
    assert "significantly better than worse and worst" in s and s.endswith(".")
    s = versus_best(t, "vbd16k", "pesq_wb", "worst")
    assert "significantly worse than the best, lead" in s and "significantly worse than mine and worse" in s
    assert "has the best mean" in versus_best(t, "vbd16k", "pesq_wb", "lead")
    null = versus_best(_table({"lead": 0.0, "mine": 0.0}), "vbd16k", "pesq_wb", "mine")
    assert null.endswith("; no significant difference from any other model (Wilcoxon, Holm-corrected, alpha 0.05).")


def test_errors_name_the_problem():
    t = _table({"a": 0.0})
    with pytest.raises(MetricError, match="model 'zz' has no rows on dataset 'vbd16k'"):
        compare(t, "zz", "a", "pesq_wb", dataset="vbd16k")
    with pytest.raises(MetricError, match="metric 'csig' is not a column"):
        compare(t, "a", "noisy", "csig")
    with pytest.raises(MetricError, match="dataset 'dns3' has no rows"):
        leader_ties(t, "dns3", "pesq_wb")


# --- on real evaluation rows: gtcrn and rnnoise on 6 VoiceBank-DEMAND pairs (PESQ-WB, LSD) ---


@pytest.fixture(scope="module")
def real(tmp_path_factory, mirror):
    from setoolkit.evaluation import evaluate

    out = tmp_path_factory.mktemp("paired_real")
    t = evaluate(
        ["gtcrn", "rnnoise"],
        ["vbd16k"],
        out,
        limit=6,
        metrics=["pesq_wb", "lsd"],
        use_dnsmos=False,
        workers=1,
        progress=False,
    )
    return pd.DataFrame(t)


@pytest.mark.slow
def test_duplicated_rows_are_collapsed_never_a_cross_product(real):
    once = compare(real, "gtcrn", "rnnoise", "pesq_wb", dataset="vbd16k")
    assert once.n == 6
    thrice = pd.concat([real, real, real], ignore_index=True)  # before: n 54, p 1.7e-9
    with pytest.warns(UserWarning, match="duplicated row\\(s\\) over 6 file\\(s\\) collapsed"):
        again = compare(thrice, "gtcrn", "rnnoise", "pesq_wb", dataset="vbd16k")
    assert (again.n, again.p, again.difference) == (once.n, once.p, once.difference)
    with pytest.warns(UserWarning):
        assert leader_ties(thrice, "vbd16k", "pesq_wb").equals(leader_ties(real, "vbd16k", "pesq_wb"))
    clash = pd.concat([real, real[real.model == "rnnoise"].head(1).assign(pesq_wb=4.5)], ignore_index=True)
    with pytest.raises(MetricError, match="model 'rnnoise' has 1 file\\(s\\) with different 'pesq_wb' values"):
        compare(clash, "gtcrn", "rnnoise", "pesq_wb")


@pytest.mark.slow
def test_one_file_under_three_spellings_is_one_pair(real):
    g = real[real.model == "gtcrn"]
    spelled = pd.concat(
        [real, g.head(1).assign(file="./" + g.file.iloc[0]), g.head(1).assign(file="sub/../" + g.file.iloc[0])],
        ignore_index=True,
    )
    with pytest.warns(UserWarning, match="model 'gtcrn': 2 duplicated row"):
        assert compare(spelled, "gtcrn", "rnnoise", "pesq_wb").n == 6


@pytest.mark.slow
def test_no_common_file_is_not_compared_never_tied(real):
    files = sorted(real.file.unique())
    disjoint = real[~((real.model == "gtcrn") & real.file.isin(files[3:]))]
    disjoint = disjoint[~((disjoint.model == "rnnoise") & disjoint.file.isin(files[:3]))]
    c = compare(disjoint, "rnnoise", "gtcrn", "pesq_wb", dataset="vbd16k")
    assert c.n == 0 and c.status() == "not compared"
    ties = leader_ties(disjoint, "vbd16k", "pesq_wb").set_index("model")
    other = ties.index[1]
    assert ties.loc[other, "status"] == "not compared" and not ties.loc[other, "tied"]  # before: tied
    s = versus_best(disjoint, "vbd16k", "pesq_wb", "rnnoise")
    assert "not compared with the best" in s and "no common file" in s
    assert "nan" not in s and "n = 0" not in s and "not significantly different" not in s


@pytest.mark.slow
def test_direction_comes_from_the_catalogue(real):
    """LSD: lower is better, so the leader is the model with the lowest mean (gtcrn here, 10.2 dB vs 14.8)."""
    means = real[real.model != "noisy"].groupby("model").lsd.mean()
    lt = leader_ties(real, "vbd16k", "lsd")
    assert lt.iloc[0].model == means.idxmin() == "gtcrn"  # before: rnnoise, the worst, led
    s = versus_best(real, "vbd16k", "lsd", "rnnoise")
    assert "lower is better" in s and "significantly worse than the best, gtcrn" in s
    assert "has the best mean" in versus_best(real, "vbd16k", "lsd", "gtcrn")
    assert leader_ties(real, "vbd16k", "pesq_wb").iloc[0].model == "gtcrn"  # PESQ: higher is better


@pytest.mark.slow
def test_small_n_is_said_in_words_and_the_interval_agrees(real):
    two = real[real.file.isin(sorted(real.file.unique())[:2])]
    lt = leader_ties(two, "vbd16k", "pesq_wb").set_index("model")
    assert lt.loc["rnnoise", "status"] == "too few files" and lt.loc["rnnoise", "tied"]
    s = versus_best(two, "vbd16k", "pesq_wb", "rnnoise")
    assert "2 files are too few to separate any two models" in s and "smallest possible exact Wilcoxon p is 0.5" in s
    assert "Holm p = 1" not in s
    # six pairs: the bootstrap interval excludes zero, the exact test stops at 0.0625: the sentence says why
    six = compare(real, "rnnoise", "gtcrn", "pesq_wb")
    assert six.ci_high < 0 and six.p == pytest.approx(0.0625)
    s = versus_best(real, "vbd16k", "pesq_wb", "rnnoise")
    assert "the bootstrap interval excludes zero but the exact Wilcoxon test does not reach 0.05" in s


def test_smallest_exact_p():
    assert smallest_p(5) == 0.0625 and smallest_p(6) == 0.03125 and smallest_p(1) == 1.0
    for n in range(2, 9):
        d = np.arange(1, n + 1, dtype=float)
        assert stats.wilcoxon(d, method="exact").pvalue == pytest.approx(smallest_p(n))
