"""Loaded at start by a test worker whose PYTHONPATH names this folder (see
tests/support/crash_hook.py): connects the crash hook to each pool process's start."""

from celery import signals

from tests.support.crash_hook import install

signals.worker_process_init.connect(install, weak=False)
