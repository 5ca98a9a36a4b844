"""Fixtures of the listening-test tests: a small synthetic evaluation table with real files on disk.

Speech-like sources (harmonic syllables with pauses, full band), noisy = source + noise at a per-file SNR,
two "systems" that leave less noise; 16 kHz, 2.5 s. Metric columns as :func:`setoolkit.evaluation.evaluate`
writes them, with values that follow the systems' quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from setoolkit.audio import write

SR = 16000
SYSTEMS = {"sysA": 0.15, "sysB": 0.4}  # residual noise factor


def speech_like(rng: np.random.Generator, seconds: float = 2.5, sr: int = SR) -> np.ndarray:
    """``(samples,)``: syllables (harmonics of a gliding f0 up to 7.9 kHz, 0.2-0.3 s) separated by pauses."""
    n = int(seconds * sr)
    x = np.zeros(n)
    t0 = int(0.1 * sr)
    while t0 < n - int(0.3 * sr):
        m = int(rng.uniform(0.2, 0.3) * sr)
        t = np.arange(m) / sr
        f0 = rng.uniform(100, 220) * (1 + 0.2 * t)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        syl = sum(np.sin(k * phase) / k for k in range(1, int(7900 / f0.max())))
        x[t0 : t0 + m] = syl * np.hanning(m)
        t0 += m + int(rng.uniform(0.05, 0.25) * sr)
    return 0.1 * x / np.sqrt(np.mean(x[x != 0] ** 2))


def synthetic_table(
    folder: Path, *, n_paired: int = 6, n_blind: int = 3, seed: int = 0, names: list[str] | None = None
) -> pd.DataFrame:
    """An evaluation table over files written under ``folder``; ``names``: the paired files' names."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_paired + n_blind):
        paired = k < n_paired
        ds = "synth_pairs" if paired else "synth_blind"
        name = names[k] if names and k < len(names) else f"f{k:02d}.wav"
        clean = speech_like(rng)
        noise = rng.normal(0, 1, clean.size)
        snr = float(rng.uniform(0, 18))
        noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-snr / 20)
        paths = {"noisy": write(folder / ds / "noisy" / name, clean + noise, SR, subtype="PCM_16")}
        cpath = write(folder / ds / "clean" / name, clean, SR, subtype="PCM_16") if paired else None
        for s, f in SYSTEMS.items():
            paths[s] = write(folder / ds / s / name, clean + f * noise, SR, subtype="PCM_16")
        for model, factor in [("noisy", 1.0), *SYSTEMS.items()]:
            q = 1 - factor
            rows.append(
                {
                    "dataset": ds,
                    "model": model,
                    "file": name,
                    "noisy_path": str(paths["noisy"]),
                    "clean_path": str(cpath) if cpath else None,
                    "output_path": str(paths[model]) if model != "noisy" else str(paths["noisy"]),
                    "sr": SR,
                    "snr": snr + 20 * np.log10(1 / factor) if paired else np.nan,
                    "pesq_wb": 1.2 + 0.1 * snr + 2 * q if paired else np.nan,
                    "SIG": 3 + q + 0.02 * snr,
                    "BAK": 2 + 2 * q + 0.05 * snr,
                    "OVRL": 2.2 + 1.5 * q + 0.03 * snr,
                    "P808_MOS": 2.4 + 1.4 * q + 0.03 * snr,
                    "distillmos": 2 + 2 * q + rng.normal(0, 0.1),
                    "visqol": 3 + q if paired else np.nan,
                }
            )
    return pd.DataFrame(rows)


#: A fixed test-folder secret for the session fixtures, so that their stimulus ids, listener plans and hence the
#: simulated results are the same on every run (a built test otherwise gets a fresh random secret).
SECRET = "5e7c0a1d" * 8


def fixed_secret(folder: Path) -> Path:
    """``folder`` with ``secret.key`` set to :data:`SECRET` (build_test keeps a secret it finds)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secret.key").write_text(SECRET + "\n")
    return folder


@pytest.fixture(scope="session")
def table(tmp_path_factory) -> pd.DataFrame:
    return synthetic_table(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def mushra(tmp_path_factory, table):
    from setoolkit.listening import build_test

    d = fixed_secret(tmp_path_factory.mktemp("mushra"))
    return d, build_test(table, d, kind="mushra", n_items=3, seed=1)


@pytest.fixture(scope="session")
def p835(tmp_path_factory, table):
    from setoolkit.listening import build_test

    d = fixed_secret(tmp_path_factory.mktemp("p835"))
    return d, build_test(table, d, kind="p835", n_items=2, seed=1)


@pytest.fixture(scope="session")
def acr(tmp_path_factory, table):
    from setoolkit.listening import build_test

    d = fixed_secret(tmp_path_factory.mktemp("acr"))
    return d, build_test(table, d, kind="acr", n_items=2, seed=1, max_seconds=2.0)


@pytest.fixture(scope="session")
def ccr(tmp_path_factory, table):
    from setoolkit.listening import build_test

    d = fixed_secret(tmp_path_factory.mktemp("ccr"))
    return d, build_test(table, d, kind="ccr", n_items=3, seed=1, pairs=[("sysB", "sysA"), ("noisy", "sysA")])
