"""Build a set from its recipe and a seed: render every planned file, write it with its recipe and checksums.

The folder a build writes (``<out>/<name>/``)::

    noisy/<condition>/<file>.wav       the mixture (what a model gets)
    clean/<condition>/<file>.wav       the target alone (the reference of every intrusive metric)
    interferer/<condition>/<file>.wav  the competing talker (or the babble) alone, as mixed
    noise/talker_noise/<file>.wav      the noise alone, as mixed (talker + noise files only)
    recipe.json                        seed, recipe, sources (registry name, sha256, upstream, license) and, per
                                       file, every source's cut, gain, the SIR/SNR asked for and measured
    SEED                               the seed
    SHA256SUMS                         sha256 of every file above (``sha256sum -c SHA256SUMS`` checks them)

16-bit PCM WAV at 16 kHz; ``noisy = clean + interferer + noise`` up to the 16-bit rounding of each. The same
inputs and seed give bit-identical files. As an evaluation set the folder is an ordinary folder set (``noisy/``
and ``clean/``, keys ``<condition>/<file>.wav``); :func:`built_set` keeps named sets built in the cache.

Examples
--------
>>> folder = make_set("talkers16k", "data", seed=0)     # data/talkers16k/
>>> verify_set(folder)                                  # [] when every file matches SHA256SUMS
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import assets
from ..audio import read, resample, to_mono
from ..errors import SetoolkitError
from .interferers import babble, concatenate, fade, mix, quantize16, segment
from .recipes import DEFAULT_SEED, RECIPE_VERSION, RECIPES, TALKER_NOISE, Entry, TalkerRecipe, plan

RECIPE_FILE, SEED_FILE, SUMS_FILE = "recipe.json", "SEED", "SHA256SUMS"
#: Component folders of a built set, in the order they are written.
PARTS = ("noisy", "clean", "interferer", "noise")


class DatasetError(SetoolkitError, ValueError):
    """A set that cannot be built (unknown name, bad seed, output folder in the way) or does not verify."""


class _Audio:
    """Registry recordings read once, mono, at ``sr`` Hz (float64)."""

    def __init__(self, sr: int, mirror=None) -> None:
        self.sr, self.mirror = sr, mirror
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, asset: str) -> np.ndarray:
        if asset not in self._cache:
            x, sr = read(assets.fetch(asset, mirror=self.mirror))
            self._cache[asset] = resample(to_mono(x)[0], sr, self.sr).astype(np.float64)
        return self._cache[asset]

    def noise(self, noisy: str, clean: str) -> np.ndarray:
        """The noise of a DNS synthetic pair: ``noisy - clean``."""
        return self(noisy) - self(clean)


def render(entry: Entry, audio: _Audio, sr: int) -> dict:
    """The components of one planned file (:func:`~.interferers.mix`'s dict, plus the babble talkers' gains)."""
    n = entry.samples
    target = audio(entry.target["asset"])
    cut = target.size > n
    target = fade(target[:n], sr, start=False) if cut else target
    talkers = []
    for i in entry.interferers:
        src = concatenate([audio(a) for a in i["assets"]], gap=0)
        placed = segment(src, n, i["start"] if src.size >= n else i["placed_at"])
        talkers.append(fade(placed, sr) if src.size > n else placed)
    gains = [1.0]
    interferer = talkers[0] if len(talkers) == 1 else None
    if len(talkers) > 1:
        interferer, gains = babble(talkers, sr)
    noise = None
    if entry.noise is not None:
        noise = segment(audio.noise(*entry.noise["assets"]), n, entry.noise["start"])
    parts = mix(target, interferer, sr=sr, sir_db=entry.sir_db, noise=noise, snr_db=entry.snr_db)
    parts["talker_gains"] = gains
    parts["target_cut"] = cut
    return parts


def _write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), quantize16(x), sr, subtype="PCM_16", format="WAV")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sources(entries: list[Entry]) -> list[dict]:
    used = sorted(
        {e.target["asset"] for e in entries}
        | {a for e in entries for i in e.interferers for a in i["assets"]}
        | {a for e in entries if e.noise for a in e.noise["assets"]}
    )
    reg = assets.registry()
    return [{"asset": a, "sha256": reg[a].sha256, "source": reg[a].source, "license": reg[a].license} for a in used]


def _number(v):
    return None if v is None else float(v)


def _write_set(recipe: TalkerRecipe, seed: int, folder: Path, mirror=None) -> None:
    sr = recipe.sample_rate
    audio = _Audio(sr, mirror)
    entries = plan(recipe, seed, lambda a: audio(a).size)
    files = []
    for e in entries:
        parts = render(e, audio, sr)
        for part in PARTS:
            if part == "noise" and e.condition != TALKER_NOISE:
                continue
            _write_wav(folder / part / e.key, parts[part], sr)
        record = asdict(e)
        for i, g in zip(record["interferers"], parts["talker_gains"]):
            i["talker_gain"] = g
        record["target"]["faded_end"] = parts["target_cut"]
        record["parts"] = [p for p in PARTS if p != "noise" or e.condition == TALKER_NOISE]
        for k in ("target_gain", "interferer_gain", "noise_gain", "peak_scale"):
            record[k] = float(parts[k])
        for k in ("target_level_db", "interferer_level_db", "noise_rms_db", "sir_measured_db", "snr_measured_db"):
            record[k] = _number(parts[k])
        files.append(record)
    doc = {
        "name": recipe.name,
        "description": recipe.description,
        "recipe_version": RECIPE_VERSION,
        "seed": seed,
        "sample_rate": sr,
        "format": "WAV PCM_16, mono",
        "level_method": "ITU-T P.56 method B active speech level (setoolkit.datasets.p56); noise by RMS",
        "recipe": asdict(recipe),
        "sources": _sources(entries),
        "files": files,
    }
    (folder / RECIPE_FILE).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    (folder / SEED_FILE).write_text(f"{seed}\n")
    outputs = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    sums = [f"{sha256_file(folder / rel)}  {rel}" for rel in outputs if rel != SUMS_FILE]
    (folder / SUMS_FILE).write_text("\n".join(sums) + "\n")


def _recipe(name: str | TalkerRecipe) -> TalkerRecipe:
    if isinstance(name, TalkerRecipe):
        return name
    if name not in RECIPES:
        raise DatasetError(f"no set named {name!r}; known: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DatasetError(f"seed={seed!r}: a seed is a non-negative integer")
    return int(seed)


def make_set(name: str | TalkerRecipe, out: str | os.PathLike, *, seed: int = DEFAULT_SEED, mirror=None) -> Path:
    """Build the set ``name`` (a key of :data:`~.recipes.RECIPES`, or a recipe) from ``seed`` into ``out/<name>/``
    and return that folder. An existing folder is replaced only when it is a built set (it has ``recipe.json``);
    any other folder in the way is a :class:`DatasetError`. The build goes to a temporary folder beside it first,
    so the folder is either the old set or the complete new one."""
    recipe, seed = _recipe(name), _check_seed(seed)
    name = recipe.name
    folder = Path(out) / name
    if folder.exists() and not (folder / RECIPE_FILE).is_file():
        raise DatasetError(f"{folder}: exists and is not a built set (no {RECIPE_FILE}); choose another --out")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder.parent))
    try:
        _write_set(recipe, seed, tmp, mirror)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def verify_set(folder: str | os.PathLike) -> list[str]:
    """Problems of a built set against its ``SHA256SUMS`` (missing, changed or unlisted files); ``[]`` if none."""
    folder = Path(folder)
    sums = folder / SUMS_FILE
    if not sums.is_file():
        return [f"{sums}: missing"]
    listed = {}
    for line in sums.read_text().splitlines():
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
    problems = [f"{rel}: missing" for rel in listed if not (folder / rel).is_file()]
    problems += [
        f"{rel}: changed" for rel, d in listed.items() if (folder / rel).is_file() and sha256_file(folder / rel) != d
    ]
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*.wav")}
    problems += [f"{rel}: not in {SUMS_FILE}" for rel in sorted(present - set(listed))]
    return problems


def read_recipe(folder: str | os.PathLike) -> dict:
    """The ``recipe.json`` of a built set."""
    path = Path(folder) / RECIPE_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable recipe ({exc})") from None


def built_set(name: str, *, seed: int = DEFAULT_SEED, root: str | os.PathLike | None = None, mirror=None) -> Path:
    """The folder of the named set built from ``seed`` under ``root`` (default: the cache, ``<cache>/datasets``),
    built when absent, when its recipe version or seed differ, or when a file no longer matches its checksum."""
    seed = _check_seed(seed)
    _recipe(name)
    base = Path(root) if root is not None else assets.cache_dir() / "datasets"
    tag = name if seed == DEFAULT_SEED else f"{name}-seed{seed}"
    folder = base / tag / name
    if (folder / RECIPE_FILE).is_file():
        doc = read_recipe(folder)
        if doc.get("recipe_version") == RECIPE_VERSION and doc.get("seed") == seed and not verify_set(folder):
            return folder
    return make_set(name, folder.parent, seed=seed, mirror=mirror)
