"""The "was it chance?" protocol for fine-tuning GTCRN from its official checkpoint, with wall time.

Clean speech: EmoDB (German studio speech) + CMU ARCTIC; noise: the real Speech Commands noises and the
freesound noise; evaluation: the 44 VoiceBank-DEMAND pairs (never trained on). 3 seeds by default.

    .venv/bin/python benchmarks/bench_finetune.py [--steps 200] [--seeds 0,1,2] [--model gtcrn]
"""

import argparse

import setoolkit
from setoolkit import assets
from setoolkit.train import MixingDataset
from setoolkit.train.protocol import seed_study


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="gtcrn")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--pairs", type=int, default=44)
    p.add_argument("--out", default="outputs/bench_finetune")
    a = p.parse_args()
    clean = assets.dataset_files("emodb") + assets.dataset_files("arctic")
    noise = assets.dataset_files("noise") + [assets.fetch("data/misc/noise_freesound_573577.wav")]
    study = seed_study(lambda: setoolkit.load(a.model),
                       lambda seed: MixingDataset(clean, noise, seconds=2.0, snr_db=(-5, 15), seed=seed),
                       assets.dataset_pairs("vbd16k")[: a.pairs], a.out, seeds=[int(s) for s in a.seeds.split(",")],
                       steps=a.steps, batch_size=a.batch, lr=a.lr, progress=False)
    print(study.table().to_string(index=False))
    print(f"wall time {study.seconds:.0f} s ({a.steps} steps x {len(study.seeds)} seeds, batch {a.batch}, "
          f"{a.pairs} evaluation pairs)")


if __name__ == "__main__":
    main()
