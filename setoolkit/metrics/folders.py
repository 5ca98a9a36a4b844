"""Score a folder of enhanced files: against the clean files with matching names, or alone (non-intrusive
metrics). What ``setoolkit score`` runs.

Examples
--------
>>> score_folders("enhanced/", "clean/", metrics=["pesq_wb", "stoi"])     # pandas DataFrame, one row per file
>>> score_folders("enhanced/", metrics=["dnsmos"])                        # no references needed
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..audio import info
from ..errors import SetoolkitError
from ..output_plan import find_audio
from .scoring import DEFAULT_METRICS, check_lengths, score_files


def twins(clean_dir: Path, enh_dir: Path) -> list[tuple[Path, Path]]:
    """``(clean, enhanced)`` files with matching names (extension aside, subfolders mirrored), their lengths
    checked (a truncated or wrong file is an error before any scoring); files without a twin are named in a
    warning."""
    enhanced = {rel.with_suffix(""): f for f, rel in find_audio([str(enh_dir)])}
    clean = {rel.with_suffix(""): f for f, rel in find_audio([str(clean_dir)])}
    pairs = [(clean[k], enhanced[k]) for k in sorted(clean) if k in enhanced]
    if not pairs:
        raise SetoolkitError(f"no files with matching names in {clean_dir} and {enh_dir}")
    for side, missing in (
        ("clean", sorted(set(clean) - set(enhanced))),
        ("enhanced", sorted(set(enhanced) - set(clean))),
    ):
        if missing:
            other = enh_dir if side == "clean" else clean_dir
            names = ", ".join(str(m) for m in missing[:10]) + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            )
            warnings.warn(f"{len(missing)} {side} file(s) have no twin in {other} and are not scored: {names}")
    for ref, est in pairs:
        r, e = info(ref), info(est)
        check_lengths(
            r["frames"], round(e["frames"] * r["samplerate"] / e["samplerate"]), r["samplerate"], name=str(est)
        )
    return pairs


def score_folders(
    enhanced: str | os.PathLike,
    clean: str | os.PathLike | None = None,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    workers: int | None = None,
    progress: bool = True,
):
    """Every audio file under ``enhanced`` scored with ``metrics``: against its twin under ``clean``, or alone
    when ``clean`` is ``None`` (then every metric must be non-intrusive). Returns a DataFrame, one row per file
    (``file``, ``reference``, ``sr``, the metric columns, ``lag`` with references)."""
    import pandas as pd

    enh_dir, clean_dir = Path(enhanced), Path(clean) if clean is not None else None
    for d in (clean_dir, enh_dir):
        if d is not None and not d.is_dir():
            raise SetoolkitError(f"{d}: not a directory")
    if clean_dir is not None:
        pairs: list = twins(clean_dir, enh_dir)
    else:
        pairs = [(None, f) for f, _ in sorted(find_audio([str(enh_dir)]), key=lambda x: str(x[1]))]
        if not pairs:
            raise SetoolkitError(f"no audio files in {enh_dir}")
    return pd.DataFrame(score_files(pairs, metrics=metrics, workers=workers, progress=progress))
