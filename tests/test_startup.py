"""Bad settings, tried as a user would: each gives one `error:` line naming it, exit 2, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import InvalidSettings, Settings, load_settings
from tests.slack_standin import SlackStandIn

REPO = Path(__file__).resolve().parent.parent
SECRET = "xoxb-very-secret-value"
SECRETS = {"slack_bot_token", "slack_app_token", "anthropic_api_key"}

# One bad value of each kind per setting. A new setting without an entry fails
# test_every_setting_has_bad_values_here, so it cannot ship unchecked.
BAD_VALUES: dict[str, list[str]] = {
    "slack_bot_token": ["xapp-swapped-token", "secret-without-prefix"],
    "slack_app_token": ["xoxb-swapped-token"],
    "slack_api_url": ["slack.com/api", "ftp://example.com/"],
    "anthropic_api_key": [],  # any text may be a key
    "anthropic_model": [],  # any model name; Claude itself says when it is unknown
    "anthropic_base_url": ["localhost:8080"],
    "conversation_parser": ["gpt", "RULES!"],
    "data_root": [" "],
    "output_root": [" "],
    "decoded_cache_dir": [],  # any folder; a file is refused at start-up (test below)
    "database_url": ["garbage", "://nothing"],
    "allowed_user_ids": [],  # any list of ids
    "allowed_channel_ids": [],
    "admin_user_ids": [],
    "user_messages_per_minute": ["lots", "0", "-2", "1e6"],
    "user_heavy_actions_per_minute": ["some", "0", "20000"],
    "max_concurrent_runs": ["-1", "0", "65", "two", "1.5"],
    "max_epochs": ["abc", "0", "5000", "-3", "1e9", "1e400"],
    "stop_grace_seconds": ["0", "-1", "soon", "inf", "nan"],
    "stall_seconds": ["0", "never", "1e400"],
    "warm_trainer": ["maybe", "2", "on please"],
    "timezone": ["Mars/Olympus", "../../etc/passwd", "KST+9"],
    "upload_max_bytes": ["2 gigs", "0", "-5", "1e3"],
    "upload_max_files": ["many", "0", "1e9", "-1"],
    "upload_quota_bytes": ["a lot", "-1", "1 zettabyte"],
    "sweep_max_trials": ["many", "0", "-3", "1e9"],
    "sweep_parallel": ["all", "-1", "1e9"],
    "cpu_cores_reserved": ["-1", "some", "5000"],
    "log_level": ["LOUD", "verbose", "5"],
    "run_backend": ["kubernetes", "SLURM!"],
    "slurm_partition": [],  # any partition name; the start-up check asks the cluster
    "slurm_account": [],
    "slurm_qos": [],
    "slurm_time_limit": [],  # sbatch itself checks the time format
    "slurm_gpus_per_run": ["-1", "65", "two", "1.5"],
    "slurm_cpus_per_gpu": ["-1", "2000", "eight"],
    "slurm_extra_args": [],
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def user_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env |= {"DATA_ROOT": str(tmp_path / "data"), "OUTPUT_ROOT": str(tmp_path / "outputs")}
    return env | settings


def python_m_bot(tmp_path: Path, *args: str, stdin: str = "", **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=user_env(tmp_path, **settings),
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,  # a loaded CI machine starts python -m bot slowly
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess, *expected: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def test_every_setting_has_bad_values_here() -> None:
    assert set(BAD_VALUES) == set(Settings.model_fields)


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in BAD_VALUES.items() for value in values]
)
def test_each_bad_value_is_one_line_naming_the_setting_and_what_is_allowed(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name.upper(), value)
    with pytest.raises(InvalidSettings) as caught:
        load_settings(_env_file=None)
    [line] = caught.value.lines
    assert "\n" not in line and line.startswith(name.upper())
    assert "allowed" in line or "empty" in line
    if name in SECRETS:
        assert value not in line and "not shown" in line
    elif value.strip():
        assert value[:50] in line


def test_several_bad_settings_give_one_line_each(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_EPOCHS", "abc")
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(InvalidSettings) as caught:
        load_settings(_env_file=None)
    assert [line.split("=", 1)[0] for line in caught.value.lines] == ["MAX_EPOCHS", "TIMEZONE", "LOG_LEVEL"]


def test_empty_values_mean_unset_and_sizes_take_units(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MAX_CONCURRENT_RUNS", "MAX_EPOCHS", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "TIMEZONE"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "2GiB")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(_env_file=None)
    assert settings.max_concurrent_runs is None and settings.max_epochs == 1000
    assert settings.anthropic_api_key is None and settings.anthropic_base_url is None
    assert settings.timezone == "UTC" and settings.log_level == "DEBUG"
    assert settings.upload_max_bytes == 2 * 1024**3


def test_env_example_as_shipped_gives_working_settings(clean_env: Path) -> None:
    shutil.copy(REPO / ".env.example", clean_env / ".env")
    settings = load_settings()
    assert settings.max_concurrent_runs is None and settings.slack_bot_token is None
    assert settings.anthropic_api_key is None and settings.anthropic_base_url is None
    assert settings.data_root == Path("data") and not settings.has_slack_tokens


def test_copied_env_example_starts_the_console(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--console"],
        env=env, cwd=tmp_path, input="quit\n", capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data").is_dir() and (tmp_path / "outputs").is_dir()
    assert (tmp_path / "data" / "trainbot.db").is_file()


@pytest.mark.parametrize(
    ("mode", "setting", "value", "expected"),
    [
        (["parse", "resnet18"], "MAX_EPOCHS", "abc", "1 to 1000"),
        (["--console"], "CONVERSATION_PARSER", "gpt", "auto, rules or claude"),
        ([], "DATA_ROOT", "", "DATA_ROOT is empty"),
        ([], "MAX_CONCURRENT_RUNS", "-1", "1 to 64"),
        (["--console"], "WARM_TRAINER", "maybe", "true or false"),
    ],
)
def test_every_entry_point_refuses_bad_settings_in_one_line(
    tmp_path: Path, mode: list[str], setting: str, value: str, expected: str
) -> None:
    result = python_m_bot(tmp_path, *mode, **{setting: value, "SLACK_BOT_TOKEN": SECRET})
    line = assert_one_error_line(result, setting, expected)
    assert SECRET not in line


@pytest.mark.parametrize("mode", [["parse", "resnet18"], ["--console"]])
def test_a_file_is_refused_as_data_root(tmp_path: Path, mode: list[str]) -> None:
    (tmp_path / "afile").write_text("not a folder")
    result = python_m_bot(tmp_path, *mode, DATA_ROOT=str(tmp_path / "afile"))
    assert_one_error_line(result, "DATA_ROOT", "is a file")
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_output_root_a_file_or_unwritable_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    assert_one_error_line(
        python_m_bot(tmp_path, "--console", OUTPUT_ROOT=str(tmp_path / "afile")), "OUTPUT_ROOT"
    )
    below_file = str(tmp_path / "afile" / "runs")
    assert_one_error_line(python_m_bot(tmp_path, "--console", OUTPUT_ROOT=below_file), "could not be created")


def test_a_file_is_refused_as_decoded_cache_dir(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep")
    result = python_m_bot(tmp_path, "--console", DECODED_CACHE_DIR=str(tmp_path / "afile"))
    assert_one_error_line(result, "DECODED_CACHE_DIR", "is a file")
    assert (tmp_path / "afile").read_text() == "keep"


def test_missing_folders_are_created_at_start(tmp_path: Path) -> None:
    result = python_m_bot(
        tmp_path, "--console", stdin="quit\n",
        DATA_ROOT=str(tmp_path / "new" / "data"), OUTPUT_ROOT=str(tmp_path / "new" / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "data").is_dir() and (tmp_path / "new" / "out").is_dir()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///{tmp}/afile/sub/bot.db", "Not a directory"),
        ("postgresql+psycopg://bot:hunter2@127.0.0.1:9/trainbot", "127.0.0.1"),
        ("nosuchdialect://x/y", "DATABASE_URL"),
    ],
)
def test_database_url_is_tried_at_start(tmp_path: Path, url: str, expected: str) -> None:
    (tmp_path / "afile").write_text("")
    result = python_m_bot(tmp_path, "--console", DATABASE_URL=url.format(tmp=tmp_path))
    line = assert_one_error_line(result, "DATABASE_URL", expected)
    assert "hunter2" not in line


def test_unreachable_slack_says_what_to_check(tmp_path: Path) -> None:
    result = python_m_bot(
        tmp_path,
        SLACK_BOT_TOKEN=SECRET,
        SLACK_APP_TOKEN="xapp-secret",
        SLACK_API_URL="http://127.0.0.1:9/api/",
    )
    line = assert_one_error_line(result, "could not reach Slack at http://127.0.0.1:9/api/", "network")
    assert SECRET not in line and "xapp-secret" not in line


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    server = SlackStandIn().start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("token", "expected"),
    [("SLACK_BOT_TOKEN", "OAuth & Permissions"), ("SLACK_APP_TOKEN", "connections:write")],
)
def test_a_token_slack_refuses_is_named_without_showing_it(
    tmp_path: Path, standin: SlackStandIn, token: str, expected: str
) -> None:
    tokens = {"SLACK_BOT_TOKEN": standin.bot_token, "SLACK_APP_TOKEN": standin.app_token}
    tokens[token] = tokens[token][:5] + "wrong-secret"
    result = python_m_bot(tmp_path, SLACK_API_URL=standin.base_url, CONVERSATION_PARSER="rules", **tokens)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    # the bot token is checked before anything starts; the app token only when Socket Mode connects,
    # after Bolt has logged its attempt
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: Slack refused {token} (invalid_auth)") and expected in line, line
    assert "wrong-secret" not in result.stderr
