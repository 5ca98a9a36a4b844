"""GTCRN, DTLN, NSNet2, RNNoise speed: setoolkit offline and streaming vs the upstream procedures, same run, same CPU.

Upstream procedures, re-expressed here (ratios below 1 mean setoolkit is faster):

* GTCRN: ``stream/gtcrn_stream.py``, the official streaming ONNX run once per STFT frame with its caches;
* DTLN: ``real_time_processing_tf_lite.py``, the two TFLite stages once per 128-sample shift;
* NSNet2: ``enhance_onnx.py`` (16 kHz path), one ONNX call over the whole file's log-power features;
* RNNoise: ``pyrnnoise``'s per-frame call (int16 in and out) on the same library.

    .venv/bin/python benchmarks/bench_balanced_models.py
"""

import ctypes
import time

import numpy as np

import setoolkit
from setoolkit import assets
from setoolkit.audio import read, resample
from setoolkit.models import nsnet2, rnnoise
from setoolkit.models.gtcrn import network as gtcrn
from setoolkit.streaming import stream_signal


def best_of(fn, *args, repeats=3):
    """Shortest of ``repeats`` wall-clock times (s) of ``fn(*args)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def streamed(model, audio):
    return stream_signal(model.stream(), audio, chunk=model.card.hop)


def gtcrn_upstream(x: np.ndarray) -> np.ndarray:
    sess = gtcrn.build_onnx()._sess
    win = np.sqrt(np.hanning(513)[:512])
    caches = {k: np.zeros(s, dtype=np.float32) for k, s in gtcrn._ONNX_STATES.items()}
    out = np.zeros(len(x) + 512)
    for t in range((len(x) - 512) // 256 + 1):
        spec = np.fft.rfft(x[t * 256 : t * 256 + 512] * win)
        mix = np.stack([spec.real, spec.imag], -1)[None, :, None].astype(np.float32)
        enh, *state = sess.run(None, {"mix": mix, **caches})
        caches = dict(zip(caches, state))
        out[t * 256 : t * 256 + 512] += np.fft.irfft(enh[0, :, 0, 0] + 1j * enh[0, :, 0, 1]) * win
    return out


def dtln_upstream(x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    its = []
    for k in (1, 2):
        it = Interpreter(model_path=str(assets.fetch(f"weights/dtln/model_{k}.tflite")), num_threads=1)
        it.allocate_tensors()
        its.append((it, it.get_input_details(), it.get_output_details()))
    states = [np.zeros(d[1]["shape"], dtype=np.float32) for _, d, _ in its]
    buf_in, buf_out = np.zeros(512, dtype=np.float32), np.zeros(512, dtype=np.float32)
    out = np.zeros(len(x))
    for idx in range((len(x) - 384) // 128):
        buf_in[:-128], buf_in[-128:] = buf_in[128:], x[idx * 128 : idx * 128 + 128]
        spec = np.fft.rfft(buf_in)
        (it, i, o), (it2, i2, o2) = its
        it.set_tensor(i[1]["index"], states[0])
        it.set_tensor(i[0]["index"], np.abs(spec).reshape(1, 1, -1).astype(np.float32))
        it.invoke()
        mask, states[0] = it.get_tensor(o[0]["index"]), it.get_tensor(o[1]["index"])
        block = np.fft.irfft(spec * mask[0, 0]).reshape(1, 1, -1).astype(np.float32)
        it2.set_tensor(i2[1]["index"], states[1])
        it2.set_tensor(i2[0]["index"], block)
        it2.invoke()
        y, states[1] = it2.get_tensor(o2[0]["index"]), it2.get_tensor(o2[1]["index"])
        buf_out[:-128], buf_out[-128:] = buf_out[128:], 0
        buf_out += y[0, 0]
        out[idx * 128 : idx * 128 + 128] = buf_out[:128]
    return out


def nsnet2_upstream(x: np.ndarray) -> np.ndarray:
    sess = nsnet2._session(str(assets.fetch("weights/nsnet2/nsnet2-20ms-baseline.onnx")))
    win = np.sqrt(np.hanning(320))
    n = (len(x) - 320) // 160 + 1
    spec = np.fft.rfft(np.stack([x[t * 160 : t * 160 + 320] for t in range(n)]) * win, axis=-1)
    gain = np.clip(sess.run(None, {"input": nsnet2.log_power(spec)[None]})[0][0], 1e-4, 1)
    frames = np.fft.irfft(spec * gain, axis=-1) * win
    out = np.zeros((n - 1) * 160 + 320)
    for t in range(n):
        out[t * 160 : t * 160 + 320] += frames[t]
    return out


def rnnoise_upstream(x48: np.ndarray) -> np.ndarray:
    lib = rnnoise.load_library()
    state = lib.rnnoise_create(None)
    ptr = ctypes.POINTER(ctypes.c_float)
    out = []
    for t in range(len(x48) // 480):
        frame = (x48[t * 480 : t * 480 + 480] * 32767).astype(np.int16).astype(np.float32)
        lib.rnnoise_process_frame(state, frame.ctypes.data_as(ptr), frame.ctypes.data_as(ptr))
        out.append(frame.astype(np.int16))
    lib.rnnoise_destroy(state)
    return np.concatenate(out)


def main():
    _, noisy = assets.dataset_pairs("vbd16k")[0]
    x, sr = read(noisy)
    x = np.tile(x[0], int(np.ceil(10 * sr / x.shape[1])))[: 10 * sr]  # 10 s of real noisy speech
    x48 = resample(x[None], sr, 48000)[0]
    dur = len(x) / sr
    rows = [
        ("gtcrn", gtcrn_upstream, x, "official streaming ONNX, per frame"),
        ("dtln", dtln_upstream, x, "TFLite pair, per 128-sample shift"),
        ("dtln-tflite", dtln_upstream, x, "TFLite pair, per 128-sample shift"),
        ("nsnet2", nsnet2_upstream, x, "whole-file ONNX call"),
        ("rnnoise", rnnoise_upstream, x48, "pyrnnoise per-frame int16 call"),
    ]
    print("10 s clip of real noisy speech; RTF = processing time / audio time; ratio = setoolkit / upstream")
    for name, upstream, audio, what in rows:
        model = setoolkit.load(name)
        t_up = best_of(upstream, audio)
        t_off = best_of(model.enhance_model_rate, audio)
        t_str = best_of(streamed, model, audio)
        print(
            f"{name:12s} upstream ({what}) RTF {t_up / dur:.4f} | setoolkit offline RTF {t_off / dur:.4f} "
            f"(ratio {t_off / t_up:.2f}) | streaming RTF {t_str / dur:.4f} (ratio {t_str / t_up:.2f})"
        )


if __name__ == "__main__":
    main()
