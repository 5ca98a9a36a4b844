"""P.808 control stimuli for crowdsourced ACR tests: a trapping stimulus with a known answer and gold clips.

* Trapping stimulus (ITU-T P.808, "trapping questions"): speech, then a series of ``beeps`` short tones; the
  instructions say that a sample ending in beeps is rated with the number of beeps. A worker who does not
  listen cannot know the answer; the beep count comes from the test's secret.
* Gold clips: the clean reference (expected 5, "Excellent") and the reference buried in white noise at
  ``-5`` dB SNR (expected 1, "Bad"); a rating more than one category away fails.

All signals are mono ``(samples,)`` float at ``sr`` Hz, normalised by the caller like every stimulus.

Examples
--------
>>> trap = trap_signal(speech, 16000, beeps=3)          # speech, then three 1 kHz beeps
"""

from __future__ import annotations

import numpy as np

BEEP_HZ, BEEP_S, GAP_S = 1000.0, 0.18, 0.17
#: The gold clips: condition name, expected ACR score, tolerance (categories).
GOLD = {"gold_excellent": (5, 1), "gold_bad": (1, 1)}
GOLD_BAD_SNR_DB = -5.0


def beeps(n: int, sr: int) -> np.ndarray:
    """``n`` beeps (``BEEP_S`` s of ``BEEP_HZ`` Hz, 10 ms ramps, ``GAP_S`` s apart) at 0.3 peak: ``(samples,)``."""
    if not 1 <= n <= 5:
        raise ValueError(f"beeps: n={n} must be 1..5 (an ACR answer)")
    t = np.arange(int(BEEP_S * sr)) / sr
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    one = np.concatenate([0.3 * np.sin(2 * np.pi * BEEP_HZ * t) * ramp, np.zeros(int(GAP_S * sr))])
    return np.tile(one, n)


def trap_signal(speech: np.ndarray, sr: int, n_beeps: int) -> np.ndarray:
    """``speech`` shortened so that it and ``n_beeps`` beeps (after 0.3 s of silence) last as long as it did."""
    tail = np.concatenate([np.zeros(int(0.3 * sr)), beeps(n_beeps, sr)])
    keep = max(len(speech) - len(tail), int(0.5 * sr))
    return np.concatenate([speech[:keep], tail]).astype(np.float32)


def gold_bad(reference: np.ndarray, *, seed: int, snr_db: float = GOLD_BAD_SNR_DB) -> np.ndarray:
    """``reference`` plus white noise at ``snr_db`` dB SNR (seeded): an unmistakably bad clip."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, reference.shape)
    p = np.mean(reference**2) or 1e-12
    noise *= np.sqrt(p / np.mean(noise**2)) * 10 ** (-snr_db / 20)
    return (reference + noise).astype(np.float32)
