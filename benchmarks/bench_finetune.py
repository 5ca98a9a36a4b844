"""The "was it chance?" protocol for fine-tuning from official checkpoints, with wall time (issue 8).

Clean speech: EmoDB (German studio speech) + CMU ARCTIC; noise: the real Speech Commands noises and the
freesound noise; evaluation: the VoiceBank-DEMAND pairs (never trained on). 3 seeds by default. Writes the
tables to docs/finetune.md and the loss curves to figures/bench_finetune_<model>.png.

    .venv/bin/python benchmarks/bench_finetune.py [--models gtcrn,dpcrn-dns3-torch,dtln] [--steps 100] [--seeds 0,1,2]
"""

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import setoolkit
from setoolkit import assets
from setoolkit.report import markdown_table
from setoolkit.report.figures import loss_curves
from setoolkit.train import MixingDataset
from setoolkit.train.protocol import seed_study


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="gtcrn,dpcrn-dns3-torch,dtln")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--pairs", type=int, default=44)
    p.add_argument("--out", default=str(ROOT / "outputs" / "bench_finetune"))
    p.add_argument("--doc", default=str(ROOT / "docs" / "finetune.md"))
    a = p.parse_args()
    clean = assets.dataset_files("emodb") + assets.dataset_files("arctic")
    noise = assets.dataset_files("noise") + [assets.fetch("data/misc/noise_freesound_573577.wav")]
    seeds = [int(s) for s in a.seeds.split(",")]
    sections = previous_sections(Path(a.doc))
    for name in a.models.split(","):
        out = Path(a.out) / name
        study = seed_study(
            lambda: setoolkit.load(name),
            lambda seed: MixingDataset(clean, noise, seconds=a.seconds, snr_db=(-5, 15), seed=seed),
            assets.dataset_pairs("vbd16k")[: a.pairs],
            out,
            seeds=seeds,
            steps=a.steps,
            batch_size=a.batch,
            lr=a.lr,
            progress=False,
        )
        table = study.table()
        print(f"== {name}\n{table.to_string(index=False)}")
        setup = (
            f"{a.steps} steps x {len(seeds)} seeds, batch {a.batch} x {a.seconds:g} s, lr {a.lr:g}, "
            f"{a.pairs} vbd16k pairs; wall time {study.seconds:.0f} s"
        )
        print(setup, flush=True)
        fig = ROOT / "figures" / f"bench_finetune_{name}.png"
        loss_curves(
            {f"seed {s}": out / f"seed{s}" / "log.csv" for s in seeds}, fig, ylabel="loss (-SI-SDR + 10 x MR-STFT)"
        )
        sections[name] = f"### {name}\n\n{setup}.\n\n{markdown_table(table)}\n"
    Path(a.doc).write_text(HEADER + "\n".join(sections.values()) + FOOTER)
    print(f"wrote {a.doc}")


def previous_sections(doc: Path) -> dict[str, str]:
    """``{model: its "### model" section}`` already in ``doc``: a run of some models keeps the others'."""
    if not doc.is_file():
        return {}
    body = doc.read_text().split(FOOTER.strip())[0]
    parts = body.split("\n### ")[1:]
    return {p.split("\n", 1)[0].strip(): "### " + p.rstrip() + "\n" for p in parts}


HEADER = """# Fine-tuning from the official checkpoints, and was it chance?

`setoolkit.train` resumes from a family's released checkpoint (GTCRN `.tar`, the DPCRN and DTLN ports
converted from the official Keras h5, Demucs state dicts), fine-tunes on CPU on speech mixed on the fly with
real noise, writes checkpoints the family's loader reads back (DPCRN, DTLN: a Keras h5 again), and resumes an
interrupted run to the same weights. The "was it chance?" protocol fine-tunes once per seed and scores
before / after on real VoiceBank-DEMAND pairs that are never trained on: per metric, the mean change per seed, its
mean and 95% CI
across seeds (Student t), a Wilcoxon signed-rank test per seed over files, and a verdict (a change is called
real only when every seed moves the metric the same way with p < 0.05).

Training speech is German (EmoDB) and US English (ARCTIC) read speech; the evaluation set is British-English
VoiceBank with DEMAND noise: the domain shift is deliberate, and a degradation is reported as measured.

Measured by `benchmarks/bench_finetune.py` on this machine (2 CPU cores); loss curves in
`figures/bench_finetune_<model>.png`, notebook `12_finetune_from_checkpoint.ipynb` runs a small version.

"""

FOOTER = """
`per_seed_change`: mean change over the files for each seed; `per_seed_p`: Wilcoxon p-value of that seed's
per-file changes.
"""


if __name__ == "__main__":
    main()
