"""What a model was trained on, and whether an evaluation set is in its training domain.

A card's ``trained_on`` is a plain string as its source states it (``"DNS3"``, ``"VoiceBank-DEMAND training
speakers (VCTK 28 spk)"``, ``"none"`` for classical methods). A set is *in-domain* for a model when the model was
trained on data of the same corpus: scores there are not a test of generalisation and are marked so beside the
others.

Examples
--------
>>> in_domain(get_card("gtcrn-vctk"), "vbd16k")
True
>>> in_domain("DNS3", "vbd16k")
False
"""

from __future__ import annotations

import re

#: Evaluation set -> words (case-insensitive, whole words) that mark a training corpus of the same domain.
DOMAIN_WORDS = {
    "vbd16k": ("vctk", "voicebank", "valentini"),
    "vbd48k": ("vctk", "voicebank", "valentini"),
    "dns3_synthetic": ("dns", "dns3", "dns-challenge"),
    "dns3_blind": ("dns", "dns3", "dns-challenge"),
    "dns4_real48k": ("dns", "dns4", "dns-challenge"),
}


def trained_on_of(card_or_trained_on) -> str:
    """The ``trained_on`` string of a card, an Enhancer (its card) or a string itself."""
    if isinstance(card_or_trained_on, str):
        return card_or_trained_on
    card = getattr(card_or_trained_on, "card", card_or_trained_on)
    return str(getattr(card, "trained_on", "") or "")


def in_domain(card_or_trained_on, dataset_name: str) -> bool:
    """Whether ``dataset_name`` (``vbd16k``, ``dns3_blind``...) comes from the corpus the model was trained on.

    ``card_or_trained_on``: a :class:`~setoolkit.registry.ModelCard`, an Enhancer or a ``trained_on`` string.
    VoiceBank-DEMAND sets are in-domain for VCTK / VoiceBank(-DEMAND) / Valentini training data, DNS sets for
    DNS-Challenge training data; an unstated or ``"none"`` training set is never in-domain, nor is a set not in
    :data:`DOMAIN_WORDS` (a folder of your own).
    """
    words = set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", trained_on_of(card_or_trained_on).lower()))
    words |= {w for token in list(words) for w in token.split("-")}
    return any(w in words for w in DOMAIN_WORDS.get(str(dataset_name), ()))
