"""Errors the run manager raises; `.message` is safe to show to users."""

from __future__ import annotations


class RunError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunNotFound(RunError):
    """No run with that id."""


class NotAllowed(RunError):
    """The user may not manage that run (only its owner or an admin may)."""


class InvalidRunState(RunError):
    """The run is not in a state that allows the action (e.g. stopping a finished run)."""
