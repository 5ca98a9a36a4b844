"""The base of a listening-test type: what a type declares and the parts every type shares.

A type says how a test is designed (:meth:`TestType.trials_of_item`: the stimuli of each trial, from the
systems under test), what the page enforces (:attr:`TestType.rules`, read by ``static/listening.js``), how a
trial's ratings are checked (:meth:`TestType.rating_problems`, one message per problem) and how they become
tidy rows for the analysis (:meth:`TestType.rating_rows`). Each type is one module of this package,
registered with :func:`register`; everything else looks a type up with :func:`test_type`.

Examples
--------
>>> test_type("mushra").trials_of_item(["sysA", "sysB"])   # [("reference", "anchor_3.5k", ...)]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

#: The unprocessed input's model name in the evaluation table; the clean reference's condition name.
NOISY, REFERENCE = "noisy", "reference"


def is_int(v) -> bool:
    """``v`` is an int and not a bool (JSON ``true`` is not a rating)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    """``v`` is a finite int or float and not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


class TestType:
    """One kind of listening test; subclasses set the class attributes and override what differs."""

    __test__ = False  # not a pytest class

    #: Registry key and the ``kind`` of a definition.
    name = ""
    #: Short title ("MUSHRA") and the standard's full name for the report.
    title = ""
    standard = ""
    #: The rating scale(s) with their standard wording, embedded in the definition (and the page).
    scale: dict = {}
    #: What the listener reads on the start screen.
    instructions = ""
    #: ``True``: items need a clean reference (MUSHRA); ``False``: prefer items without; ``None``: any.
    paired: bool | None = None
    #: The trial shows the open reference (MUSHRA).
    open_reference = False
    #: Control trials with a known answer added to the test (ACR: P.808's trapping stimulus and gold clips).
    controls: tuple[str, ...] = ()
    #: Scores compare two systems (CCR: ``base`` is the first of the pair) rather than rate one.
    pairwise = False
    #: What the page enforces before Save: ``play`` ``"any"`` (each stimulus played) or ``"to_end"`` (each
    #: played to its end once); ``require_max``: at least one rating at the scale's top (MUSHRA).
    rules: dict = {"play": "to_end"}
    #: The trial screen of ``static/listening.js``: ``"sliders"`` (one 0-100 slider per stimulus, MUSHRA),
    #: ``"scales"`` (several category scales for one sample, P.835) or ``"category"`` (one category scale for
    #: one sample or a pair, ACR and CCR).
    widget = "category"

    def trials_of_item(self, systems: Sequence[str], pairs: Sequence[tuple[str, str]] | None = None) -> list[tuple]:
        """The stimuli (condition names) of each trial of one item: default one trial per condition,
        ``noisy`` first."""
        return [(NOISY,), *[(s,) for s in systems if s != NOISY]]

    def conditions(self, systems: Sequence[str], pairs: Sequence[tuple[str, str]] | None = None) -> list[str]:
        """Every condition name a test of ``systems`` renders."""
        return sorted({s for t in self.trials_of_item(systems, pairs) for s in t})

    def rating_problems(self, ratings: dict, ids: Sequence[str], where: str) -> list[str]:
        """Problems of one trial's ``ratings`` for stimuli ``ids``; ``[]`` when valid."""
        raise NotImplementedError

    def rating_rows(self, trial, entry: dict) -> list[dict]:
        """Tidy rows ``system, base, stimulus, scale, rating, raw, position`` of one rated trial
        (``trial``: :class:`.design.Trial`, ``entry``: ``{"order", "ratings"}``)."""
        raise NotImplementedError

    #: The objective metric of the evaluation table shown beside each system's score (ACR: DNSMOS P.808).
    beside_metric = ""
    #: The figure's rating axis (:mod:`..plot`): range, ticks, value format, label, optional shaded bands.
    axis: dict = {"xlim": (1, 5.6), "ticks": [1, 2, 3, 4, 5], "fmt": ".2f", "label": "rating, 1-5"}
    #: What the type's standard asks of the panel, for the report's caution on too few listeners.
    listeners_advice = "ITU-T P.800 asks for at least 24 listeners"
    #: The screening rule, in words, for the report.
    screening = "none"

    def screen(self, results: Sequence[dict], test, ratings: pd.DataFrame) -> pd.DataFrame:
        """Post-screening: ``listener, excluded, why`` (one row per result). Default: nobody excluded."""
        return screening_frame({r["listener"]: [] for r in results})

    #: Simulated listeners (:mod:`..simulate`): true score per system (``"*"``: any other), listener-bias and
    #: item-effect SDs, residual SD, all in the scale's units.
    sim_defaults: dict = {"*": 3.0}
    sim_spread = (0.2, 0.3)
    sim_noise = 0.6

    def simulate(self, order: Sequence[str], systems: dict, draw, *, truth, careless: bool, rng, noise: float, control):
        """One trial's ratings by a simulated listener: ``systems`` ``{stimulus id: system}``, ``draw(system, lo,
        hi)`` one noisy rating, ``truth(system)`` the true score; default one 1-5 ``score`` (ACR-like)."""
        (sid,) = order
        return {"score": int(round(draw(systems[sid], 1, 5)))}

    def page(self) -> dict:
        """What the page needs to know of the type: ``{"kind", "rules", "instructions", "widget"}``."""
        return {"kind": self.name, "rules": dict(self.rules), "instructions": self.instructions, "widget": self.widget}


def headphone_passed(result: dict) -> bool:
    """The listener answered the headphone check right at least once (older results: their one answer)."""
    hp = result.get("headphone_check") or {}
    return bool(hp.get("passed", hp.get("correct", False)))


def screening_frame(reasons: dict[str, list[str]], **columns) -> pd.DataFrame:
    """``listener, excluded, why`` from ``{listener: [reasons]}`` (excluded when any), plus ``columns``."""
    names = sorted(reasons)
    df = pd.DataFrame(
        {
            "listener": names,
            "excluded": [bool(reasons[n]) for n in names],
            "why": ["; ".join(reasons[n]) for n in names],
        }
    )
    for k, v in columns.items():
        df[k] = [v.get(n) for n in names]
    return df


def flat_raters(ratings: pd.DataFrame, scale: str, min_n: int = 4) -> set[str]:
    """Listeners who gave every one of at least ``min_n`` stimuli the same rating on ``scale`` (no variance)."""
    g = ratings[ratings["scale"] == scale].groupby("listener")["rating"]
    return {k for k, (n, sd) in zip(g.size().index, zip(g.size(), g.std(ddof=0))) if n >= min_n and sd == 0}


REGISTRY: dict[str, TestType] = {}


def register(cls: type[TestType]) -> type[TestType]:
    """Class decorator: add one instance of ``cls`` to :data:`REGISTRY` under ``cls.name``."""
    REGISTRY[cls.name] = cls()
    return cls


def test_type(kind: str) -> TestType:
    """The registered type ``kind``; ``ValueError`` naming the known ones."""
    if kind not in REGISTRY:
        raise ValueError(f"listening test kind {kind!r} is not one of {sorted(REGISTRY)}")
    return REGISTRY[kind]


test_type.__test__ = False  # type: ignore[attr-defined]
