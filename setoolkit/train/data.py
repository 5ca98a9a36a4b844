"""Training data: clean speech mixed on the fly with real noise, or fixed paired folders.

Every example is a pure function of ``(seed, index)``, so a run resumed at step k sees exactly the batches
an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..audio import read, resample, to_mono


def _load_all(files: Sequence[str | Path], sr: int) -> list[np.ndarray]:
    out = []
    for f in files:
        x, file_sr = read(f)
        out.append(resample(to_mono(x)[0], file_sr, sr))
    return out


def _crop(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if len(x) >= n:
        start = int(rng.integers(0, len(x) - n + 1))
        return x[start : start + n]
    reps = int(np.ceil(n / len(x)))
    return np.tile(x, reps)[:n]


class MixingDataset:
    """Clean speech + noise at an SNR drawn from ``snr_db``, a random gain from ``gain_db``, fixed-length crops.

    ``clean_files`` / ``noise_files``: audio at any rate (resampled to ``sr`` once, at construction).
    ``dataset[i]`` -> ``(noisy, clean)``, each float32 ``(samples,)`` with ``samples = seconds * sr``.
    """

    def __init__(
        self,
        clean_files,
        noise_files,
        *,
        sr: int = 16000,
        seconds: float = 2.0,
        snr_db: tuple[float, float] = (-5.0, 20.0),
        gain_db: tuple[float, float] = (-12.0, 0.0),
        seed: int = 0,
    ) -> None:
        if not clean_files or not noise_files:
            raise ValueError("MixingDataset needs at least one clean and one noise file")
        self.sr, self.n = sr, int(seconds * sr)
        self.snr_db, self.gain_db, self.seed = snr_db, gain_db, seed
        self.clean = _load_all(clean_files, sr)
        self.noise = _load_all(noise_files, sr)

    def __len__(self) -> int:
        return 10**9  # infinite stream, indexed

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        speech = _crop(self.clean[int(rng.integers(len(self.clean)))], self.n, rng)
        noise = _crop(self.noise[int(rng.integers(len(self.noise)))], self.n, rng)
        snr = rng.uniform(*self.snr_db)
        p_s, p_n = np.mean(speech**2) + 1e-10, np.mean(noise**2) + 1e-10
        noise = noise * np.sqrt(p_s / (p_n * 10 ** (snr / 10)))
        gain = 10 ** (rng.uniform(*self.gain_db) / 20)
        noisy, clean = (speech + noise) * gain, speech * gain
        peak = np.max(np.abs(noisy))
        if peak > 0.99:
            noisy, clean = noisy * 0.99 / peak, clean * 0.99 / peak
        return noisy.astype(np.float32), clean.astype(np.float32)

    def batch(self, step: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``step``: examples ``step * batch_size ...``, stacked ``(batch, samples)``."""
        items = [self[step * batch_size + k] for k in range(batch_size)]
        return np.stack([a for a, _ in items]), np.stack([b for _, b in items])


class PairedDataset(MixingDataset):
    """Fixed pairs from ``DIR/noisy`` + ``DIR/clean`` (same names), cropped at random to ``seconds``."""

    def __init__(
        self, pairs: Sequence[tuple[str | Path, str | Path]], *, sr: int = 16000, seconds: float = 2.0, seed: int = 0
    ) -> None:
        self.sr, self.n, self.seed = sr, int(seconds * sr), seed
        self.pairs = [
            (c, n) for c, n in zip(_load_all([p[0] for p in pairs], sr), _load_all([p[1] for p in pairs], sr))
        ]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        clean, noisy = self.pairs[int(rng.integers(len(self.pairs)))]
        m = min(len(clean), len(noisy))
        start = int(rng.integers(0, max(m - self.n, 0) + 1))
        c = np.pad(clean[start : start + self.n], (0, max(0, self.n - (m - start))))[: self.n]
        x = np.pad(noisy[start : start + self.n], (0, max(0, self.n - (m - start))))[: self.n]
        return x.astype(np.float32), c.astype(np.float32)
