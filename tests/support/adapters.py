"""Adapters built the way ``QualityGate`` builds them, for the adapter tests: an identity
calibrator and the default preprocessing options, overridable per test."""

from __future__ import annotations

from adapters.base import Adapter

OPTIONS = {"max_repeat": 5, "traditional_to_simplified": False}


def identity(raw: float) -> float:
    return raw


def build(adapter_class: type, **options: object) -> Adapter:
    return adapter_class(identity, OPTIONS | options)
