"""Speed of the comparison points added in issue 16, on one thread: the zero-lookahead DeepFilterNet exports
against their full-lookahead siblings (same runner, same run), and the classical baselines. Offline RTF (best of
3) and, for streaming models, mean / 95th-percentile compute time of one hop against the hop's duration.

    .venv/bin/python benchmarks/bench_baselines.py          # prints a Markdown table
"""

import time

import numpy as np
import torch

import setoolkit
from setoolkit import assets
from setoolkit.audio import read, resample
from setoolkit.studies.dpcrn import speed

MODELS = [
    "deepfilternet3",
    "deepfilternet3-ll",
    "deepfilternet2",
    "deepfilternet2-ll",
    "logmmse",
    "speex",
    "spectral-gating",
]


def main() -> None:
    torch.set_num_threads(1)
    x16, sr = read(assets.dataset_pairs("vbd16k")[0][1])
    x16 = np.tile(x16[0], 3)[: 5 * sr]  # 5 s of real noisy speech
    print(f"5 s clip, one thread, {time.strftime('%Y-%m-%d')}\n")
    print("| model | rate | offline RTF | hop (ms) | hop compute mean / p95 (ms) | hop budget |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        m = setoolkit.load(name)
        x = resample(x16, 16000, m.sample_rate)
        m.enhance(x[: m.sample_rate], m.sample_rate)  # warm-up: sessions, caches
        sp = speed(m, x, repeats=3)
        hop_cols = "– | – | –"
        if m.card.streaming:
            hop_cols = (
                f"{sp['hop_duration_ms']:.0f} | {sp['hop_ms']:.2f} / {sp['hop_ms_p95']:.2f} | {sp['hop_budget']:.2f}"
            )
        rtf = sp["rtf_offline"]
        print(f"| {name} | {m.sample_rate} | {rtf:.3f} | {hop_cols} |")


if __name__ == "__main__":
    main()
