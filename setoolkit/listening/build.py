"""Build a self-contained listening-test folder from an evaluation table.

``build_test`` chooses the items (:func:`.design.choose_items`), renders every stimulus (mono, the item's
sample rate, trimmed to a common length of at most ``max_seconds``, anchors low-passed from the reference,
each normalised to :data:`.loudness.TARGET_DBOV` active speech level), writes them atomically as 16-bit WAV
under ``stimuli/`` with names that reveal nothing (HMAC of the folder's secret, :mod:`.secret`), adds the
headphone-check tone, and writes ``test.json`` (the frozen :class:`.design.TestDefinition`, with the systems:
the mapping lives only here) and the offline page ``listening_test.html`` (the blind view,
:func:`.design.public_test`). The folder can be copied anywhere: nothing in it points outside it. What a
test type changes (which stimuli share a trial, items with or without a reference) comes from its record in
:mod:`.kinds`.

Examples
--------
>>> test = build_test(table, "listening/mushra", kind="mushra", n_items=4, seed=1)
>>> test.id                                           # sha256 of the definition
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import read, resample, to_mono, write
from .anchors import ANCHORS, anchor
from .controls import GOLD, gold_bad, trap_signal
from .design import Stimulus, TestDefinition, Trial, choose_items, choose_systems, from_dict
from .files import atomic_write_json, sha256_file
from .kinds import NOISY, REFERENCE, test_type
from .loudness import TARGET_DBOV, normalize_level
from .page import write_page
from .secret import opaque, test_secret

TEST_FILE, STIMULI = "test.json", "stimuli"
HEADPHONE_FILE = f"{STIMULI}/headphone_check.wav"
#: The headphone check: a 1 kHz tone in the LEFT channel only; the listener says where they heard it.
HEADPHONE_SIDE, HEADPHONE_HZ, HEADPHONE_SECONDS = "left", 1000.0, 1.5


def _name(key: str, trial: str, role: str) -> str:
    return f"{STIMULI}/{opaque(key, trial, role, 'file')[:20]}.wav"


def _stimulus_id(key: str, trial: str, role: str) -> str:
    return "s" + opaque(key, trial, role, "id")[:12]


def _sources(table: pd.DataFrame, dataset: str, fname: str) -> dict[str, str]:
    """``{system: path}`` of one item: ``noisy``, ``reference`` (the clean file, when paired), each model."""
    rows = table[(table["dataset"] == dataset) & (table["file"] == fname)]
    first = rows[rows["model"] == NOISY].iloc[0]
    out = {NOISY: str(first["noisy_path"])}
    clean = first.get("clean_path")
    if isinstance(clean, str) and clean:
        out[REFERENCE] = clean
    for _, r in rows[rows["model"] != NOISY].iterrows():
        if isinstance(r.get("output_path"), str) and r["output_path"]:
            out[r["model"]] = r["output_path"]
    return out


def _has_clean(table: pd.DataFrame) -> bool:
    return "clean_path" in table.columns and table.loc[table["model"] == NOISY, "clean_path"].notna().any()


def _load_item(sources: dict[str, str], needed: Sequence[str], max_seconds: float) -> tuple[dict, int]:
    """Mono signals ``{system: (samples,)}`` at the noisy file's rate, trimmed to a common length."""
    _, sr = read(sources[NOISY])
    sig = {}
    for name in needed:
        if name in ANCHORS:
            continue
        if name not in sources:
            raise ValueError(f"build_test: no audio for {name!r} (has {sorted(sources)})")
        a, r = read(sources[name])
        sig[name] = resample(to_mono(a), r, sr)[0]
    n = min(min(len(v) for v in sig.values()), int(max_seconds * sr))
    return {k: v[:n] for k, v in sig.items()}, sr


def _render(sig: dict, sr: int, needed: Sequence[str], target_dbov: float) -> dict[str, np.ndarray]:
    """Every condition normalised to ``target_dbov``; anchors low-passed from the normalised reference."""
    out = {k: normalize_level(v, sr, target_dbov=target_dbov) for k, v in sig.items()}
    for name in needed:
        if name in ANCHORS:
            out[name] = normalize_level(anchor(out[REFERENCE], sr, name), sr, target_dbov=target_dbov)
    return out


