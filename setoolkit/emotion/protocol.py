"""The EmoDB protocol in a few calls, shared by ``benchmarks/bench_emotion.py``, the notebook and the tests:
load + featurise once (:func:`prepare`), run a suite of classifiers leave-one-speaker-out (:func:`run_suite`),
measure the parameters-vs-accuracy curve (:func:`size_curve`) and the noise / enhancement study
(:func:`noise_study`).

Examples
--------
>>> data = prepare(cache_dir="../outputs/emotion_cache")
>>> folds = run_suite(data, default_suite(data), n_folds=3)
>>> summarise(folds)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import datasets, features, models
from .evaluation import encode, fuse, loso_folds, run_loso, scores
from .noise import enhance_batch, mix_batch

#: Working sample rate: the rate of the 16 kHz enhancement models and the noise recordings.
SR = 16000
#: Log-mel settings of the learned models: 64 bands, 40 ms window, 20 ms hop (101 frames per 2 s).
LOGMEL: dict[str, Any] = {"n_mels": 64, "win_ms": 40.0, "hop_ms": 20.0}

Featurize = Callable[[np.ndarray], np.ndarray]


def prepare(
    *,
    root=None,
    classes: Sequence[str] = datasets.EMODB_CLASSES,
    sr: int = SR,
    seconds: float = 2.0,
    feature_sets: Sequence[str] = ("eGeMAPSv02",),
    cache_dir=None,
    limit: int | None = None,
) -> dict:
    """EmoDB restricted to ``classes``, its audio at ``sr`` and its features.

    Returns ``{"table", "classes", "sr", "audio" (n, samples), "y" (n,), "speakers" (n,), "logmel" (n, 64, T),
    <feature_set>: (n, d) for each of feature_sets}``. ``limit`` keeps the first ``limit`` utterances of every
    speaker (a quick look; not for reported numbers).
    """
    table = datasets.restrict(datasets.load_emodb(root), classes)
    if limit:
        table = table.groupby("speaker", sort=True).head(limit).reset_index(drop=True)
    audio = datasets.load_audio(table, sr=sr, seconds=seconds)
    data = {
        "table": table,
        "classes": tuple(classes),
        "sr": sr,
        "audio": audio,
        "y": encode(table["emotion"], classes),
        "speakers": table["speaker"].to_numpy(),
        "logmel": features.logmel(audio, sr, **LOGMEL),
    }
    for fs in feature_sets:
        data[fs] = features.functionals(audio, sr, feature_set=fs, cache_dir=cache_dir)
    return data


def subset(data: Mapping, classes: Sequence[str]) -> dict:
    """``data`` from :func:`prepare` restricted to the utterances of ``classes`` (labels re-encoded), e.g. EmoDB
    mapped to the six CREMA-D classes: ``subset(data, datasets.CREMAD_CLASSES)``."""
    keep = data["table"]["emotion"].isin(list(classes)).to_numpy()
    out = {k: (v[keep] if isinstance(v, np.ndarray) and len(v) == len(keep) else v) for k, v in data.items()}
    out["table"] = data["table"][keep].reset_index(drop=True)
    out["classes"] = tuple(classes)
    out["y"] = encode(out["table"]["emotion"], classes)
    return out


def default_suite(data: Mapping, *, epochs: int = 30, width: int = 16, learned: bool = True) -> dict:
    """``{name: (feature key, fit_predict)}``: eGeMAPS + RBF SVM (the baseline) and linear SVM, ComParE + linear
    SVM when ``data`` has it, and the log-mel CNN / CRNN of ``width`` (``learned=False`` leaves them out)."""
    n = len(data["classes"])
    suite = {
        "egemaps-svm-rbf": ("eGeMAPSv02", models.svm_classifier(kernel="rbf", C=10)),
        "egemaps-svm-linear": ("eGeMAPSv02", models.svm_classifier(kernel="linear", C=0.01)),
    }
    if "ComParE_2016" in data:
        suite["compare-svm-linear"] = ("ComParE_2016", models.svm_classifier(kernel="linear", C=0.001))
    if learned:
        suite[f"cnn-w{width}"] = ("logmel", models.torch_classifier("cnn", n_classes=n, width=width, epochs=epochs))
        suite[f"crnn-w{width}"] = ("logmel", models.torch_classifier("crnn", n_classes=n, width=width, epochs=epochs))
    return suite


def run_suite(
    data: Mapping, suite: Mapping, *, n_folds: int | None = None, progress: bool = False, speaker_norm: bool = False
) -> list[pd.DataFrame]:
    """:func:`~setoolkit.emotion.evaluation.run_loso` of every ``(feature key, fit_predict)`` in ``suite``.

    ``speaker_norm``: functionals standardised per speaker first (:func:`features.speaker_standardise`, uses the
    unlabelled test speaker's utterances; names get a ``+spknorm`` suffix). Returns one per-fold DataFrame per
    model (their ``proba`` column feeds :func:`fusion`).
    """
    out = []
    for name, (key, fit_predict) in suite.items():
        X = data[key]
        if speaker_norm and key != "logmel":
            X, name = features.speaker_standardise(X, data["speakers"]), name + "+spknorm"
        out.append(
            run_loso(
                X,
                data["table"]["emotion"],
                data["speakers"],
                fit_predict,
                classes=data["classes"],
                n_folds=n_folds,
                name=name,
                progress=progress,
            )
        )
    return out


def fusion(data: Mapping, results: Sequence[pd.DataFrame], names: Sequence[str], *, name: str | None = None):
    """Late fusion (mean of test probabilities) of the ``results`` whose model name is in ``names``."""
    chosen = [r for r in results if r["model"].iloc[0] in names]
    return fuse(
        chosen,
        data["table"]["emotion"],
        data["speakers"],
        classes=data["classes"],
        name=name or "fusion(" + "+".join(names) + ")",
    )


def size_curve(
    data: Mapping,
    *,
    archs: Sequence[str] = ("cnn", "crnn"),
    widths: Sequence[int] = (4, 8, 16, 32),
    epochs: int = 30,
    n_folds: int | None = None,
    progress: bool = False,
    done: Mapping | None = None,
) -> pd.DataFrame:
    """LOSO UA / WA / F1 (mean ± std over folds) and trainable parameters for each architecture and width.

    ``done``: ``{(arch, width): per-fold DataFrame}`` already measured (e.g. by :func:`run_suite`) to reuse.
    Returns one row per ``(arch, width)``: ``arch, width, params, ua_mean, ua_std, wa_mean, f1_mean, seconds``.
    """
    rows = []
    n = len(data["classes"])
    for arch in archs:
        for w in widths:
            folds = (done or {}).get((arch, w))
            if folds is None:
                fp = models.torch_classifier(arch, n_classes=n, width=w, epochs=epochs)
                folds = run_loso(
                    data["logmel"],
                    data["table"]["emotion"],
                    data["speakers"],
                    fp,
                    classes=data["classes"],
                    n_folds=n_folds,
                    name=f"{arch}-w{w}",
                    progress=progress,
                )
            params = models.count_parameters(
                models.build_network(arch, n_classes=n, width=w, n_mels=data["logmel"].shape[1])
            )
            rows.append(
                {
                    "arch": arch,
                    "width": w,
                    "params": params,
                    "folds": len(folds),
                    "ua_mean": folds["ua"].mean(),
                    "ua_std": folds["ua"].std(ddof=0),
                    "wa_mean": folds["wa"].mean(),
                    "f1_mean": folds["f1"].mean(),
                    "seconds": folds["seconds"].sum(),
                }
            )
    return pd.DataFrame(rows)


def featurizer(key: str, sr: int, *, cache_dir=None) -> Featurize:
    """The function turning audio ``(n, samples)`` into the features stored under ``key`` by :func:`prepare`
    (``"logmel"`` or an openSMILE feature set)."""
    if key == "logmel":
        return lambda a: features.logmel(a, sr, **LOGMEL)
    if key in features.FEATURE_SETS:
        return lambda a: features.functionals(a, sr, feature_set=key, cache_dir=cache_dir)
    raise ValueError(f"feature key {key!r} is not 'logmel' or one of {features.FEATURE_SETS}")


def noise_study(
    data: Mapping,
    classifiers: Mapping,
    enhancers: Mapping,
    *,
    noises: Mapping,
    snrs: Sequence[float] = (0, 5, 10, 20),
    n_folds: int | None = None,
    seed: int = 0,
    cache_dir=None,
    progress: bool = False,
) -> pd.DataFrame:
    """UA / WA / F1 of classifiers trained on clean speech, tested on clean, noisy and enhanced speech.

    Parameters
    ----------
    data : from :func:`prepare` (its ``sr`` must be the noises' rate)
    classifiers : ``{name: (feature key, fit_predict)}`` as in :func:`default_suite`; the clean features are
        ``data[key]``, the noisy / enhanced ones are computed with :func:`featurizer`
    enhancers : ``{name: setoolkit Enhancer}`` (``setoolkit.load(name)``)
    noises : ``{name: (samples,)}`` from :func:`setoolkit.emotion.noise.load_noises`
    snrs : input SNRs in dB; each test utterance is mixed once per SNR (same noise and offset at every SNR)

    Only the utterances of the first ``n_folds`` test speakers are mixed and enhanced; each fold's classifier is
    trained once on the clean training speakers and scored on every condition. Returns one row per
    ``(classifier, condition, snr, speaker)`` with ``ua, wa, f1`` and the enhancement ``seconds`` of that
    condition (all folds); condition is ``clean`` (snr NaN), ``noisy`` or an enhancer name.
    """
    sr, audio, y, speakers = data["sr"], data["audio"], data["y"], data["speakers"]
    folds = loso_folds(speakers, n_folds=n_folds)
    test_idx = np.concatenate([t for _, _, t in folds])
    conds = {("clean", np.nan): audio[test_idx]}
    timing = {}
    for snr in snrs:
        noisy = mix_batch(audio[test_idx], dict(noises), snr, seed=seed)
        conds[("noisy", snr)] = noisy
        for name, model in enhancers.items():
            t0 = time.perf_counter()
            conds[(name, snr)] = enhance_batch(model, noisy, sr)
            timing[(name, snr)] = time.perf_counter() - t0
            if progress:
                print(
                    f"  enhanced {len(noisy)} clips at {snr} dB with {name} ({timing[(name, snr)]:.1f} s)", flush=True
                )
    position = {int(i): k for k, i in enumerate(test_idx)}
    rows = []
    for cname, (key, fit_predict) in classifiers.items():
        featurize = featurizer(key, sr, cache_dir=cache_dir)
        X_cond = {c: (data[key][test_idx] if c[0] == "clean" else featurize(a)) for c, a in conds.items()}
        for spk, train, test in folds:
            pos = np.asarray([position[int(i)] for i in test])
            keys = list(X_cond)
            X_test = np.concatenate([X_cond[k][pos] for k in keys])
            proba, _ = fit_predict(data[key][train], y[train], X_test)
            for j, (cond, snr) in enumerate(keys):
                p = proba[j * len(test) : (j + 1) * len(test)]
                s = scores(y[test], np.argmax(p, 1), len(data["classes"]))
                rows.append(
                    {
                        "classifier": cname,
                        "condition": cond,
                        "snr": snr,
                        "speaker": spk,
                        "ua": s["ua"],
                        "wa": s["wa"],
                        "f1": s["f1"],
                        "seconds": timing.get((cond, snr), 0.0),
                    }
                )
        if progress:
            print(f"  noise study: {cname} done", flush=True)
    return pd.DataFrame(rows)


def noise_table(study: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over folds of UA per ``(classifier, condition, snr)`` from :func:`noise_study`."""
    g = study.groupby(["classifier", "condition", "snr"], sort=False, dropna=False)
    return g.agg(
        ua_mean=("ua", "mean"),
        ua_std=("ua", lambda v: v.std(ddof=0)),
        wa_mean=("wa", "mean"),
        f1_mean=("f1", "mean"),
        folds=("ua", "size"),
    ).reset_index()
