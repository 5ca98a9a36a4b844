"""The test folder's secret: what makes stimulus ids, audio file names and completion codes unguessable.

Every test folder holds a random 256-bit key in ``secret.key`` (mode 0600), written when the test is built and
never put in a page or sent to a browser (a server must not serve it). Names are HMAC-SHA256 of the key and
what they name (:func:`opaque`): without the key, a stimulus id or a file name says nothing about the system
behind it, its trial or its position.

Examples
--------
>>> key = test_secret("listening/mushra")                 # read (or, building, created)
>>> opaque(key, "t01", "reference", "id")[:12]           # '3f9c0a...'
>>> completion_code("listening/acr", "worker-17")        # 'K7Q2...' for a crowdsourcing platform
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from .files import atomic_write_bytes

SECRET_FILE = "secret.key"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def test_secret(test_dir: str | os.PathLike, *, create: bool = False) -> str:
    """The hex key in ``test_dir/secret.key``; with ``create``, a new random one is written when absent.
    ``FileNotFoundError`` naming the file otherwise."""
    path = Path(test_dir) / SECRET_FILE
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise ValueError(f"{path}: the test's secret is too short ({len(key)} hex digits)")
        return key
    if not create:
        raise FileNotFoundError(f"{path}: the test folder has no secret (build the test with build_test)")
    key = secrets.token_hex(32)
    atomic_write_bytes(path, (key + "\n").encode("ascii"))
    os.chmod(path, 0o600)
    return key


test_secret.__test__ = False  # type: ignore[attr-defined]


def opaque(key: str, *parts: str) -> str:
    """HMAC-SHA256 (hex) of ``parts`` joined by ``|`` under ``key``."""
    return hmac.new(key.encode("ascii"), "|".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def completion_code(test_dir: str | os.PathLike, listener: str, *, test_id: str = "", length: int = 10) -> str:
    """The completion code of ``listener`` (for a crowdsourcing platform): ``length`` characters of an
    unambiguous alphabet derived from the test's secret, so only the test's owner can make or check one."""
    digest = int(opaque(test_secret(test_dir), "completion", test_id, listener), 16)
    out = []
    for _ in range(length):
        digest, k = divmod(digest, len(_CODE_ALPHABET))
        out.append(_CODE_ALPHABET[k])
    return "".join(out)


def check_completion_code(test_dir: str | os.PathLike, listener: str, code: str, *, test_id: str = "") -> bool:
    """``code`` is ``listener``'s completion code (compared in constant time)."""
    want = completion_code(test_dir, listener, test_id=test_id, length=len(code) or 10)
    return hmac.compare_digest(want, code.strip().upper())
