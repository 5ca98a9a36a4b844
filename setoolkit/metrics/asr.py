"""Word and character error rates ``wer`` / ``cer`` of an offline English ASR on the enhanced speech.

Enhancement that lifts PESQ can still damage what a recogniser hears; these two columns show it. The recogniser is
CMU PocketSphinx (``pocketsphinx`` 5, its wheel bundles the US-English acoustic model, dictionary and language
model, so it runs offline) with its default configuration; the error rates are ``jiwer``'s, on text normalised by
:func:`normalize`. PocketSphinx is a small HMM recogniser: its absolute WER on clean read speech is high (about
10-40 %), so read ``wer`` as the change against the noisy input, not as an absolute accuracy.

Reference text, in this order:

1. a transcript the set gives: a file ``transcripts.csv`` in the set's folder (beside ``clean/``) or inside
   ``clean/``, UTF-8, with a header row and the columns ``file`` and ``text``; ``file`` is the clean file's name
   (``p232_001.wav``), its stem (``p232_001``) or its path relative to ``clean/`` (``a/x.wav``); one row per
   file; write numbers as words, as they are spoken (see :func:`normalize`). :func:`transcript_for` finds it;
2. else a published transcript setoolkit ships for that exact recording (matched by the sha256 of its bytes, so
   a file that merely shares a name never gets one): the VCTK texts of the VoiceBank-DEMAND test files and the
   CMU ARCTIC prompts of the sample recordings (:data:`SHIPPED`; sources and licences in its ``SOURCES.md``);
3. else the same recogniser's transcript of the clean file: the column then measures how far the estimate's
   recognition is from the clean file's recognition, and the report labels it "vs the clean file's transcript".

When files are scored (:func:`setoolkit.evaluation.evaluate`, ``setoolkit score``), the records below read the
transcript through their ``annotation`` (:func:`transcript_for` of the clean file): it reaches ``wer``/``cer`` and
enters the content key of that file's rows, so an edited transcript recomputes exactly the rows it concerns.

Text normalisation (:func:`normalize`), applied to both texts: Unicode NFKC, lower case; every character that is
not a letter, a digit, an apostrophe or white space becomes a space (so hyphens and punctuation split or vanish);
apostrophes are kept inside words (``don't``) and dropped at word edges (quotes); white space collapses. Numbers
stay as written: ``"12"`` is not ``"twelve"`` (PocketSphinx writes words).

Audio goes to the recogniser as 16 kHz 16-bit PCM (other rates resampled with soxr first, samples rounded to
int16 as a 16-bit wav file holds them). Transcripts are memoised on those samples, so ``wer`` and ``cer`` of one
pair decode it once, and a clean file is decoded once however many models are scored against it.

Examples
--------
>>> wer(clean, noisy, 16000)                                    # vs the clean file's transcript
>>> wer(clean, noisy, 16000, transcript="author of the danger trail philip steels etc")
>>> normalize("Don't stop -- it's 12 o'clock!")
"don't stop it's 12 o'clock"
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import assets
from ..audio import resample
from ..errors import MetricError
from ..registry import require_extras
from .pairs import equal_length, is_silent
from .registry import Metric

#: The rate the en-us model works at (Hz).
RATE = 16000
#: File name of a set's transcripts (columns ``file``, ``text``).
TRANSCRIPTS = "transcripts.csv"
#: How the report labels a column whose reference is the recogniser's transcript of the clean file.
ASR_REFERENCE_NOTE = "vs the clean file's transcript"
#: How it labels a column whose reference is a written transcript (the set's, or a shipped one).
TRANSCRIPT_NOTE = "vs the written transcript"
#: The published transcripts setoolkit ships (``file,sha256,text`` tables; ``SOURCES.md`` beside them).
SHIPPED = Path(__file__).parent / "transcripts"

_NOT_WORD = re.compile(r"[^\w\s']|_")
_EDGE_APOSTROPHES = re.compile(r"(?<!\w)'+|'+(?!\w)")


class TranscriptMemo:
    """The last ``size`` transcripts by key (a hash of the samples a recogniser heard), and one lock around each
    decode (a recogniser's decoder is not thread-safe): ``get(key, decode)`` decodes only an unseen key."""

    def __init__(self, size: int = 1024) -> None:
        self.size, self._lock, self._texts = size, threading.Lock(), OrderedDict[str, str]()

    def get(self, key: str, decode: Callable[[], str]) -> str:
        with self._lock:
            if key in self._texts:
                self._texts.move_to_end(key)
                return self._texts[key]
            text = self._texts[key] = decode()
            while len(self._texts) > self.size:
                self._texts.popitem(last=False)
        return text

    def clear(self) -> None:
        with self._lock:
            self._texts.clear()


_memo = TranscriptMemo()


def normalize(text: str) -> str:
    """The text both sides are compared on: NFKC, lower case, punctuation and symbols to spaces, apostrophes kept
    only inside words, single spaces. Numbers are kept as written.

    Examples
    --------
    >>> normalize("  Hello,   World -- 'quoted' it's 3.5%  ")
    "hello world quoted it's 3 5"
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = _NOT_WORD.sub(" ", text)
    text = _EDGE_APOSTROPHES.sub(" ", text)
    return " ".join(text.split())


def error_rates(reference: str, hypothesis: str) -> dict[str, float]:
    """``{"wer": ..., "cer": ...}`` of ``hypothesis`` against ``reference`` (both through :func:`normalize`),
    as ``jiwer.wer`` and ``jiwer.cer`` compute them: (substitutions + deletions + insertions) / reference words
    (characters, spaces included). 0 is perfect; above 1 is possible (insertions). NaN when the normalised
    reference is empty."""
    require_extras(["asr"], "the wer metric (and cer)")
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return {"wer": math.nan, "cer": math.nan}
    return {"wer": float(jiwer.wer(ref, hyp)), "cer": float(jiwer.cer(ref, hyp))}


@lru_cache(maxsize=1)
def _decoder():
    require_extras(["asr"], "the wer metric (and cer)")
    from pocketsphinx import Decoder

    return Decoder(loglevel="FATAL")  # the default en-us model, dictionary and language model of the wheel


def pcm16(x: np.ndarray, sr: int) -> np.ndarray:
    """The recogniser's input: ``x`` ``(samples,)`` at ``sr`` Hz as 16 kHz int16 ``(samples',)`` (soxr
    resampling when ``sr`` differs, then ``round(x * 32768)`` clipped to the int16 range)."""
    y = np.asarray(x, dtype=np.float32)
    if sr != RATE:
        y = resample(y, sr, RATE)
    return np.clip(np.round(y.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def transcribe(x: np.ndarray, sr: int) -> str:
    """PocketSphinx's transcript (lower-case words, no punctuation; ``""`` when it hears nothing) of a mono
    signal ``(samples,)`` at ``sr`` Hz, decoded as one utterance. Memoised on the 16 kHz PCM samples.

    Every decode starts from the decoder's initial feature state, so it equals a fresh ``Decoder()``'s: PocketSphinx
    otherwise starts each utterance from the cepstral mean of the one before, and the same file's transcript
    would depend on what was decoded first (measured: "up if they dumped" alone, "poop" after itself)."""
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    pcm = pcm16(x, sr)
    return _memo.get(hashlib.sha1(pcm.tobytes()).hexdigest(), lambda: _decode(pcm))


def _decode(pcm: np.ndarray) -> str:
    decoder = _decoder()
    decoder.reinit_feat()  # forget the cepstral mean of the previous utterance: each decode as a fresh Decoder's
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def _scores(ref, est, sr: int, transcript: str | None) -> dict[str, float]:
    ref, est = equal_length(ref, est)
    if transcript is None:
        if is_silent(ref):
            return {"wer": math.nan, "cer": math.nan}
        transcript = transcribe(ref, sr)
    return error_rates(transcript, transcribe(est, sr))


def wer(ref, est, sr: int, *, transcript: str | None = None) -> float:
    """Word error rate (0 is perfect, lower is better) of PocketSphinx on ``est``.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding, see :mod:`.pairs`).
    sr : int
        Sample rate in Hz; resampled to 16 kHz for the recogniser.
    transcript : str, optional
        What the clean file says (from the set's ``transcripts.csv``, :func:`transcript_for`); when ``None``, the
        recogniser's transcript of ``ref`` is the reference ("vs the clean file's transcript").

    Returns
    -------
    float
        ``jiwer.wer`` of the normalised texts; NaN when the reference text is empty (nothing recognised in the
        clean file, or an all-zero one).

    Examples
    --------
    >>> wer(clean, noisy, 16000, transcript=transcript_for(clean_path))
    """
    return _scores(ref, est, sr, transcript)["wer"]


def cer(ref, est, sr: int, *, transcript: str | None = None) -> float:
    """Character error rate (spaces included; lower is better) of PocketSphinx on ``est``; as :func:`wer`."""
    return _scores(ref, est, sr, transcript)["cer"]


@lru_cache(maxsize=64)
def _read_transcripts_cached(path: str, mtime_ns: int, size: int) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"file", "text"} <= set(reader.fieldnames):
            raise MetricError(f"{path}: a transcripts file needs a header row with the columns file,text")
        table: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            name = (row["file"] or "").strip()
            if not name:
                raise MetricError(f"{path}, line {line}: empty file name")
            if name in table:
                raise MetricError(f"{path}, line {line}: {name!r} is listed twice")
            table[name] = row["text"] or ""
    return table


def read_transcripts(path: str | Path) -> dict[str, str]:
    """The ``file -> text`` table of a ``transcripts.csv`` (see the module docstring); a missing column, an
    empty name or a name listed twice is a :class:`MetricError` naming the file and line."""
    st = Path(path).stat()
    return dict(_read_transcripts_cached(str(Path(path).resolve()), st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=1)
def shipped_transcripts() -> dict[str, str]:
    """``{sha256 of a clean recording: its published text}`` from the tables in :data:`SHIPPED` (columns
    ``file``, ``sha256``, ``text``; ``file`` says which recording of the sample data it is)."""
    table: dict[str, str] = {}
    for path in sorted(SHIPPED.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                table[row["sha256"]] = row["text"]
    return table


def transcript_for(clean_path: str | Path) -> str | None:
    """The written transcript of the clean file ``clean_path``, or ``None`` when there is none.

    First the set's ``transcripts.csv``: looked for in the folder above ``clean/`` (the set's folder) and in
    ``clean/`` itself (any depth: the file ``clean/a/x.wav`` is found under ``a/x.wav``, ``x.wav`` or ``x``); then
    the published transcripts setoolkit ships, for a file whose bytes are those of a known recording
    (:func:`shipped_transcripts`)."""
    clean_path = Path(clean_path)
    given = _set_transcript(clean_path)
    if given is not None:
        return given
    known = shipped_transcripts()
    return known.get(assets.sha256_of(clean_path)) if known and clean_path.is_file() else None


def _set_transcript(clean_path: Path) -> str | None:
    parents = list(clean_path.parents)
    clean_dirs = [p for p in parents if p.name == "clean"]
    root = clean_dirs[0] if clean_dirs else clean_path.parent
    for folder in (root.parent, root) if clean_dirs else (root,):
        table_path = folder / TRANSCRIPTS
        if table_path.is_file():
            table = read_transcripts(table_path)
            rel = clean_path.relative_to(root).as_posix()
            for key in (rel, clean_path.name, clean_path.stem):
                if key in table:
                    return table[key]
    return None


def reference_note(clean_paths) -> str:
    """What the ``wer``/``cer`` of rows with these clean files were measured against, in words: "vs the written
    transcript" (every file has one), "vs the clean file's transcript" (none has, or the paths are unknown), or
    both with counts ("vs the written transcript (40 of 44 files), else the clean file's transcript")."""
    paths = [p for p in dict.fromkeys(str(p) for p in clean_paths if isinstance(p, (str, Path)) and str(p))]
    found = sum(1 for p in paths if Path(p).is_file() and transcript_for(p) is not None)
    if not paths or found == 0:
        return ASR_REFERENCE_NOTE
    if found == len(paths):
        return TRANSCRIPT_NOTE
    return f"{TRANSCRIPT_NOTE} ({found} of {len(paths)} files), else the clean file's transcript"


#: The two metrics' records (:mod:`setoolkit.metrics.registry`). Their reference text is the clean file's written
#: transcript where one is found (``annotation``: :func:`transcript_for`; the key of each row carries it), else the
#: clean file's own recognition: :func:`reference_note` says which, and the report prints it beside the columns.
#: ``wer`` decodes both signals (0.87 CPU-seconds per audio-second measured); ``cer`` of the same pair reuses
#: the memoised transcripts.
def _record(name: str, rate_of, cost: float) -> Metric:
    """The record of one of the two rates: ``rate_of`` is :func:`wer` or :func:`cer`."""
    return Metric(
        name=name,
        compute=lambda ref, est, sr, annotation=None: rate_of(ref, est, sr, transcript=annotation),
        label=name.upper(),
        unit="fraction",
        higher_is_better=False,
        digits=3,
        rate=RATE,
        extra="asr",
        libraries=("pocketsphinx", "jiwer"),
        cost=cost,
        load=lambda: _decoder(),
        annotation=transcript_for,
    )


METRICS = (_record("wer", wer, 2.6), _record("cer", cer, 0.05))
