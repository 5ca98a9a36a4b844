"""Invitations to a served listening test: one secret token per listener, one for the admin.

The tokens live in the test folder, ``TEST_DIR/invitations.json`` (mode 0600, written atomically), never in
a page and never served (the server serves only the files of the test's manifest). A token is 32 URL-safe
characters from :func:`secrets.token_urlsafe` (192 bits). :meth:`Invitations.listener_for` and
:meth:`Invitations.is_admin` compare a presented token with every stored one through
:func:`hmac.compare_digest`, so the time a comparison takes says nothing about how much of a token was right.

Examples
--------
>>> inv = invite("listening/mushra", n=20)            # 20 new listeners L01..L20 (and the admin token)
>>> inv.listener_for(token)                           # "L07", or None
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_write_json

try:
    import fcntl
except ImportError:  # no flock (Windows): invitations made by one process at a time
    fcntl = None  # type: ignore[assignment]

INVITATIONS_FILE = "invitations.json"
INVITATIONS_FORMAT = "setoolkit-listening-invitations/1"
#: Listener ids given to invitations: letters, digits, ``_ . -``, at most 40 characters.
LISTENER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
#: The most invitations one call makes.
MAX_INVITES = 1000
_WRITE_LOCK = threading.Lock()


def new_token() -> str:
    """A fresh secret token: 32 URL-safe characters (192 random bits)."""
    return secrets.token_urlsafe(24)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@dataclass(frozen=True)
class Invitations:
    """The invitations of one test: ``admin`` token, ``listeners`` ``{listener id: token}``, ``created``
    ``{listener id: ISO time}``."""

    test_id: str
    admin: str
    listeners: dict[str, str]
    created: dict[str, str]

    def listener_for(self, token: str | None) -> str | None:
        """The listener invited with ``token`` (every stored token compared in constant time), or None."""
        found = None
        if not token:
            return None
        for listener, stored in self.listeners.items():
            if _same(stored, token):
                found = listener
        return found

    def is_admin(self, token: str | None) -> bool:
        """Whether ``token`` is the admin token (constant-time comparison)."""
        return bool(token) and _same(self.admin, token or "")

    def to_dict(self) -> dict:
        return {
            "format": INVITATIONS_FORMAT,
            "test_id": self.test_id,
            "admin": self.admin,
            "listeners": [
                {"listener": k, "token": v, "created": self.created.get(k, "")} for k, v in self.listeners.items()
            ],
        }


def invitations_path(test_dir: str | os.PathLike) -> Path:
    return Path(test_dir) / INVITATIONS_FILE


def load_invitations(test_dir: str | os.PathLike, test_id: str) -> Invitations:
    """The invitations of the test in ``test_dir`` (none yet: a fresh admin token, no listener, not written)."""
    path = invitations_path(test_dir)
    if not path.exists():
        return Invitations(test_id, new_token(), {}, {})
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        listeners = {e["listener"]: e["token"] for e in d["listeners"]}
        created = {e["listener"]: e.get("created", "") for e in d["listeners"]}
        admin = d["admin"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a readable invitations file ({exc})") from exc
    if d.get("format") != INVITATIONS_FORMAT:
        raise ValueError(f"{path}: format {d.get('format')!r}, expected {INVITATIONS_FORMAT!r}")
    if d.get("test_id") != test_id:
        raise ValueError(
            f"{path}: the invitations are for test {d.get('test_id')!r}, not for {test_id!r} (the test was rebuilt: "
            f"move the old invitations.json away and invite again)"
        )
    return Invitations(test_id, admin, listeners, created)


def save_invitations(test_dir: str | os.PathLike, inv: Invitations) -> Path:
    """Write ``inv`` to ``test_dir/invitations.json`` atomically, readable by its owner only."""
    path = atomic_write_json(invitations_path(test_dir), inv.to_dict())
    os.chmod(path, 0o600)
    return path


@contextlib.contextmanager
def _writing(test_dir: str | os.PathLike) -> Iterator[None]:
    """The invitations' write lock: threads of this process, and other processes where there is ``flock`` (a
    ``setoolkit listen invite`` beside a running server's admin action)."""
    with _WRITE_LOCK:
        if fcntl is None:
            yield
            return
        with open(Path(test_dir) / ".invitations.lock", "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _next_ids(existing: Sequence[str], n: int, prefix: str = "L") -> list[str]:
    numbers = [int(m.group(1)) for e in existing if (m := re.fullmatch(rf"{prefix}(\d+)", e))]
    start = max(numbers, default=0) + 1
    width = max(2, len(str(start + n - 1)))
    return [f"{prefix}{k:0{width}d}" for k in range(start, start + n)]


def invite(
    test_dir: str | os.PathLike, test_id: str, n: int = 0, *, names: Sequence[str] = ()
) -> tuple[Invitations, list[str]]:
    """Add ``n`` listeners (ids ``L01``, ``L02``... after the existing ones) and/or the listeners ``names``
    to the invitations of ``test_dir``; write them (the admin token too). Returns (all invitations, the new
    listener ids). A name already invited, or not a :data:`LISTENER_ID`, is refused (``ValueError``)."""
    if not 0 <= n <= MAX_INVITES:
        raise ValueError(f"invite: n={n} listeners; give 0 to {MAX_INVITES}")
    with _writing(test_dir):
        inv = load_invitations(test_dir, test_id)
        for name in names:
            if not LISTENER_ID.match(name):
                raise ValueError(f"invite: listener id {name!r}: use letters, digits, '_', '.', '-' (at most 40)")
            if name in inv.listeners:
                raise ValueError(f"invite: listener {name!r} is already invited")
        if len(set(names)) != len(names):
            raise ValueError(f"invite: a listener id is given twice in {list(names)}")
        new = list(names) + _next_ids([*inv.listeners, *names], n)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        taken = {inv.admin, *inv.listeners.values()}
        tokens = {}
        for listener in new:
            token = new_token()
            while token in taken:  # 192 random bits: never in practice
                token = new_token()
            taken.add(token)
            tokens[listener] = token
        out = Invitations(test_id, inv.admin, {**inv.listeners, **tokens}, {**inv.created, **dict.fromkeys(new, now)})
        save_invitations(test_dir, out)
    return out, new


def ensure_invitations(test_dir: str | os.PathLike, test_id: str) -> Invitations:
    """The invitations of ``test_dir``, written first (with a fresh admin token) when there are none."""
    if not invitations_path(test_dir).exists():
        return invite(test_dir, test_id, 0)[0]
    return load_invitations(test_dir, test_id)
