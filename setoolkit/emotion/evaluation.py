"""Speaker-independent evaluation: leave-one-speaker-out folds, UA / WA / macro-F1, confusion matrices, figures.

Every fold holds out all utterances of one speaker; no speaker is ever in both the training and the test set
(:func:`loso_folds` asserts it). A classifier is a function ``fit_predict(X_train, y_train, X_test) ->
(probabilities (n_test, n_classes), info dict)`` with labels as integer indices into ``classes``; its
per-fold scores come back as a tidy DataFrame and :func:`summarise` gives mean +- std over folds.

UA (unweighted accuracy) is the mean per-class recall (balanced accuracy, the usual headline number for
emotion corpora with unequal classes); WA (weighted accuracy) is plain accuracy; F1 is macro-averaged.

Examples
--------
>>> folds = run_loso(X, table.emotion, table.speaker, svm_fit_predict, classes=EMODB_CLASSES)
>>> summarise(folds)             # ua_mean, ua_std, wa_mean, ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def encode(labels, classes: Sequence[str]) -> np.ndarray:
    """Integer indices of ``labels`` in ``classes``; raises ValueError naming a label outside ``classes``."""
    index = {c: i for i, c in enumerate(classes)}
    bad = sorted({str(lab) for lab in labels if lab not in index})
    if bad:
        raise ValueError(f"labels {bad} are not in classes {list(classes)}")
    return np.asarray([index[lab] for lab in labels], dtype=np.int64)


def loso_folds(speakers, *, n_folds: int | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-speaker-out folds ``(test_speaker, train_index, test_index)``, speakers in sorted order.

    ``n_folds`` keeps the first ``n_folds`` speakers as test folds (a reduced, deterministic protocol for CI);
    the training side of every fold still uses all other speakers.
    """
    speakers = np.asarray(speakers).astype(str)
    order = sorted(set(speakers))
    if len(order) < 2:
        raise ValueError(f"leave-one-speaker-out needs at least 2 speakers, got {order}")
    folds = []
    for spk in order[: n_folds or len(order)]:
        test = np.flatnonzero(speakers == spk)
        train = np.flatnonzero(speakers != spk)
        assert not set(speakers[train]) & set(speakers[test])
        folds.append((spk, train, test))
    return folds


def scores(y_true, y_pred, n_classes: int) -> dict:
    """``{"ua", "wa", "f1", "confusion"}`` for integer labels; classes absent from ``y_true`` are left out of
    UA and F1 (a speaker may not have recorded every emotion). ``confusion[i, j]`` counts true i predicted j."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    present = cm.sum(1) > 0
    recall = np.diag(cm)[present] / cm.sum(1)[present]
    precision = np.divide(np.diag(cm), cm.sum(0), out=np.zeros(n_classes), where=cm.sum(0) > 0)[present]
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros_like(recall), where=(precision + recall) > 0
    )
    return {
        "ua": float(recall.mean()),
        "wa": float(np.trace(cm) / max(cm.sum(), 1)),
        "f1": float(f1.mean()),
        "confusion": cm,
    }


def _fold_row(name: str, speaker: str, y_test: np.ndarray, proba: np.ndarray, n_classes: int, seconds: float) -> dict:
    """One fold's row: ``model, speaker, n_test, ua, wa, f1, seconds, confusion, proba``."""
    s = scores(y_test, np.argmax(proba, 1), n_classes)
    return {
        "model": name,
        "speaker": speaker,
        "n_test": len(y_test),
        **{k: s[k] for k in ("ua", "wa", "f1")},
        "seconds": seconds,
        "confusion": s["confusion"],
        "proba": proba,
    }


FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], "tuple[np.ndarray, dict]"]


def run_loso(
    X,
    labels,
    speakers,
    fit_predict: FitPredict,
    *,
    classes: Sequence[str],
    n_folds: int | None = None,
    name: str = "model",
    progress: bool = False,
) -> pd.DataFrame:
    """Train and test ``fit_predict`` on every leave-one-speaker-out fold.

    Parameters
    ----------
    X : features ``(utterances, ...)`` (any trailing shape the classifier takes)
    labels, speakers : one per utterance (strings)
    fit_predict : ``(X_train, y_train, X_test) -> (probabilities (n_test, n_classes), info)``

    Returns one row per fold: ``model, speaker, n_test, ua, wa, f1, seconds, confusion`` (counts), ``proba``
    (the test probabilities ``(n_test, n_classes)``, for :func:`fuse`) plus the info keys.
    """
    X = np.asarray(X)
    y = encode(labels, classes)
    rows = []
    folds = loso_folds(speakers, n_folds=n_folds)
    for spk, train, test in folds:
        t0 = time.perf_counter()
        p, info = fit_predict(X[train], y[train], X[test])
        rows.append({**_fold_row(name, spk, y[test], p, len(classes), time.perf_counter() - t0), **(info or {})})
        if progress:
            print(f"  {name} speaker {spk}: UA {rows[-1]['ua']:.3f} ({rows[-1]['seconds']:.1f} s)", flush=True)
    return pd.DataFrame(rows)


