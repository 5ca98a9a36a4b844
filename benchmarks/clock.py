"""The timing rule the speed benchmarks share: best of a few runs, CPU time of this process and wall clock."""

import time


def best_of(fn, repeats: int = 3) -> tuple[float, float]:
    """(CPU s, wall s) of ``fn()``, each the best of ``repeats`` runs. CPU time is what ratios are read from:
    other jobs on a shared machine stretch the wall clock, not this process's CPU time."""
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)
