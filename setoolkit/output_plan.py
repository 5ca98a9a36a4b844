"""Where enhanced files go: one input/output policy, checked before any work starts.

The policy (the README states it too):

* an output never overwrites an input: a plan that would write onto any input file (same path, a symlink to
  it, or a hard link) is refused with :class:`~setoolkit.errors.OutputError`, before anything runs;
* outputs never overwrite each other: a folder input is mirrored (``IN/a/x.wav -> OUT/a/x.wav``), files named
  directly go to ``OUT/<name>``, and two inputs that would land on one output are refused, naming both;
* files already under the output folder are never taken as inputs (``enhance DIR -o DIR/enhanced`` run twice
  does not enhance its own results);
* the output folder must be creatable and writable, checked first; each file is written atomically
  (temporary file + rename, :func:`setoolkit.audio.write`) with the permissions the umask gives a new file,
  so a crash, a full disk or a second process writing the same folder never leaves a partial file.

Examples
--------
>>> plan = plan_outputs(["recordings/"], "enhanced/", suffix=".flac")   # [(src, dst), ...]
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import AudioError, OutputError

#: Audio files a folder search picks up.
AUDIO_EXTS = {".wav", ".flac", ".ogg", ".mp3"}


def find_audio(
    paths: Sequence[str | os.PathLike], *, exclude: str | os.PathLike | None = None
) -> list[tuple[Path, Path]]:
    """Audio inputs as ``(file, relative output path)``: folders searched recursively (sorted, relative to the
    folder), files taken as named (relative path = file name). Files under ``exclude`` are skipped.

    Missing paths are kept as files, so :func:`setoolkit.audio.read` names them in its error. ``exclude`` only
    applies below a searched folder (a folder that *is* ``exclude`` is searched, and the plan then refuses it).
    """
    found: list[tuple[Path, Path]] = []
    for p in map(Path, paths):
        if p.is_dir():
            skip = Path(exclude).resolve() if exclude is not None and Path(exclude).resolve() != p.resolve() else None
            for f in sorted(p.rglob("*")):
                if f.suffix.lower() in AUDIO_EXTS and f.is_file() and not _under(f, skip):
                    found.append((f, f.relative_to(p)))
        else:
            found.append((p, Path(p.name)))
    return found


def _under(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` are one file on disk (same path after symlinks, or hard links to one inode)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist
        return False


def check_not_input(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Refuse (before any work) to write ``dst`` when it is the input file ``src`` itself."""
    if same_file(src, dst):
        raise OutputError(
            f"{dst}: refusing to overwrite the input {src}; write to another folder or name "
            "(setoolkit never replaces a recording with its enhanced version)"
        )


def plan_outputs(
    inputs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *, suffix: str | None = None
) -> list[tuple[Path, Path]]:
    """Pair each audio input with its output path under ``out_dir`` and check the whole plan first.

    ``suffix``: output extension (``".flac"``), default the input's. Returns ``[(src, dst), ...]``.
    Raises :class:`AudioError` when no audio is found, :class:`OutputError` when the output folder cannot be
    written, an output would overwrite an input, or two outputs collide.
    """
    out_dir = Path(out_dir)
    found = find_audio(inputs, exclude=out_dir if out_dir.exists() else None)
    if not found:
        raise AudioError(f"no audio files ({', '.join(sorted(AUDIO_EXTS))}) found in {', '.join(map(str, inputs))}")
    plan = [(src, out_dir / (rel.with_suffix(suffix) if suffix else rel)) for src, rel in found]

    by_dst: dict[Path, Path] = {}
    for src, dst in plan:
        key = dst.resolve()
        if key in by_dst and not same_file(by_dst[key], src):
            raise OutputError(
                f"{dst}: two inputs would be written here ({by_dst[key]} and {src}); rename one, "
                "or pass their common parent folder so the tree is mirrored"
            )
        by_dst[key] = src
    sources = [src for src, _ in plan]
    for _, dst in plan:
        for src in sources:
            check_not_input(src, dst)
    ensure_writable_dir(out_dir)
    for folder in sorted({dst.parent for _, dst in plan}):
        ensure_writable_dir(folder)
    return plan


def ensure_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove a file can be created in it; :class:`OutputError` otherwise."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: output folder is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".setoolkit-write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write to the output folder ({exc.strerror or exc})") from None
    return folder
