"""Models that live outside the package run through the evaluation engine: a spec file with local worker
processes and on a Dask LocalCluster, an installed package's card through the entry point; bad specs are one
clear reason each and never stop the other models' rows."""

import textwrap

import numpy as np
import pytest

from setoolkit.evaluation import evaluate
from setoolkit.registry import CARDS

SPEC = textwrap.dedent("""
    import numpy as np
    import setoolkit

    def build():
        return setoolkit.from_function(lambda x: (0.5 * x).astype(np.float32), 16000, name="half")
""")

PLUGIN = textwrap.dedent("""
    import numpy as np
    import setoolkit
    from setoolkit.registry import card


    def build(card, mirror=None):
        return setoolkit.from_function(lambda x: (0.25 * x).astype(np.float32), card.sample_rate, name=card.name)


    CARDS = [card(name="plugin-quarter", family="plugin", sample_rate=16000, framework="numpy", frame=None, hop=None,
                  latency_ms=0.0, params=0, weights=[], license="MIT", streaming=False, builder=build,
                  trained_on="none", description="quarters the input (an installed package's card)")]
""")

KW = {"limit": 2, "metrics": ("si_sdr", "snr"), "use_dnsmos": False, "progress": False}


def _spec(tmp_path) -> str:
    f = tmp_path / "half.py"
    f.write_text(SPEC)
    return f"{f}:build"


def test_spec_model_in_local_workers_scores_like_its_definition(tmp_path):
    spec = _spec(tmp_path)
    table = evaluate([spec], ["vbd16k"], tmp_path / "run", workers=2, **KW)
    mine = table[table["model"] == "half"].set_index("file")  # the adapter's name=, never the spec's path
    noisy = table[table["model"] == "noisy"].set_index("file")
    assert len(mine) == 2 and not table["model"].str.contains("/").any()
    assert np.allclose(mine["si_sdr"], noisy["si_sdr"], atol=1e-3)  # SI-SDR ignores the gain of 0.5
    assert np.allclose(noisy["snr"] - mine["snr"], 0, atol=50) and (mine["snr"] < noisy["snr"]).all()


@pytest.mark.slow  # heavy for the edit-test loop (seconds); the full suite runs it
def test_spec_model_on_a_dask_local_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = _spec(tmp_path)
    local = evaluate([spec], ["vbd16k"], tmp_path / "local", workers=1, **KW)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c,
        distributed.Client(c) as client,
    ):
        remote = evaluate([spec], ["vbd16k"], tmp_path / "dask", scheduler=client, **KW)
    cols = ["dataset", "model", "file", "si_sdr", "snr"]
    a = local[cols].sort_values(["model", "file"]).reset_index(drop=True)
    b = remote[cols].sort_values(["model", "file"]).reset_index(drop=True)
    assert a[["dataset", "model", "file"]].equals(b[["dataset", "model", "file"]])
    assert np.allclose(a[["si_sdr", "snr"]], b[["si_sdr", "snr"]], rtol=0, atol=1e-5)


def test_entry_point_card_runs_in_worker_processes(tmp_path, monkeypatch):
    (tmp_path / "setoolkit_plugin_quarter.py").write_text(PLUGIN)
    info = tmp_path / "setoolkit_plugin_quarter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: setoolkit_plugin_quarter\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[setoolkit.models]\nquarter = setoolkit_plugin_quarter:CARDS\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the spawned workers find the package too
    monkeypatch.setattr(CARDS, "_cards", None)
    table = evaluate(["plugin-quarter"], ["vbd16k"], tmp_path / "run", workers=2, **KW)
    assert (table["model"] == "plugin-quarter").sum() == 2


