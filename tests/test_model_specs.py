"""Model specs (``file.py:callable``, ``package.module:callable``), their fingerprints, and the ``setoolkit.models``
entry points through which an installed package adds cards."""

import warnings

import numpy as np
import pytest

import setoolkit
from setoolkit import assets
from setoolkit.audio import read
from setoolkit.errors import ModelError, SetoolkitError
from setoolkit.model_specs import EntryPointWarning, SpecError, is_spec, load_spec, spec_fingerprint
from setoolkit.registry import CARDS

SPEC_FILE = """
import numpy as np
import setoolkit

WEIGHTS = {weights!r}


def build(mirror=None):
    gain = float(np.load(WEIGHTS))
    return setoolkit.from_function(lambda x: gain * x, 16000, name="half", weights=[WEIGHTS],
                                   trained_on="nothing")


def broken():
    raise RuntimeError("weights missing")


def not_a_model():
    return {{"name": "half"}}
"""


@pytest.fixture
def spec_file(tmp_path):
    weights = tmp_path / "gain.npy"
    np.save(weights, np.float32(0.5))
    path = tmp_path / "my_models.py"
    path.write_text(SPEC_FILE.format(weights=str(weights)))
    return path


@pytest.fixture(scope="module")
def noisy(mirror):
    return read(assets.dataset_pairs("vbd16k", mirror=mirror)[0][1])


def test_file_spec_loads_an_enhancer_that_runs_on_real_audio(spec_file, noisy):
    model = setoolkit.load(f"{spec_file}:build", mirror="/nowhere")  # mirror= is dropped where not accepted
    assert model.name == "half" and model.trained_on == "nothing" and model.weights_files[0].name == "gain.npy"
    x, sr = noisy
    assert np.allclose(model.enhance(x, sr), 0.5 * x, atol=1e-4)
    assert load_spec(f"{spec_file}:build", trained_on="VCTK").card.trained_on == "VCTK"


def test_module_spec(tmp_path, monkeypatch, spec_file):
    pkg = tmp_path / "userpkg_specs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(spec_file.read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    assert setoolkit.load("userpkg_specs.models:build").name == "half"
    before = spec_fingerprint("userpkg_specs.models:build")
    (pkg / "models.py").write_text(spec_file.read_text() + "\n# changed\n")
    assert spec_fingerprint("userpkg_specs.models:build") != before


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{d}/nope.py:build", "model spec '{d}/nope.py:build': file '{d}/nope.py' does not exist"),
        (
            "no_such_pkg_xyz.models:build",
            "model spec 'no_such_pkg_xyz.models:build': no module named 'no_such_pkg_xyz.models'",
        ),
        (
            "{f}:buidl",
            "model spec '{f}:buidl': callable 'buidl' not found in '{f}'; callables there: broken, build, not_a_model",
        ),
        ("{f}:broken", "model spec '{f}:broken': broken() raised RuntimeError: weights missing"),
        (
            "{f}:not_a_model",
            "model spec '{f}:not_a_model': not_a_model() returned dict, not a setoolkit Enhancer "
            "(wrap your model with setoolkit.from_function, from_torch or from_onnx)",
        ),
        ("{f}:WEIGHTS", "model spec '{f}:WEIGHTS': 'WEIGHTS' is a str, not a callable"),
    ],
)
def test_each_bad_spec_is_one_clear_error(spec_file, spec, message):
    spec, message = (s.format(d=spec_file.parent, f=spec_file) for s in (spec, message))
    with pytest.raises(SpecError) as err:
        setoolkit.load(spec)
    assert str(err.value) == message and isinstance(err.value, SetoolkitError)
    if "broken" in spec:
        assert isinstance(err.value.__cause__, RuntimeError)


def test_a_spec_file_that_fails_to_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\nraise ImportError('needs mylib')\n")
    with pytest.raises(
        SpecError,
        match=r"model spec '.*bad.py:build': importing '.*bad.py' raised ImportError: "
        r"needs mylib",
    ) as err:
        setoolkit.load(f"{bad}:build")
    assert isinstance(err.value.__cause__, ImportError)


