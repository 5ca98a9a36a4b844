"""Exceptions with messages a researcher can act on.

Every error raised on bad input names the file (or argument) and the problem, so that a batch job
fails loudly at the input instead of deep inside a model.
"""

import signal


class SetoolkitError(Exception):
    """Base class of every error setoolkit raises on purpose."""


class AudioError(SetoolkitError, ValueError):
    """An audio file or array cannot be used: missing, empty, NaN, wrong rank, unsupported format."""


class AssetError(SetoolkitError, OSError):
    """A weight or data file is missing, cannot be downloaded, or fails its checksum."""


class ModelError(SetoolkitError, KeyError):
    """Unknown model name, a model not yet available, or a checkpoint that does not fit its model."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class LayoutError(SetoolkitError, ValueError):
    """A tensor does not have the layout (dims, sizes) a function expects."""


class FeatureError(SetoolkitError, RuntimeError):
    """A feature extractor (openSMILE worker) failed; the message carries the worker's last error output."""


class MetricError(SetoolkitError, ValueError):
    """A metric cannot compare these signals: different lengths, empty input."""


class OutputError(SetoolkitError, OSError):
    """An output path would overwrite an input or another output, or cannot be written."""


class MissingExtraError(SetoolkitError, ImportError):
    """A model or metric needs an optional part of setoolkit that is not installed; the message names the extra
    (``pip install 'setoolkit[torch]'``)."""


class Interrupted(KeyboardInterrupt):
    """:func:`setoolkit.evaluation.evaluate` stopped by SIGINT or SIGTERM: every finished row is kept in the
    store and a rerun resumes (a ``KeyboardInterrupt``, as Ctrl-C is anywhere else).

    ``exit_code`` is the shell's ``128 + signal`` (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, signum: int, kept: int, reused: int, store: object) -> None:
        super().__init__(signum, kept, reused, store)
        self.signum, self.kept, self.reused, self.store = signum, kept, reused, store
        self.exit_code = 128 + signum

    def __str__(self) -> str:
        return (
            f"interrupted by {signal.Signals(self.signum).name}: {self.kept} rows computed in this run and "
            f"{self.reused} reused are kept in {self.store}; rerun the same command to resume"
        )
