#!/usr/bin/env bash
# The wheel lane: build setoolkit's sdist and wheel, install the wheel (not editable) with the core only into a fresh
# venv, and run the user path from the installed package, outside the source tree: `setoolkit models`, `enhance`
# with deepfilternet3 (ONNX) and nsnet2 (ONNX) on a real recording of the mirror, `score`, and `evaluate` (DNSMOS
# included) + `report`. Proves the package data (assets.tsv, templates/, static/) ships and the core needs no torch.
# Called by scripts/test.sh; on its own: `bash scripts/wheel_lane.sh` (needs $SETOOLKIT_MIRROR or ../shared/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
OUT="$ROOT/build/wheel-lane"
if [ -z "${SETOOLKIT_MIRROR:-}" ] && [ -d "$ROOT/../shared/weights" ]; then
    export SETOOLKIT_MIRROR="$(cd "$ROOT/../shared" && pwd)"
fi
: "${SETOOLKIT_MIRROR:?the wheel lane needs the weights/audio mirror: set SETOOLKIT_MIRROR}"
export MPLBACKEND=Agg SETOOLKIT_CONFIG=""
PIP=(python -m pip install --quiet --disable-pip-version-check)
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }   # this machine's pip prints index noise
t0=$SECONDS

rm -rf "$OUT" && mkdir -p "$OUT"
# 1. sdist, then the wheel built from the sdist (so a file missing from the sdist fails here too)
[ -x .venv-build/bin/python ] || "$PY" -m venv .venv-build
quiet .venv-build/bin/"${PIP[@]}" "build>=1"
.venv-build/bin/python -m build --outdir "$OUT/dist" . >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
WHEEL="$(ls "$OUT"/dist/setoolkit-*.whl)"
LISTING="$(unzip -l "$WHEEL")"
for f in setoolkit/assets.tsv setoolkit/templates/ setoolkit/static/ setoolkit/models/gtcrn/cards.py; do
    grep -q " $f" <<<"$LISTING" || { echo "wheel lane: $f missing from $(basename "$WHEEL")" >&2; exit 1; }
done
echo "== wheel lane: built $(basename "$WHEEL") + $(basename "$(ls "$OUT"/dist/*.tar.gz)") ($((SECONDS - t0)) s)"

# 2. a fresh venv with the wheel and the core only (versions as the lock has them, for a reproducible lane)
rm -rf .venv-wheel && "$PY" -m venv .venv-wheel
quiet .venv-wheel/bin/"${PIP[@]}" -c requirements-lock.txt "$WHEEL"
W="$ROOT/.venv-wheel/bin"
"$W/python" - <<'EOF'
import importlib.util, sys
present = [m for m in ("torch", "tensorflow", "keras", "jupyterlab", "dask", "pyarrow") if importlib.util.find_spec(m)]
assert not present, f"the core install pulled in {present}"
EOF
echo "== wheel lane: core installed, $(du -sm .venv-wheel | cut -f1) MB ($((SECONDS - t0)) s)"

# 3. the user path, from a folder outside the source tree (so nothing is imported from the checkout)
cd "$OUT"
"$W/python" -c 'import setoolkit, sys; assert "site-packages" in setoolkit.__file__, setoolkit.__file__'
"$W/setoolkit" models >models.txt
grep -qE "^deepfilternet3 .* here " models.txt
grep -qE "^gtcrn .* needs setoolkit\[torch\]" models.txt
"$W/python" - <<'EOF'
import shutil
from pathlib import Path

from setoolkit.assets import dataset_pairs

for d in ("pairs/clean", "pairs/noisy"):
    Path(d).mkdir(parents=True, exist_ok=True)
for clean, noisy in dataset_pairs("vbd16k")[:2]:       # real VoiceBank-DEMAND pairs from the mirror
    shutil.copy(clean, "pairs/clean")
    shutil.copy(noisy, "pairs/noisy")
EOF
for m in deepfilternet3 nsnet2; do
    "$W/setoolkit" enhance pairs/noisy -m "$m" -o "enhanced/$m" -q
    "$W/setoolkit" score --clean pairs/clean --enhanced "enhanced/$m" --metrics pesq_wb,stoi,estoi,si_sdr -q \
        --workers 1 --csv "score-$m.csv" | sed "s/^/   $m /"
done
"$W/setoolkit" evaluate --sets pairs --models deepfilternet3,nsnet2 --out evaluation --workers 1 -q >evaluate.txt
grep -q "OVRL" evaluation/scores.csv                 # DNSMOS ran
"$W/setoolkit" report --table evaluation/scores.csv --reports reports --figures figures --date 2026-01-01 >/dev/null
test -s reports/2026-01-01/report.html && grep -q "deepfilternet3" reports/2026-01-01/report.md
echo "== wheel lane: models, enhance (deepfilternet3, nsnet2), score, evaluate + report from the wheel: ok" \
     "($((SECONDS - t0)) s)"
