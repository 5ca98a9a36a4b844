"""DNSMOS P.835 + P.808: setoolkit vs the reference ``speechmos`` package, same files, same run, interleaved.

    SETOOLKIT_MIRROR=../shared .venv/bin/python benchmarks/bench_dnsmos.py [--sets vbd16k,dns3_blind] [--limit N]

Both are warmed up first (sessions open, one call each), then each file is scored by one and the other in
turn (the order alternating per file), so machine load falls on both alike. Prints per file the scores'
largest difference (must stay below 1e-4) and, over all files, wall and CPU time per file and the ratios
setoolkit / speechmos (below 1 = setoolkit faster). speechmos runs onnxruntime with its defaults (one
intra-op thread per core); setoolkit is timed with 1 thread (what each evaluation worker uses) and with as
many threads as speechmos.

Measured 2026-11-30 on the 2-core build machine with nothing else running, all 66 files of the five main-job
sets (1.7-17.5 s): largest difference 3.2e-7; speechmos 0.74 s wall / 1.47 s CPU per file (it uses both
cores), setoolkit on one thread 0.54 s / 0.64 s: 0.44x speechmos's CPU time (0.73x its wall time, on half the
cores). The 0.25x target is not met. The saving grows with the number of windows (up to 3x on 17.5 s
recordings or on short clips that upstream repeats to 14-18 s); a recording scored as a single 9.01 s window
shares nothing and costs what upstream's does: the convolutions run in onnxruntime at about 120 GFLOP/s on one
core (torch's are 2x slower; bfloat16 would change the scores), and fewer operations would change the numbers.
"""

import argparse
import os
import time
import warnings

import numpy as np

from setoolkit import assets
from setoolkit.audio import read, resample
from setoolkit.metrics import dnsmos as ours

PAIRS = (("SIG", "sig_mos"), ("BAK", "bak_mos"), ("OVRL", "ovrl_mos"), ("P808_MOS", "p808_mos"))


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="vbd16k,vbd48k,dns3_synthetic,dns3_blind,dns4_real48k")
    ap.add_argument("--limit", type=int, default=None, help="files per set")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import speechmos.dnsmos as upstream

    files = []
    for ds in args.sets.split(","):
        names = [n for n in assets.registry() if n.startswith(f"data/{ds}/") and "/clean/" not in n]
        files += [assets.fetch(n) for n in sorted(names)[: args.limit]]
    cores = len(os.sched_getaffinity(0))
    signals = []
    for f in files:
        x, sr = read(f)
        x = x[0] if sr == 16000 else resample(x[0], sr, 16000)
        signals.append((f.name, x.astype(np.float64)))

    def run_ours(x, threads):
        ours._MEMO.clear()  # time the computation, not the memo
        return ours.dnsmos(x, 16000, threads=threads)

    x0 = signals[0][1]
    for threads in {1, cores}:
        ours.warm_up(threads=threads)
        run_ours(x0, threads)
    upstream.run(x0, 16000)

    t = {k: np.zeros((len(signals), 2)) for k in ("speechmos", "setoolkit 1 thread", f"setoolkit {cores} threads")}
    worst = 0.0
    for i, (name, x) in enumerate(signals):
        jobs = [
            ("speechmos", lambda x=x: upstream.run(x, 16000)),
            ("setoolkit 1 thread", lambda x=x: run_ours(x, 1)),
            (f"setoolkit {cores} threads", lambda x=x: run_ours(x, cores)),
        ]
        results = {}
        for label, fn in jobs if i % 2 == 0 else jobs[::-1]:
            results[label], wall, cpu = _timed(fn)
            t[label][i] = wall, cpu
        ref = results["speechmos"]
        diff = max(abs(results[k][a] - float(ref[b])) for k in results if k != "speechmos" for a, b in PAIRS)
        worst = max(worst, diff)
        print(
            f"{name[:60]:60s} {len(x) / 16000:5.1f} s  max |diff| {diff:.1e}  "
            + "  ".join(f"{k} {v[i, 0]:.3f} s" for k, v in t.items())
        )
    n = len(signals)
    up_wall, up_cpu = t["speechmos"].sum(axis=0) / n
    print(f"\n{n} files, {cores} cores; largest score difference {worst:.2e} (bar 1e-4)")
    print(f"speechmos: {up_wall:.3f} s wall, {up_cpu:.3f} s CPU per file")
    for k, v in t.items():
        if k != "speechmos":
            w, c = v.sum(axis=0) / n
            print(
                f"{k}: {w:.3f} s wall, {c:.3f} s CPU per file; ratio to speechmos: wall {w / up_wall:.2f}x, "
                f"CPU {c / up_cpu:.2f}x"
            )
    assert worst < 1e-4, f"scores differ from speechmos by {worst}"


if __name__ == "__main__":
    main()
