"""Where the main job's time goes, and how fast each model is when it runs alone.

:class:`Profile` adds up seconds per stage of a run (``profile.csv``: ``stage, seconds``).
:func:`timing_pass` measures every model with one thread, warmed up, after the evaluation workers have
finished (nothing else of the job running): real-time factor offline and, for streaming models, the mean
and 95th-percentile time of one hop (``timing.csv``: ``model, threads, cpu, rtf, hop_ms, hop_p95_ms``), with the
machine's load while each model was timed (:class:`LoadProbe`: ``load1, steal_pct, other_cpu, other_top, busy``;
a model timed while other processes used the CPU is measured again, up to :data:`MAX_TRIES` times, and flagged
``busy`` when it never had the machine to itself). The
same pass checks each runtime variant against its representative (the model card's ``variant_of``), on the
same inputs in the same process: ``variants.csv``: ``model, representative, parity_db, rtf``. Both are
kept by content key (weights, code, CPU model, threads) in the evaluation store, so a rerun with nothing
changed measures nothing and reports the same numbers.

Examples
--------
>>> prof = Profile()
>>> with prof.stage("report"):
...     build_report(...)
>>> timing, variants = timing_pass(["dtln", "dtln-onnx"], {"dtln-onnx": "dtln"}, store="reports/store")
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..audio import read, resample, to_mono
from ..metrics.scoring import snr
from ..model_refs import load
from ..processes import limit_threads
from .keys import code_hash, digest, file_hash, model_fingerprint
from .store import RowStore

TIMING_COLUMNS = (
    "model",
    "threads",
    "cpu",
    "rtf",
    "hop_ms",
    "hop_p95_ms",
    "load1",
    "steal_pct",
    "other_cpu",
    "other_top",
    "busy",
)
VARIANT_COLUMNS = ("model", "representative", "parity_db", "rtf")
#: A runtime variant must match its representative's output to this SNR (dB) on every parity file.
PARITY_DB = 90.0
#: Seconds of the clip timed, timed offline runs per model (after one warm-up call; the median is reported).
SECONDS, REPEATS = 3.0, 3
#: Hops timed per streaming model (after WARM_HOPS untimed ones).
MAX_HOPS, WARM_HOPS = 200, 20
#: A measurement is contended when other processes used more than BUSY_OTHER_CPU % of one core on average
#: (50 = half a core) or the hypervisor stole more than BUSY_STEAL_PCT % of the CPU time while it ran.
BUSY_OTHER_CPU, BUSY_STEAL_PCT = 50.0, 5.0
#: Measurements of one model at most while the machine is busy (the least contended, then fastest, is kept),
#: with RETRY_WAIT_S seconds between them.
MAX_TRIES, RETRY_WAIT_S = 3, 2.0


def cpu_name() -> str:
    """The CPU model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


# ------------------------------------------------------------------------------------------ machine load


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError, AttributeError):
        return 100


