"""The comparison logic of benchmarks/bench_scoring.py on two real VoiceBank-DEMAND pairs: setoolkit against direct
pesq / pystoi / numpy calls (torchmetrics and DNSMOS are left to the benchmark itself). No timing is asserted.

Bars: on a pair of equal lengths PESQ-WB, STOI and SI-SDR are the same numbers (setoolkit calls the same libraries
on the same samples, lag 0); ESTOI within 1e-12, because pystoi's own ESTOI moves in the last bits from one call to
the next (numpy's SIMD sums depend on memory alignment). On a pair whose noisy file is one sample short, the peers
cut the reference and setoolkit zero-pads the estimate: PESQ differs (by 1.8e-5), and given setoolkit's inputs the
direct calls are equal again.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from setoolkit import assets

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_scoring.py"
BARS = {"pesq_wb": 0.0, "stoi": 0.0, "estoi": 1e-12, "si_sdr": 1e-9}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_scoring", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scoring"] = module  # its dataclass looks its module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["bench_scoring"]


def test_setoolkit_equals_direct_pesq_pystoi_on_real_pairs(bench, mirror):
    pairs = assets.dataset_pairs("vbd16k", mirror=mirror)[:2]  # p232_001, p232_002: equal lengths
    metrics = tuple(BARS)
    rows, clocks, warm = bench.compare(pairs, metrics, ("setoolkit", "direct"), log=lambda s: None)
    assert len(rows) == 4 and {r["impl"] for r in rows} == {"setoolkit", "direct"}
    assert all(r["lag"] == 0 for r in rows)
    for r in rows:  # real scores, not NaN or a placeholder
        assert 1.0 < r["pesq_wb"] < 4.64 and 0.5 < r["stoi"] < 1.0 and 0.3 < r["estoi"] < 1.0
        assert 0.0 < r["si_sdr"] < 40.0
    agree = bench.agreement(rows, metrics)
    assert set(agree["column"]) == set(BARS) and (agree["files"] == 2).all()
    for row in agree.itertuples():
        assert row.max_abs <= BARS[row.column], f"{row.column}: setoolkit and direct differ by {row.max_abs}"
    cost = bench.costs(clocks, len(pairs), metrics)
    assert list(cost["stage"]) == [*metrics, "total"]
    assert np.isfinite(cost["direct_cpu_ratio"]).all() and (cost["setoolkit_cpu_s"] > 0).all()
    assert set(warm) == {"setoolkit", "direct"}


def test_self_check_names_what_moved(bench):
    a = [{"pesq_wb": 2.5, "estoi": 0.8}]
    assert bench.self_check(a, [dict(a[0])], ["pesq_wb", "estoi"]) == "bit-identical"
    moved = bench.self_check(a, [{"pesq_wb": 2.5, "estoi": 0.8 + 2e-16}], ["pesq_wb", "estoi"])
    assert moved.startswith("bit-identical but estoi")
    with pytest.raises(AssertionError, match="differ"):
        bench.self_check(a, [{"pesq_wb": 2.6, "estoi": 0.8}], ["pesq_wb", "estoi"])


def test_the_length_rule_is_the_whole_difference_on_a_short_pair(bench, mirror):
    short = [p for p in assets.dataset_pairs("vbd16k", mirror=mirror) if p[0].name == "p232_028.wav"]
    assert sf.info(str(short[0][1])).frames == sf.info(str(short[0][0])).frames - 1
    metrics = ("pesq_wb", "stoi", "si_sdr")
    rows, _, _ = bench.compare(short, metrics, ("setoolkit", "direct"), log=lambda s: None)
    agree = bench.agreement(rows, metrics).set_index("column")["max_abs"]
    assert 1e-6 < agree["pesq_wb"] < 1e-3 and agree["stoi"] == 0.0
    same = bench.same_inputs_check(rows, short, metrics)
    assert same == {"pesq_wb": 0.0, "stoi": 0.0, "si_sdr": 0.0}


def test_batch_forms_against_the_per_file_path_and_the_verdicts(bench, mirror):
    pairs = assets.dataset_pairs("vbd16k", mirror=mirror)[:3]
    forms = bench.batch_forms(pairs, ["spk_sim"], batch_files=2)
    (row,) = forms.to_dict("records")
    assert row["metric"] == "spk_sim" and row["files"] == 3 and row["max_abs"] <= 1e-6
    assert row["per_file_cpu_s"] > 0 and row["batch_cpu_s"] > 0 and row["ahead"] in ("batch", "per-file")
    cost = bench.pd.DataFrame(
        [{"stage": "total", "setoolkit_cpu_s": 1.0, "direct_cpu_s": 2.0, "direct_cpu_ratio": 2.0}]
    )
    totals = bench.pd.DataFrame([{"run": "setoolkit score_files", "cpu_s": 3.0}, {"run": "direct loop", "cpu_s": 4.0}])
    text = bench.verdicts(cost, totals, forms, None)
    assert "- total: setoolkit (direct 2.00x" in text and "whole run: setoolkit score_files" in text
    assert f"batch form spk_sim: {row['ahead']}" in text
