"""Every setting of the bot, read from the environment and an optional .env file.

Secrets are SecretStr: they show as '**********' in reprs, logs and error messages. An empty value
(`MAX_CONCURRENT_RUNS=` as in a copied .env.example) means "unset", except for the two folders, where it
would silently mean the working directory and is refused. `load_settings` turns every invalid value into
one line naming the setting, the value and what is allowed (`describe` in each field's metadata).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    ByteSize,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_ANTHROPIC_MODEL = "claude-haiku-5-5"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REQUIRED_IF_SET = ("data_root", "output_root")  # empty would mean the working directory

IdList = Annotated[frozenset[str], NoDecode]


def allowed(text: str) -> dict[str, Any]:
    """Field metadata: what a valid value looks like, in the words of the start-up error."""
    return {"json_schema_extra": {"allowed": text}}


class InvalidSettings(Exception):
    """Settings the bot cannot start with; `.lines` has one line per problem, secrets never shown."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Settings(BaseSettings):
    # Blank values are handled by _blank_means_unset rather than env_ignore_empty, which would drop a blank
    # DATA_ROOT before any check could refuse it.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Slack
    slack_bot_token: Annotated[
        SecretStr | None, Field(**allowed("the Bot User OAuth Token, which starts with xoxb-"))
    ] = None
    slack_app_token: Annotated[  # Socket Mode
        SecretStr | None,
        Field(**allowed("an App-Level Token with connections:write, which starts with xapp-")),
    ] = None
    slack_api_url: Annotated[str | None, Field(**allowed("an http:// or https:// URL"))] = None

    # Claude
    anthropic_api_key: SecretStr | None = None
    anthropic_model: str = DEFAULT_ANTHROPIC_MODEL
    anthropic_base_url: Annotated[str | None, Field(**allowed("an http:// or https:// URL"))] = None
    conversation_parser: Annotated[
        Literal["auto", "rules", "claude"], Field(**allowed("auto, rules or claude"))
    ] = "auto"

    # Storage and files
    data_root: Annotated[Path, Field(**allowed("a folder (created when missing)"))] = Path("./data")
    output_root: Annotated[Path, Field(**allowed("a folder (created when missing)"))] = Path("./outputs")
    decoded_cache_dir: Annotated[  # decoded images runs share; default: OUTPUT_ROOT/decoded-cache
        Path | None, Field(**allowed("a folder (created when missing)"))
    ] = None
    database_url: Annotated[  # default: sqlite:///<DATA_ROOT>/trainbot.db
        str | None,
        Field(**allowed("an SQLAlchemy URL such as sqlite:///trainbot.db or postgresql+psycopg://…")),
    ] = None

    # Access control; empty means everyone
    allowed_user_ids: IdList = frozenset()
    allowed_channel_ids: IdList = frozenset()
    admin_user_ids: IdList = frozenset()
    # Per-user fairness: messages that reach the parser (Claude) and heavy actions (predict, export, upload)
    user_messages_per_minute: Annotated[
        int, Field(ge=1, le=10_000, **allowed("a whole number from 1 to 10000"))
    ] = 20
    user_heavy_actions_per_minute: Annotated[
        int, Field(ge=1, le=10_000, **allowed("a whole number from 1 to 10000"))
    ] = 6

    # Runs
    max_concurrent_runs: Annotated[  # default: visible GPUs, or 1
        int | None, Field(ge=1, le=64, **allowed("a whole number from 1 to 64"))
    ] = None
    max_epochs: Annotated[int, Field(ge=1, le=1000, **allowed("a whole number from 1 to 1000"))] = 1000
    # Sweeps (bot/sweeps): the most trials one sweep may have, and the most of them queued or running at
    # once (default: the run slots, MAX_CONCURRENT_RUNS or one per GPU)
    sweep_max_trials: Annotated[int, Field(ge=1, le=1000, **allowed("a whole number from 1 to 1000"))] = 12
    sweep_parallel: Annotated[int | None, Field(ge=1, le=64, **allowed("a whole number from 1 to 64"))] = None
    stop_grace_seconds: Annotated[
        float, Field(gt=0, le=86400, **allowed("seconds, more than 0 and at most 86400"))
    ] = 30.0
    stall_seconds: Annotated[  # no event for this long: flagged as stalled
        float, Field(gt=0, le=7 * 86400, **allowed("seconds, more than 0 and at most 604800"))
    ] = 900.0
    warm_trainer: Annotated[  # local backend: one trainer kept started, its imports done, for the next run
        bool, Field(**allowed("true or false"))
    ] = True
    cpu_cores_reserved: Annotated[  # local backend: cores no run or worker is given (the bot, the system)
        int, Field(ge=0, le=4096, **allowed("a whole number from 0 to 4096"))
    ] = 0
    timezone: Annotated[  # for scheduled starts ("at 02:00")
        str, Field(**allowed("an IANA time zone name such as UTC or Asia/Seoul"))
    ] = "UTC"

    # Where trainers run: subprocesses of this host, or Slurm batch jobs (SLURM_CONF etc. are honoured)
    run_backend: Literal["local", "slurm"] = "local"
    slurm_partition: str | None = None  # default: the cluster's default partition
    slurm_account: str | None = None
    slurm_qos: str | None = None
    slurm_time_limit: str | None = None  # sbatch --time, e.g. 1-00:00:00
    slurm_gpus_per_run: Annotated[int, Field(ge=0, le=64)] = 1  # 0 on partitions without GPUs
    slurm_cpus_per_gpu: Annotated[  # sbatch --cpus-per-gpu; 0: the partition's
        int, Field(ge=0, le=1024, **allowed("a whole number from 0 to 1024"))
    ] = 8
    slurm_extra_args: str = ""  # more sbatch options, quoted as in a shell

    # Dataset uploads (.zip in a thread)
    upload_max_bytes: Annotated[  # extracted size
        ByteSize,
        Field(ge=1, le=2**50, **allowed("a size in bytes, optionally with a unit: 2147483648, 2GiB, 500MB")),
    ] = ByteSize(2 * 1024**3)
    upload_max_files: Annotated[
        int, Field(ge=1, le=10**8, **allowed("a whole number from 1 to 100000000"))
    ] = 200_000
    upload_quota_bytes: Annotated[  # per person, all their kept uploads together; 0: no quota
        ByteSize,
        Field(ge=0, le=2**50, **allowed("a size in bytes, optionally with a unit: 20GiB, 500MB; 0 for none")),
    ] = ByteSize(20 * 1024**3)

    log_level: Annotated[str, Field(**allowed(", ".join(LOG_LEVELS)))] = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _blank_means_unset(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        blank = {name for name, value in values.items() if isinstance(value, str) and not value.strip()}
        for name in REQUIRED_IF_SET:
            if name in blank:
                raise ValueError(f"{name}: empty")
        return {name: value for name, value in values.items() if name not in blank}

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_kind(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        prefix = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}[info.field_name or ""]
        if value is not None and not value.get_secret_value().strip().startswith(prefix):
            raise ValueError(f"does not start with {prefix}")
        return value

    @field_validator("slack_api_url", "anthropic_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                make_url(value)
            except (ArgumentError, ValueError) as exc:
                raise ValueError("not an SQLAlchemy URL") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError("unknown level")
        return level

    @field_validator("allowed_user_ids", "allowed_channel_ids", "admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @property
    def database_url_or_default(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_root / 'trainbot.db').resolve()}"

    @property
    def concurrent_runs(self) -> int:
        return self.max_concurrent_runs or max(1, len(visible_gpu_indices()))

    @property
    def has_slack_tokens(self) -> bool:
        return bool(self.slack_bot_token and self.slack_app_token)


def visible_gpu_indices() -> list[str]:
    """GPU indices the runs may use, without importing torch: CUDA_VISIBLE_DEVICES, else nvidia-smi."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [part.strip() for part in visible.split(",") if part.strip() and part.strip() != "-1"]
    return [row[0] for row in nvidia_smi_gpus("index") if row[0]]


def nvidia_smi_gpus(*fields: str) -> list[list[str]]:
    """One row of `fields` per GPU from nvidia-smi (no units), or none when it is missing or fails."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [[part.strip() for part in line.split(",")] for line in listing.splitlines() if line.strip()]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and .env, or InvalidSettings with one line per bad value."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise InvalidSettings([_describe(error) for error in exc.errors()]) from None
    except (SourceError, OSError, UnicodeDecodeError) as exc:  # e.g. an unreadable .env
        raise InvalidSettings([f"could not read the settings: {exc}"]) from None


def _describe(error: Any) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    if field not in Settings.model_fields:  # the model-level check names its field in the message
        field = str(error.get("ctx", {}).get("error", "")).split(":", 1)[0]
    info = Settings.model_fields.get(field)
    name = field.upper() or "a setting"
    if info is None:
        return f"{name}: {error['msg']}"
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if field in REQUIRED_IF_SET:
        return f"{name} is empty; set it to {extra['allowed']}, or remove the line to use ./{info.default}"
    hint = f"allowed: {extra['allowed']}" if "allowed" in extra else error["msg"]
    if "SecretStr" in str(info.annotation):
        return f"{name} is not valid (its value is not shown); allowed: {extra.get('allowed', 'a token')}"
    return f"{name}={shown_value(str(error.get('input', '')))!r} is not allowed; {hint}"


def shown_value(value: str, limit: int = 60) -> str:
    """A setting's value as error messages show it: a URL's password hidden, long values cut."""
    value = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # the watchdog job would log twice a minute
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl SQLiteImpl." on every start
