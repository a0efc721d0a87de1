from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings

SECRET_VALUES = {
    "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
    "SLACK_APP_TOKEN": "xapp-secret-app-token",
    "ANTHROPIC_API_KEY": "sk-ant-secret-key",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (
        *SECRET_VALUES,
        "ALLOWED_USER_IDS",
        "ADMIN_USER_IDS",
        "DATABASE_URL",
        "DATA_ROOT",
        "MAX_CONCURRENT_RUNS",
        "MAX_EPOCHS",
        "CUDA_VISIBLE_DEVICES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_secrets_never_appear_in_repr_or_errors(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for value in SECRET_VALUES.values():
        assert value not in shown
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == SECRET_VALUES["SLACK_BOT_TOKEN"]
    monkeypatch.setenv("MAX_EPOCHS", "0")
    with pytest.raises(ValueError) as info:
        Settings()
    assert "max_epochs" in str(info.value)
    for value in SECRET_VALUES.values():
        assert value not in str(info.value)


def test_id_lists_and_defaults(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_USER_IDS", "U1, U2,,U3")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    settings = Settings()
    assert settings.allowed_user_ids == {"U1", "U2", "U3"}
    assert settings.admin_user_ids == frozenset()
    assert settings.concurrent_runs == 1
    assert settings.database_url_or_default == f"sqlite:///{(clean_env / 'data' / 'trainbot.db')}"
    assert not settings.has_slack_tokens


def test_dotenv_file_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("MAX_CONCURRENT_RUNS=3\nADMIN_USER_IDS=UADMIN\n")
    settings = Settings()
    assert settings.concurrent_runs == 3
    assert settings.admin_user_ids == {"UADMIN"}


def test_gpu_count_sets_default_concurrency(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert Settings().concurrent_runs == 2


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    documented = {line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line}
    assert {name.upper() for name in Settings.model_fields} <= documented
