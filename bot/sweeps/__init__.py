"""Sweeps: several runs of one config that differ in some settings, run as ordinary queued trials.

spec.py says what a sweep varies (and refuses what it cannot), parse.py reads it from a message, and
controller.py drives the trials on the run manager (Optuna's ask-and-tell; Optuna is imported there only,
so the bot starts fast)."""
