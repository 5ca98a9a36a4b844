"""Listening-test design: items, systems, trials, the frozen test definition (its sha256 is its id) and the
blind view of it that a listener's browser receives.

The test types (MUSHRA, P.835, CCR, ACR) are in :mod:`.kinds`. A :class:`TestDefinition` is plain data (JSON,
``test.json`` in the test folder, never sent to a browser); :func:`definition_id` is the sha256 of its canonical
JSON (sorted keys, no spaces, UTF-8) and names its result files. :func:`public_test` is what a page gets: the
trials with opaque stimulus ids and file names (derived with the test folder's secret, see :mod:`.build`), in
an order that reveals nothing (sorted by id), without systems, seed, items or file hashes.

:func:`listener_plan` gives each listener a seeded random trial order and on-screen stimulus order (blind
labels A, B, C... by position), so the hidden reference and the anchors sit at another place in every trial and
for every listener; the page computes the same plan in JavaScript (``static/listening.js``, the same mulberry32
generator seeded with the FNV-1a hash of ``"<test id>|<listener>"``, shuffling the public order).

Examples
--------
>>> items = choose_items(table, n_items=4, seed=1)      # dataset, file, snr, band, why
>>> plan = listener_plan(test, "anna")                 # [{"trial", "order", "training"}]
>>> public_test(test)                                  # what the page receives: no system, no seed
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..model_refs import table_name
from .kinds import NOISY, test_type

FORMAT = "setoolkit-listening-test/1"


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
    reference's file (MUSHRA); ``training``: a familiarisation trial, not analysed; ``control``: a screening
    trial with a known answer (P.808 ``{"type": "trap" | "gold", "expected": score, "tolerance": points}``),
    not analysed as a system."""

    id: str
    dataset: str
    file: str
    stimuli: tuple[Stimulus, ...]
    sr: int
    duration: float = 0.0
    reference: str = ""
    training: bool = False
    control: dict = field(default_factory=dict)


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
    rules: dict = field(default_factory=dict)
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
    the unknown ones. A model spec written as the user wrote it (``my_model.py:build``) names its model's display
    name (:func:`setoolkit.model_refs.table_name`)."""
    known = [m for m in dict.fromkeys(table["model"]) if m != NOISY]
    if systems is None:
        return known
    systems = [table_name(known, s, strict=False) if s != NOISY else s for s in systems]
    unknown = [s for s in systems if s not in known and s != NOISY]
    if unknown:
        raise ValueError(f"choose_systems: systems not in the table: {unknown}; the table has {known}")
    return list(dict.fromkeys(systems))


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
        {"trial": t.id, "order": _shuffle(sorted(s.id for s in t.stimuli), rand), "training": t.training}
        for t in training + rest
    ]


def public_test(test: TestDefinition) -> dict:
    """The blind view of ``test`` that a listener's page receives (JSON-ready).

    ``{"id", "kind", "title", "scale", "rules", "instructions", "widget", "target_dbov", "headphone_check",
    "headphone_side", "trials": [{"id", "training", "duration", "reference", "stimuli": [{"id", "file"}]}]}``:
    stimuli sorted by their opaque id, no system names, no seed, no item names, no file hashes. ``rules`` and
    ``instructions``: the test type's page behaviour (:meth:`.kinds.TestType.page`), with the definition's
    own ``rules`` (e.g. ``{"require_max": False}``) over the type's defaults.
    """
    kind = test_type(test.kind)
    page = kind.page()
    return {
        "id": test.id,
        "kind": test.kind,
        "title": test.title,
        "scale": test.scale,
        "rules": {**page["rules"], **test.rules},
        "instructions": page["instructions"],
        "widget": page["widget"],
        "target_dbov": test.target_dbov,
        "headphone_check": test.headphone_check,
        "headphone_side": test.headphone_side,
        "trials": [
            {
                "id": t.id,
                "training": t.training,
                "duration": t.duration,
                "reference": t.reference,
                "stimuli": [{"id": s.id, "file": s.file} for s in sorted(t.stimuli, key=lambda s: s.id)],
            }
            for t in test.trials
        ],
    }