def headphone_tone(sr: int = 16000) -> np.ndarray:
    """The headphone-check stimulus ``(2, samples)``: a 1 kHz tone (-26 dBov, 20 ms ramps) in the left
    channel, silence in the right."""
    t = np.arange(int(HEADPHONE_SECONDS * sr)) / sr
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    tone = np.sqrt(2) * 10 ** (TARGET_DBOV / 20) * np.sin(2 * np.pi * HEADPHONE_HZ * t) * ramp
    return np.stack([tone, np.zeros_like(tone)]).astype(np.float32)


def dither(audio: np.ndarray, seed: int) -> np.ndarray:
    """``audio`` plus triangular (TPDF) dither of +-1 LSB of 16-bit PCM, seeded: inaudible (-96 dBFS), but it
    makes the bytes of two files of the same signal differ (the hidden reference is not a byte copy of the
    open one, so comparing files or their hashes finds nothing)."""
    rng = np.random.default_rng(seed)
    lsb = 1.0 / 32768
    return (audio + (rng.random(audio.shape) - rng.random(audio.shape)) * lsb).astype(np.float32)


def _write(test_dir: Path, rel: str, audio: np.ndarray, sr: int) -> str:
    path = test_dir / rel
    write(path, dither(audio, int(hashlib.sha256(rel.encode()).hexdigest()[:8], 16)), sr, subtype="PCM_16")
    return sha256_file(path)


def _trials_for(kind, item, training, groups, key, rendered, sr, test_dir) -> list[Trial]:
    """The trials of one item (``item``: dataset, file, trial id base): one per group of conditions."""
    n = len(next(iter(rendered.values())))
    common = {"dataset": item[0], "file": item[1], "sr": sr, "duration": round(n / sr, 3), "training": training}

    def stim(tid, system):
        rel = _name(key, tid, system)
        sha = _write(test_dir, rel, rendered[system], sr)
        return Stimulus(id=_stimulus_id(key, tid, system), system=system, file=rel, sha256=sha)

    trials = []
    for group in groups[:1] if training and len(groups) > 1 else groups:
        tid = item[2] if len(groups) == 1 or training else f"t{opaque(key, item[2], *group)[:8]}"
        ref = ""
        if kind.open_reference:
            ref = _name(key, tid, "open-reference")
            _write(test_dir, ref, rendered[REFERENCE], sr)
        trials.append(Trial(id=tid, stimuli=tuple(stim(tid, s) for s in group), reference=ref, **common))
    return trials


def _control_trials(kind, item, key, sig, sr, test_dir, target_dbov) -> list[Trial]:
    """P.808 controls of an ACR test on one item (:mod:`.controls`): a trapping stimulus whose answer is its
    number of beeps, and, when the item has a clean reference, the gold clips."""
    speech = sig.get(REFERENCE, sig[NOISY])
    n_beeps = int(opaque(key, "trap", item[2])[:8], 16) % 5 + 1
    clips = {"trap": (trap_signal(speech, sr, n_beeps), {"type": "trap", "expected": n_beeps, "tolerance": 0})}
    if REFERENCE in sig:
        clips["gold_excellent"] = (sig[REFERENCE], {"type": "gold", "expected": GOLD["gold_excellent"][0],
                                                    "tolerance": GOLD["gold_excellent"][1]})  # fmt: skip
        bad = gold_bad(sig[REFERENCE], seed=int(opaque(key, "gold")[:8], 16))
        clips["gold_bad"] = (bad, {"type": "gold", "expected": GOLD["gold_bad"][0], "tolerance": GOLD["gold_bad"][1]})
    trials = []
    for name, (audio, control) in clips.items():
        tid = f"t{opaque(key, item[2], 'control', name)[:8]}"
        rel = _name(key, tid, name)
        sha = _write(test_dir, rel, normalize_level(audio, sr, target_dbov=target_dbov), sr)
        stim = Stimulus(id=_stimulus_id(key, tid, name), system=name, file=rel, sha256=sha)
        trials.append(Trial(id=tid, dataset=item[0], file=item[1], stimuli=(stim,), sr=sr,
                            duration=round(len(audio) / sr, 3), control=control))  # fmt: skip
    return trials


