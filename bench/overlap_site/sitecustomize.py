"""Loaded at start by a benchmark worker whose PYTHONPATH names this folder (see
bench/overlap.py): connects the sleep double to each pool process's start. The double is
imported there, not here, so the main process still never imports torch."""

from typing import Any

from celery import signals


def _install(**kwargs: Any) -> None:
    from bench.overlap_double import install

    install(**kwargs)


signals.worker_process_init.connect(_install, weak=False)
