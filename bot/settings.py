"""Every setting of the bot, read from the environment and an optional .env file.

Secrets are SecretStr: they show as '**********' in reprs, logs and error messages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_ANTHROPIC_MODEL = "claude-haiku-5-5"

IdList = Annotated[frozenset[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Slack
    slack_bot_token: SecretStr | None = None  # xoxb-...
    slack_app_token: SecretStr | None = None  # xapp-... (Socket Mode)
    slack_api_url: str | None = None  # Web API base URL override, e.g. http://127.0.0.1:8080/api/

    # Claude
    anthropic_api_key: SecretStr | None = None
    anthropic_model: str = DEFAULT_ANTHROPIC_MODEL
    anthropic_base_url: str | None = None  # Messages API base URL override (proxies, local stand-ins)
    conversation_parser: Literal["auto", "rules", "claude"] = "auto"

    # Storage and files
    data_root: Path = Path("./data")
    output_root: Path = Path("./outputs")
    database_url: str | None = None  # default: sqlite:///<DATA_ROOT>/trainbot.db

    # Access control; empty means everyone
    allowed_user_ids: IdList = frozenset()
    allowed_channel_ids: IdList = frozenset()
    admin_user_ids: IdList = frozenset()

    # Runs
    max_concurrent_runs: Annotated[int | None, Field(ge=1, le=64)] = None  # default: visible GPUs, or 1
    max_epochs: Annotated[int, Field(ge=1, le=1000)] = 1000
    stop_grace_seconds: Annotated[float, Field(gt=0)] = 30.0
    stall_seconds: Annotated[float, Field(gt=0)] = 900.0  # no event for this long: flagged as stalled
    timezone: str = "UTC"  # for scheduled starts ("at 02:00")

    # Dataset uploads (.zip in a thread)
    upload_max_bytes: Annotated[int, Field(ge=1)] = 2 * 1024**3  # extracted size
    upload_max_files: Annotated[int, Field(ge=1)] = 200_000

    log_level: str = "INFO"

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
    if not shutil.which("nvidia-smi"):
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listing.splitlines() if line.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
