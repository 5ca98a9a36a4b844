"""Emotional speech corpora as tidy tables: one row per utterance (path, corpus, speaker, emotion, ...).

CREMA-D (Cao et al., IEEE Trans. Affective Computing 2014): 7,442 clips of 91 actors (48 male, 43 female,
ages 20-74) saying 12 sentences in six emotions. File names read ``ActorID_Sentence_Emotion_Level.wav``,
e.g. ``1001_DFA_ANG_XX.wav``: actor 1001-1091, sentence code (``IEO``, ``TIE``, ``IOM``, ``IWW``, ``TAI``,
``MTI``, ``IWL``, ``ITH``, ``DFA``, ``ITS``, ``TSI``, ``WSI``), emotion (``ANG`` anger, ``DIS`` disgust, ``FEA``
fear, ``HAP`` happy, ``NEU`` neutral, ``SAD`` sad), level (``LO``, ``MD``, ``HI``, or ``XX`` unspecified).
Licence: Open Database License (ODbL 1.0) with the Database Contents License.

Getting CREMA-D (its audio is kept in Git LFS, so a plain clone gives pointer files, not audio)::

    git lfs install
    git clone https://github.com/CheyneyComputerScience/CREMA-D.git   # ~ 600 MB of WAV in AudioWAV/
    export SETOOLKIT_CREMAD=$PWD/CREMA-D/AudioWAV

The same 16 kHz WAV files are also distributed by TensorFlow Datasets (``crema_d``) and mirrored on Kaggle
("CREMA-D"); any folder holding the original file names works.

Berlin EmoDB (Burkhardt et al., Interspeech 2005): 535 German utterances of 10 actors (speakers 03 08 09 10
11 12 13 14 15 16), names like ``03a01Fa.wav``: speaker (2 digits), sentence (3 characters), emotion (6th
character: ``W`` anger (Wut), ``L`` boredom (Langeweile), ``E`` disgust (Ekel), ``A`` fear (Angst),
``F`` happiness (Freude), ``T`` sadness (Trauer), ``N`` neutral), version letter.

Examples
--------
>>> table = load_emodb()                                   # registry files data/emodb (mirror/cache)
>>> six = table[table.emotion.isin(CREMAD_CLASSES)]        # the classes the two corpora share
>>> audio = load_audio(six, sr=16000, seconds=2.0)         # (utterances, 32000) float32
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..assets import dataset_files
from ..audio import fit_length, read, resample, to_mono
from ..errors import AssetError

#: The six emotions of CREMA-D, in the order used for labels and confusion matrices.
CREMAD_CLASSES = ("anger", "disgust", "fear", "happiness", "neutral", "sadness")
#: EmoDB's seven: CREMA-D's six plus boredom.
EMODB_CLASSES = ("anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness")

CREMAD_EMOTIONS = {
    "ANG": "anger",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happiness",
    "NEU": "neutral",
    "SAD": "sadness",
}
CREMAD_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
CREMAD_LEVELS = ("LO", "MD", "HI", "XX")
EMODB_EMOTIONS = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
#: Sex of the ten EmoDB speakers (from the corpus documentation).
EMODB_SEX = {
    "03": "m",
    "08": "f",
    "09": "f",
    "10": "m",
    "11": "m",
    "12": "m",
    "13": "f",
    "14": "f",
    "15": "m",
    "16": "f",
}

COLUMNS = ("path", "corpus", "speaker", "emotion", "sentence", "level", "sex")

_CREMAD_RE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_EMODB_RE = re.compile(r"^(\d{2})([a-z]\d{2})([A-Z])([a-z])$")

CREMAD_HELP = (
    "CREMA-D is not bundled (licence ODbL 1.0; audio kept in Git LFS): `git lfs install && git clone "
    "https://github.com/CheyneyComputerScience/CREMA-D.git`, then pass root=.../CREMA-D/AudioWAV or set "
    "SETOOLKIT_CREMAD to that folder"
)


class DatasetError(AssetError):
    """A corpus folder is missing, empty, or holds files that do not follow the corpus' naming scheme."""


