"""Core install vs full install, side by side: venv size, ``import setoolkit`` time, the card table's time, and the
first ``setoolkit enhance -m deepfilternet3`` (a fresh process: imports, model load, one real file), plus the check
that the two installs give the same DFN3 output (to float error).

The core venv is the wheel lane's (``bash scripts/wheel_lane.sh`` makes ``.venv-wheel``: the built wheel, core only);
the full one is ``.venv`` (``scripts/setup.sh``: the lock, every extra), running this checkout's code.

    python benchmarks/bench_install.py [--core .venv-wheel] [--full .venv] [--repeat 5]

Targets (issue 23): core venv < 600 MB, ``import setoolkit`` < 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
IMPORT = "import time; t = time.perf_counter(); import setoolkit; print(time.perf_counter() - t)"
CARDS = (
    "import time; import setoolkit; t = time.perf_counter(); setoolkit.list_models(); print(time.perf_counter() - t)"
)
FRAMEWORKS = (
    "import sys, setoolkit; setoolkit.list_models(); "
    "print(sorted({'torch', 'tensorflow', 'onnxruntime'} & {m.split('.')[0] for m in sys.modules}))"
)


def venv_mb(venv: Path) -> float:
    out = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


def run(python: Path, args: list[str], *, env: dict, cwd: Path) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.run([str(python), *args], capture_output=True, text=True, env=env, cwd=cwd, check=False)
    if p.returncode:
        raise RuntimeError(f"{python} {' '.join(args)} failed:\n{p.stderr[-2000:]}")
    return time.perf_counter() - t, p.stdout.strip()


def measure(name: str, venv: Path, *, source_tree: bool, noisy: Path, work: Path, repeat: int) -> dict:
    """``source_tree``: run this checkout's code (PYTHONPATH) rather than what the venv has installed."""
    python = venv / "bin" / "python"
    env = {**os.environ, "MPLBACKEND": "Agg", "SETOOLKIT_CONFIG": ""}
    env.pop("PYTHONPATH", None)
    if source_tree:
        env["PYTHONPATH"] = str(ROOT)
    cwd = ROOT if source_tree else work  # the core venv runs the installed wheel, never the checkout
    run(python, ["-c", "import setoolkit"], env=env, cwd=cwd)  # .pyc written once, not timed
    imports = [float(run(python, ["-c", IMPORT], env=env, cwd=cwd)[1]) for _ in range(repeat)]
    cards = [float(run(python, ["-c", CARDS], env=env, cwd=cwd)[1]) for _ in range(repeat)]
    frameworks = run(python, ["-c", FRAMEWORKS], env=env, cwd=cwd)[1]
    out = work / name
    wall, _ = run(
        python,
        ["-m", "setoolkit", "enhance", str(noisy), "-m", "deepfilternet3", "-o", str(out), "--subtype", "FLOAT", "-q"],
        env=env,
        cwd=cwd,
    )
    return {
        "venv MB": venv_mb(venv),
        "import s (median)": statistics.median(imports),
        "list_models s (median)": statistics.median(cards),
        "frameworks after list_models": frameworks,
        "first enhance dfn3 s": wall,
        "output": out / noisy.name,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--core", type=Path, default=ROOT / ".venv-wheel")
    ap.add_argument("--full", type=Path, default=ROOT / ".venv")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for v in (args.core, args.full):
        if not (v / "bin" / "python").exists():
            sys.exit(f"{v}: no venv (core: bash scripts/wheel_lane.sh; full: bash scripts/setup.sh)")
    sys.path.insert(0, str(ROOT))
    from setoolkit.assets import dataset_pairs

    _, noisy = dataset_pairs("vbd16k")[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = {
            "core (wheel)": measure("core", args.core, source_tree=False, noisy=noisy, work=work, repeat=args.repeat),
            "full (lock, all extras)": measure(
                "full", args.full, source_tree=True, noisy=noisy, work=work, repeat=args.repeat
            ),
        }
        a, _ = sf.read(rows["core (wheel)"].pop("output"), dtype="float64")
        b, _ = sf.read(rows["full (lock, all extras)"].pop("output"), dtype="float64")
    print(f"{'':32s}" + "".join(f"{k:>26s}" for k in rows))
    for key in next(iter(rows.values())):
        cells = [v[key] for v in rows.values()]
        print(f"{key:32s}" + "".join(f"{c:>26.3f}" if isinstance(c, float) else f"{c!s:>26s}" for c in cells))
    diff = float(np.max(np.abs(a - b)))
    print(f"DFN3 output, core vs full: max |diff| = {diff:.2e} over {a.size} samples (bar: 1e-5)")
    assert diff < 1e-5, "the core install's DFN3 output differs from the full install's"


if __name__ == "__main__":
    main()
