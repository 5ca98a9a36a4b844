"""Evaluation engine, DNSMOS, summaries and the Dask path, on real audio (the report, figures and player:
test_report.py, test_figures.py, test_widgets.py, test_browser.py)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from setoolkit import assets
from setoolkit.audio import read
from setoolkit.diagnostics import faults
from setoolkit.evaluation import bootstrap_ci, evaluate, snr_bands, summarize
from setoolkit.metrics.dnsmos import dnsmos

MODELS = ["dpcrn-quant"]


@pytest.mark.slow
def test_dnsmos_equals_upstream_script(mirror):
    """speechmos ships the upstream dnsmos_local.py logic and the same ONNX files."""
    import speechmos.dnsmos as upstream

    files = (
        assets.dataset_files("dns3_blind", mirror=mirror)[:1]
        + assets.dataset_files("vbd16k", mirror=mirror, subdir="noisy")[:2]
    )
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
    table, stats = evaluate(
        MODELS, ["vbd16k", "dns3_blind"], out, limit=3, workers=2, progress=False, return_stats=True
    )
    assert stats.computed == 12 and not stats.failed
    return out, table


@pytest.mark.slow
def test_table_has_every_metric_per_file_and_model(run_dir):
    out, table = run_dir
    assert len(table) == 12 and set(table["model"]) == {"noisy", "dpcrn-quant"}
    paired = table[table["dataset"] == "vbd16k"]
    for col in (
        "pesq_wb",
        "pesq_nb",
        "stoi",
        "estoi",
        "si_sdr",
        "sdr",
        "snr",
        "lsd",
        "lag",
        "OVRL",
        "SIG",
        "BAK",
        "P808_MOS",
        "seconds",
        "rtf",
    ):
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
    again, stats = evaluate(
        MODELS, ["vbd16k", "dns3_blind"], out, limit=3, workers=1, progress=False, return_stats=True
    )
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


@pytest.mark.slow
def test_dask_cluster_matches_local_and_resumes_after_killed_worker(run_dir, tmp_path):
    import dask
    from distributed import Client, LocalCluster

    _, local = run_dir
    victim = sorted(local[local.dataset == "vbd16k"]["file"])[1]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            table, stats = evaluate(
                MODELS,
                ["vbd16k"],
                tmp_path,
                limit=3,
                scheduler=client,
                progress=False,
                task_fn=faults.task_killing_worker_on(victim),
                return_stats=True,
            )
            # the victim's tasks fail (and whatever else ran on the killed worker); the others are kept
            failed_files = {Path(f[0]["noisy"]).name for f in stats.failed}
            assert victim in failed_files and all("KilledWorker" in f[1] for f in stats.failed)
            assert len(table) == 6 - len(stats.failed) and victim not in set(table["file"])
            n_missing = len(stats.failed)
            table, stats = evaluate(
                MODELS, ["vbd16k"], tmp_path, limit=3, scheduler=client, progress=False, return_stats=True
            )
    assert stats.computed == n_missing and stats.skipped == 6 - n_missing and not stats.failed
    cols = ["dataset", "model", "file", "pesq_wb", "si_sdr", "OVRL"]
    expect = local[local.dataset == "vbd16k"][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(table[cols].reset_index(drop=True), expect)


# ------------------------------------------------------------------------------------------ content keys


@pytest.mark.slow  # heavy for the edit-test loop (seconds); the full suite runs it
def test_p808_features_and_mel_basis_equal_librosa():
    import librosa

    from setoolkit.metrics.dnsmos import mel_basis, p808_features

    assert np.array_equal(mel_basis(), librosa.filters.mel(sr=16000, n_fft=321, n_mels=120))
    seg = np.random.default_rng(0).standard_normal(144000) * 0.1
    mel = librosa.feature.melspectrogram(y=seg, sr=16000, n_fft=321, hop_length=160, n_mels=120)
    ref = ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T.astype(np.float32)
    np.testing.assert_allclose(p808_features(seg), ref, atol=1e-6)


@pytest.mark.slow  # heavy for the edit-test loop (seconds); the full suite runs it
def test_dnsmos_shared_windows_equal_window_by_window(mirror):
    """A 17.5 s recording: 8 overlapping windows (one skipped by upstream's float rounding), the
    convolution stack in more than one chunk; every window's raw scores equal the whole model's."""
    from setoolkit.metrics import dnsmos as d
    from setoolkit.models.common.runtimes import onnx_session

    f = next(f for f in assets.dataset_files("dns3_blind", mirror=mirror) if "heavybreathing" in f.name)
    x, _ = read(f)
    xr, windows = d._windows(x[0].astype(np.float64))
    assert windows == list(range(7)) and xr.size > (d._CHUNK_ROWS + 100) * 160
    sessions = d._sessions(False, None, 1)
    raw, p808 = d._p835_raw(xr, windows, sessions), d._p808(xr, windows, sessions)
    full = onnx_session(str(assets.fetch("weights/dnsmos/p835/sig_bak_ovr.onnx", mirror=mirror)))
    for i, k in enumerate(windows):
        seg = xr[k * 16000 : k * 16000 + 144160]
        np.testing.assert_allclose(raw[i], full.run(None, {"input_1": seg.astype(np.float32)[None]})[0][0], atol=1e-5)
        ref808 = sessions[3].run(None, {"input_1": d.p808_features(seg[:-160])[None]})[0][0][0]
        assert p808[i] == pytest.approx(ref808, abs=1e-5)


def _toy_task(task, **kwargs):
    """A task function without a model: the row records what it saw; the output file is written."""
    from setoolkit.audio import write

    x, sr = read(task.noisy)
    if task.output:
        write(task.output, x, sr)
    return {
        "dataset": task.dataset,
        "model": task.model,
        "file": Path(task.noisy).name,
        "sr": sr,
        "value": float(np.abs(x).sum()),
        "metrics": ",".join(kwargs["metrics"]),
        "output_path": task.output or task.noisy,
        "noisy_path": task.noisy,
        "clean_path": task.clean,
        "_stages": {"enhance": 0.5},
    }


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A local paired set of three files and two toy models with their own weights files in a mirror."""
    from setoolkit import registry
    from setoolkit.audio import write

    rng = np.random.default_rng(0)
    for sub in ("noisy", "clean"):
        for name in ("a.wav", "b.wav", "c.wav"):
            write(tmp_path / "set" / sub / name, rng.standard_normal(8000).astype(np.float32) * 0.1, 16000)
    mirror = tmp_path / "mirror"
    (mirror / "weights" / "toy").mkdir(parents=True)
    card = registry.CARDS["dpcrn-quant"]

    def set_weights(model, content: bytes):
        name = f"weights/toy/{model}.bin"
        (mirror / name).write_bytes(content)
        import hashlib

        monkeypatch.setitem(
            assets.registry(),
            name,
            assets.Asset(name, hashlib.sha256(content).hexdigest(), len(content), "", "MIT", "test"),
        )

    for m in ("toy-a", "toy-b"):
        set_weights(m, m.encode())
        monkeypatch.setitem(
            registry.CARDS, m, registry.ModelCard(**{**card.__dict__, "name": m, "weights": (f"weights/toy/{m}.bin",)})
        )
    return tmp_path, mirror, set_weights


def _run(toy, out, **kw):
    root, mirror, _ = toy
    kw.setdefault("metrics", ("si_sdr",))
    return evaluate(
        ["toy-a", "toy-b"],
        [root / "set"],
        root / out,
        store=root / "store",
        mirror=mirror,
        workers=1,
        progress=False,
        task_fn=_toy_task,
        return_stats=True,
        **kw,
    )


def test_content_keys_invalidate_exactly_the_changed_rows(toy):
    from setoolkit.audio import write

    root, _, set_weights = toy
    table, stats = _run(toy, "day1")
    assert stats.computed == 9 and stats.stages["enhance"] == pytest.approx(4.5)
    again, stats = _run(toy, "day2")  # next day, other folder, same store: every row reused
    assert stats.computed == 0 and stats.skipped == 9
    pd.testing.assert_frame_equal(again, table)
    assert (root / "day2" / "scores.csv").read_text() == (root / "day1" / "scores.csv").read_text()

    write(root / "set" / "noisy" / "b.wav", np.zeros(8000, dtype=np.float32) + 0.01, 16000)  # changed input
    _, stats = _run(toy, "day3")
    assert stats.computed == 3  # b.wav through noisy, toy-a, toy-b
    write(root / "set" / "clean" / "c.wav", np.zeros(8000, dtype=np.float32) + 0.02, 16000)  # changed reference
    _, stats = _run(toy, "day3")
    assert stats.computed == 3
    set_weights("toy-a", b"retrained")  # changed weights file: only that model's rows
    table, stats = _run(toy, "day4")
    assert stats.computed == 3
    recomputed = table[table["model"] == "toy-a"]["output_path"]
    assert all(Path(p).exists() for p in recomputed)
    _, stats = _run(toy, "day5", metrics=("si_sdr", "stoi"))  # changed metric set: every row
    assert stats.computed == 9
    _, stats = _run(toy, "day6")  # back to the first metric set: its rows are still there
    assert stats.computed == 0


def test_missing_output_audio_is_recomputed_and_outputs_are_named_by_content(toy):
    table, _ = _run(toy, "day1")
    outs = table[table["model"] == "toy-b"]["output_path"].tolist()
    assert len(set(outs)) == 3 and all(Path(p).parent.name == "toy-b" and Path(p).suffix == ".wav" for p in outs)
    Path(outs[0]).unlink()
    _, stats = _run(toy, "day2")
    assert stats.computed == 1 and Path(outs[0]).exists()


def test_code_hash_follows_imports():
    from setoolkit.evaluation import code_hash

    assert code_hash("setoolkit.models.dtln.network") != code_hash("setoolkit.models.nsnet2")
    assert code_hash("setoolkit.evaluation") == code_hash("setoolkit.evaluation")
    assert code_hash("setoolkit.not_a_module") == code_hash()


def test_variants_are_scored_through_their_representative():
    from setoolkit.registry import representatives

    scored, variants = representatives(["dpcrn-base", "dpcrn-base-onnx", "dpcrn-base-h5", "dtln-onnx", "gtcrn"])
    assert scored == ["dpcrn-base", "dtln-onnx", "gtcrn"]  # dtln-onnx without dtln is scored itself
    assert variants == {"dpcrn-base-onnx": "dpcrn-base", "dpcrn-base-h5": "dpcrn-base"}


@pytest.mark.slow
def test_timing_pass_checks_variant_parity_and_reuses_its_measurements(tmp_path, mirror):
    from setoolkit.evaluation.timing import PARITY_DB, parity_failures, timing_pass

    clip = assets.dataset_files("dns3_synthetic", mirror=mirror, subdir="noisy")[0]
    files = assets.dataset_files("vbd16k", mirror=mirror, subdir="noisy")[:2]
    spent = {}
    timing, variants = timing_pass(
        ["dtln", "dtln-onnx"], {"dtln-onnx": "dtln"}, store=tmp_path, clip=clip, parity_files=files, stages=spent
    )
    assert list(timing["model"]) == ["dtln", "dtln-onnx"] and (timing["threads"] == 1).all()
    assert ((timing["rtf"] > 0) & (timing["rtf"] < 1)).all() and (timing["hop_ms"] > 0).all()
    assert (timing["hop_p95_ms"] >= timing["hop_ms"] * 0.5).all() and spent["time"] > 0
    assert variants.loc[0, "parity_db"] > PARITY_DB and not parity_failures(variants)
    assert variants.loc[0, "rtf"] == timing.loc[1, "rtf"]
    again, variants2 = timing_pass(
        ["dtln", "dtln-onnx"], {"dtln-onnx": "dtln"}, store=tmp_path, clip=clip, parity_files=files
    )  # nothing changed: read back, nothing measured
    pd.testing.assert_frame_equal(again, timing)
    pd.testing.assert_frame_equal(variants2, variants)
    bad = variants.assign(parity_db=40.0)
    assert "dtln-onnx differs from dtln: 40.0 dB" in parity_failures(bad)[0]