def fuse(
    results: Sequence[pd.DataFrame], labels, speakers, *, classes: Sequence[str], weights=None, name: str = "fusion"
) -> pd.DataFrame:
    """Late fusion: the (weighted) mean of the test probabilities of several :func:`run_loso` results."""
    y = encode(labels, classes)
    speakers = np.asarray(speakers).astype(str)
    weights = np.ones(len(results)) if weights is None else np.asarray(weights, dtype=float)
    rows = []
    probas = [dict(zip(r["speaker"], r["proba"])) for r in results]
    for spk in results[0]["speaker"]:
        p = sum(w * pr[spk] for w, pr in zip(weights, probas)) / weights.sum()
        rows.append(_fold_row(name, spk, y[speakers == spk], p, len(classes), 0.0))
    return pd.DataFrame(rows)


def summarise(folds: pd.DataFrame, by: str | Sequence[str] = "model") -> pd.DataFrame:
    """Mean and std over folds of UA, WA, F1 (and total seconds, pooled confusion) per ``by`` group."""

    def agg(g):
        out = {"folds": len(g)}
        for m in ("ua", "wa", "f1"):
            out[f"{m}_mean"], out[f"{m}_std"] = g[m].mean(), g[m].std(ddof=0)
        out["seconds"] = g["seconds"].sum()
        if "confusion" in g:
            out["confusion"] = np.sum(np.stack(list(g["confusion"])), 0)
        return pd.Series(out)

    return folds.groupby(by, sort=False).apply(agg, include_groups=False).reset_index()


def format_table(summary: pd.DataFrame, extra: Sequence[str] = ()) -> str:
    """Markdown table ``| model | UA | WA | F1 | ...`` with ``mean ± std`` cells."""
    keys = [
        c for c in summary.columns if c not in ("folds", "confusion", "seconds") and not c.endswith(("_mean", "_std"))
    ]
    head = keys + ["UA", "WA", "macro-F1", "folds"] + list(extra)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary.to_dict("records"):
        cells = [str(r[k]) for k in keys] + [f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f}" for m in ("ua", "wa", "f1")]
        cells += [str(int(r["folds"]))] + [str(r[e]) for e in extra]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return out


def confusion_figure(confusions: dict, classes: Sequence[str], out: str | Path) -> Path:
    """Row-normalised confusion matrices (recall per true class on the diagonal), one panel per model.

    ``confusions``: ``{model name: (n_classes, n_classes) counts}`` (e.g. ``summarise(...)["confusion"]``).
    """
    plt = _plt()
    n = len(confusions)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.6, 3.6), squeeze=False)
    for ax, (name, cm) in zip(axes[0], confusions.items()):
        cm = np.asarray(cm, dtype=float)
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(
                    j,
                    i,
                    f"{norm[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if norm[i, j] > 0.6 else "black",
                )
        short = [c[:4] for c in classes]
        ax.set_xticks(range(len(classes)), short, rotation=45, fontsize=8)
        ax.set_yticks(range(len(classes)), short, fontsize=8)
        ua = float(np.mean(np.diag(norm)[cm.sum(1) > 0]))
        ax.set_title(f"{name}\npooled UA {ua:.3f}", fontsize=9)
        ax.set_xlabel("predicted")
    axes[0, 0].set_ylabel("true")
    fig.tight_layout()
    return _save(fig, out)


def size_curve_figure(curve: pd.DataFrame, out: str | Path, *, baseline: float | None = None) -> Path:
    """UA (mean ± std over folds) against trainable parameters (log x), one line per architecture.

    ``curve`` columns: ``arch, params, ua_mean, ua_std``; ``baseline``: a horizontal reference (eGeMAPS+SVM UA).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, (arch, g) in enumerate(curve.groupby("arch", sort=False)):
        g = g.sort_values("params")
        ax.errorbar(g["params"], g["ua_mean"], yerr=g["ua_std"], marker="o", capsize=3, color=f"C{i}", label=arch)
    if baseline is not None:
        ax.axhline(baseline, color="0.4", ls="--", label="eGeMAPS + SVM")
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (log)")
    ax.set_ylabel("LOSO UA (mean ± std over speakers)")
    ax.set_title("enlarging the model")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def noise_figure(table: pd.DataFrame, out: str | Path, *, clean: dict | None = None) -> Path:
    """UA against input SNR (dB), one line per condition (``noisy`` dashed), one panel per classifier.

    ``table`` columns: ``classifier, condition, snr, ua_mean`` (and ``ua_std``); ``clean``: ``{classifier: UA}``
    drawn as a horizontal line.
    """
    plt = _plt()
    clfs = list(dict.fromkeys(table["classifier"]))
    fig, axes = plt.subplots(1, len(clfs), figsize=(5 * len(clfs), 3.8), squeeze=False, sharey=True)
    for ax, clf in zip(axes[0], clfs):
        t = table[table["classifier"] == clf]
        for i, (cond, g) in enumerate(t.groupby("condition", sort=False)):
            g = g.sort_values("snr")
            ax.plot(
                g["snr"],
                g["ua_mean"],
                "--" if cond == "noisy" else "-",
                marker="o",
                color="0.4" if cond == "noisy" else f"C{i}",
                label=cond,
            )
        if clean and clf in clean:
            ax.axhline(clean[clf], color="k", lw=0.8, ls=":", label="clean")
        ax.set_xlabel("input SNR (dB)")
        ax.set_title(clf, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("UA")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out)
