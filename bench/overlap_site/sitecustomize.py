"""Loaded at start by a benchmark worker whose PYTHONPATH names this folder (see
bench/overlap.py): connects the sleep double to each pool process's start."""

from celery import signals

from bench.overlap_double import install

signals.worker_process_init.connect(install, weak=False)
