"""Scoring 44 real VoiceBank-DEMAND pairs with every metric: one process vs all cores, same run.

.venv/bin/python benchmarks/bench_scoring.py
"""

import os
import time

from setoolkit import assets
from setoolkit.metrics import score_files


def main():
    pairs = assets.dataset_pairs("vbd16k")  # (clean, noisy): score the noisy files against clean
    cores = len(os.sched_getaffinity(0))
    t0 = time.perf_counter()
    one = score_files(pairs, workers=1, progress=False)
    t1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    many = score_files(pairs, workers=cores, progress=False)
    tn = time.perf_counter() - t0
    assert [r["si_sdr"] for r in one] == [r["si_sdr"] for r in many]
    print(
        f"{len(pairs)} pairs, all metrics: 1 process {t1:.2f} s, {cores} processes {tn:.2f} s, speed-up {t1 / tn:.2f}x"
    )


if __name__ == "__main__":
    main()