def _name_fields(pattern: re.Pattern, name: str, what: str) -> tuple[str, ...]:
    """The groups of ``pattern`` matched on the stem of ``name``; a :class:`DatasetError` "<name>: not <what>"."""
    m = pattern.match(Path(name).stem)
    if not m:
        raise DatasetError(f"{name}: not {what}")
    return m.groups()


def parse_cremad_name(name: str) -> dict:
    """Fields of a CREMA-D file name (``1001_DFA_ANG_XX.wav`` or its stem).

    Returns ``{"speaker": "1001", "sentence": "DFA", "emotion": "anger", "level": "XX"}``; raises
    :class:`DatasetError` naming the file and the field that does not fit.
    """
    actor, sentence, emo, level = _name_fields(
        _CREMAD_RE, name, "a CREMA-D file name (expected ActorID_Sentence_Emotion_Level, e.g. 1001_DFA_ANG_XX.wav)"
    )
    if not 1001 <= int(actor) <= 1091:
        raise DatasetError(f"{name}: actor {actor} outside CREMA-D's 1001..1091")
    if sentence not in CREMAD_SENTENCES:
        raise DatasetError(f"{name}: unknown sentence code {sentence!r}; CREMA-D has {', '.join(CREMAD_SENTENCES)}")
    if emo not in CREMAD_EMOTIONS:
        raise DatasetError(f"{name}: unknown emotion code {emo!r}; CREMA-D has {', '.join(CREMAD_EMOTIONS)}")
    if level not in CREMAD_LEVELS:
        raise DatasetError(f"{name}: unknown intensity level {level!r}; CREMA-D has {', '.join(CREMAD_LEVELS)}")
    return {"speaker": actor, "sentence": sentence, "emotion": CREMAD_EMOTIONS[emo], "level": level}


def parse_emodb_name(name: str) -> dict:
    """Fields of an EmoDB file name (``03a01Fa.wav``): ``{"speaker": "03", "sentence": "a01",
    "emotion": "happiness", "level": "a"}`` (``level`` holds the version letter)."""
    speaker, sentence, emo, version = _name_fields(
        _EMODB_RE, name, "an EmoDB file name (expected e.g. 03a01Fa.wav: speaker, sentence, emotion letter, version)"
    )
    if emo not in EMODB_EMOTIONS:
        raise DatasetError(f"{name}: unknown emotion letter {emo!r}; EmoDB has {', '.join(EMODB_EMOTIONS)}")
    return {"speaker": speaker, "sentence": sentence, "emotion": EMODB_EMOTIONS[emo], "level": version}


