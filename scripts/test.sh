#!/usr/bin/env bash
# Set up .venv (the locked full stack) and run, in order:
#  0. lint and types: ruff check, ruff format --check, mypy (configured in pyproject.toml);
#  1. the old-torch lane: the tests marked torch_compat (STFT, checkpoint loading, the torch ports' parity with the
#     official ONNX/TFLite exports, Demucs vs upstream) under torch 1.13.1 + numpy < 2 in .venv-torch1/ (the core
#     with setoolkit[torch] at the newest versions those admit; no TensorFlow);
#  2. the wheel lane (scripts/wheel_lane.sh): the built wheel, core only, in a fresh venv, from models to report;
#  3. the whole suite under the locked torch in .venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }   # this machine's pip prints index noise
echo "== lint and types"
.venv/bin/ruff check setoolkit tests benchmarks
.venv/bin/ruff format --check setoolkit tests benchmarks
.venv/bin/mypy
if [ ! -x .venv-torch1/bin/python ]; then
    "$PY" -m venv .venv-torch1
fi
quiet .venv-torch1/bin/python -m pip install --quiet --disable-pip-version-check -e ".[torch]" "torch==1.13.1" \
    "numpy<2" "pytest>=8"
quiet .venv-torch1/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "denoiser==0.1.5"
echo "== torch_compat lane under $(.venv-torch1/bin/python -c 'import numpy, torch; print("torch", torch.__version__, "numpy", numpy.__version__)')"
# only the modules that hold such tests are collected (the others may import what this venv does not have)
mapfile -t COMPAT < <(grep -rl --include="test_*.py" "torch_compat" tests)
PYTHONPATH="$ROOT" .venv-torch1/bin/python -m pytest -q -p no:cacheprovider -m torch_compat "${COMPAT[@]}"
echo "== wheel lane"
bash scripts/wheel_lane.sh
echo "== full suite under $(.venv/bin/python -c 'import torch; print("torch", torch.__version__)')"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
