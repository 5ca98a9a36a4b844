"""One model reference per name: a user's model is shown under its own name (never its file path), keyed by
everything its build reads (a helper module, a sibling package, an undeclared checkpoint), counted like the zoo
(parameters, latency) and named by that name in every API that takes a model."""

import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from setoolkit.evaluation import evaluate
from setoolkit.evaluation.keys import model_fingerprint
from setoolkit.evaluation.paired import compare, versus_best
from setoolkit.listening.design import choose_systems
from setoolkit.model_refs import MODELS_CSV, resolve, table_name
from setoolkit.report.leaderboard import model_info

KW = {"limit": 2, "metrics": ("si_sdr",), "use_dnsmos": False, "progress": False}

HELPER_SPEC = textwrap.dedent("""
    import numpy as np
    import setoolkit
    from gain_helper import GAIN

    def build():
        return setoolkit.from_function(lambda x: (GAIN * x).astype(np.float32), 16000, name="gained")
""")

PACKAGE_SPEC = textwrap.dedent("""
    import numpy as np
    import setoolkit
    from mypkg.layers import scale

    def build():
        return setoolkit.from_function(lambda x: scale(x).astype(np.float32), 16000, name="pkg-model")
""")

CHECKPOINT_SPEC = textwrap.dedent("""
    from pathlib import Path
    import numpy as np
    import setoolkit

    def build():
        gain = float(np.load(Path(__file__).with_name("ckpt.npy"))[0])  # read, but not declared in weights=
        return setoolkit.from_function(lambda x: (gain * x).astype(np.float32), 16000, name="ckpt-model")
""")


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return f"{folder / name}:build"


def test_a_helper_module_edit_recomputes_exactly_the_models_rows(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    spec = _write(proj, "gained.py", HELPER_SPEC)
    (proj / "gain_helper.py").write_text("GAIN = 0.5\n")
    monkeypatch.syspath_prepend(str(proj))
    monkeypatch.setenv("PYTHONPATH", str(proj))
    store = tmp_path / "store"
    first = evaluate([spec, "nsnet2"], ["vbd16k"], tmp_path / "a", workers=1, store=store, **KW)
    assert first.stats.computed == 6
    snr_before = first[first["model"] == "gained"]["si_sdr"].to_numpy()
    (proj / "gain_helper.py").write_text("GAIN = -0.5\n")  # a new helper: the rows must come from it
    again = evaluate([spec, "nsnet2"], ["vbd16k"], tmp_path / "b", workers=1, store=store, **KW)
    assert again.stats.computed == 2 and again.stats.skipped == 4  # exactly the two rows of the edited model
    assert not np.allclose(again[again["model"] == "gained"]["si_sdr"], snr_before, atol=1e-3)  # not stale
    third = evaluate([spec, "nsnet2"], ["vbd16k"], tmp_path / "c", workers=1, store=store, **KW)
    assert third.stats.computed == 0


def test_a_sibling_package_and_an_undeclared_checkpoint_enter_the_key(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    spec = _write(proj, "uses_pkg.py", PACKAGE_SPEC)
    (proj / "mypkg").mkdir()
    (proj / "mypkg" / "__init__.py").write_text("")
    (proj / "mypkg" / "layers.py").write_text("def scale(x):\n    return 0.5 * x\n")
    monkeypatch.syspath_prepend(str(proj))
    before = model_fingerprint(spec)
    (proj / "mypkg" / "layers.py").write_text("def scale(x):\n    return 0.25 * x\n")
    assert model_fingerprint(spec) != before

    ck = _write(proj, "ckpt_model.py", CHECKPOINT_SPEC)
    np.save(proj / "ckpt.npy", np.array([0.5]))
    before = model_fingerprint(ck)
    np.save(proj / "ckpt.npy", np.array([0.7]))
    assert model_fingerprint(ck) != before


def test_user_model_is_named_by_its_name_and_has_params_and_latency(tmp_path):
    torch = pytest.importorskip("torch")
    spec = _write(
        tmp_path,
        "tiny_torch.py",
        textwrap.dedent("""
            import torch
            import setoolkit

            class Tiny(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = torch.nn.Conv1d(1, 1, 33, padding=16)

                def forward(self, x):
                    return self.conv(x[:, None])[:, 0]

            def build():
                torch.manual_seed(0)
                return setoolkit.from_torch(Tiny(), 16000, name="my-mask", latency=0)
        """),
    )
    del torch
    table = evaluate([spec, "gtcrn"], ["vbd16k"], tmp_path / "run", workers=1, **KW)
    assert set(table["model"]) == {"noisy", "my-mask", "gtcrn"}
    cards = pd.read_csv(tmp_path / "run" / MODELS_CSV)
    mine = cards.set_index("model").loc["my-mask"]
    assert mine["kind"] == "spec" and mine["params"] == 34  # 33 weights + 1 bias, counted from the module
    info = model_info(["my-mask", "gtcrn"], cards).set_index("model")
    assert info.loc["my-mask", "size_class"] == "< 1 M params" and info.loc["my-mask", "params_M"] > 0
    assert table_name(table["model"], f"{tmp_path}/tiny_torch.py:build") == "my-mask"  # the spec as written
    assert table_name(table["model"], "my-mask") == "my-mask"
    with pytest.raises(Exception, match="not in this table"):
        table_name(table["model"], "nope")
    spec_as_written = f"{tmp_path}/tiny_torch.py:build"
    assert compare(table, spec_as_written, "noisy", "si_sdr").a == "my-mask"  # was refused
    assert compare(table, "my-mask", "noisy", "si_sdr").n == 2
    assert "my-mask" in versus_best(table, "vbd16k", "si_sdr", spec_as_written)
    assert choose_systems(table, [spec_as_written, "gtcrn"]) == ["my-mask", "gtcrn"]  # build_test(systems=...)


def test_two_user_models_with_one_name_get_a_suffix_and_a_warning(tmp_path):
    a = _write(
        tmp_path / "a",
        "m.py",
        "import setoolkit\ndef build():\n    return setoolkit.from_function(lambda x: x, 16000, name='gtcrn')\n",
    )
    b = _write(
        tmp_path / "b",
        "m.py",
        "import setoolkit\ndef build():\n    return setoolkit.from_function(lambda x: 0.5 * x, 16000, name='mine')\n",
    )
    c = _write(
        tmp_path / "c",
        "m.py",
        "import setoolkit\ndef build():\n    return setoolkit.from_function(lambda x: 0.25 * x, 16000, name='mine')\n",
    )
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        refs, broken = resolve(["gtcrn", a, b, c])
    assert not broken
    assert [r.name for r in refs] == ["gtcrn", "gtcrn~2", "mine", "mine~2"]  # the zoo keeps its name
    assert sum("already taken" in str(w.message) for w in seen) == 2
    assert all("/" not in r.name for r in refs) and refs[2].source == b


def test_a_spec_is_built_once_per_process(tmp_path):
    """resolve (name), the content key and the in-process runner share one build (it was built three times)."""
    counter = tmp_path / "builds.txt"
    spec = _write(
        tmp_path,
        "counted.py",
        "from pathlib import Path\nimport setoolkit\n\n\ndef build():\n"
        f"    with open({str(counter)!r}, 'a') as f:\n        f.write('x')\n"
        "    return setoolkit.from_function(lambda x: 0.5 * x, 16000, name='counted')\n",
    )
    table = evaluate([spec], ["vbd16k"], tmp_path / "run", workers=1, **KW)
    assert set(table["model"]) == {"noisy", "counted"}
    assert counter.read_text() == "x"