def test_names_that_are_not_specs_stay_registry_names():
    assert is_spec("a/b.py:build") and is_spec("pkg.mod:Class.build") and not is_spec("gtcrn")
    assert not is_spec("a b:c") and not is_spec("x.py:") and not is_spec("C:\\models\\x")
    with pytest.raises(ModelError, match="unknown model 'gtcrn-nope'"):
        setoolkit.load("gtcrn-nope")


@pytest.mark.slow
def test_fingerprint_follows_the_spec_file_and_the_weights(spec_file):
    spec = f"{spec_file}:build"
    first = spec_fingerprint(spec)
    assert spec_fingerprint(spec) == first and len(first) == 64
    model = load_spec(spec)
    assert spec_fingerprint(spec, model) == first  # an already built model gives the same key
    spec_file.write_text(spec_file.read_text().replace("trained_on=", 'trained_on="x" or '))
    second = spec_fingerprint(spec)
    assert second != first
    np.save(spec_file.parent / "gain.npy", np.float32(0.25))  # new weights, same code
    assert spec_fingerprint(spec) not in (first, second)
    (spec_file.parent / "gain.npy").unlink()
    with pytest.raises(SpecError, match="raised FileNotFoundError"):
        spec_fingerprint(spec)


PLUGIN = """
import setoolkit
from setoolkit.registry import card


def build(card, mirror=None):
    return setoolkit.from_function(lambda x: 0.5 * x, card.sample_rate, name=card.name, trained_on=card.trained_on)


CARDS = [card(name="plugin-half", family="plugin", sample_rate=16000, framework="numpy", frame=None, hop=None,
              latency_ms=0.0, params=0, weights=[], license="MIT", streaming=False, builder=build,
              trained_on="none", description="halves the input (an installed package's card)")]
"""


def _dist(root, name, entry_points):
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[setoolkit.models]\n" + entry_points)


def test_entry_point_adds_cards_to_the_registry(tmp_path, monkeypatch, noisy):
    (tmp_path / "setoolkit_plugin_half.py").write_text(PLUGIN)
    _dist(tmp_path, "setoolkit_plugin_half", "half = setoolkit_plugin_half:CARDS\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(CARDS, "_cards", None)  # the registry collects the cards again
    names = list(CARDS)
    assert names[-1] == "plugin-half" and "gtcrn" in names
    model = setoolkit.load("plugin-half")
    x, sr = noisy
    assert model.trained_on == "none" and np.allclose(model.enhance(x, sr), 0.5 * x, atol=1e-4)


def test_broken_or_duplicate_entry_points(tmp_path, monkeypatch):
    (tmp_path / "setoolkit_plugin_dup.py").write_text(PLUGIN.replace("plugin-half", "gtcrn"))
    _dist(tmp_path, "setoolkit_plugin_bad", "gone = no_such_module_xyz:CARDS\nnumber = json:decoder\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(CARDS, "_cards", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "gtcrn" in CARDS
    text = [str(w.message) for w in caught if issubclass(w.category, EntryPointWarning)]
    assert any(
        "gone = no_such_module_xyz:CARDS (package setoolkit_plugin_bad) skipped: ModuleNotFoundError" in t for t in text
    ), text
    assert any("number = json:decoder" in t and "expected a ModelCard" in t for t in text), text
    _dist(tmp_path, "setoolkit_plugin_dup", "dup = setoolkit_plugin_dup:CARDS\n")
    monkeypatch.setattr(CARDS, "_cards", None)
    with pytest.warns(EntryPointWarning, match=r"model name 'gtcrn' is already taken .*setoolkit_plugin_dup"):
        assert CARDS["gtcrn"].family == "gtcrn"  # the zoo's card wins (the clash: tests/evaluation, the CLI)
    monkeypatch.setattr(CARDS, "_cards", None)