def _cpu_times() -> tuple[int, int] | None:
    """``(total, steal)`` jiffies of all CPUs from ``/proc/stat`` (``None`` where there is none)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in fields] + [0] * (8 - len(fields))
    return sum(ticks), ticks[7]


def _process_times() -> dict[tuple[int, int], tuple[str, int]]:
    """``{(pid, start tick): (name, user + system jiffies)}`` of every process now (``/proc/<pid>/stat``; the
    start tick tells a reused pid apart, kernel threads change their name with their work)."""
    out = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            text = (d / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        out[int(d.name), int(rest[19])] = (name, int(rest[11]) + int(rest[12]))
    return out


class LoadProbe:
    """How busy the machine was between :meth:`start` and :meth:`stop`, measured by everything but us.

    :meth:`stop` returns ``{"load1", "steal_pct", "other_cpu", "other_top", "busy", "others"}``:
    ``load1``: the 1-minute load average at the end (``os.getloadavg``); ``steal_pct``: % of all CPU time the
    hypervisor gave to other guests (``/proc/stat`` steal delta); ``other_cpu``: CPU used by every other process
    in % of one core (``/proc/<pid>/stat`` deltas; 100 = one core busy all along; processes started meanwhile
    count in full); ``other_top``: the three biggest, ``"name 95%, name 20%"``; ``busy``: ``other_cpu`` above
    :data:`BUSY_OTHER_CPU` or ``steal_pct`` above :data:`BUSY_STEAL_PCT`; ``others``: ``[(pid, name, %)]``
    sorted, biggest first. NaN (and not busy) where ``/proc`` is missing.

    Examples
    --------
    >>> probe = LoadProbe().start()
    >>> model.enhance(x, sr)
    >>> probe.stop()["busy"]
    """

    def __init__(self, exclude: Sequence[int] = ()) -> None:
        self.exclude = {os.getpid(), *exclude}

    def start(self) -> LoadProbe:
        self._t0, self._cpu0, self._procs0 = time.monotonic(), _cpu_times(), _process_times()
        return self

    def stop(self) -> dict:
        wall = max(time.monotonic() - self._t0, 1e-9)
        cpu1, procs1 = _cpu_times(), _process_times()
        load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        if self._cpu0 is None or cpu1 is None:
            return {
                "load1": load1,
                "steal_pct": float("nan"),
                "other_cpu": float("nan"),
                "other_top": "",
                "busy": False,
                "others": [],
            }
        total, steal = cpu1[0] - self._cpu0[0], cpu1[1] - self._cpu0[1]
        steal_pct = 100.0 * steal / total if total > 0 else 0.0
        hz = _clock_ticks()
        others = []
        for (pid, started), (name, ticks) in procs1.items():
            if pid in self.exclude:
                continue
            before = self._procs0.get((pid, started))
            used = ticks - (before[1] if before else 0)
            if used > 0:
                others.append((pid, name, 100.0 * used / hz / wall))
        others.sort(key=lambda o: -o[2])
        other_cpu = float(sum(o[2] for o in others))
        return {
            "load1": float(load1),
            "steal_pct": float(steal_pct),
            "other_cpu": other_cpu,
            "other_top": ", ".join(f"{n} {c:.0f}%" for _, n, c in others[:3]),
            "busy": bool(other_cpu > BUSY_OTHER_CPU or steal_pct > BUSY_STEAL_PCT),
            "others": others,
        }


# ------------------------------------------------------------------------------------------ the pass


def timing_pass(
    models: Sequence[str],
    variants: dict[str, str],
    *,
    store: str | os.PathLike,
    clip: str | os.PathLike,
    parity_files: Sequence[str | os.PathLike],
    threads: int = 1,
    mirror=None,
    stages: dict | None = None,
    tries: int = MAX_TRIES,
    names: dict[str, str] | None = None,
):
    """Time every model in ``models`` and check each ``{variant: representative}`` pair, reusing what
    ``store`` already holds for the same weights, code, CPU and threads.

    ``clip``: the recording timed (its first :data:`SECONDS`, resampled once to each model's rate, so the
    RTF is the model's own);
    ``parity_files``: recordings on which each variant's output is compared with its representative's
    (SNR in dB, the lowest over the files). What is missing is measured in one fresh process with
    ``threads`` threads; each model's timing records the machine's load (:func:`_time_uncontended`). A row
    ``tries``: measurements per model at most while the machine is busy. A row
    flagged ``busy`` is kept like any other (a rerun reports the same numbers); delete ``store/timing`` to
    measure again on a quiet machine. Returns ``(timing, variants)`` DataFrames with :data:`TIMING_COLUMNS` and
    :data:`VARIANT_COLUMNS`. ``stages`` (a dict) gets ``load``/``time``/``parity`` seconds added. ``names``:
    ``{source: display name}`` for the ``model`` column (a user model's spec is timed under the name its tables
    carry, :class:`~setoolkit.model_refs.ModelRef`).
    """
    import pandas as pd

    cpu = cpu_name()
    code = code_hash(__name__)
    mirror = str(mirror) if mirror else None
    root = Path(store)
    timing_cache, parity_cache = RowStore(root / "timing"), RowStore(root / "parity")
    have_t, have_p = timing_cache.done(), parity_cache.done()
    files = [str(f) for f in parity_files]
    tkey = {m: digest(model_fingerprint(m, mirror), cpu, threads, file_hash(clip), code)[:20] for m in models}
    pkey = {
        v: digest(model_fingerprint(v, mirror), model_fingerprint(r, mirror), *map(file_hash, files), code)[:20]
        for v, r in variants.items()
    }
    timed: dict[str, dict | None] = {m: timing_cache.get(k) if k in have_t else None for m, k in tkey.items()}
    parity: dict[str, dict | None] = {v: parity_cache.get(k) if k in have_p else None for v, k in pkey.items()}
    to_time = [m for m in models if timed[m] is None]
    to_check = {v: r for v, r in variants.items() if parity[v] is None}
    if to_time or to_check:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(
            1, mp_context=get_context("spawn"), initializer=limit_threads, initargs=(threads,)
        ) as pool:
            new_t, new_p, spent = pool.submit(
                _measure, to_time, to_check, str(clip), files, threads, mirror, tries
            ).result()
        for m, row in new_t.items():
            row.update(threads=threads, cpu=cpu)
            timing_cache.put(tkey[m], row)
            timed[m] = row
        for v, row in new_p.items():
            parity_cache.put(pkey[v], row)
            parity[v] = row
        if stages is not None:
            for k, s in spent.items():
                stages[k] = stages.get(k, 0.0) + s
    done = {m: row for m, row in timed.items() if row is not None}  # every model is timed by now
    timing = pd.DataFrame(
        [{"model": m, **{c: done[m].get(c) for c in TIMING_COLUMNS[1:]}} for m in models], columns=list(TIMING_COLUMNS)
    )
    timing["model"] = [(names or {}).get(m, m) for m in timing["model"]]
    timing["busy"] = timing["busy"].fillna(False).astype(bool)  # rows cached before the probe existed: unknown
    rtf = dict(zip(models, timing["rtf"]))
    checked = {v: row for v, row in parity.items() if row is not None}
    var = pd.DataFrame(
        [
            {"model": v, "representative": r, "parity_db": checked[v]["parity_db"], "rtf": rtf.get(v)}
            for v, r in variants.items()
        ],
        columns=list(VARIANT_COLUMNS),
    )
    return timing, var


def parity_failures(variants) -> list[str]:
    """One line per runtime variant whose parity is below :data:`PARITY_DB` (empty when all agree)."""
    bad = variants[~(variants["parity_db"] >= PARITY_DB)]
    return [
        f"{r.model} differs from {r.representative}: {r.parity_db:.1f} dB < {PARITY_DB:.0f} dB"
        for r in bad.itertuples(index=False)
    ]


def _measure(
    to_time: list[str],
    to_check: dict[str, str],
    clip: str,
    files: list[str],
    threads: int,
    mirror,
    tries: int = MAX_TRIES,
):
    """In the timing process: load each model once (representative, then its variants), time it, compare."""
    limit_threads(threads)
    x, sr = read(clip)
    x = to_mono(x)[0][: int(SECONDS * sr)]
    inputs = [(to_mono(a)[0], s) for a, s in (read(f) for f in files)]
    spent = {"load": 0.0, "time": 0.0, "parity": 0.0}
    names = list(dict.fromkeys([*to_time, *to_check.values(), *to_check]))
    reps = [n for n in names if n not in to_check]
    groups = [[r, *[v for v, rr in to_check.items() if rr == r]] for r in reps]
    timed, checked = {}, {}
    for group in groups:
        models, ref_out = {}, None
        for name in group:
            t0 = time.perf_counter()
            models[name] = load(name, mirror=mirror)
            spent["load"] += time.perf_counter() - t0
            if name in to_time:
                t0 = time.perf_counter()
                timed[name] = _time_uncontended(models[name], x, sr, tries=tries)
                spent["time"] += time.perf_counter() - t0
            if name in to_check:
                t0 = time.perf_counter()
                if ref_out is None:
                    ref_out = [models[group[0]].enhance(a, s)[0] for a, s in inputs]
                outs = [models[name].enhance(a, s)[0] for a, s in inputs]
                checked[name] = {"parity_db": float(min(snr(r, o) for r, o in zip(ref_out, outs)))}
                spent["parity"] += time.perf_counter() - t0
    return timed, checked, spent


def _time_uncontended(model, x: np.ndarray, sr: int, *, tries: int | None = None) -> dict:
    """:func:`_time_one` under a :class:`LoadProbe`; while the machine is busy, again (up to ``tries``, default
    :data:`MAX_TRIES`, :data:`RETRY_WAIT_S` apart). Keeps the first quiet measurement, else the fastest of the
    busy ones, flagged ``busy``; the row gets the probe's ``load1, steal_pct, other_cpu, other_top, busy``."""
    best: dict | None = None
    for k in range(tries or MAX_TRIES):
        if k:
            time.sleep(RETRY_WAIT_S)
        probe = LoadProbe().start()
        row = _time_one(model, x, sr)
        load = probe.stop()
        row.update({c: load[c] for c in ("load1", "steal_pct", "other_cpu", "other_top", "busy")})
        if best is None or (row["busy"], row["rtf"]) < (best["busy"], best["rtf"]):
            best = row
        if not row["busy"]:
            break
    assert best is not None  # tries >= 1
    return best


def _time_one(model, x: np.ndarray, sr: int) -> dict:
    """RTF of ``model.enhance`` on ``x`` at the model's own rate (median of :data:`REPEATS` after a
    warm-up), and for streaming models the mean / 95th percentile of one ``stream.process(hop)`` in ms."""
    rate = model.sample_rate
    xm = resample(x, sr, rate) if sr != rate else np.asarray(x, dtype=np.float32)
    model.enhance(xm[:rate], rate)
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        model.enhance(xm, rate)
        times.append(time.perf_counter() - t0)
    row = {"rtf": float(np.median(times)) / (len(xm) / rate), "hop_ms": None, "hop_p95_ms": None}
    if model.card.streaming:
        s = model.stream()
        hop = s.hop
        n = min(MAX_HOPS + WARM_HOPS, len(xm) // hop)
        per = []
        for k in range(n):
            t0 = time.perf_counter()
            s.process(xm[k * hop : (k + 1) * hop])
            if k >= WARM_HOPS:
                per.append(time.perf_counter() - t0)
        if per:
            row["hop_ms"] = float(np.mean(per)) * 1e3
            row["hop_p95_ms"] = float(np.percentile(per, 95)) * 1e3
    return row
