"""Listening-test design: items, systems, trials and the frozen test definition (its sha256 is its id).

Three kinds of test:

* ``"mushra"`` (ITU-R BS.1534-3) on paired items: per item one trial with the open reference and, blind,
  the hidden reference, the 3.5 kHz low anchor, the 7 kHz mid anchor, the noisy input and each system,
  rated 0-100.
* ``"p835"`` (ITU-T P.835) on recordings without a clean reference: one trial per (item, system), rated on
  the SIG, BAK and OVRL 1-5 scales.
* ``"ccr"`` (ITU-T P.800 Annex E, CMOS): one trial per (item, pair); the listener hears the two in a
  per-listener random order and rates the second against the first from -3 to +3; the analysis undoes the
  order, so scores are always "``b`` compared with ``a``".

A :class:`TestDefinition` is plain data (JSON); :func:`definition_id` is the sha256 of its canonical JSON
(sorted keys, no spaces, UTF-8) and names its result files. :func:`listener_plan` gives each listener a
seeded random trial order and on-screen stimulus order (blind labels A, B, C... by position); the page and
the widget compute the same plan in JavaScript (``static/listening.js``, the same mulberry32 generator
seeded with the FNV-1a hash of ``"<test id>|<listener>"``).

Examples
--------
>>> items = choose_items(table, n_items=4, seed=1)      # dataset, file, snr, band, why
>>> plan = listener_plan(test, "anna")                 # [{"trial", "order", "training"}]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .anchors import ANCHORS

KINDS = ("mushra", "p835", "ccr")
#: The unprocessed input's model name in the evaluation table.
NOISY = "noisy"
REFERENCE = "reference"
FORMAT = "setoolkit-listening-test/1"
#: BS.1534-3 allows at most 12 conditions besides the reference and anchors.
MAX_MUSHRA_SYSTEMS = 12

#: The rating scales with their standard wording, by test kind.
SCALES: dict[str, dict] = {
    "mushra": {
        "min": 0,
        "max": 100,
        "question": "Rate the basic audio quality of each signal against the reference (rate at least one signal 100).",
        "labels": [[80, "Excellent"], [60, "Good"], [40, "Fair"], [20, "Poor"], [0, "Bad"]],
    },
    "p835": {
        "order": ["SIG", "BAK", "OVRL"],
        "scales": {
            "SIG": {
                "question": "Attending ONLY to the SPEECH SIGNAL, select the category which best describes the "
                "sample you just heard.",
                "labels": [
                    [5, "Very natural, no degradation"],
                    [4, "Fairly natural, little degradation"],
                    [3, "Somewhat natural, somewhat degraded"],
                    [2, "Fairly unnatural, fairly degraded"],
                    [1, "Very unnatural, very degraded"],
                ],
            },
            "BAK": {
                "question": "Attending ONLY to the BACKGROUND, select the category which best describes the "
                "sample you just heard.",
                "labels": [
                    [5, "Not noticeable"],
                    [4, "Slightly noticeable"],
                    [3, "Noticeable but not intrusive"],
                    [2, "Somewhat intrusive"],
                    [1, "Very intrusive"],
                ],
            },
            "OVRL": {
                "question": "Select the category which best describes the sample you just heard for purposes "
                "of everyday speech communication.",
                "labels": [[5, "Excellent"], [4, "Good"], [3, "Fair"], [2, "Poor"], [1, "Bad"]],
            },
        },
    },
    "ccr": {
        "question": "The quality of the second sample compared to the quality of the first is:",
        "labels": [
            [3, "Much Better"],
            [2, "Better"],
            [1, "Slightly Better"],
            [0, "About the Same"],
            [-1, "Slightly Worse"],
            [-2, "Worse"],
            [-3, "Much Worse"],
        ],
    },
}


@dataclass(frozen=True)
class Stimulus:
    """One sound of a trial: ``id`` (unique in the test, reveals nothing), ``system``, ``file`` (relative to
    the test folder), ``sha256`` of the file's bytes."""

    id: str
    system: str
    file: str
    sha256: str = ""


@dataclass(frozen=True)
class Trial:
    """One screen: ``stimuli`` of ``dataset``/``file`` at ``sr`` Hz, ``duration`` s; ``reference``: the open
    reference's file (MUSHRA); ``training``: a familiarisation trial, not analysed."""

    id: str
    dataset: str
    file: str
    stimuli: tuple[Stimulus, ...]
    sr: int
    duration: float = 0.0
    reference: str = ""
    training: bool = False


