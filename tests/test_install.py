"""The light core and its extras: ``import setoolkit`` and the card table import no framework; a model whose extra
is not installed is listed as needing it, refused by ``load`` with the extra named, and left out of the main job
with that reason, like a model whose weights are absent."""

import ast
import subprocess
import sys

import pytest

import setoolkit
from setoolkit import cards, cli, registry
from setoolkit.errors import MissingExtraError, SetoolkitError
from setoolkit.registry import CARDS, EXTRAS, Builder

FRAMEWORKS = (
    "torch",
    "tensorflow",
    "keras",
    "onnxruntime",
    "ai_edge_litert",
    "jupyter",
    "jupyterlab",
    "IPython",
    "h5py",
    "sklearn",
    "dask",
    "distributed",
)


def test_import_and_card_table_import_no_framework():
    code = (
        "import sys, setoolkit; cards = setoolkit.list_models(); "
        "print(len(cards)); print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert int(out[0]) == len(CARDS) > 25
    loaded = set(ast.literal_eval(out[1]))
    assert loaded.isdisjoint(FRAMEWORKS), sorted(loaded & set(FRAMEWORKS))


def test_every_card_names_known_extras_and_onnx_tflite_models_need_none():
    for c in CARDS.values():
        assert set(c.extras) <= set(EXTRAS), c.name
        if c.framework in ("onnx", "tflite"):
            assert c.extras == (), f"{c.name} runs on {c.framework}: it belongs to the core"
    for name in ("gtcrn", "dtln", "denoiser-dns48", "segan-plus", "dpcrn-dns3-torch", "dpcrn-bearboy"):
        assert "torch" in CARDS[name].extras
    assert set(CARDS["dpcrn-dns3"].extras) == {"tf", "torch"}
    assert {"deepfilternet3", "nsnet2", "dtln-tflite", "dtln-onnx", "dpcrn-quant"}.isdisjoint(
        n for n, c in CARDS.items() if c.extras
    )


def test_a_card_with_an_unknown_extra_is_an_error_where_it_is_declared():
    with pytest.raises(SetoolkitError, match="unknown extra"):
        registry.card(
            name="x",
            family="x",
            sample_rate=16000,
            framework="torch",
            frame=None,
            hop=None,
            latency_ms=None,
            params=None,
            license="MIT",
            streaming=False,
            builder=None,
            description="",
            extras=["pytorch"],
        )


def test_builder_is_named_by_module_and_imported_on_call():
    b = CARDS["gtcrn"].builder
    assert isinstance(b, Builder) and callable(b)
    assert (b.__module__, b.__qualname__) == ("setoolkit.models.gtcrn.network", "build")  # content keys read them
    assert b == Builder("setoolkit.models.gtcrn.network:build")
    with pytest.raises(ValueError, match="module:function"):
        Builder("setoolkit.models.gtcrn.network")


@pytest.fixture()
def no_torch(monkeypatch):
    """This machine as one without setoolkit[torch]: the extra's modules are not found."""
    found = cards._found
    monkeypatch.setattr(cards, "_found", lambda m: m != "torch" and found(m))


def test_missing_extra_names_it_in_load_runnable_and_models_table(no_torch, capsys):
    with pytest.raises(
        MissingExtraError,
        match=r"model 'gtcrn' needs setoolkit\[torch\] \(torch not installed\): "
        r"pip install 'setoolkit\[torch\]'",
    ):
        setoolkit.load("gtcrn")
    ready, not_run = registry.runnable_models()
    assert not_run["gtcrn"] == not_run["dtln"] == "needs setoolkit[torch]"
    assert "dpcrn-dns3" in not_run and "gtcrn" not in ready
    assert {"deepfilternet3", "nsnet2", "dtln-tflite"} <= set(ready)
    note = registry.not_run_note({**not_run, "x": "weights/x.onnx: not on this machine"})
    assert "gtcrn" in note.split("(needs setoolkit[torch])")[0] and note.endswith("x (weights not on this machine)")
    assert cli.main(["models"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "needs setoolkit[torch]" in rows["gtcrn"] and "needs setoolkit[" not in rows["deepfilternet3"]


def test_missing_metric_extra_is_named(monkeypatch):
    from setoolkit.metrics import learned as quality_models

    found = cards._found
    monkeypatch.setattr(cards, "_found", lambda m: m != "visqol" and found(m))
    quality_models._visqol_api.cache_clear()
    with pytest.raises(MissingExtraError, match=r"the visqol metric needs setoolkit\[visqol\]"):
        quality_models._visqol_api()
    quality_models._visqol_api.cache_clear()


def test_doctor_environment_check_passes_without_torch(monkeypatch):
    import importlib.util

    from setoolkit.diagnostics import doctor

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else find_spec(name, *a))
    check = doctor._check_environment(None)
    assert check.status == "pass" and "torch not installed" in check.value
