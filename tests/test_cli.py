"""The command line: models table, enhance (stem and rate kept), score, errors, the main job."""

import subprocess
import sys

import pytest

from setoolkit import assets
from setoolkit.audio import info, read
from setoolkit.cli import main


def test_models_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "dpcrn-quant" in out and "denoiser-dns64" in out and "latency" in out
    assert main(["models", "--available"]) == 0
    out = capsys.readouterr().out
    assert "dpcrn-quant" in out and "weights" in out
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "here" in rows["dpcrn-quant"] and "download" in rows["denoiser-dns64"]


def test_enhance_keeps_stem_rate_and_subtype(tmp_path, mirror, data, capsys):
    pairs = assets.dataset_pairs("vbd48k", mirror=mirror)[:2]
    inputs = [str(n) for _, n in pairs] + [str(data / "misc" / "jfk.flac")]
    assert main(["enhance", *inputs, "-m", "dpcrn-quant", "-o", str(tmp_path / "out"), "-q"]) == 0
    for src in inputs:
        src_info = info(src)
        stem, suffix = src.rsplit("/", 1)[1].rsplit(".", 1)
        out = tmp_path / "out" / f"{stem}.{suffix}"
        out_info = info(out)
        assert out_info["samplerate"] == src_info["samplerate"]
        assert out_info["frames"] == src_info["frames"] and out_info["channels"] == src_info["channels"]
        assert out_info["subtype"] == src_info["subtype"]


def test_enhance_errors_are_one_line(tmp_path, capsys):
    assert main(["enhance", "x.wav", "-m", "nope", "-o", str(tmp_path)]) == 2
    assert "unknown model 'nope'; valid models:" in capsys.readouterr().err
    (tmp_path / "bad.wav").write_text("not audio")
    assert main(["enhance", str(tmp_path / "bad.wav"), "-m", "dpcrn-quant", "-o", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "bad.wav: not a readable audio file" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "bad.wav").exists()


def test_score_directories(tmp_path, mirror, capsys):
    pairs = assets.dataset_pairs("vbd16k", mirror=mirror)[:3]
    clean_dir = pairs[0][0].parent
    enh = tmp_path / "enh"
    assert main(["enhance", *[str(n) for _, n in pairs], "-m", "dpcrn-quant", "-o", str(enh), "-q"]) == 0
    assert (
        main(
            [
                "score",
                "--clean",
                str(clean_dir),
                "--enhanced",
                str(enh),
                "--metrics",
                "si_sdr,pesq_wb",
                "--csv",
                str(tmp_path / "s.csv"),
                "-q",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "3 pairs" in out and "SI-SDR (dB)" in out
    import pandas as pd

    table = pd.read_csv(tmp_path / "s.csv")
    assert len(table) == 3 and table["si_sdr"].mean() > 10


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "setoolkit", "models", "--available"], capture_output=True, text=True)
    assert r.returncode == 0 and "dpcrn-quant" in r.stdout


@pytest.mark.slow
def test_main_job_writes_report_and_figures(tmp_path, capsys):
    args = [
        "run",
        "--sets",
        "vbd16k,dns4_real48k",
        "--limit",
        "2",
        "--models",
        "dpcrn-quant",
        "--reports",
        str(tmp_path / "reports"),
        "--figures",
        str(tmp_path / "figures"),
        "--date",
        "2026-01-02",
        "-q",
    ]
    assert main(args) == 0
    report = tmp_path / "reports" / "2026-01-02"
    md = (report / "report.md").read_text()
    assert "dpcrn-quant" in md and "dns4_real48k" in md and "delta_si_sdr" in md and "first report" in md
    assert (report / "report.html").read_text().count("<img") >= 7
    import pandas as pd

    scores = pd.read_csv(report / "scores.csv")
    oracles = {"oracle-irm", "oracle-psm", "oracle-cirm"}  # ceiling rows of the paired set only
    assert set(scores["model"]) == {"noisy", "dpcrn-quant"} | oracles and len(scores) == 2 * 5 + 2 * 2
    assert set(scores[scores.dataset == "dns4_real48k"]["model"]) == {"noisy", "dpcrn-quant"}
    summary = pd.read_csv(report / "summary.csv")
    q = summary[(summary.model == "dpcrn-quant") & (summary.dataset == "vbd16k")].iloc[0]
    assert q["delta_si_sdr"] > 5 and q["rtf"] < 1.0
    assert len(list((tmp_path / "figures").glob("*.png"))) >= 7
    y, sr = read(next((tmp_path / "reports" / "store" / "audio" / "dns4_real48k" / "dpcrn-quant").glob("*.wav")))
    assert sr == 48000
    timing = pd.read_csv(report / "timing.csv")
    assert list(timing.columns) == [
        "model",
        "threads",
        "cpu",
        "rtf",
        "hop_ms",
        "hop_p95_ms",
        "load1",
        "steal_pct",
        "other_cpu",
        "other_top",
        "busy",
    ]
    assert timing.loc[0, "model"] == "dpcrn-quant" and 0 < timing.loc[0, "rtf"] < 1 and timing.loc[0, "hop_ms"] > 0
    stages = pd.read_csv(report / "profile.csv").set_index("stage")["seconds"]
    assert {
        "evaluate",
        "evaluate: enhance",
        "evaluate: dnsmos",
        "evaluate: pesq_wb",
        "evaluate: composite",
        "evaluate: stoi",
        "report",
        "total",
    } <= set(stages.index)
    capsys.readouterr()
    assert main(args) == 0  # rerun the same day: everything reused, nothing recomputed
    assert "14 tasks: 14 already done, 0 computed" in capsys.readouterr().out
    assert (
        main(
            [
                "report",
                "--date",
                "2026-01-02",
                "--reports",
                str(tmp_path / "reports"),
                "--figures",
                str(tmp_path / "figures"),
            ]
        )
        == 0
    )
