"""What a user model's build reads: the modules it imports and the files it opens, outside installed packages.

A model spec's content key must change when anything its output depends on changes: the spec file, a helper
module next to it, a sibling package, a checkpoint it loads without declaring it in ``weights=``. :func:`recording`
watches a block of code (importing the spec's file, calling its build function) through a Python audit hook
(``sys.addaudithook``: the ``open`` event of every file opened for reading) and through ``sys.modules`` (modules
that appear during the block), and :func:`user_files` keeps the files that are not part of Python or of an
installed package (their versions are in the key already). :func:`module_closure` adds the user modules a spec
module refers to that were imported before the block (a helper shared by two specs in one process).

Files opened by native code (an ONNX Runtime session reading its file in C++) are not seen: such files are the
ones the adapters take as ``weights=`` and hash themselves.

Examples
--------
>>> with recording() as seen:
...     model = build()
>>> user_files(seen.files)
['/home/me/project/helpers.py', '/home/me/project/ckpt.pt']
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

_LOCK = threading.Lock()
_ACTIVE: list[Reads] = []
_HOOKED = False


@dataclass
class Reads:
    """Paths opened for reading and module names imported while :func:`recording` was active."""

    files: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)


def _hook(event: str, args: tuple) -> None:
    if not _ACTIVE or event != "open":
        return
    path, mode = args[0], args[1]
    if isinstance(path, int) or path is None:
        return
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return
    if not isinstance(mode, str) and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR):
        return
    try:
        text = os.fsdecode(path)
    except (TypeError, ValueError):
        return
    for reads in _ACTIVE:
        reads.files.add(text)


@contextmanager
def recording() -> Iterator[Reads]:
    """Record the files opened for reading and the modules imported inside the ``with`` block (this process)."""
    global _HOOKED
    with _LOCK:
        if not _HOOKED:
            sys.addaudithook(_hook)  # cannot be removed: it returns at once while nothing records
            _HOOKED = True
    reads = Reads()
    before = set(sys.modules)
    _ACTIVE.append(reads)
    try:
        yield reads
    finally:
        _ACTIVE.remove(reads)
        reads.modules |= set(sys.modules) - before


def _installed_roots() -> tuple[str, ...]:
    """Folders of Python itself and of installed packages (site-packages, the standard library, setoolkit)."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots |= {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parent)}
    return tuple(str(Path(r).resolve()) + os.sep for r in roots if r)


def is_user_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file outside Python, installed packages, setoolkit and the system folders."""
    try:
        p = Path(path).resolve()
    except (OSError, RuntimeError):
        return False
    text = str(p)
    if text.startswith(("/dev/", "/proc/", "/sys/", "/etc/", "/usr/", "/lib", "/tmp/torchinductor")):
        return False
    return p.is_file() and not text.startswith(_installed_roots())


def module_file(module: ModuleType | None) -> str | None:
    """The source file of ``module`` when it is a user file (see :func:`is_user_file`), else ``None``."""
    f = getattr(module, "__file__", None)
    return str(Path(f).resolve()) if f and is_user_file(f) else None


def module_closure(module: ModuleType) -> set[str]:
    """Names of the user modules ``module`` refers to (module objects, and the modules of the functions and
    classes in its namespace), followed through each user module found; ``module`` itself included."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        m = todo.pop()
        if m.__name__ in seen:
            continue
        seen.add(m.__name__)
        for value in list(vars(m).values()):
            ref = value if isinstance(value, ModuleType) else sys.modules.get(getattr(value, "__module__", "") or "")
            if isinstance(ref, ModuleType) and ref.__name__ not in seen and module_file(ref):
                todo.append(ref)
    return seen


def user_files(files: Iterable[str], modules: Iterable[str] = ()) -> list[str]:
    """Sorted resolved paths of the user files among ``files`` and among the source files of ``modules``."""
    out = {str(Path(f).resolve()) for f in files if is_user_file(f)}
    out |= {f for m in modules if (f := module_file(sys.modules.get(m)))}
    return sorted(out)


def forget_modules(files: Iterable[str]) -> None:
    """Drop from ``sys.modules`` the modules loaded from ``files`` (so an edited helper is imported afresh)."""
    wanted = {str(Path(f).resolve()) for f in files}
    for name, m in list(sys.modules.items()):
        if module_file(m) in wanted:
            del sys.modules[name]