@dataclass(frozen=True)
class TestDefinition:
    """A frozen listening test: everything a listener's page needs besides the audio files."""

    __test__ = False  # not a pytest class

    kind: str
    title: str
    seed: int
    systems: tuple[str, ...]
    trials: tuple[Trial, ...]
    target_dbov: float
    scale: dict = field(default_factory=dict)
    headphone_check: str = ""
    headphone_side: str = "left"
    format: str = FORMAT

    @property
    def id(self) -> str:
        """sha256 (hex) of :func:`canonical_json` of this definition."""
        return definition_id(self)

    def to_dict(self) -> dict:
        return asdict(self)

    def stimulus(self, stimulus_id: str) -> tuple[Trial, Stimulus]:
        """The trial and stimulus of ``stimulus_id``; ``KeyError`` naming it when absent."""
        for t in self.trials:
            for s in t.stimuli:
                if s.id == stimulus_id:
                    return t, s
        raise KeyError(f"stimulus {stimulus_id!r} is not in test {self.id[:12]}")


def from_dict(d: dict) -> TestDefinition:
    """The :class:`TestDefinition` of ``d`` (as written by :meth:`TestDefinition.to_dict` / JSON)."""
    if d.get("format") != FORMAT:
        raise ValueError(f"not a listening-test definition: format={d.get('format')!r}, expected {FORMAT!r}")
    trials = tuple(Trial(**{**t, "stimuli": tuple(Stimulus(**s) for s in t["stimuli"])}) for t in d["trials"])
    return TestDefinition(**{**d, "systems": tuple(d["systems"]), "trials": trials})


