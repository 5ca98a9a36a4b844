"""Recipes of the built sets: which real recordings they draw on, and the plan of every file, from a seed.

A recipe (:class:`TalkerRecipe`) says what a set holds (conditions, SIRs, counts, length); :func:`plan` turns it
and a seed into one :class:`Entry` per file: which target utterance, which competing talker(s) of other speakers
and which noise, where each is cut, at which SIR/SNR. The plan depends only on the recipe, the seed and the
registry's file lists and lengths, so the same seed always gives the same plan (:mod:`.build` renders it).

Sources (registry datasets, real recordings, all at or resampled to 16 kHz):

* target and competing talkers: VoiceBank-DEMAND test clean speech (speakers p232, p257) and CMU ARCTIC
  (speakers aew, axb and the ``arctic_a*`` speaker); a competing talker is always another speaker than the target;
* babble: Berlin EmoDB, 4 to 6 different speakers per file (22.05 kHz copies, resampled to 16 kHz);
* noise: the DNS Challenge 3 synthetic test pairs' noise, recovered as ``noisy - clean`` (uncorrelated with the
  clean speech: |r| < 0.01 on all five pairs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import assets

#: Conditions of a talker set: one competing talker; babble of several talkers; one competing talker plus noise.
TALKER, BABBLE, TALKER_NOISE = "talker", "babble", "talker_noise"
#: Bump when the generator would render a different file from the same plan (a cached build is then rebuilt).
RECIPE_VERSION = 1
#: Seed of the named sets when none is given.
DEFAULT_SEED = 0


@dataclass(frozen=True)
class TalkerRecipe:
    """What an interfering-talker set holds: ``per_band`` files of one competing talker at each SIR of ``sirs``
    (dB), ``babble_files`` babble files of ``babble_talkers`` (min, max) talkers and ``noise_files`` talker + noise
    files (SIRs cycling through ``sirs``; SNRs from ``snrs``), each at most ``max_seconds`` long, at ``sample_rate``."""

    name: str
    description: str
    sirs: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0)
    per_band: int = 8
    babble_files: int = 8
    babble_talkers: tuple[int, int] = (4, 6)
    noise_files: int = 8
    snrs: tuple[float, ...] = (5.0, 10.0)
    max_seconds: float = 4.0
    sample_rate: int = 16000


RECIPES: dict[str, TalkerRecipe] = {
    r.name: r
    for r in (
        TalkerRecipe(
            "talkers16k",
            "a target talker with a competing talker of another speaker (SIR 0, 5, 10, 15 dB), with babble of 4-6 "
            "EmoDB talkers, and with a competing talker plus DNS noise; 16 kHz, P.56 active levels",
        ),
    )
}


@dataclass(frozen=True)
class Source:
    """One registry recording a set may use: ``asset`` (registry name), ``speaker`` (``None`` for noise)."""

    asset: str
    speaker: str | None


def speaker_of(asset: str) -> str:
    """The speaker of a registry speech file: ``p232`` (VoiceBank), ``aew``/``axb``/``arctic_a`` (CMU ARCTIC),
    ``emodb03`` (EmoDB: the first two digits of the name)."""
    stem = asset.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if asset.startswith("data/vbd16k/"):
        return stem.split("_")[0]
    if asset.startswith("data/arctic/"):
        return stem.split("_")[3] if stem.startswith("cmu_arctic_us_") else "arctic_a"
    if asset.startswith("data/emodb/"):
        return f"emodb{stem[:2]}"
    raise ValueError(f"{asset}: no speaker known for this registry file")


def speech_sources() -> list[Source]:
    """Target and competing-talker recordings: VoiceBank-DEMAND test clean and CMU ARCTIC, sorted by name."""
    names = [n for n in assets.registry() if n.startswith(("data/vbd16k/clean/", "data/arctic/"))]
    return [Source(n, speaker_of(n)) for n in sorted(names)]


def babble_sources() -> dict[str, list[str]]:
    """EmoDB recordings by speaker (``emodb03`` ...), each list sorted by name."""
    out: dict[str, list[str]] = {}
    for n in sorted(n for n in assets.registry() if n.startswith("data/emodb/")):
        out.setdefault(speaker_of(n), []).append(n)
    return out


def noise_sources() -> list[tuple[str, str]]:
    """``(noisy, clean)`` registry names of the DNS3 synthetic pairs whose difference is the noise."""
    names = assets.registry()
    return [
        (n, n.replace("/noisy/", "/clean/"))
        for n in sorted(names)
        if n.startswith("data/dns3_synthetic/noisy/") and n.replace("/noisy/", "/clean/") in names
    ]


@dataclass
class Entry:
    """The plan of one file: ``key`` (``<condition>/<name>.wav``), ``condition``, ``sir_db``, ``snr_db`` (or
    ``None``), ``samples``, the ``target`` cut (asset, speaker, start), the ``interferers`` (each a dict: speaker,
    assets, and ``start`` in the source or ``placed_at`` in the mixture) and the ``noise`` cut (or ``None``)."""

    key: str
    condition: str
    sir_db: float
    snr_db: float | None
    samples: int
    target: dict
    interferers: list[dict] = field(default_factory=list)
    noise: dict | None = None


def _cut(rng: np.random.Generator, source_len: int, n: int) -> dict:
    """Where a source of ``source_len`` samples goes in ``n``: a random ``start`` in it, or a random ``placed_at``."""
    if source_len >= n:
        return {"start": int(rng.integers(0, source_len - n + 1)), "placed_at": 0}
    return {"start": 0, "placed_at": int(rng.integers(0, n - source_len + 1))}


def plan(recipe: TalkerRecipe, seed: int, length: Callable[[str], int]) -> list[Entry]:
    """Every file of ``recipe`` drawn with ``numpy.random.default_rng(seed)``; ``length(asset)`` is a recording's
    length in samples at the recipe's rate (``noisy`` name for a noise pair). Deterministic in its arguments."""
    rng = np.random.default_rng(seed)
    speech, babble_pool, noises = speech_sources(), babble_sources(), noise_sources()
    max_n = int(round(recipe.max_seconds * recipe.sample_rate))
    conditions = (
        [TALKER] * recipe.per_band * len(recipe.sirs)
        + [BABBLE] * recipe.babble_files
        + [TALKER_NOISE] * recipe.noise_files
    )
    if len(conditions) > len(speech):
        raise ValueError(f"{recipe.name}: {len(conditions)} files but only {len(speech)} target utterances")
    targets = [speech[i] for i in rng.permutation(len(speech))[: len(conditions)]]
    entries: list[Entry] = []
    counters: dict[str, int] = {}
    for cond, tgt in zip(conditions, targets):
        j = counters[cond] = counters.get(cond, -1) + 1
        sir = recipe.sirs[j % len(recipe.sirs)]
        snr = recipe.snrs[(j // len(recipe.sirs)) % len(recipe.snrs)] if cond == TALKER_NOISE else None
        n = min(length(tgt.asset), max_n)
        stem = tgt.asset.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        e = Entry(
            f"{cond}/{j:02d}_sir{int(sir):02d}_{stem}.wav",
            cond,
            float(sir),
            snr,
            n,
            {"asset": tgt.asset, "speaker": tgt.speaker, "start": 0},
        )
        if cond in (TALKER, TALKER_NOISE):
            others = [s for s in speech if s.speaker != tgt.speaker]
            other = others[int(rng.integers(0, len(others)))]
            e.interferers.append(
                {"speaker": other.speaker, "assets": [other.asset], **_cut(rng, length(other.asset), n)}
            )
        else:
            k = int(rng.integers(recipe.babble_talkers[0], recipe.babble_talkers[1] + 1))
            speakers = sorted(babble_pool)
            for i in sorted(rng.choice(len(speakers), size=k, replace=False)):
                files = babble_pool[speakers[i]]
                picked = [files[int(f)] for f in rng.choice(len(files), size=3, replace=False)]
                total = sum(length(a) for a in picked)
                e.interferers.append({"speaker": speakers[i], "assets": picked, **_cut(rng, total, n)})
        if cond == TALKER_NOISE:
            noisy, clean = noises[int(rng.integers(0, len(noises)))]
            e.noise = {"assets": [noisy, clean], **_cut(rng, length(noisy), n)}
        entries.append(e)
    return entries
