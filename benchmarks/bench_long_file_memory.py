"""Peak memory of enhancing a long file: the streamed file path (``Enhancer.enhance_file``, what ``setoolkit
enhance`` runs) against the whole-file path it replaced (``write(dst, model.enhance(*read(src)))``), for a 2 min
and a 30 min 48 kHz stereo recording (noise + tones, generated block by block into a temp folder and deleted
after), in the same run. Each measurement is a fresh process reporting its own peak RSS (``ru_maxrss``); a third
process only loads the model and enhances 1 s, so ``streamed - model`` is what the file costs.

Printed per length: peak RSS (MB) of model only / whole-file / streamed, the ratios of peak RSS to the float32
size of the input, and the time of each path. The bound: the streamed peak stays at model + a few MB whatever
the length (the 2 min and 30 min rows agree), the whole-file peak grows with it.

    SETOOLKIT_MIRROR=../shared .venv/bin/python benchmarks/bench_long_file_memory.py            # nsnet2
    SETOOLKIT_MIRROR=../shared .venv/bin/python benchmarks/bench_long_file_memory.py --model rnnoise --minutes 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SR, CHANNELS = 48000, 2

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import setoolkit
from setoolkit.audio import read, write
mode, model_name, src, dst = sys.argv[1:5]
model = setoolkit.load(model_name)
t0 = time.perf_counter()
if mode == "model":
    import numpy as np
    model.enhance(np.zeros((2, 48000), np.float32) + 1e-3, 48000)
elif mode == "whole":
    audio, sr = read(src)
    write(dst, model.enhance(audio, sr), sr, subtype="PCM_16")
else:
    model.enhance_file(src, dst, subtype="PCM_16")
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - t0}))
"""


def make_file(path: Path, minutes: float, *, block_seconds: float = 10.0) -> int:
    """Write ``minutes`` of 48 kHz stereo noise + tones (16-bit) to ``path`` block by block; returns frames."""
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * SR)
    block = int(block_seconds * SR)
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=CHANNELS, subtype="PCM_16") as f:
        for start in range(0, n, block):
            t = np.arange(start, min(start + block, n)) / SR
            tone = np.stack([0.2 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 220 * t)])
            f.write((tone + 0.05 * rng.standard_normal(tone.shape)).T.astype(np.float32))
    return n


def measure(mode: str, model: str, src: Path, dst: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, model, str(src), str(dst)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="nsnet2")
    p.add_argument("--minutes", default="2,30", help="comma-separated lengths (default 2,30)")
    args = p.parse_args()
    print(f"model {args.model}; 48 kHz stereo 16-bit input; peak RSS per fresh process (MB)")
    print(
        f"{'length':>7} {'input f32':>9} {'model':>7} {'whole':>7} {'streamed':>8} {'whole/in':>8} "
        f"{'strm/in':>7} {'strm-model':>10} {'t whole':>8} {'t strm':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_long_file_") as tmp:
        tmp = Path(tmp)
        base = measure("model", args.model, tmp / "none.wav", tmp / "none_out.wav")
        for minutes in (float(m) for m in args.minutes.split(",")):
            src = tmp / f"in_{minutes:g}min.wav"
            n = make_file(src, minutes)
            input_mb = n * CHANNELS * 4 / 2**20
            t0 = time.perf_counter()
            whole = measure("whole", args.model, src, tmp / "whole.wav")
            streamed = measure("streamed", args.model, src, tmp / "streamed.wav")
            a, b = (
                sf.read(str(tmp / "whole.wav"), dtype="int16")[0],
                sf.read(str(tmp / "streamed.wav"), dtype="int16")[0],
            )
            same = "identical" if np.array_equal(a, b) else f"max diff {np.abs(a.astype(int) - b).max()} LSB"
            del a, b
            for f in (src, tmp / "whole.wav", tmp / "streamed.wav"):
                f.unlink()
            print(
                f"{minutes:>5g} m {input_mb:9.0f} {base['rss_mb']:7.0f} {whole['rss_mb']:7.0f} "
                f"{streamed['rss_mb']:8.0f} {whole['rss_mb'] / input_mb:8.2f} {streamed['rss_mb'] / input_mb:7.2f} "
                f"{streamed['rss_mb'] - base['rss_mb']:10.0f} {whole['seconds']:7.1f}s {streamed['seconds']:6.1f}s"
                f"  outputs {same} ({time.perf_counter() - t0:.0f} s)"
            )


if __name__ == "__main__":
    main()
