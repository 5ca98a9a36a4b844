#!/usr/bin/env bash
# Set up .venv and run the whole test suite, including the STFT tests under a second, older torch
# (1.13.1 with numpy < 2, in .venv-torch1/) so the version-safety claim is tested.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
if [ ! -x .venv-torch1/bin/python ]; then
    "$PY" -m venv .venv-torch1
fi
.venv-torch1/bin/python -m pip install --quiet --disable-pip-version-check "torch==1.13.1" "numpy<2" "pytest==9.2.0"
echo "== STFT tests under $(.venv-torch1/bin/python -c 'import torch; print("torch", torch.__version__)')"
PYTHONPATH="$ROOT" .venv-torch1/bin/python -m pytest -q -p no:cacheprovider tests/test_stft.py
echo "== full suite under $(.venv/bin/python -c 'import torch; print("torch", torch.__version__)')"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