def build_test(
    table: pd.DataFrame,
    test_dir: str | os.PathLike,
    kind: str = "mushra",
    *,
    systems: Sequence[str] | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    n_items: int = 4,
    seed: int = 0,
    max_seconds: float = 8.0,
    title: str | None = None,
    training: bool = True,
    target_dbov: float = TARGET_DBOV,
    rules: dict | None = None,
) -> TestDefinition:
    """Write a listening test of ``kind`` (``"mushra"``, ``"p835"``, ``"ccr"``, ``"acr"``) into ``test_dir``.

    ``table``: an evaluation table (:func:`setoolkit.evaluation.evaluate`); ``systems``: its models to test
    (default all); ``pairs``: CCR pairs ``(a, b)`` (default each system against ``noisy``); ``n_items``
    items (MUSHRA: paired ones; P.835: those without a clean reference when the table has any);
    ``training``: add one familiarisation trial on another item (ACR adds P.808's trapping stimulus and gold
    clips on the last item, :mod:`.controls`); ``rules``: page rules over the type's
    defaults (e.g. ``{"require_max": False}`` for a MUSHRA without the "one at 100" rule). The stimulus names
    are derived from the folder's secret (``test_dir/secret.key``, created when absent, kept when present).
    Returns the definition (also in ``test_dir/test.json``); the page is ``test_dir/listening_test.html``.
    """
    test_dir = Path(test_dir)
    ktype = test_type(kind)
    key = test_secret(test_dir, create=True)
    systems = choose_systems(table, systems)
    groups = ktype.trials_of_item(systems, pairs)
    needed = ktype.conditions(systems, pairs)
    if ktype.controls:
        needed = sorted({*needed, REFERENCE} if _has_clean(table) else needed)
    has_unpaired = "clean_path" in table.columns and table.loc[table["model"] == NOISY, "clean_path"].isna().any()
    paired = ktype.paired if ktype.paired or has_unpaired else None
    items = choose_items(table, n_items=n_items + int(training), seed=seed, paired=paired)
    rows = list(items.itertuples(index=False))
    train_row = rows[n_items] if training and len(rows) > n_items else (rows[0] if training else None)
    plan = ([(train_row, True)] if train_row is not None else []) + [(r, False) for r in rows[:n_items]]
    trials: list[Trial] = []
    for k, (row, is_training) in enumerate(plan):
        tid = "training" if is_training else f"t{k + (0 if training else 1):02d}"
        srcs = _sources(table, row.dataset, row.file)
        item_needed = [n for n in needed if n != REFERENCE or n in srcs or not ktype.controls]
        sig, sr = _load_item(srcs, item_needed, max_seconds)
        rendered = _render(sig, sr, item_needed, target_dbov)
        trials += _trials_for(ktype, (row.dataset, row.file, tid), is_training, groups, key, rendered, sr, test_dir)
        if ktype.controls and not is_training and k == len(plan) - 1:
            trials += _control_trials(ktype, (row.dataset, row.file, tid), key, sig, sr, test_dir, target_dbov)
    write(test_dir / HEADPHONE_FILE, headphone_tone(), 16000, subtype="PCM_16")
    test = TestDefinition(
        kind=kind,
        title=title or f"Listening test ({ktype.title})",
        seed=seed,
        systems=tuple(systems),
        trials=tuple(trials),
        target_dbov=target_dbov,
        scale=ktype.scale,
        headphone_check=HEADPHONE_FILE,
        headphone_side=HEADPHONE_SIDE,
        rules=dict(rules or {}),
    )
    atomic_write_json(test_dir / TEST_FILE, test.to_dict())
    write_page(test, test_dir)
    return test


def load_test(test_dir: str | os.PathLike) -> TestDefinition:
    """The definition in ``test_dir/test.json``."""
    path = Path(test_dir) / TEST_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no listening test here (build one with build_test)")
    return from_dict(json.loads(path.read_text(encoding="utf-8")))
