"""Does a model keep the competing voice? How much of the target and of the interferer a model's output holds.

Every file of a built talker set has its components on disk (``clean/``: the target ``s``, ``interferer/``: the
competing talker or babble ``v``, ``noise/``: the noise ``n`` where there is one), and ``noisy = s + v (+ n)``.
The output ``y`` of a model is fitted by least squares onto them, ``y ~ a s + b v (+ c n) + e``:

* ``target_gain_db = 20 log10 |a|`` and ``interferer_gain_db = 20 log10 |b|``: what the model did to each
  (0 dB: passed as it came; the mixture itself has both at 0 dB);
* ``sir_gain_db = 20 log10 |a / b|``: how much further below the target the interferer is in the output than
  in the mixture (the SIR improvement; 0 dB for the mixture, :data:`CAP_DB` for the target alone). It does not
  depend on the input SIR or on the output's overall gain, so one threshold serves every band;
* ``si_sdr_interferer``: SI-SDR of the output against the interferer alone (dB; near the negative input SIR for
  the mixture, very low once the interferer is gone), for readers used to that measure.

A model **keeps** the competing voice when the median ``sir_gain_db`` over a set's talker files (one competing
talker, with or without noise) is below :data:`KEEPS_BELOW_DB`, **suppresses** it from
:data:`SUPPRESSES_FROM_DB`, and **partly suppresses** it between. A fit needs the output aligned with the input:
the evaluation's ``lag`` (output samples late) is undone first.

Examples
--------
>>> component_gains(noisy, clean, interferer)["sir_gain_db"]      # 0.0: the mixture keeps the voice
>>> retention = retention_table(table)                              # one row per output of a built talker set
>>> verdicts(retention)                                             # keeps / partly / suppresses per model
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import read, resample, to_mono
from ..errors import SetoolkitError
from .build import RECIPE_FILE, read_recipe
from .recipes import BABBLE, TALKER, TALKER_NOISE

#: Largest gain reported (dB): a component the output does not hold at all reads as this, not as infinity.
CAP_DB = 60.0
#: Median SIR gain (dB) below which a model keeps the competing voice, and from which it suppresses it.
KEEPS_BELOW_DB, SUPPRESSES_FROM_DB = 3.0, 10.0
#: The verdicts, from keeping to suppressing.
KEEPS, PARTLY, SUPPRESSES = "keeps", "partly suppresses", "suppresses"
#: Conditions the verdict is taken over (one competing talker; babble is reported but not judged).
JUDGED = (TALKER, TALKER_NOISE)


def _db(ratio: float) -> float:
    return float(np.clip(20 * np.log10(max(abs(ratio), 10 ** (-CAP_DB / 20))), -CAP_DB, CAP_DB))


def component_gains(output: np.ndarray, target: np.ndarray, interferer: np.ndarray, noise=None) -> dict:
    """Least-squares gains of ``target``, ``interferer`` (and ``noise``) in ``output``; all ``(samples,)`` of one
    length. Returns ``target_gain_db, interferer_gain_db, sir_gain_db`` (see the module docstring; each within
    +-:data:`CAP_DB`) and ``si_sdr_interferer`` (dB)."""
    y = np.asarray(output, dtype=np.float64)
    parts = [np.asarray(target, dtype=np.float64), np.asarray(interferer, dtype=np.float64)]
    if noise is not None:
        parts.append(np.asarray(noise, dtype=np.float64))
    if any(p.shape != y.shape for p in parts):
        raise ValueError(f"component_gains: components {[p.shape for p in parts]} differ from the output {y.shape}")
    coef, *_ = np.linalg.lstsq(np.stack(parts, axis=1), y, rcond=None)
    a, b = float(coef[0]), float(coef[1])
    v = parts[1] - parts[1].mean()
    yc = y - y.mean()
    proj = (yc @ v) / max(v @ v, 1e-20) * v
    err = float(np.sum((yc - proj) ** 2))
    si_sdr_v = 10 * np.log10(max(float(np.sum(proj**2)), 1e-20) / max(err, 1e-20))
    sir_gain = CAP_DB if abs(b) < 1e-12 else _db(a / b)
    return {
        "target_gain_db": _db(a),
        "interferer_gain_db": _db(b),
        "sir_gain_db": sir_gain,
        "si_sdr_interferer": float(np.clip(si_sdr_v, -CAP_DB, CAP_DB)),
    }


def _shifted(y: np.ndarray, lag: int, n: int) -> np.ndarray:
    """``y`` moved ``lag`` samples earlier (as :func:`setoolkit.metrics.scoring.align` does), ``n`` samples long."""
    shifted = y[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), y])
    out = np.zeros(n)
    m = min(n, shifted.size)
    out[:m] = shifted[:m]
    return out


def set_folder(noisy_path: str | Path, key: str) -> Path | None:
    """The built set a row's input belongs to (the folder holding ``noisy/<key>`` and ``recipe.json``), or
    ``None`` when the input is not from a built set."""
    folder = Path(noisy_path).parents[len(Path(key).parts)]
    return folder if (folder / RECIPE_FILE).is_file() and Path(key).parts[0] != ".." else None


def _mono(path: Path, sr: int) -> np.ndarray:
    x, file_sr = read(path)
    return resample(to_mono(x)[0], file_sr, sr).astype(np.float64)


def retention_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per output of a built talker set in ``table`` (the evaluation table: ``dataset, model, file,
    noisy_path, output_path``, ``lag`` when scored): ``dataset, model, file, condition, sir_db, snr_db`` and the
    gains of :func:`component_gains`. Sets that are not built talker sets are left out; an empty frame when none."""
    rows = []
    folders: dict[str, Path | None] = {}
    recipes: dict[Path, tuple[int, dict]] = {}
    for r in table.itertuples(index=False):
        if r.dataset not in folders:
            folders[r.dataset] = set_folder(r.noisy_path, r.file)
        folder = folders[r.dataset]
        if folder is None:
            continue
        if folder not in recipes:
            doc = read_recipe(folder)
            recipes[folder] = int(doc["sample_rate"]), {f["key"]: f for f in doc["files"]}
        sr, entries = recipes[folder]
        entry = entries.get(r.file)
        if entry is None:
            continue
        lag = getattr(r, "lag", 0)
        lag = int(lag) if lag is not None and np.isfinite(lag) else 0
        try:
            s, v = _mono(folder / "clean" / r.file, sr), _mono(folder / "interferer" / r.file, sr)
            n = _mono(folder / "noise" / r.file, sr) if "noise" in entry.get("parts", []) else None
            y = _shifted(_mono(Path(r.output_path), sr), lag, s.size)
        except SetoolkitError as exc:  # an output or a component removed since the evaluation: that row only
            warnings.warn(f"{r.dataset} / {r.model} / {r.file}: no component gains ({exc})")
            continue
        rows.append(
            {
                "dataset": r.dataset,
                "model": r.model,
                "file": r.file,
                "condition": entry["condition"],
                "sir_db": entry["sir_db"],
                "snr_db": entry["snr_db"],
                **component_gains(y, s, v, n),
            }
        )
    cols = ["dataset", "model", "file", "condition", "sir_db", "snr_db"]
    return pd.DataFrame(
        rows, columns=[*cols, "target_gain_db", "interferer_gain_db", "sir_gain_db", "si_sdr_interferer"]
    )


