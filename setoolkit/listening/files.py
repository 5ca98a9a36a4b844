"""Atomic file writes and content hashes for test folders and result files.

A write goes to a uniquely named temporary file in the destination folder, is flushed to disk, then renamed
over the destination (:func:`os.replace`, atomic on POSIX and Windows): a reader sees the old or the new
file, never a partial one, and two writers never share a temporary file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (unique temp name in the same folder + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (NaN refused) to ``path`` atomically."""
    text = json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False, sort_keys=True)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 hex digest of the file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
