#!/usr/bin/env bash
# Create .venv/ at the repo root (if missing) and install setoolkit with the locked full stack (requirements-lock.txt).
# Sourced by scripts/main.sh and scripts/test.sh; safe to run again (pip skips what is installed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# The full stack at the exact versions of requirements-lock.txt (every extra + dev, transitive packages included),
# then setoolkit itself, editable, with --no-deps: pyproject.toml's ranges admit the lock (tests/test_packaging.py).
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" -r requirements-lock.txt
"${PIP[@]}" --no-deps -r scripts/no-deps-requirements.txt
# (checked from another folder: run from the repo root, `import setoolkit` would find ./setoolkit without any install)
if ! (cd / && "$ROOT/.venv/bin/python" -c 'import sys, setoolkit; sys.exit(setoolkit.__file__ != sys.argv[1])' \
        "$ROOT/setoolkit/__init__.py" 2>/dev/null); then
    "${PIP[@]}" --no-deps -e .
fi
# Browser tests (tests/report/test_browser.py) drive Debian's Chromium and its driver; install them when missing.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "setup: /usr/bin/chromium or /usr/bin/chromedriver missing: the browser tests need Debian's chromium chromium-driver" >&2
    fi
fi
# Weights and data come from a local mirror when there is one beside the repo (offline machines).
# It is recorded in the venv's config file, so a later `.venv/bin/python -m setoolkit ...` in a new shell finds it.
if [ -z "${SETOOLKIT_MIRROR:-}" ] && [ -d "$ROOT/../shared/weights" ]; then
    export SETOOLKIT_MIRROR="$(cd "$ROOT/../shared" && pwd)"
fi
if [ -n "${SETOOLKIT_MIRROR:-}" ]; then
    .venv/bin/python -c 'import sys; from pathlib import Path; from setoolkit.assets import write_config; write_config(Path(sys.prefix) / "etc/setoolkit/config.toml", mirror=sys.argv[1].split(":"))' "$SETOOLKIT_MIRROR"
fi
export MPLBACKEND=Agg
