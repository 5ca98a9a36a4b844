"""Set-up files agree with each other and with the README."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins_environment_yml():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"\s+-\s+([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_environment_yml_and_pyproject_list_the_same_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    py_pins = {}
    for r in reqs:
        name, version = r.split("==")
        py_pins[name.lower()] = version
    assert py_pins == _pins_environment_yml()
    assert py_pins["torch"] == py_pins["torchaudio"] == "2.11.0"


def test_readme_opens_with_the_two_commands_and_ci_uses_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S)
    assert blocks[0].strip() == "bash scripts/main.sh"
    assert blocks[1].strip() == "bash scripts/test.sh"
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert ".venv" in gitignore        # no trailing slash: a .venv that is a link is ignored too


def test_no_weights_or_audio_committed():
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    heavy = [f for f in files if re.search(r"\.(wav|flac|mp3|onnx|h5|tflite|th|pth|pt|ckpt|tar|gz)$", f)]
    assert heavy == []
