"""Weights and data by name and sha256: one registry file, a local mirror, a verified download cache.

The registry ``setoolkit/assets.tsv`` lists every weight and data file setoolkit knows: its name (path
under a mirror, e.g. ``weights/dpcrn_base/dpcrn_quant.tflite``), sha256, size, official URL and license.
:func:`fetch` resolves a name to a verified local path, looking in this order:

1. each local mirror directory: the ``mirror=`` argument, then ``$SETOOLKIT_MIRROR`` (``os.pathsep``-separated
   list). A mirror holds ``weights/...`` and ``data/...`` as in the registry; the README commands and CI set
   it to ``../shared`` when that folder exists;
2. the user cache (``$SETOOLKIT_CACHE`` or the platform cache dir, e.g. ``~/.cache/setoolkit``);
3. a download from the official URL with pooch into the cache, verified against the sha256.

A file whose hash does not match is refused with an error naming it (tampered or truncated); checkpoints
are only ever loaded from verified paths.

Examples
--------
>>> path = fetch("weights/dpcrn_base/dpcrn_quant.tflite")
>>> pairs = dataset_pairs("vbd16k")     # [(clean_path, noisy_path), ...]
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import AssetError

REGISTRY_FILE = Path(__file__).with_name("assets.tsv")
MIRROR_ENV = "SETOOLKIT_MIRROR"
CACHE_ENV = "SETOOLKIT_CACHE"


@dataclass(frozen=True)
class Asset:
    """One registry row. ``sha256`` may be a published prefix (Demucs names carry 8-16 hex digits) or empty
    (no published hash: such a file is only accepted from a mirror with ``verify=False``)."""

    name: str
    sha256: str
    bytes: int | None
    url: str
    license: str
    source: str


@lru_cache(maxsize=1)
def registry() -> dict[str, Asset]:
    """All assets, by name."""
    with open(REGISTRY_FILE, newline="") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return {r["name"]: Asset(r["name"], r["sha256"], int(r["bytes"]) if r["bytes"] else None, r["url"],
                                 r["license"], r["source"]) for r in rows}


def get(name: str) -> Asset:
    """The registry entry for ``name``; unknown names get an error with close matches."""
    reg = registry()
    if name not in reg:
        import difflib

        close = difflib.get_close_matches(name, list(reg), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise AssetError(f"unknown asset {name!r}{hint}")
    return reg[name]


def mirrors(mirror: str | os.PathLike | None = None) -> list[Path]:
    """Local mirror directories searched first: the argument, then ``$SETOOLKIT_MIRROR``."""
    dirs = [Path(mirror)] if mirror else []
    dirs += [Path(p) for p in os.environ.get(MIRROR_ENV, "").split(os.pathsep) if p]
    return dirs


def cache_dir() -> Path:
    """Download cache: ``$SETOOLKIT_CACHE`` or the user cache dir (``~/.cache/setoolkit`` on Linux)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("setoolkit"))


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file (memoised on path, size and mtime, so repeated loads hash once)."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4096)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(asset: Asset, path: Path) -> Path:
    """Check ``path`` against the asset's sha256 (or published prefix); raise :class:`AssetError` on mismatch."""
    if not asset.sha256:
        raise AssetError(f"{asset.name}: no published sha256 to verify {path} against; "
                         "pass verify=False to use it anyway")
    got = sha256_of(path)
    if not got.startswith(asset.sha256):
        size = path.stat().st_size
        size_note = f" ({size} bytes, expected {asset.bytes})" if asset.bytes and size != asset.bytes else ""
        raise AssetError(f"{asset.name}: checksum mismatch for {path}{size_note}: expected sha256 "
                         f"{asset.sha256}, got {got}. The file is corrupt, truncated or not the official "
                         "release; delete it and fetch again")
    return path


def fetch(name: str, *, mirror: str | os.PathLike | None = None, verify_hash: bool = True,
          download: bool = True) -> Path:
    """Resolve an asset name to a verified local file (mirror, then cache, then official URL)."""
    asset = get(name)
    check = (lambda p: verify(asset, p)) if verify_hash else (lambda p: p)
    for root in mirrors(mirror):
        candidate = root / name
        if candidate.is_file():
            return check(candidate)
    cached = cache_dir() / name
    if cached.is_file():
        return check(cached)
    searched = ", ".join(str(m / name) for m in mirrors(mirror)) or f"no mirror set (${MIRROR_ENV})"
    if not asset.url:
        raise AssetError(f"{name}: not found locally (looked in: {searched}; {cached}) and it has no stable "
                         f"download URL; obtain it from {asset.source} and put it under a folder named by "
                         f"${MIRROR_ENV}")
    if not download:
        raise AssetError(f"{name}: not found locally (looked in: {searched}; {cached}); downloads disabled. "
                         f"Official URL: {asset.url}")
    return _download(asset, cached, check)


def _download(asset: Asset, target: Path, check) -> Path:
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    known = f"sha256:{asset.sha256}" if len(asset.sha256) == 64 else None
    try:
        path = pooch.retrieve(asset.url, known_hash=known, fname=target.name, path=target.parent, progressbar=True)
    except ValueError as exc:  # pooch's hash mismatch
        raise AssetError(f"{asset.name}: downloaded file from {asset.url} failed its checksum ({exc})") from None
    except Exception as exc:  # network errors of every kind
        raise AssetError(f"{asset.name}: cannot download {asset.url} ({type(exc).__name__}: {exc}). Offline? "
                         f"Set ${MIRROR_ENV} to a folder holding {asset.name}") from None
    try:
        return check(Path(path))
    except AssetError:
        Path(path).unlink(missing_ok=True)  # never leave an unverified file in the cache
        raise


# ------------------------------------------------------------------------------------------- datasets


def dataset_files(dataset: str, *, mirror: str | os.PathLike | None = None, subdir: str = "") -> list[Path]:
    """Verified local paths of every registry file under ``data/<dataset>/<subdir>``, sorted by name."""
    prefix = f"data/{dataset}/" + (f"{subdir.strip('/')}/" if subdir else "")
    names = sorted(n for n in registry() if n.startswith(prefix))
    if not names:
        known = sorted({n.split("/")[1] for n in registry() if n.startswith("data/")})
        raise AssetError(f"no dataset files under {prefix!r}; known datasets: {', '.join(known)}")
    return [fetch(n, mirror=mirror) for n in names]


def dataset_pairs(dataset: str, *, mirror: str | os.PathLike | None = None) -> list[tuple[Path, Path]]:
    """``(clean, noisy)`` path pairs of a paired dataset (``clean/`` and ``noisy/`` with matching names)."""
    clean = {p.name: p for p in dataset_files(dataset, mirror=mirror, subdir="clean")}
    noisy = {p.name: p for p in dataset_files(dataset, mirror=mirror, subdir="noisy")}
    common = sorted(set(clean) & set(noisy))
    if not common:
        raise AssetError(f"dataset {dataset!r} has no clean/noisy pairs with matching names")
    return [(clean[n], noisy[n]) for n in common]


def load_torch_checkpoint(path: str | os.PathLike, *, map_location: str = "cpu"):
    """Load a torch checkpoint safely (``weights_only=True``: tensors and plain containers, no code)."""
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise AssetError(f"{path}: not a loadable torch checkpoint ({type(exc).__name__}: {exc})") from None