def canonical_json(test: TestDefinition | dict) -> str:
    """Canonical JSON of a definition: sorted keys, no spaces, non-ASCII kept (hashed as UTF-8)."""
    d = test.to_dict() if isinstance(test, TestDefinition) else test
    return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def definition_id(test: TestDefinition | dict) -> str:
    """sha256 hex digest of :func:`canonical_json` of ``test``."""
    return hashlib.sha256(canonical_json(test).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------ items, systems


def _primary(base: pd.DataFrame) -> str | None:
    for m in ("pesq_wb", "OVRL", "distillmos"):
        if m in base.columns and base[m].notna().any():
            return m
    return None


def choose_items(
    table: pd.DataFrame, *, n_items: int = 6, seed: int = 0, paired: bool | None = None, n_bands: int = 3
) -> pd.DataFrame:
    """Pick ``n_items`` input files of an evaluation table.

    Per dataset the hardest input (lowest noisy PESQ-WB, or DNSMOS OVRL without a reference) and the most
    typical (nearest the median) come first; the rest are drawn at random (``seed``) round-robin from
    ``n_bands`` input-SNR bands (quantiles of the noisy rows' ``snr``, where the table has it).
    ``paired``: only items with (``True``) or without (``False``) a clean reference; ``None``: all.

    Returns a DataFrame ``dataset, file, snr, band, why`` (one row per item, in pick order).
    """
    base = table[table["model"] == NOISY].drop_duplicates(["dataset", "file"]).copy()
    has_clean = (
        base["clean_path"].notna() & (base["clean_path"].astype(str) != "")
        if "clean_path" in base.columns
        else pd.Series(False, index=base.index)
    )
    if paired is not None:
        base = base[has_clean == paired]
    if not len(base):
        raise ValueError(
            f"choose_items: no {'paired ' if paired else 'unpaired ' if paired is False else ''}"
            f"items (noisy rows) in the table"
        )
    base["snr"] = base["snr"] if "snr" in base.columns else np.nan
    base["band"] = "all"
    if base["snr"].notna().sum() >= n_bands:
        ranks = base["snr"].rank(method="first")
        base.loc[base["snr"].notna(), "band"] = pd.qcut(
            ranks[base["snr"].notna()], n_bands, labels=[f"snr{i + 1}of{n_bands}" for i in range(n_bands)]
        ).astype(str)
    metric = _primary(base)
    picks: dict[tuple[str, str], str] = {}
    for ds, rows in base.groupby("dataset", sort=True):
        if metric and rows[metric].notna().any():
            r = rows[rows[metric].notna()].sort_values([metric, "file"])
            picks.setdefault((ds, r.iloc[0]["file"]), f"hardest (noisy {metric} {r.iloc[0][metric]:.2f})")
            med = r[metric].median()
            typical = r.iloc[int(np.argmin(np.abs(r[metric].to_numpy() - med)))]
            picks.setdefault((ds, typical["file"]), f"typical (noisy {metric} {typical[metric]:.2f})")
    picks = dict(list(picks.items())[:n_items])
    rng = np.random.default_rng(seed)
    pools = {b: list(rng.permutation(sorted(zip(g["dataset"], g["file"])))) for b, g in base.groupby("band", sort=True)}
    pools = {b: [tuple(x) for x in p] for b, p in pools.items()}
    while len(picks) < min(n_items, len(base)):
        for b in sorted(pools):
            while pools[b] and pools[b][0] in picks:
                pools[b].pop(0)
            if pools[b] and len(picks) < n_items:
                picks[pools[b].pop(0)] = f"random from band {b}"
    out = pd.DataFrame([{"dataset": d, "file": f, "why": w} for (d, f), w in picks.items()])
    return out.merge(base[["dataset", "file", "snr", "band"]], on=["dataset", "file"], how="left")[
        ["dataset", "file", "snr", "band", "why"]
    ]


def choose_systems(table: pd.DataFrame, systems: Sequence[str] | None = None) -> list[str]:
    """The models of the table to test (default: all but ``noisy``), in table order; ``ValueError`` naming
    the unknown ones."""
    known = [m for m in dict.fromkeys(table["model"]) if m != NOISY]
    if systems is None:
        return known
    unknown = [s for s in systems if s not in known and s != NOISY]
    if unknown:
        raise ValueError(f"choose_systems: systems not in the table: {unknown}; the table has {known}")
    return list(dict.fromkeys(systems))


def trial_systems(kind: str, systems: Sequence[str], pairs: Sequence[tuple[str, str]] | None = None) -> list:
    """The conditions of one item: MUSHRA ``[reference, anchors..., noisy, systems...]``; P.835
    ``[noisy, systems...]``; CCR the ``(a, b)`` pairs (default: each system against ``noisy``)."""
    if kind == "mushra":
        if len(systems) + 1 > MAX_MUSHRA_SYSTEMS:
            raise ValueError(
                f"MUSHRA: at most {MAX_MUSHRA_SYSTEMS} conditions besides reference and anchors, "
                f"got {len(systems) + 1} (noisy + {list(systems)})"
            )
        return [REFERENCE, *ANCHORS, NOISY, *[s for s in systems if s != NOISY]]
    if kind == "p835":
        return [NOISY, *[s for s in systems if s != NOISY]]
    if kind == "ccr":
        return [tuple(p) for p in pairs] if pairs else [(NOISY, s) for s in systems if s != NOISY]
    raise ValueError(f"kind={kind!r} is not one of {KINDS}")


# ------------------------------------------------------------------------------------------ listener plans

_M32 = 0xFFFFFFFF


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a hash of ``text``'s UTF-8 bytes (the seed of a listener's plan)."""
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & _M32
    return h


def mulberry32(seed: int) -> Iterator[float]:
    """The mulberry32 generator: floats in [0, 1), bit-identical to the JavaScript in ``listening.js``."""
    a = seed & _M32
    while True:
        a = (a + 0x6D2B79F5) & _M32
        t = ((a ^ (a >> 15)) * (1 | a)) & _M32
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & _M32)) ^ t) & _M32
        yield ((t ^ (t >> 14)) & _M32) / 4294967296.0


def _shuffle(items: list, rand: Iterator[float]) -> list:
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = int(next(rand) * (i + 1))
        out[i], out[j] = out[j], out[i]
    return out


def listener_plan(test: TestDefinition, listener: str) -> list[dict]:
    """The order ``listener`` takes ``test`` in: training trials first, then the others shuffled; in each
    trial the stimuli shuffled (their on-screen labels A, B, ... follow this order).

    Returns ``[{"trial": id, "order": [stimulus ids], "training": bool}]``; deterministic in (test id,
    listener) and equal to the plan the page computes.
    """
    if not listener:
        raise ValueError("listener_plan: listener id is empty")
    rand = mulberry32(fnv1a32(f"{test.id}|{listener}"))
    training = [t for t in test.trials if t.training]
    rest = _shuffle([t for t in test.trials if not t.training], rand)
    return [
        {"trial": t.id, "order": _shuffle([s.id for s in t.stimuli], rand), "training": t.training}
        for t in training + rest
    ]
