"""deploy/trainbot.service: systemd accepts it, and it keeps trainers alive across bot restarts."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).parent.parent / "deploy" / "trainbot.service"


def test_systemd_accepts_the_unit_with_this_hosts_paths(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("")
    unit = tmp_path / "trainbot.service"
    text = UNIT.read_text().replace("/opt/trainbot/.venv/bin/python", sys.executable)
    text = text.replace("/opt/trainbot", str(tmp_path)).replace("=trainbot\n", "=root\n")
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "trainbot.service" not in result.stderr, result.stderr


def test_the_unit_stops_only_the_bot_restarts_on_failure_and_reads_the_env_file() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    service = parser["Service"]
    assert service["KillMode"] == "process"  # trainers outlive a restart and are re-attached
    assert service["KillSignal"] == "SIGINT"  # the bot's clean shutdown
    assert service["Restart"] == "on-failure" and service["RestartPreventExitStatus"] == "2"
    assert service["EnvironmentFile"].endswith("/.env")
    assert service["ExecStart"].endswith(" -m bot")


def test_an_unconfigured_bot_exits_with_a_code_the_unit_does_not_restart_on(tmp_path: Path) -> None:
    from bot.settings import Settings

    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env |= {"DATA_ROOT": str(tmp_path / "data"), "OUTPUT_ROOT": str(tmp_path / "outputs")}
    result = subprocess.run(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNIT)
    assert "SLACK_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert str(result.returncode) in parser["Service"]["RestartPreventExitStatus"].split(), result.returncode
