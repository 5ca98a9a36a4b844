"""Evaluation sets built, not downloaded: interfering-talker sets mixed deterministically from real recordings.

:func:`make_set` renders a named recipe (:data:`RECIPES`) from a seed into a folder with its recipe and
checksums; :func:`built_set` keeps one built in the cache for ``--sets talkers16k``; :func:`active_level` is the
ITU-T P.56 method B active speech level every mixture is levelled with.

Examples
--------
>>> folder = make_set("talkers16k", "data", seed=0)      # data/talkers16k/{noisy,clean,interferer,noise}/...
>>> verify_set(folder)                                   # [] when every file matches its SHA256SUMS
"""

from .build import DatasetError, built_set, make_set, read_recipe, verify_set
from .p56 import active_level, scale_to_level
from .recipes import DEFAULT_SEED, RECIPES

__all__ = [
    "DEFAULT_SEED",
    "RECIPES",
    "DatasetError",
    "active_level",
    "built_set",
    "make_set",
    "read_recipe",
    "scale_to_level",
    "verify_set",
]
