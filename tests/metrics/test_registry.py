"""The metric registry (issue #29): one record per metric, everything else derived from it; metric specs in worker
processes; content keys that cover exactly each metric's own libraries and weights; unknown names refused up front."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from setoolkit.audio import read, write
from setoolkit.cli import main
from setoolkit.errors import MetricError
from setoolkit.evaluation import NOISY, evaluate, keys, make_tasks
from setoolkit.evaluation.summaries import SUMMARY_METRICS
from setoolkit.metrics import ALL_METRICS, DEFAULT_METRICS, Metric, catalog, register, registry, score_pair
from setoolkit.registry import missing_extras

PEAK = """
import numpy as np

from setoolkit.metrics import Metric

OFFSET = {offset}


def peak_of(est, sr):
    return float(20 * np.log10(np.max(np.abs(est)) + 1e-12)) + OFFSET


peak = Metric(name="peak", compute=peak_of, intrusive=False, label="peak level", unit="dBFS", higher_is_better=False)
"""


def _pairs(data: Path, root: Path, n: int = 2) -> Path:
    """A small real paired set: the first ``n`` vbd16k pairs copied to ``root/clean`` and ``root/noisy``."""
    for sub in ("clean", "noisy"):
        (root / sub).mkdir(parents=True)
        for f in sorted((data / "vbd16k" / sub).glob("*.wav"))[:n]:
            shutil.copy(f, root / sub / f.name)
    return root


def test_the_old_names_are_views_of_the_records():
    assert DEFAULT_METRICS == (
        "pesq_wb", "pesq_nb", "csig", "cbak", "covl", "stoi", "estoi", "si_sdr", "sdr", "snr", "segsnr", "lsd"
    )  # fmt: skip
    assert {"visqol", "distillmos", "SIG", "BAK", "OVRL", "P808_MOS"} <= set(ALL_METRICS)
    assert catalog.info("OVRL").label == "DNSMOS OVRL" and not catalog.info("OVRL").intrusive
    assert catalog.info("csig").label == "CSIG" and catalog.info("csig").rate == 16000
    assert not catalog.higher_is_better("lsd") and catalog.higher_is_better("pesq_wb")
    assert catalog.label("delta_si_sdr") == "Δ SI-SDR" and catalog.digits("stoi") == 3
    assert (
        registry.extras()
        == dict(registry.METRIC_EXTRAS)
        == {
            "visqol": "visqol",
            "distillmos": "learned-mos",
            "nisqa": "nisqa",
            "wer": "asr",
            "cer": "asr",
            "whisper_wer": "whisper",
            "whisper_cer": "whisper",
            "spk_sim": "speaker",
            "mcd": "mcd",
        }
    )
    assert "pesq_nb" not in SUMMARY_METRICS and {"pesq_wb", "OVRL", "distillmos"} <= set(SUMMARY_METRICS)
    assert registry.get("OVRL") is registry.get("dnsmos") and registry.get("cbak").name == "composite"
    text = registry.help_text()
    assert all(m.name in text for m in registry.builtin())


def test_register_refuses_clashes_and_the_catalogue_sees_new_metrics():
    with pytest.raises(MetricError, match="'pesq_wb' is registered already"):
        register(Metric(name="pesq_wb", compute=lambda ref, est, sr: 0.0))
    with pytest.raises(MetricError, match="column 'OVRL', which metric 'dnsmos' writes"):
        register(Metric(name="mos2", compute=lambda est, sr: {}, intrusive=False, columns=("OVRL", "x")))
    with pytest.raises(MetricError, match="not a callable"):
        Metric(name="bad", compute=3)
    crest = register(
        Metric(name="crest_test", compute=lambda est, sr: float(np.max(np.abs(est)) / np.std(est)), intrusive=False)
    )
    assert register(crest) is crest  # the same record again: a no-op
    assert catalog.info("crest_test").label == "crest_test" and not catalog.info("crest_test").intrusive


def test_unknown_names_and_missing_extras_are_one_error_before_any_work(tmp_path, data, capsys):
    root = _pairs(data, tmp_path / "set", 1)
    with pytest.raises(MetricError, match=r"unknown metric 'pesq'; known: pesq_wb, pesq_nb, composite"):
        evaluate([NOISY], [str(root)], tmp_path / "out", metrics=["pesq_wb", "pesq"], progress=False)
    assert not (tmp_path / "out").exists()
    with pytest.raises(MetricError, match="nowhere.py' does not exist"):
        registry.resolve(["nowhere.py:peak"])
    for argv, says in (
        (["evaluate", "--sets", str(root), "--out", str(tmp_path / "o"), "--metrics", "pesq_wb,nope"], "'nope'"),
        (["run", "--sets", str(root), "--reports", str(tmp_path / "r"), "--metrics", "pesq_wb,"], "empty entry"),
        (["evaluate", "--sets", str(root), "--out", str(tmp_path / "o"), "--metrics", "OVRL", "--no-dnsmos"], "OVRL"),
        (["score", "--enhanced", str(root / "noisy"), "--metrics", "dnsmos,stoi"], "--clean DIR is needed"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("setoolkit: error: ") and says in err[0], err
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()
    if missing_extras(["visqol"]):
        with pytest.raises(MetricError, match=r"needs setoolkit\[visqol\]"):
            registry.resolve(["visqol"])


def test_score_without_clean_when_every_metric_is_non_intrusive(tmp_path, data, capsys, monkeypatch):
    root = _pairs(data, tmp_path / "set", 2)
    (tmp_path / "mine.py").write_text(PEAK.format(offset=0.0))
    monkeypatch.chdir(tmp_path)
    argv = ["score", "--enhanced", str(root / "noisy"), "--metrics", "mine.py:peak", "--csv", "s.csv", "-q"]
    assert main(argv) == 0
    assert "2 files" in capsys.readouterr().out
    import pandas as pd

    table = pd.read_csv(tmp_path / "s.csv")
    x, _ = read(root / "noisy" / "p232_001.wav")
    assert table["peak"].iloc[0] == pytest.approx(20 * np.log10(np.abs(x).max()), abs=1e-4)


def test_a_metric_spec_runs_in_worker_processes_and_its_edit_recomputes_exactly_its_rows(tmp_path, data, monkeypatch):
    """The README's example: ``setoolkit evaluate --metrics pesq_wb,path/to/mine.py:peak`` on a small real set,
    local workers."""
    root = _pairs(data, tmp_path / "set", 2)
    (tmp_path / "mine.py").write_text(PEAK.format(offset=0.0))
    monkeypatch.chdir(tmp_path)
    argv = ["evaluate", "--sets", str(root), "--models", "oracle-irm", "--metrics", "pesq_wb,mine.py:peak"]
    argv += ["--no-dnsmos", "--workers", "2", "--out", "run", "-q"]
    assert main(argv) == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "run" / "scores.csv")
    noisy = table[table.model == NOISY].set_index("file")
    x, _ = read(root / "noisy" / "p232_001.wav")
    assert noisy.loc["p232_001.wav", "peak"] == pytest.approx(20 * np.log10(np.abs(x).max()), abs=1e-4)
    assert table[table.model == "oracle-irm"]["peak"].isna().all()  # a non-intrusive metric ranks no oracle
    assert table["pesq_wb"].notna().all()
    (tmp_path / "mine.py").write_text(PEAK.format(offset=100.0))
    tasks = make_tasks(["oracle-irm"], [str(root)], tmp_path / "run", metrics=("pesq_wb", "mine.py:peak"))
    before = {(t.model, t.file): t.key for t in tasks}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again, stats = evaluate(
            ["oracle-irm"],
            [str(root)],
            tmp_path / "run",
            metrics=["pesq_wb", "mine.py:peak"],
            use_dnsmos=False,
            workers=2,
            progress=False,
            return_stats=True,
        )
    assert stats.computed == 2 and stats.skipped == 2  # the noisy rows carry the peak; the oracle rows do not
    new = again[again.model == NOISY].set_index("file")
    assert new.loc["p232_001.wav", "peak"] == pytest.approx(noisy.loc["p232_001.wav", "peak"] + 100, abs=1e-4)
    assert len(before) == 4


def _keys(root_paired, root_noisy, out, metrics):
    tasks = make_tasks(["oracle-irm"], [str(root_paired), str(root_noisy)], out, metrics=metrics, use_dnsmos=True)
    return {(t.dataset, t.model, t.file): t.key for t in tasks}


def test_a_metric_library_or_weights_change_recomputes_exactly_the_rows_that_carry_it(tmp_path, data, monkeypatch):
    paired = _pairs(data, tmp_path / "paired", 2)
    noisy_only = tmp_path / "noisy_only"
    shutil.copytree(paired / "noisy", noisy_only)
    metrics = ("pesq_wb", "visqol", "sdr") if not missing_extras(["visqol"]) else ("pesq_wb", "sdr")
    base = _keys(paired, noisy_only, tmp_path / "out", metrics)
    assert len(base) == 6  # paired: noisy + oracle, 2 files; noisy-only: noisy, 2 files
    paired_rows = {k for k in base if k[0] == "paired"}
    mos_rows = {k for k in base if k[1] == NOISY}  # DNSMOS and DistillMOS: every row that is not an oracle

    def changed(**fake):
        real = keys.library_version
        monkeypatch.setattr(keys, "library_version", lambda n: fake.get(n, real(n)))
        try:
            now = _keys(paired, noisy_only, tmp_path / "out", metrics)
        finally:
            monkeypatch.setattr(keys, "library_version", real)
        return {k for k in base if now[k] != base[k]}

    assert changed() == set()
    assert changed(pesq="9.9") == paired_rows
    assert changed(**{"fast-bss-eval": "9.9"}) == paired_rows
    if "visqol" in metrics:
        assert changed(**{"visqol-python": "9.9"}) == paired_rows
    assert changed(onnx="9.9") == mos_rows  # DNSMOS cuts its graph with onnx
    if not missing_extras(["learned-mos"]):
        assert changed(distillmos="9.9") == mos_rows
        weights = registry.weight_file("distillmos:weights/distill_mos_v7.pt")
        assert weights is not None and weights.name == "distill_mos_v7.pt"
        real_hash = keys.file_hash
        monkeypatch.setattr(keys, "file_hash", lambda p: "new weights" if p and Path(p) == weights else real_hash(p))
        now = _keys(paired, noisy_only, tmp_path / "out", metrics)
        assert {k for k in base if now[k] != base[k]} == mos_rows
        monkeypatch.setattr(keys, "file_hash", real_hash)
    assert changed(**{"some-other-metric-lib": "1.0"}) == set()


@pytest.mark.skipif(bool(missing_extras(["learned-mos"])), reason="needs setoolkit[learned-mos]")
def test_distillmos_named_and_aliased_is_computed_once(tmp_path, data, monkeypatch):
    from setoolkit.metrics import learned

    root = _pairs(data, tmp_path / "set", 1)
    calls = []
    real = learned.distillmos
    monkeypatch.setattr(learned, "distillmos", lambda x, sr: calls.append(1) or real(x, sr))
    assert registry.resolve(["si_sdr", "distillmos"], use_dnsmos=True) == ("si_sdr", "distillmos", "dnsmos")
    table = evaluate([NOISY], [str(root)], tmp_path / "o", metrics=["si_sdr", "distillmos"], workers=1, progress=False)
    assert len(calls) == 1 and table["distillmos"].iloc[0] == pytest.approx(3.67, abs=0.01)  # vbd16k p232_001
    assert {"OVRL", "distillmos", "si_sdr"} <= set(table.columns)


# ------------------------------------------------------------------------------------------ issue #28 defects


def test_a_scaled_copy_scores_inf_sdr_as_documented(data):
    x, sr = read(data / "vbd16k" / "clean" / "p232_001.wav")
    s = score_pair(x[0], 0.5 * x[0], sr, metrics=["si_sdr", "sdr", "pesq_wb"])  # raised inside fast_bss_eval
    assert s["sdr"] == np.inf and s["si_sdr"] == np.inf


def test_clean_given_as_noisy_warns_once_naming_the_file(tmp_path, data):
    from setoolkit.evaluation import Task, run_task

    clean = data / "vbd16k" / "clean" / "p232_001.wav"
    noisy = tmp_path / "noisy" / "p232_001.wav"
    noisy.parent.mkdir()
    shutil.copy(clean, noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = run_task(Task("s", NOISY, str(noisy), str(clean), None), metrics=DEFAULT_METRICS, use_dnsmos=False)
    said = [str(w.message) for w in caught if "identical" in str(w.message)]
    assert len(said) == 1 and str(noisy) in said[0] and str(clean) in said[0]
    assert row["pesq_wb"] == pytest.approx(4.64, abs=0.01)  # still scored: the warning says what it means
    other, sr = read(data / "vbd16k" / "noisy" / "p232_001.wav")
    write(noisy, other, sr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_task(Task("s", NOISY, str(noisy), str(clean), None), metrics=("pesq_wb",), use_dnsmos=False)
    assert not [w for w in caught if "identical" in str(w.message)]


def test_a_metric_spec_on_a_dask_local_cluster_gives_the_same_rows(tmp_path, data, monkeypatch):
    distributed = pytest.importorskip("distributed")
    root = _pairs(data, tmp_path / "set", 1)
    (tmp_path / "mine.py").write_text(PEAK.format(offset=0.0))
    monkeypatch.chdir(tmp_path)
    kw = {"metrics": ["si_sdr", "mine.py:peak"], "use_dnsmos": False, "progress": False}
    local = evaluate([NOISY], [str(root)], tmp_path / "local", workers=1, **kw)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c,
        distributed.Client(c) as client,
    ):
        remote = evaluate([NOISY], [str(root)], tmp_path / "dask", scheduler=client, **kw)
    assert remote["peak"].iloc[0] == local["peak"].iloc[0]
    assert remote["si_sdr"].iloc[0] == pytest.approx(local["si_sdr"].iloc[0], abs=1e-9)


CREST = """
import numpy as np
from setoolkit.metrics import Metric

