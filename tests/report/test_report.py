"""The daily report opens on leaderboards a researcher reads at a glance, from a real evaluation table."""

import re

import numpy as np
import pandas as pd
import pytest

from setoolkit.evaluation import summarize
from setoolkit.report import best_by_group, best_under, build_report, headline, leaderboard, pick_examples


@pytest.fixture(scope="module")
def built(small_run, tmp_path_factory):
    _, table = small_run
    root = tmp_path_factory.mktemp("reports")
    out = build_report(table, root / "2026-01-01", date="2026-01-01", figures_dir=root / "figures", notes=["test run"])
    return table, out


@pytest.mark.slow
def test_leaderboard_sorted_with_cis_ties_and_costs(small_run):
    _, table = small_run
    s = summarize(table)
    board = leaderboard(s, "vbd16k")
    assert board.attrs["primary"] == "pesq_wb" and list(board["model"])[-1] == "noisy"
    enh = board[board.model != "noisy"]
    assert list(enh["pesq_wb"]) == sorted(enh["pesq_wb"], reverse=True)
    lead = enh.iloc[0]
    for r in enh.iloc[1:].itertuples():
        assert r.tied == (r.pesq_wb_hi >= lead["pesq_wb_lo"])
    assert board.set_index("model").loc["gtcrn", "params_M"] == pytest.approx(0.048847)
    assert board.set_index("model").loc["rnnoise", "latency_ms"] == 30.0
    assert board["rtf"].isna().all()  # no timing pass: never the contended evaluation RTF
    blind = leaderboard(s, "dns3_blind")
    assert blind.attrs["primary"] == "OVRL" and "pesq_wb" not in blind.columns
    text = headline(board)
    assert text.startswith(f"vbd16k: {lead['model']} leads PESQ-WB over 3 files")
    assert "over the noisy input" in text


def test_groups_answer_best_small_real_time_model(small_run):
    _, table = small_run
    board = leaderboard(summarize(table), "vbd16k")
    fam = best_by_group(board, "family")
    assert set(fam["family"]) == {"gtcrn", "rnnoise"}
    small = best_under(board, max_params_M=1, max_latency_ms=40)
    assert list(small["model"]) == ["gtcrn"]  # rnnoise has 2.9 M parameters
    m = best_by_group(board, ["size_class", "latency_class"])
    assert set(m["best"]) == {"gtcrn", "rnnoise"}


def test_examples_are_the_hardest_and_a_typical_file(small_run):
    _, table = small_run
    picks = pick_examples(table, "vbd16k")
    noisy = table[(table.dataset == "vbd16k") & (table.model == "noisy")].set_index("file")["pesq_wb"]
    assert picks[0][0] == noisy.idxmin() and "hardest" in picks[0][1]
    assert picks[1][0] != picks[0][0] and "typical" in picks[1][1]


def test_page_opens_on_leaderboards_and_is_self_contained(built):
    table, out = built
    page = (out / "report.html").read_text()
    first_board, first_img = page.index('class="board"'), page.index("<img")
    assert first_board < first_img and page.index('id="listen"') > first_img
    assert "leads PESQ-WB" in page and "leads DNSMOS OVRL" in page
    assert "se-player-mount" in page and "export default" in page  # the player component, inlined
    # nothing from the network: every src/href is relative (or a data: URL)
    refs = re.findall(r"(?:src|href)=[\"']([^\"'#]+)", page)
    assert refs and not [r for r in refs if re.match(r"[a-z]+://", r)]
    for r in refs:
        assert (out / r).exists(), r
    mounts = re.findall(r"<script type=\"application/json\">(.*?)</script>", page, flags=re.S)
    import json

    players = [json.loads(m.replace("<\\/", "</")) for m in mounts]
    assert len(players) == 4  # hardest + typical, two sets
    for p in players:
        labels = [s["label"] for s in p["signals"]]
        assert labels[0] == "noisy" and {"gtcrn", "rnnoise"} <= set(labels)
        for s in p["signals"]:
            assert (out / s["audio"]).exists() and (out / s["spec"]).read_bytes()[:4] == b"\x89PNG"
    paired = [p for p in players if p["title"].startswith("vbd16k")]
    assert all("clean" in [s["label"] for s in p["signals"]] for p in paired)
    assert paired[0]["signals"][-1]["metrics"]["PESQ-WB"]
    md = (out / "report.md").read_text()
    assert md.index("## Leaderboard: vbd16k") < md.index("## Figures") and "delta_si_sdr" in md
    assert (out / "leaderboard_vbd16k.csv").exists()


