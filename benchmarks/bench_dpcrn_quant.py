"""DPCRN-Quant speed: setoolkit offline and streaming vs the upstream real-time loop, same run, same CPU.

The upstream loop is the per-frame procedure of SKIP-DPCRN-Base-Tflite-And-Onnx `real_time_tflite.py`
(one interpreter call per 256-sample hop), re-expressed here without its output-order bug; ratios
below 1 mean setoolkit is faster.

    .venv/bin/python benchmarks/bench_dpcrn_quant.py
"""

import time

import numpy as np

import setoolkit
from setoolkit import assets
from setoolkit.audio import read
from setoolkit.streaming import stream_signal


def upstream_loop(path: str, audio: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=path, num_threads=1)
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    win = np.sin(np.arange(0.5, 512) / 512 * np.pi)
    states = np.zeros(ins[1]["shape"], dtype=np.float32)
    out = np.zeros(len(audio))
    for idx in range((len(audio) - 256) // 256):
        spec = np.fft.rfft(audio[idx * 256: idx * 256 + 512] * win)
        inp = np.stack([spec.real, spec.imag, np.log(np.abs(spec) ** 2 + 1e-9)], -1)[None, None].astype(np.float32)
        it.set_tensor(ins[1]["index"], states)
        it.set_tensor(ins[0]["index"], inp)
        it.invoke()
        mask, sin, cos = (it.get_tensor(outs[k]["index"])[0, 0] for k in range(3))
        states = it.get_tensor(outs[3]["index"])
        out[idx * 256: idx * 256 + 512] += np.fft.irfft(spec * mask * (cos + 1j * sin)) * win
    return out


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    model = setoolkit.load("dpcrn-quant")
    _, noisy = assets.dataset_pairs("vbd16k")[0]
    x, sr = read(noisy)
    x = np.tile(x[0], int(np.ceil(10 * sr / x.shape[1])))[: 10 * sr]  # 10 s of real noisy speech
    path = str(assets.fetch(model.card.weights[0]))
    t_up = best_of(lambda: upstream_loop(path, x))
    t_off = best_of(lambda: model.enhance(x, sr))
    t_str = best_of(lambda: stream_signal(model.stream(), x, chunk=256))
    dur = len(x) / sr
    print(f"10 s clip, 16 kHz, 1 thread")
    print(f"upstream loop     {t_up:6.3f} s  RTF {t_up / dur:.4f}")
    print(f"setoolkit offline {t_off:6.3f} s  RTF {t_off / dur:.4f}  ratio vs upstream {t_off / t_up:.2f}")
    print(f"setoolkit stream  {t_str:6.3f} s  RTF {t_str / dur:.4f}  ratio vs upstream {t_str / t_up:.2f}")
    print(f"per-hop latency budget 16 ms; mean stream time per hop {1000 * t_str / (len(x) / 256):.3f} ms")


if __name__ == "__main__":
    main()