def verdict(sir_gain_db: float) -> str:
    """:data:`KEEPS`, :data:`PARTLY` or :data:`SUPPRESSES` for a median SIR gain (dB)."""
    if not np.isfinite(sir_gain_db):
        return ""
    return KEEPS if sir_gain_db < KEEPS_BELOW_DB else SUPPRESSES if sir_gain_db >= SUPPRESSES_FROM_DB else PARTLY


def verdicts(retention: pd.DataFrame) -> pd.DataFrame:
    """Per ``dataset, model``: ``n`` (judged files), medians of ``sir_gain_db``, ``interferer_gain_db``,
    ``target_gain_db`` over the one-talker files (:data:`JUDGED`), ``babble_sir_gain_db`` (median over babble
    files) and the ``verdict``."""
    cols = ["dataset", "model", "n", "sir_gain_db", "interferer_gain_db", "target_gain_db", "babble_sir_gain_db"]
    if not len(retention):
        return pd.DataFrame(columns=[*cols, "verdict"])
    rows = []
    for (ds, model), g in retention.groupby(["dataset", "model"], sort=False):
        judged, bab = g[g["condition"].isin(JUDGED)], g[g["condition"] == BABBLE]
        row = {"dataset": ds, "model": model, "n": len(judged)}
        for c in ("sir_gain_db", "interferer_gain_db", "target_gain_db"):
            row[c] = float(judged[c].median()) if len(judged) else float("nan")
        row["babble_sir_gain_db"] = float(bab["sir_gain_db"].median()) if len(bab) else float("nan")
        row["verdict"] = verdict(row["sir_gain_db"])
        rows.append(row)
    return pd.DataFrame(rows, columns=[*cols, "verdict"])
