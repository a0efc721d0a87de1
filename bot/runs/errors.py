"""Errors the run manager raises: a reason `code` and its `values`, which front ends turn into words
(the catalogue's `error_<code>` texts)."""

from __future__ import annotations

from typing import Any


class RunError(Exception):
    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(f"{code} {values}" if values else code)
        self.code = code
        self.values = values


class RunNotFound(RunError):
    """No run with that id."""


class NotAllowed(RunError):
    """The user may not manage that run (only its owner or an admin may)."""


class InvalidRunState(RunError):
    """The run is not in a state that allows the action (e.g. stopping a finished run)."""