METRICS = [Metric(name="crest_ep", compute=lambda est, sr: float(np.max(np.abs(est)) / np.std(est)), intrusive=False,
                  label="crest factor")]
"""


def test_an_installed_package_adds_metrics_through_the_entry_point_group(tmp_path, data, monkeypatch):
    (tmp_path / "setoolkit_plugin_crest.py").write_text(CREST)
    info = tmp_path / "setoolkit_plugin_crest-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: setoolkit_plugin_crest\nVersion: 1.0\n")
    eps = "[setoolkit.metrics]\ncrest = setoolkit_plugin_crest\nbroken = setoolkit_plugin_nowhere:METRICS\n"
    (info / "entry_points.txt").write_text(eps)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_loaded", [])
    with pytest.warns(UserWarning, match="entry point broken = setoolkit_plugin_nowhere:METRICS .* skipped"):
        assert registry.get("crest_ep").label == "crest factor"
    x, sr = read(data / "vbd16k" / "noisy" / "p232_001.wav")
    s = score_pair(None, x[0], sr, metrics=["crest_ep"])
    assert s == {"crest_ep": pytest.approx(float(np.max(np.abs(x[0])) / np.std(x[0])))}
    assert catalog.label("crest_ep") == "crest factor" and "crest_ep" in registry.help_text()


def test_a_record_names_what_its_compute_left_out():
    two = Metric(name="two", compute=lambda est, sr: {"a": 1.0}, intrusive=False, columns=("a", "b"))
    assert two.column_values({"a": 1, "b": 2.5}, ("a", "b")) == {"a": 1.0, "b": 2.5}
    with pytest.raises(MetricError, match=r"metric 'two': its compute returned no b \(it returned \['a'\]\)"):
        two.column_values({"a": 1.0}, ("a", "b"))
    with pytest.raises(MetricError, match=r"metric 'x.py:two' writes \('a', 'b'\): its batch must return a dict"):
        two.column_values(1.0, ("a", "b"), key="x.py:two", by="batch")
