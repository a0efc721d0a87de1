"""Failures the trainer reports as an `error` event: each carries its kind and a user-readable message."""

from __future__ import annotations

from training.contract import ErrorKind


class TrainerError(Exception):
    kind: ErrorKind = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatasetError(TrainerError):
    kind: ErrorKind = "dataset"


class ConfigError(TrainerError):
    kind: ErrorKind = "config"