def test_rtf_only_from_the_timing_pass(built, tmp_path):
    table, _ = built
    out = tmp_path / "2026-01-03"
    out.mkdir()
    pd.DataFrame(
        {
            "model": ["gtcrn", "rnnoise"],
            "threads": [1, 1],
            "cpu": ["Test CPU 9000"] * 2,
            "rtf": [0.0123, 0.0456],
            "hop_ms": [0.2, 0.3],
            "hop_p95_ms": [0.25, 0.35],
        }
    ).to_csv(out / "timing.csv", index=False)
    pd.DataFrame(
        {
            "model": ["gtcrn", "gtcrn-onnx"],
            "representative": ["gtcrn", "gtcrn"],
            "parity_db": [np.inf, 125.0],
            "rtf": [0.0123, 0.009],
        }
    ).to_csv(out / "variants.csv", index=False)
    pd.DataFrame({"stage": ["evaluate", "report"], "seconds": [100.0, 5.0]}).to_csv(out / "profile.csv", index=False)
    build_report(table, out, date="2026-01-03", figures_dir=tmp_path / "figs", examples=0)
    page = (out / "report.html").read_text()
    assert "0.012" in page and "0.046" in page and "1 thread(s) on Test CPU 9000" in page
    assert "variants: gtcrn-onnx" in page and "Where the main job" in page
    assert any(p.name.endswith("quality_vs_rtf.png") for p in (out / "figures").iterdir())
    board = pd.read_csv(out / "leaderboard_vbd16k.csv")
    assert board.set_index("model").loc["gtcrn", "rtf"] == 0.0123


def test_changes_since_previous_report(built, tmp_path):
    table, first = built
    worse = table.copy()
    worse.loc[worse.model == "gtcrn", "pesq_wb"] -= 0.3
    second = build_report(worse, first.parent / "2026-01-02", date="2026-01-02", figures_dir=tmp_path / "f", examples=0)
    md = (second / "report.md").read_text()
    assert "previous report: 2026-01-01" in md and "gtcrn on vbd16k: pesq_wb" in md


def test_busy_timing_is_marked_beside_the_rtf(built, tmp_path):
    """A model the timing pass flagged ``busy`` gets a mark beside its RTF, and the page says how loaded the
    machine was during the pass."""
    table, _ = built
    out = tmp_path / "2026-01-04"
    out.mkdir()
    pd.DataFrame(
        {
            "model": ["gtcrn", "rnnoise"],
            "threads": [1, 1],
            "cpu": ["Test CPU 9000"] * 2,
            "rtf": [0.0123, 0.2401],
            "hop_ms": [0.2, 0.3],
            "hop_p95_ms": [0.25, 0.35],
            "load1": [0.4, 3.7],
            "steal_pct": [0.0, 1.5],
            "other_cpu": [12.0, 180.0],
            "other_top": ["sshd 12%", "python 150%, ruff 20%, git 10%"],
            "busy": [False, True],
        }
    ).to_csv(out / "timing.csv", index=False)
    build_report(table, out, date="2026-01-04", figures_dir=tmp_path / "figs", examples=0)
    page = (out / "report.html").read_text()
    cells = re.findall(r'<td class="num cost[^"]*"[^>]*>[^<]*</td>', page)
    assert any("busy" in c and "0.240 †" in c for c in cells)  # rnnoise: marked
    assert not any("busy" in c and "0.012" in c for c in cells)  # gtcrn: quiet, no mark
    assert "† = timed while the machine was busy" in page
    assert (
        "Machine load during the pass: load average 0.4-3.7, other processes 12-180% of a core (busiest: "
        "python 150%, ruff 20%, git 10%), CPU steal up to 2%"
    ) in page
    assert "1 of 2 models were timed again and stayed contended (rnnoise" in page
    md = (out / "report.md").read_text()
    assert "0.240 †" in md and "Machine load during the pass" in md
