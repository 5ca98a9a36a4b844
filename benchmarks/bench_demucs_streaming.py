"""Demucs streaming speed: upstream ``DemucsStreamer`` vs setoolkit's stream vs offline, same run, one thread.

Both streams are fed the same 10 s real noisy clip in 256-sample (16 ms) blocks and must give the same
output; the runs are interleaved and the best of ``--repeats`` is kept, in CPU seconds of this process
(``time.process_time``; wall-clock also shown). Ratios below 1 mean setoolkit is faster.

The official checkpoints cannot be downloaded on these machines, so the network has dns48's shape with
random weights from upstream's constructor (speed does not depend on the values).

    .venv/bin/python benchmarks/bench_demucs_streaming.py [--repeats 3] [--hidden 48]
"""

import argparse
import time

import numpy as np
import torch

from setoolkit import assets
from setoolkit.audio import read
from setoolkit.models.demucs.network import Demucs
from setoolkit.models.demucs.stream import DemucsStream
from setoolkit.streaming import stream_signal


def clock(fn):
    """(cpu seconds, wall seconds, result) of one call."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def upstream_stream(net, x: np.ndarray, hop: int) -> np.ndarray:
    from denoiser.demucs import DemucsStreamer

    streamer = DemucsStreamer(net)
    xt = torch.from_numpy(x)[None]
    with torch.no_grad():
        parts = [streamer.feed(xt[:, i : i + hop]) for i in range(0, xt.shape[1], hop)] + [streamer.flush()]
    return torch.cat(parts, 1)[0].numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=48)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from denoiser.demucs import Demucs as UpstreamDemucs

    torch.manual_seed(0)
    upstream = UpstreamDemucs(hidden=args.hidden).eval()
    ours = Demucs(hidden=args.hidden).eval()
    ours.load_state_dict(upstream.state_dict())
    path = assets.dataset_files("dns3_blind")[0]  # real noisy recording, 16 kHz
    x, sr = read(path)
    x = x[0][: 10 * sr]
    assert sr == 16000 and x.shape[0] == 10 * sr, (path, sr, x.shape)
    dur = x.shape[0] / sr
    hop = ours.total_stride

    def offline():
        with torch.inference_mode():
            return ours(torch.from_numpy(x)[None, None])[0, 0].numpy()

    runs = {
        "upstream DemucsStreamer": lambda: upstream_stream(upstream, x, hop),
        "setoolkit stream": lambda: stream_signal(DemucsStream(ours), x, chunk=hop),
        "setoolkit offline": offline,
    }
    best = {k: (np.inf, np.inf) for k in runs}
    outs = {}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            cpu, wall, outs[name] = clock(fn)
            best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
    diff = np.abs(outs["setoolkit stream"] - outs["upstream DemucsStreamer"]).max()
    ref_cpu = best["upstream DemucsStreamer"][0]
    print(f"Demucs hidden={args.hidden} (dns48 shape), RANDOM weights (official checkpoint not available here)")
    print(f"{path.name}: {dur:.1f} s at {sr} Hz, {hop}-sample blocks, 1 thread, best of {args.repeats}")
    for name, (cpu, wall) in best.items():
        print(
            f"{name:24s} cpu {cpu:6.2f} s  wall {wall:6.2f} s  RTF {cpu / dur:.3f}  "
            f"ratio vs DemucsStreamer {cpu / ref_cpu:.2f}"
        )
    print(f"max |setoolkit stream - DemucsStreamer| = {diff:.2e}")
    print(
        f"mean CPU per 16 ms hop: upstream {1000 * ref_cpu / (len(x) / hop):.2f} ms, "
        f"setoolkit {1000 * best['setoolkit stream'][0] / (len(x) / hop):.2f} ms"
    )


if __name__ == "__main__":
    main()
