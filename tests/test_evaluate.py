"""Evaluation engine, DNSMOS, summaries and the Dask path, on real audio (the report, figures and player:
test_report.py, test_figures.py, test_widgets.py, test_browser.py)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from setoolkit import assets, faults
from setoolkit.audio import read
from setoolkit.dnsmos import dnsmos
from setoolkit.evaluate import bootstrap_ci, evaluate, snr_bands, summarize

MODELS = ["dpcrn-quant"]


def test_dnsmos_equals_upstream_script(mirror):
    """speechmos ships the upstream dnsmos_local.py logic and the same ONNX files."""
    import speechmos.dnsmos as upstream

    files = assets.dataset_files("dns3_blind", mirror=mirror)[:1] + assets.dataset_files(
        "vbd16k", mirror=mirror, subdir="noisy")[:2]
    for f in files:
        x, sr = read(f)
        ours = dnsmos(x[0], sr)
        ref = upstream.run(x[0].astype(np.float64), sr)
        for k_ours, k_ref in (("SIG", "sig_mos"), ("BAK", "bak_mos"), ("OVRL", "ovrl_mos"), ("P808_MOS", "p808_mos")):
            assert ours[k_ours] == pytest.approx(float(ref[k_ref]), abs=1e-4), (f.name, k_ours)
        assert 1.0 < ours["OVRL"] < 5.0


def test_dnsmos_resamples_other_rates(mirror):
    x, sr = read(assets.dataset_files("vbd48k", mirror=mirror, subdir="noisy")[0])
    assert sr == 48000
    from setoolkit.audio import resample

    assert dnsmos(x[0], sr)["OVRL"] == pytest.approx(dnsmos(resample(x[0], sr, 16000), 16000)["OVRL"], abs=1e-3)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mirror):
    out = tmp_path_factory.mktemp("eval")
    table, stats = evaluate(MODELS, ["vbd16k", "dns3_blind"], out, limit=3, workers=2, progress=False,
                            return_stats=True)
    assert stats.computed == 12 and not stats.failed
    return out, table


def test_table_has_every_metric_per_file_and_model(run_dir):
    out, table = run_dir
    assert len(table) == 12 and set(table["model"]) == {"noisy", "dpcrn-quant"}
    paired = table[table["dataset"] == "vbd16k"]
    for col in ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr", "sdr", "snr", "lsd", "lag", "OVRL", "SIG",
                "BAK", "P808_MOS", "seconds", "rtf"):
        assert col in table.columns
    assert paired["pesq_wb"].notna().all() and paired["OVRL"].notna().all()
    blind = table[table["dataset"] == "dns3_blind"]
    assert blind["pesq_wb"].isna().all() and blind["OVRL"].notna().all()
    enh = table[table["model"] == "dpcrn-quant"]
    assert (enh["rtf"] < 1).all() and (enh["lag"].fillna(0) == 0).all()
    assert (out / "scores.csv").exists() and len(pd.read_parquet(out / "scores.parquet")) == 12
    q = enh.set_index(["dataset", "file"])
    n = table[table["model"] == "noisy"].set_index(["dataset", "file"])
    assert (q["BAK"] - n["BAK"]).min() > 0.2  # DNSMOS hears the background removed on every real recording
    assert (q["OVRL"] - n["OVRL"]).loc["vbd16k"].mean() > 0.05


def test_rerun_is_resumable_and_matches(run_dir):
    out, table = run_dir
    again, stats = evaluate(MODELS, ["vbd16k", "dns3_blind"], out, limit=3, progress=False, return_stats=True)
    assert stats.computed == 0 and stats.skipped == 12
    pd.testing.assert_frame_equal(again, table)
    victim = next((out / "rows").glob("*.json"))
    victim.unlink()
    again, stats = evaluate(MODELS, ["vbd16k", "dns3_blind"], out, limit=3, workers=1, progress=False,
                            return_stats=True)
    assert stats.computed == 1
    cols = ["pesq_wb", "si_sdr", "OVRL"]
    pd.testing.assert_frame_equal(again[cols], table[cols])  # single process == two processes


def test_summary_with_bootstrap_ci_and_snr_bands(run_dir):
    _, table = run_dir
    s = summarize(table)
    row = s[(s.dataset == "vbd16k") & (s.model == "dpcrn-quant")].iloc[0]
    assert row["pesq_wb_lo"] <= row["pesq_wb"] <= row["pesq_wb_hi"]
    assert row["delta_si_sdr"] > 5 and row["delta_si_sdr_lo"] <= row["delta_si_sdr"] <= row["delta_si_sdr_hi"]
    assert np.isnan(s[(s.dataset == "dns3_blind")]["pesq_wb"]).all()
    bands = snr_bands(table[table.dataset == "vbd16k"])
    assert set(bands["band"]) <= {2.5, 7.5, 12.5, 17.5} and bands["n"].sum() == 6
    lo, hi = bootstrap_ci(np.arange(100.0))
    assert lo < 49.5 < hi and hi - lo < 15




def test_dask_cluster_matches_local_and_resumes_after_killed_worker(run_dir, tmp_path):
    import dask
    from distributed import Client, LocalCluster

    _, local = run_dir
    victim = sorted(local[local.dataset == "vbd16k"]["file"])[1]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            table, stats = evaluate(MODELS, ["vbd16k"], tmp_path, limit=3, scheduler=client, progress=False,
                                    task_fn=faults.task_killing_worker_on(victim), return_stats=True)
            # the victim's tasks fail (and whatever else ran on the killed worker); the others are kept
            failed_files = {Path(f[0]["noisy"]).name for f in stats.failed}
            assert victim in failed_files and all("KilledWorker" in f[1] for f in stats.failed)
            assert len(table) == 6 - len(stats.failed) and victim not in set(table["file"])
            n_missing = len(stats.failed)
            table, stats = evaluate(MODELS, ["vbd16k"], tmp_path, limit=3, scheduler=client, progress=False,
                                    return_stats=True)
    assert stats.computed == n_missing and stats.skipped == 6 - n_missing and not stats.failed
    cols = ["dataset", "model", "file", "pesq_wb", "si_sdr", "OVRL"]
    expect = local[local.dataset == "vbd16k"][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(table[cols].reset_index(drop=True), expect)
