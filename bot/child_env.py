"""The environment of every process the bot starts (trainers, the warm spare, torchrun launches, Slurm
jobs, prediction and export workers): the bot's own, without its secrets. Trainers outlive the bot and
run code from a shared OUTPUT_ROOT; none of them needs a token, an API key or the database password."""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.settings import Settings

SECRET_PREFIXES = ("SLACK_", "ANTHROPIC_")
# every setting declared secret (SecretStr), and the database URL, which holds a password
SECRET_NAMES = frozenset(
    {name.upper() for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)}
    | {"DATABASE_URL"}
)


def is_secret(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_NAMES or upper.startswith(SECRET_PREFIXES)


def child_environment(
    extra: Mapping[str, str] | None = None, *, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`environ` (default: this process's) without the secrets, plus `extra` (e.g. CUDA_VISIBLE_DEVICES)."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if not is_secret(name)} | dict(extra or {})
