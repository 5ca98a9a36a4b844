"""The command line's argument checks: each value the CLI takes is checked here, before any work, and a value that
cannot work is one :class:`UsageError` line (exit code 2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import SetoolkitError
from .evaluation.sets import check_limit, resolve_models, resolve_sets

#: Output formats ``enhance --format`` writes (soundfile's names).
OUTPUT_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}


class UsageError(SetoolkitError, ValueError):
    """A command-line value that cannot work, refused before any work (one line, exit code 2)."""


def check_output_format(fmt: str | None, subtype: str | None, plan) -> None:
    """``--format`` and ``--subtype`` valid for every planned output, before the model loads."""
    import soundfile as sf

    if fmt is not None and fmt.lower() not in OUTPUT_FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(OUTPUT_FORMATS)}")
    if subtype is None:
        return
    for _, dst in plan:
        kind = OUTPUT_FORMATS.get(Path(dst).suffix.lower().lstrip("."), Path(dst).suffix.lstrip(".").upper())
        if not sf.check_format(kind, subtype.upper()):
            known = ", ".join(sorted(sf.available_subtypes(kind))) if kind in sf.available_formats() else "none"
            raise UsageError(f"--subtype {subtype!r} cannot be written as {kind} ({dst}); {kind} takes: {known}")


def sets_arg(text: str | None, *, default=None) -> list[str]:
    """The ``--sets`` list, checked (every entry a registry set, folder or pair list) before any work."""
    if text is None:
        if default is None:
            raise UsageError("--sets is required: registry sets (vbd16k...), folders or pair lists (pairs.csv)")
        return list(default)
    entries = [e.strip() for e in text.split(",")]
    if not any(entries):
        raise UsageError(f"--sets {text!r}: no set named")
    if not all(entries):
        raise UsageError(f"--sets {text!r}: an empty entry (two commas, or one at an end)")
    resolve_sets(entries)
    return entries


def models_arg(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    entries = [e.strip() for e in text.split(",")]
    if not all(entries):
        raise UsageError(f"--models {text!r}: an empty entry (two commas, or one at an end)")
    return resolve_models(entries)


def timeout_arg(seconds: float | None) -> float | None:
    if seconds is not None and not 0 < seconds < 1e9:
        raise UsageError(f"--task-timeout {seconds:g}: seconds per task must be a positive number")
    return seconds


def metrics_arg(text: str | None, *, use_dnsmos: bool = True) -> list[str] | None:
    """The ``--metrics`` list, checked before any work (every name a metric, a column of one, or a metric spec)."""
    from .metrics import registry as metric_registry

    if text is None:
        return None
    entries = [e.strip() for e in text.split(",")]
    if not all(entries):
        raise UsageError(f"--metrics {text!r}: an empty entry (two commas, or one at an end)")
    try:
        names = list(metric_registry.resolve(entries))
    except SetoolkitError as exc:
        raise UsageError(f"--metrics: {exc}") from None
    dnsmos = [n for n in entries if metric_registry.key_of(n) in metric_registry.MOS_ALIAS]
    if dnsmos and not use_dnsmos:
        raise UsageError(f"--no-dnsmos contradicts --metrics {','.join(dnsmos)}: drop one of them")
    return names


class HelpFormatter(argparse.HelpFormatter):
    """Fills ``{metrics}`` with the registry's metric names when help is shown (start-up imports no metric)."""

    def _get_help_string(self, action) -> str:
        text = super()._get_help_string(action) or ""
        if "{metrics}" not in text:
            return text
        from .metrics import registry as metric_registry

        return text.replace("{metrics}", metric_registry.help_text().replace("%", "%%"))


def limit_arg(limit: int | None) -> int | None:
    try:
        check_limit(limit)
    except SetoolkitError:
        raise UsageError(f"--limit {limit}: files per set must be a positive integer") from None
    return limit
