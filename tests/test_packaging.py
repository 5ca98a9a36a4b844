"""Set-up files agree with each other and with the README."""

import re
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
#: Extras only for a model the user brings (an openai-whisper .pt checkpoint: openai-whisper decodes nothing else):
#: installable, but neither locked nor in [all]. (`whisper` carries its model, tiny.en, and is locked.)
USER_MODEL_EXTRAS = {"openai-whisper"}


def _lock(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of a requirements file of exact pins (comments and blank lines skipped)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"{path.name}: {line!r} is not an exact pin"
            assert canonicalize_name(name) not in pins, f"{path.name}: {name} pinned twice"
            pins[canonicalize_name(name)] = version
    return pins


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements() -> dict[str, list[Requirement]]:
    """Every requirement of pyproject.toml by group (``core`` and each extra), self-references left out."""
    project = _project()
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {g: [r for r in map(Requirement, reqs) if r.name != "setoolkit"] for g, reqs in groups.items()}


def test_pyproject_has_ranges_a_light_core_and_named_extras():
    groups = _requirements()
    assert all(not str(r.specifier).startswith("==") for reqs in groups.values() for r in reqs), "ranges, not pins"
    core = {r.name for r in groups["core"]}
    assert {
        "numpy",
        "scipy",
        "soundfile",
        "soxr",
        "onnxruntime",
        "ai-edge-litert",
        "pesq",
        "pystoi",
        "pandas",
        "matplotlib",
        "pooch",
        "platformdirs",
        "tqdm",
        "jinja2",
    } <= core
    assert core.isdisjoint({"torch", "torchaudio", "tensorflow-cpu", "keras", "jupyterlab", "dask", "pyarrow"})
    assert str(next(r for r in groups["core"] if r.name == "numpy").specifier) == "<3,>=1.24"
    extras = set(_project()["optional-dependencies"])
    assert {"torch", "tf", "notebooks", "dask", "emotion", "learned-mos", "visqol", "classical", "all", "dev"} <= extras
    from setoolkit.registry import EXTRAS

    assert set(EXTRAS) == extras - {"all", "dev"}  # every extra the cards can name is installable
    all_extra = _project()["optional-dependencies"]["all"][0]
    assert set(Requirement(all_extra).extras) == set(EXTRAS) - USER_MODEL_EXTRAS


def test_every_locked_version_satisfies_the_ranges():
    lock = _lock(ROOT / "requirements-lock.txt")
    no_deps = _lock(ROOT / "scripts" / "no-deps-requirements.txt")
    assert set(lock).isdisjoint(no_deps)
    pinned = {**lock, **no_deps}
    for group, reqs in _requirements().items():
        for r in reqs if group not in USER_MODEL_EXTRAS else ():
            name = canonicalize_name(r.name)
            assert name in pinned, f"{r} ({group}) is not in requirements-lock.txt"
            assert r.specifier.contains(pinned[name], prereleases=True), f"lock {name}=={pinned[name]} vs {r}"
    assert lock["torch"] == lock["torchaudio"] == "2.11.0"  # the main job's stack, unchanged


def test_environment_yml_installs_the_lock():
    env = (ROOT / "environment.yml").read_text()
    pip_lines = re.findall(r"^\s+-\s+(-r .*|\S+==\S+)$", env, flags=re.MULTILINE)
    assert pip_lines == ["-r requirements-lock.txt"]
    assert "python=3.11" in env
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "-r requirements-lock.txt" in setup and "--no-deps -r scripts/no-deps-requirements.txt" in setup


def test_readme_opens_with_the_two_commands_and_ci_uses_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S)
    assert blocks[0].strip() == "bash scripts/main.sh"
    assert blocks[1].strip() == "bash scripts/test.sh"
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert ".venv" in gitignore  # no trailing slash: a .venv that is a link is ignored too


def test_no_weights_or_audio_committed():
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    heavy = [f for f in files if re.search(r"\.(wav|flac|mp3|onnx|h5|tflite|th|pth|pt|ckpt|tar|gz)$", f)]
    assert heavy == []