def _wav_files(root: Path, corpus: str, help_text: str) -> list[Path]:
    if not root.exists():
        raise DatasetError(f"{corpus} folder {root} does not exist. {help_text}")
    if not root.is_dir():
        raise DatasetError(f"{corpus} path {root} is not a folder. {help_text}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".wav", ".flac") and p.is_file())
    if not files:
        raise DatasetError(f"{corpus} folder {root} holds no .wav/.flac files. {help_text}")
    return files


def _check_not_lfs_pointer(path: Path, help_text: str) -> None:
    """Git LFS leaves ~130-byte text files in place of the audio when ``git lfs`` was not installed."""
    if path.stat().st_size < 1024:
        with open(path, "rb") as f:
            head = f.read(64)
        if head.startswith(b"version https://git-lfs"):
            raise DatasetError(
                f"{path}: is a Git LFS pointer, not audio (the clone was made without git-lfs). {help_text}"
            )


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.sort_values(["speaker", "path"], kind="stable").reset_index(drop=True)


def load_cremad(root: str | os.PathLike | None = None, *, strict: bool = True) -> pd.DataFrame:
    """Index a local copy of CREMA-D.

    Parameters
    ----------
    root : folder holding the WAV files (searched recursively; ``AudioWAV/`` of the official repository).
        Default: ``$SETOOLKIT_CREMAD``.
    strict : raise :class:`DatasetError` on a file whose name is not a CREMA-D name (default); with
        ``False`` such files are skipped.

    Returns
    -------
    DataFrame with columns ``path, corpus ("cremad"), speaker ("1001".."1091"), emotion (one of
    CREMAD_CLASSES), sentence, level, sex`` (sex from ``VideoDemographics.csv`` when it sits in ``root`` or
    its parent, else ``None``), sorted by speaker then path.
    """
    if root is None:
        root = os.environ.get("SETOOLKIT_CREMAD")
        if not root:
            raise DatasetError(f"no CREMA-D location given: pass root= or set SETOOLKIT_CREMAD. {CREMAD_HELP}")
    root = Path(root).expanduser()
    files = _wav_files(root, "CREMA-D", CREMAD_HELP)
    _check_not_lfs_pointer(files[0], CREMAD_HELP)
    sex = _cremad_sex(root)
    rows = []
    for path in files:
        try:
            fields = parse_cremad_name(path.name)
        except DatasetError:
            if strict:
                raise
            continue
        rows.append({"path": str(path), "corpus": "cremad", **fields, "sex": sex.get(fields["speaker"])})
    if not rows:
        raise DatasetError(f"CREMA-D folder {root}: no file has a CREMA-D name. {CREMAD_HELP}")
    return _table(rows)


def _cremad_sex(root: Path) -> dict[str, str]:
    for folder in (root, root.parent):
        csv = folder / "VideoDemographics.csv"
        if csv.is_file():
            demo = pd.read_csv(csv)
            if {"ActorID", "Sex"} <= set(demo.columns):
                return {str(a): str(s)[:1].lower() for a, s in zip(demo["ActorID"], demo["Sex"])}
    return {}


def load_emodb(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Index Berlin EmoDB.

    ``root``: a folder of EmoDB wavs; default ``$SETOOLKIT_EMODB``, else the registry's ``data/emodb`` files
    (535 wavs, sha256-verified, from the mirror ``$SETOOLKIT_MIRROR`` or the cache; see :mod:`setoolkit.assets`).

    Returns a DataFrame with columns ``path, corpus ("emodb"), speaker ("03".."16"), emotion (one of
    EMODB_CLASSES), sentence, level (version letter), sex``, sorted by speaker then path.
    """
    if root is None and os.environ.get("SETOOLKIT_EMODB"):
        root = os.environ["SETOOLKIT_EMODB"]
    if root is None:
        files = dataset_files("emodb")
    else:
        help_text = "EmoDB: http://emodb.bilderbar.info/ (free for research); pass root= or set SETOOLKIT_EMODB"
        files = _wav_files(Path(root).expanduser(), "EmoDB", help_text)
    rows = [{"path": str(p), "corpus": "emodb", **parse_emodb_name(p.name)} for p in files]
    for r in rows:
        r["sex"] = EMODB_SEX.get(r["speaker"])
    return _table(rows)


def restrict(table: pd.DataFrame, classes) -> pd.DataFrame:
    """Rows whose emotion is in ``classes`` (e.g. :data:`CREMAD_CLASSES` for EmoDB mapped to CREMA-D's six)."""
    unknown = set(classes) - set(EMODB_CLASSES)
    if unknown:
        raise ValueError(f"classes: unknown emotion(s) {sorted(unknown)}; known: {EMODB_CLASSES}")
    return table[table["emotion"].isin(list(classes))].reset_index(drop=True)


def load_audio(table: pd.DataFrame, *, sr: int = 16000, seconds: float | None = 2.0) -> np.ndarray | list[np.ndarray]:
    """Read every ``table.path``: mono, resampled to ``sr`` Hz (soxr VHQ), cut or zero-padded at the end to
    ``seconds``.

    Returns float32 ``(utterances, round(seconds * sr))``; with ``seconds=None`` a list of ``(samples,)``
    arrays of their own lengths. Raises :class:`setoolkit.errors.AudioError` naming a file that cannot be read.
    """
    clips = []
    for path in table["path"]:
        audio, file_sr = read(path)
        x = resample(to_mono(audio), file_sr, sr)[0]
        clips.append(x if seconds is None else fit_length(x, int(round(seconds * sr))))
    if seconds is None:
        return clips
    if not clips:
        return np.zeros((0, int(round(seconds * sr))), dtype=np.float32)
    return np.stack(clips).astype(np.float32)
