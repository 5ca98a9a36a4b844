"""The listening-test types, one module each, behind one registry (:func:`test_type`).

MUSHRA (:mod:`.mushra`), P.835 (:mod:`.p835`), CCR (:mod:`.ccr`) and ACR (:mod:`.acr`, ITU-T P.808). Adding a
type is one module here (a :class:`TestType` subclass decorated with :func:`register`, imported below) plus,
where it rates differently, its screen in ``static/listening.js``.
"""

from . import acr, ccr, mushra, p835
from .base import NOISY, REFERENCE, REGISTRY, TestType, register, test_type

__all__ = ["NOISY", "REFERENCE", "REGISTRY", "TestType", "acr", "ccr", "mushra", "p835", "register", "test_type"]