def test_bad_specs_are_one_reason_each_and_the_other_rows_are_computed(tmp_path):
    (tmp_path / "raises.py").write_text("def build():\n    raise RuntimeError('boom')\n")
    (tmp_path / "notenh.py").write_text("def build():\n    return 42\n")
    (tmp_path / "badlen.py").write_text(
        "import setoolkit\n\ndef build():\n    return setoolkit.from_function("
        "lambda x: x[: len(x) // 2], 16000, name='halflen')\n"
    )
    good = _spec(tmp_path)
    bad = {
        f"{tmp_path}/missing.py:build": "does not exist",
        f"{good.rsplit(':', 1)[0]}:nope": "'nope' not found",
        f"{tmp_path}/raises.py:build": "raised RuntimeError: boom",
        f"{tmp_path}/notenh.py:build": "returned int, not a setoolkit Enhancer",
    }
    with pytest.warns(UserWarning):
        table, stats = evaluate(
            [*bad, f"{tmp_path}/badlen.py:build", good, "nsnet2"],
            ["vbd16k"],
            tmp_path / "run",
            workers=1,
            return_stats=True,
            **KW,
        )
    assert set(table["model"]) == {"noisy", "half", "nsnet2"}
    for spec, reason in bad.items():
        assert spec in stats.models_without_weights and reason in stats.models_without_weights[spec]
    text = str(stats)
    assert all(spec in text for spec in bad)
    failures = [str(f) for f in stats.failed]
    assert len(failures) == 2 and all("halflen" in f and "one sample per input sample" in f for f in failures)


def test_cli_enhance_and_evaluate_take_a_spec(tmp_path, mirror):
    import subprocess
    import sys

    import soundfile as sf

    spec = _spec(tmp_path)
    noisy = sorted((mirror / "data" / "vbd16k" / "noisy").glob("*.wav"))[0]
    run = [sys.executable, "-m", "setoolkit"]
    r = subprocess.run(
        [*run, "enhance", str(noisy), "-m", spec, "-o", str(tmp_path / "out"), "-q"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    x, _ = sf.read(noisy)
    y, _ = sf.read(tmp_path / "out" / noisy.name)
    assert np.allclose(y, 0.5 * x, atol=1e-4)
    r = subprocess.run(
        [*run, "enhance", str(noisy), "-m", f"{tmp_path}/nothere.py:build", "-o", str(tmp_path / "o2")],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "nothere.py" in r.stderr and "Traceback" not in r.stderr


def test_evaluate_returns_one_table_that_carries_its_stats(tmp_path):
    table = evaluate([_spec(tmp_path)], ["vbd16k"], tmp_path / "run", workers=1, **KW)
    assert table.stats.computed == len(table) == 4 and table.stats.failed == []
    assert table[table["model"] == "noisy"].stats is table.stats  # a slice keeps it
    table.to_parquet(tmp_path / "t.parquet")  # still a plain DataFrame to pandas


def _onnx_half(path):
    """A one-node ONNX graph: ``(1, n)`` float32 -> ``0.5 *`` input (no framework needed to build it)."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, None])
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "half"], ["y"])], "half", [x], [y], [half])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_an_onnx_file_of_your_own_through_evaluate_and_the_doctor(tmp_path):
    from setoolkit.diagnostics.doctor import doctor

    _onnx_half(tmp_path / "half.onnx")
    spec_file = tmp_path / "onnx_spec.py"
    spec_file.write_text(
        "from pathlib import Path\nimport setoolkit\n\n\ndef build():\n"
        "    return setoolkit.from_onnx(Path(__file__).with_name('half.onnx'), 16000, name='onnx-half')\n"
    )
    spec = f"{spec_file}:build"
    table = evaluate([spec], ["vbd16k"], tmp_path / "run", workers=2, **KW)
    mine, noisy = (table[table["model"] == m].set_index("file") for m in ("onnx-half", "noisy"))
    assert len(mine) == 2 and np.allclose(mine["si_sdr"], noisy["si_sdr"], atol=1e-3)
    report = doctor(spec, n_pairs=1)
    assert report["weights"].status == "pass" and report["output"].status == "pass"
