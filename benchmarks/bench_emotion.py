"""Speech emotion recognition on EmoDB, the full speaker-independent protocol (issue 5).

Prints the leave-one-speaker-out table (7 classes and the 6 CREMA-D classes; UA / WA / macro-F1 mean ± std over
speakers), the parameters-vs-accuracy curve of the learned models, the noise / enhancement study and the wall
time; writes the figures to figures/11_emotion_*.png and the tables to outputs/emotion/*.csv.

    .venv/bin/python benchmarks/bench_emotion.py            # full: 10 folds everywhere (~1 h on 2 busy cores)
    .venv/bin/python benchmarks/bench_emotion.py --quick    # CI-sized: 3 folds, short training (< 10 min)

Features are cached in outputs/emotion/cache (git-ignored), so a second run skips openSMILE.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import numpy as np
import pandas as pd

import setoolkit
from setoolkit.emotion import datasets, evaluation, features, models, noise, protocol


def _csv_list(text, cast=str):
    return [cast(t) for t in text.split(",") if t.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI-sized run: 3 folds, 10 epochs, 2 widths, 1 noise fold")
    ap.add_argument("--folds", type=int, default=None, help="LOSO test folds (default: all 10 speakers)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--width", type=int, default=16, help="width of the CNN / CRNN in the main table")
    ap.add_argument("--widths", default="4,8,16,32", help="widths of the size curve")
    ap.add_argument("--curve-folds", type=int, default=None)
    ap.add_argument("--archs", default="cnn,crnn", help="architectures of the size curve")
    ap.add_argument("--noise-folds", type=int, default=None)
    ap.add_argument("--snrs", default="0,5,10,20")
    ap.add_argument("--enhancers", default="gtcrn,deepfilternet3,dtln,dpcrn-quant")
    ap.add_argument("--six", action="store_true", help="also train the learned models on the 6-class task")
    ap.add_argument(
        "--sections",
        default="loso,curve,noise",
        help="which parts to run, comma-separated, from loso,curve,noise,ablation",
    )
    ap.add_argument("--ablation-folds", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "outputs" / "emotion"))
    ap.add_argument("--figures", default=str(ROOT / "figures"))
    a = ap.parse_args(argv)
    if a.quick:
        a.folds, a.epochs, a.widths, a.curve_folds = a.folds or 3, 10, "4,16", 2
        a.noise_folds, a.snrs, a.enhancers = 1, "0,10", "gtcrn,deepfilternet3"
    out, figs, cache = Path(a.out), Path(a.figures), Path(a.out) / "cache"
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    import opensmile
    import sklearn
    import torch

    torch.set_num_threads(1)
    print(
        f"opensmile {opensmile.__version__}, scikit-learn {sklearn.__version__}, torch {torch.__version__} "
        f"(1 thread), CPU cores {os.cpu_count()}"
    )
    t0 = time.perf_counter()
    data7 = protocol.prepare(feature_sets=("eGeMAPSv02", "ComParE_2016"), cache_dir=cache)
    print(
        f"EmoDB: {len(data7['table'])} utterances, {len(set(data7['speakers']))} speakers, resampled to "
        f"{data7['sr']} Hz, 2.0 s; features in {time.perf_counter() - t0:.0f} s"
    )

    sections = set(_csv_list(a.sections))
    if "loso" in sections:
        loso_tables(a, data7, out, figs)
    if "curve" in sections:
        curve_section(a, data7, out, figs)
    if "noise" in sections:
        noise_section(a, data7, out, figs, cache)
    if "ablation" in sections:
        ablation_section(a, data7, out)
    print(f"\nwall time {time.perf_counter() - t_start:.0f} s")
    return 0


def loso_tables(a, data7, out, figs) -> dict:
    """Section 1: the 7-class and 6-class LOSO tables; returns the 7-class per-fold results by model name."""
    summaries, results7 = [], {}
    for classes, label in ((datasets.EMODB_CLASSES, "7-class"), (datasets.CREMAD_CLASSES, "6-class (CREMA-D)")):
        data = data7 if label == "7-class" else protocol.subset(data7, classes)
        learned = label == "7-class" or a.six
        t0 = time.perf_counter()
        suite = protocol.default_suite(data, epochs=a.epochs, width=a.width, learned=learned)
        n = a.folds or len(set(data["speakers"]))
        res = [
            _stored(
                out,
                f"{len(classes)}class_{name}_{n}folds_{a.epochs}ep",
                lambda e={name: entry}: protocol.run_suite(data, e, n_folds=n, progress=True)[0],
            )
            for name, entry in suite.items()
        ]
        res += protocol.run_suite(data, protocol.default_suite(data, learned=False), n_folds=a.folds, speaker_norm=True)
        names = [r["model"].iloc[0] for r in res]
        fusions = [["egemaps-svm-rbf", "compare-svm-linear"]]
        if learned:
            fusions += [
                ["compare-svm-linear", f"cnn-w{a.width}", f"crnn-w{a.width}"],
                ["egemaps-svm-rbf", "compare-svm-linear", f"cnn-w{a.width}", f"crnn-w{a.width}"],
            ]
        res += [protocol.fusion(data, res, f) for f in fusions if set(f) <= set(names)]
        s = evaluation.summarise(pd.concat(res, ignore_index=True))
        s.insert(0, "task", label)
        summaries.append(s)
        print(f"\n## EmoDB LOSO {label}, {s['folds'].max()} folds ({time.perf_counter() - t0:.0f} s)\n")
        print(evaluation.format_table(s.drop(columns=["task"])))
        if label == "7-class":
            results7 = {r["model"].iloc[0]: r for r in res}
            base = s.set_index("model").loc["egemaps-svm-rbf", "ua_mean"]
            best = s[~s.model.str.contains("spknorm")].sort_values("ua_mean").iloc[-1]
            print(
                f"\nbaseline eGeMAPS+SVM UA {base:.3f}; best (per-utterance protocol) {best.model} "
                f"{best.ua_mean:.3f} ({100 * (best.ua_mean - base):+.1f} points)"
            )
    summary = pd.concat(summaries, ignore_index=True)
    summary.drop(columns=["confusion"]).to_csv(out / "loso_summary.csv", index=False)
    pick = ["egemaps-svm-rbf", "compare-svm-linear", f"crnn-w{a.width}"]
    s7 = summaries[0].set_index("model")
    fig = evaluation.confusion_figure(
        {m: s7.loc[m, "confusion"] for m in pick if m in s7.index},
        datasets.EMODB_CLASSES,
        figs / "11_emotion_confusion.png",
    )
    print(f"\nconfusion matrices -> {fig}")
    return results7


def curve_section(a, data7, out, figs) -> None:
    """Section 2: parameters vs accuracy; reuses stored per-fold results (e.g. the main table's width-16 runs)."""
    t0 = time.perf_counter()
    widths = _csv_list(a.widths, int)
    n_curve = a.curve_folds or a.folds or len(set(data7["speakers"]))
    archs = _csv_list(a.archs)
    done = {}
    for arch in archs:
        for w in widths:  # a stored run over at least n_curve folds serves its first n_curve
            stored = {
                int(p.name.split("_")[-2].removesuffix("folds")): p
                for p in (out / "folds").glob(f"7class_{arch}-w{w}_*folds_{a.epochs}ep.json")
            }
            usable = sorted(n for n in stored if n >= n_curve)
            if usable:
                done[(arch, w)] = _read_folds(stored[usable[0]]).iloc[:n_curve]
    for w in widths:  # compute the missing ones one by one, smallest first, storing each
        for arch in archs:
            if (arch, w) not in done:
                fp = models.torch_classifier(arch, n_classes=len(data7["classes"]), width=w, epochs=a.epochs)
                done[(arch, w)] = _stored(
                    out,
                    f"7class_{arch}-w{w}_{n_curve}folds_{a.epochs}ep",
                    lambda fp=fp, arch=arch, w=w: evaluation.run_loso(
                        data7["logmel"],
                        data7["table"]["emotion"],
                        data7["speakers"],
                        fp,
                        classes=data7["classes"],
                        n_folds=n_curve,
                        name=f"{arch}-w{w}",
                        progress=True,
                    ),
                )
    curve = protocol.size_curve(data7, archs=archs, widths=widths, epochs=a.epochs, n_folds=n_curve, done=done)
    curve.to_csv(out / "size_curve.csv", index=False)
    base_folds = evaluation.run_loso(
        data7["eGeMAPSv02"],
        data7["table"]["emotion"],
        data7["speakers"],
        models.svm_classifier(kernel="rbf", C=10),
        classes=data7["classes"],
        n_folds=n_curve,
    )
    print(
        f"\n## Parameters vs accuracy (7-class LOSO, {int(curve['folds'].max())} folds, {a.epochs} epochs, "
        f"{time.perf_counter() - t0:.0f} s)\n"
    )
    print("| arch | width | params | UA | WA | macro-F1 | train s |\n|---|---|---|---|---|---|---|")
    for r in curve.itertuples():
        print(
            f"| {r.arch} | {r.width} | {r.params:,} | {r.ua_mean:.3f} ± {r.ua_std:.3f} | {r.wa_mean:.3f} | "
            f"{r.f1_mean:.3f} | {r.seconds:.0f} |"
        )
    print(f"(eGeMAPS+SVM on the same folds: UA {base_folds.ua.mean():.3f})")
    evaluation.size_curve_figure(curve, figs / "11_emotion_size_curve.png", baseline=base_folds.ua.mean())


def noise_section(a, data7, out, figs, cache) -> None:
    """Section 3: clean / noisy / enhanced UA of classifiers trained on clean speech."""
    t0 = time.perf_counter()
    available = {c.name for c in setoolkit.list_models(available_only=True)}
    names = [n for n in _csv_list(a.enhancers) if n in available]
    enhancers = {n: setoolkit.load(n) for n in names}
    classifiers = {
        "egemaps-svm-rbf": ("eGeMAPSv02", models.svm_classifier(kernel="rbf", C=10)),
        f"crnn-w{a.width}": ("logmel", models.torch_classifier("crnn", n_classes=7, width=a.width, epochs=a.epochs)),
    }
    study = protocol.noise_study(
        data7,
        classifiers,
        enhancers,
        noises=noise.load_noises(),
        snrs=_csv_list(a.snrs, float),
        n_folds=a.noise_folds,
        cache_dir=cache,
        progress=True,
    )
    study.to_csv(out / "noise_study.csv", index=False)
    table = protocol.noise_table(study)
    n_f = int(table["folds"].max())
    print(
        f"\n## Noise study: UA (mean ± std over {n_f} LOSO folds), trained on clean, tested on EmoDB + real noise "
        f"({time.perf_counter() - t0:.0f} s)\n"
    )
    snrs = _csv_list(a.snrs, float)
    print("| classifier | condition | clean | " + " | ".join(f"{s:g} dB" for s in snrs) + " |")
    print("|---|---|---|" + "---|" * len(snrs))
    for clf, g in table.groupby("classifier", sort=False):
        clean = g[g.condition == "clean"].iloc[0]
        for cond, h in g[g.condition != "clean"].groupby("condition", sort=False):
            cells = [f"{h[h.snr == s].ua_mean.iloc[0]:.3f} ± {h[h.snr == s].ua_std.iloc[0]:.3f}" for s in snrs]
            print(f"| {clf} | {cond} | {clean.ua_mean:.3f} | " + " | ".join(cells) + " |")
    evaluation.noise_figure(
        table[table.condition != "clean"],
        figs / "11_emotion_noise.png",
        clean={c: g[g.condition == "clean"].ua_mean.iloc[0] for c, g in table.groupby("classifier")},
    )
    speakers = sorted(set(data7["speakers"]))[:n_f]
    test = np.flatnonzero(np.isin(data7["speakers"], speakers))
    train = np.flatnonzero(data7["speakers"] != speakers[0])
    for snr in _csv_list(a.snrs, float):
        noisy = noise.mix_batch(data7["audio"][test], noise.load_noises(), snr, seed=0)
        shift = features.feature_shift(
            data7["eGeMAPSv02"][train],
            data7["eGeMAPSv02"][test],
            features.functionals(noisy, data7["sr"], cache_dir=cache),
        )
        print(
            f"eGeMAPS shift at {snr:g} dB (median |noisy - clean| / train std): median over 88 "
            f"{shift.median():.2f}; largest: " + ", ".join(f"{k} {v:.1f}" for k, v in shift.head(4).items())
        )
    rt = study[study.condition.isin(names)].groupby("condition")["seconds"].first()
    n_clips = sum(len(t) for _, _, t in evaluation.loso_folds(data7["speakers"], n_folds=a.noise_folds))
    print("enhancement time per 2 s clip: " + ", ".join(f"{k} {v / n_clips:.3f} s" for k, v in rt.items()))


def _stored(out: Path, key: str, compute) -> pd.DataFrame:
    """Per-fold results of ``compute()`` stored as ``out/folds/<key>.json`` (arrays as lists) and read back on a
    later run, so an interrupted or split benchmark does not train the same model twice."""
    path = out / "folds" / f"{key}.json"
    if path.is_file():
        return _read_folds(path)
    folds = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = folds.copy()
    for col in ("confusion", "proba"):
        plain[col] = [np.asarray(v).tolist() for v in plain[col]]
    plain.to_json(path, orient="records")
    return folds


def _read_folds(path: Path) -> pd.DataFrame:
    folds = pd.read_json(path, orient="records", dtype={"speaker": str})
    for col in ("confusion", "proba"):
        folds[col] = [np.asarray(v) for v in folds[col]]
    return folds


#: Training variants of the augmentation ablation (keyword arguments of models.train_network).
ABLATION = {
    "none (default)": {},
    "SpecAugment masks": {"augmentation": {"crop": 1.0}},
    "crop 75% + masks": {"augmentation": True},
    "crop + masks + gain 6 dB": {"augmentation": {"gain_db": 6.0}},
    "crop + masks + gain + mixup 0.2": {"augmentation": {"gain_db": 6.0}, "mixup": 0.2},
}


def ablation_section(a, data7, out) -> None:
    """Section 4: the log-mel CNN (width ``a.width``) with each augmentation of :data:`ABLATION`."""
    t0 = time.perf_counter()
    rows = []
    for label, kw in ABLATION.items():
        fp = models.torch_classifier("cnn", n_classes=len(data7["classes"]), width=a.width, epochs=a.epochs, **kw)
        f = evaluation.run_loso(
            data7["logmel"],
            data7["table"]["emotion"],
            data7["speakers"],
            fp,
            classes=data7["classes"],
            n_folds=a.ablation_folds,
            name=label,
            progress=True,
        )
        rows.append(
            {
                "training": label,
                "ua_mean": f.ua.mean(),
                "ua_per_fold": " ".join(f"{u:.3f}" for u in f.ua),
                "final_loss": f.final_loss.mean(),
            }
        )
    table = pd.DataFrame(rows)
    table.to_csv(out / "augmentation_ablation.csv", index=False)
    print(
        f"\n## Augmentation ablation: cnn-w{a.width}, {a.epochs} epochs, first {a.ablation_folds} LOSO folds "
        f"({time.perf_counter() - t0:.0f} s)\n"
    )
    print("| training | UA (mean) | UA per fold | final training loss |\n|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.training} | {r.ua_mean:.3f} | {r.ua_per_fold} | {r.final_loss:.3f} |")


if __name__ == "__main__":
    raise SystemExit(main())
