"""Analysis on simulated ratings with planted effects."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from setoolkit.listening import (
    ccr_scores,
    metric_agreement,
    paired_tests,
    ratings_frame,
    screen_listeners,
    simulate_results,
    system_scores,
)
from setoolkit.listening.analysis import excluded, holm, stimulus_metrics


def _kept(test, **kw):
    r = ratings_frame(simulate_results(test, **kw), test)
    return r, r[~r.listener.isin(excluded(screen_listeners(r)))]


def test_planted_difference_is_found_and_careless_listener_screened(mushra):
    _, test = mushra
    r, kept = _kept(test, listeners=13, careless=1, effects={"sysA": 75, "sysB": 65, "noisy": 40}, seed=4)
    screening = screen_listeners(r)
    assert excluded(screening) == ["C01"] and screening.set_index("listener").loc["C01", "fraction"] > 0.15
    assert kept.listener.nunique() == 12 and "training" not in set(kept.trial)
    pt = paired_tests(kept).set_index(["a", "b"])
    ab = pt.loc[("sysA", "sysB")] if ("sysA", "sysB") in pt.index else pt.loc[("sysB", "sysA")]
    assert ab["significant"] and ab["p_holm"] < 0.05 and abs(abs(ab["mean_diff"]) - 10) < 4
    scores = system_scores(kept).set_index("system")
    assert scores.loc["sysA", "lo"] < scores.loc["sysA", "mean"] < scores.loc["sysA", "hi"]
    assert scores.loc["sysA", "mean"] > scores.loc["sysB", "mean"]
    assert list(scores.index[:1]) == ["reference"]


def test_null_difference_is_not_significant(mushra):
    _, test = mushra
    _, kept = _kept(test, listeners=12, effects={"sysA": 70, "sysB": 70}, seed=5)
    pt = paired_tests(kept, systems=["sysA", "sysB"])
    assert len(pt) == 1 and not pt.iloc[0]["significant"]


def test_holm():
    assert np.allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])


def test_p835_mos_per_scale(p835):
    _, test = p835
    r = ratings_frame(simulate_results(test, 10, effects={"sysA": 4.0, "sysB": 3.0, "noisy": 2.0}), test)
    s = system_scores(r)
    assert set(s.scale) == {"SIG", "BAK", "OVRL"}
    ovrl = s[s.scale == "OVRL"].set_index("system")["mean"]
    assert ovrl["sysA"] > ovrl["sysB"] > ovrl["noisy"]
    assert screen_listeners(r)["excluded"].sum() == 0


def test_ccr_sign_undone(ccr):
    _, test = ccr
    res = simulate_results(test, 12, effects={"sysA": 1.5, "sysB": 0.0, "noisy": -0.5}, noise=0.3)
    r = ratings_frame(res, test)
    flipped = r[r.raw != r.rating]
    assert len(flipped) and (flipped.rating == -flipped.raw).all()  # order randomised, sign undone
    c = ccr_scores(r).set_index(["a", "b"])
    assert c.loc[("sysB", "sysA"), "mean"] == pytest.approx(1.5, abs=0.3)
    assert c.loc[("noisy", "sysA"), "mean"] == pytest.approx(2.0, abs=0.3)
    assert c.loc[("noisy", "sysA"), "lo"] > 0


def test_agreement_equals_scipy(mushra, table):
    _, test = mushra
    _, kept = _kept(test, listeners=8, seed=6, effects={"sysA": 80, "sysB": 60, "noisy": 35})
    ag = metric_agreement(kept, table)
    assert set(ag.metric) == {"SIG", "BAK", "OVRL", "P808_MOS", "distillmos", "pesq_wb", "visqol"}
    per = stimulus_metrics(kept, table, ["pesq_wb", "distillmos"])
    assert set(per.system) == {"noisy", "sysA", "sysB"}  # the controls are not in the table
    for metric in ("pesq_wb", "distillmos"):
        row = ag[(ag.level == "stimulus") & (ag.metric == metric)].iloc[0]
        assert row["pearson"] == pytest.approx(stats.pearsonr(per["rating"], per[metric]).statistic)
        assert row["spearman"] == pytest.approx(stats.spearmanr(per["rating"], per[metric]).statistic)
        sys_mean = per.groupby("system")[["rating", metric]].mean()
        row = ag[(ag.level == "system") & (ag.metric == metric)].iloc[0]
        assert row["n"] == 3
        assert row["pearson"] == pytest.approx(stats.pearsonr(sys_mean["rating"], sys_mean[metric]).statistic)
        assert row["spearman"] == pytest.approx(stats.spearmanr(sys_mean["rating"], sys_mean[metric]).statistic)
    # the table's own metric means per system, over the tested items
    items = kept[["dataset", "file"]].drop_duplicates()
    expect = table.merge(items).groupby("model")["pesq_wb"].mean()
    assert np.allclose(per.groupby("system")["pesq_wb"].mean().sort_index(), expect.sort_index())
    assert isinstance(ag, pd.DataFrame)


def test_bs1534_mid_anchor_rule_excludes_too(mushra):
    """BS.1534-3: hidden reference below 90 OR the mid-range anchor above 90 in more than 15 % of the items."""
    _, test = mushra
    results = simulate_results(test, 4, effects={"sysA": 75, "sysB": 65}, seed=9)
    trials = {t.id: t for t in test.trials}
    for tid, tr in results[1]["trials"].items():  # L02 finds the reference but rates the 7 kHz anchor 95
        mid = next(s.id for s in trials[tid].stimuli if s.system == "anchor_7k")
        tr["ratings"][mid] = 95
    screening = screen_listeners(ratings_frame(results, test)).set_index("listener")
    assert excluded(screening.reset_index()) == ["L02"]
    assert screening.loc["L02", "anchor_fraction"] == 1.0 and "mid anchor above 90" in screening.loc["L02", "why"]
    assert screening.loc["L02", "fraction"] == 0.0
