"""No process the bot starts sees its secrets: a trainer (and so a torchrun launch, started the same way),
the warm spare, a prediction worker, an export worker and a Slurm job each run a small probe that reports
the environment it really got."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.child_env import child_environment
from bot.predict.client import PredictService
from bot.predict.export import run_export
from bot.predict.files import Accepted
from bot.runs.launcher import LaunchSpec
from bot.runs.process import TrainerProcess, WarmSpare
from bot.runs.slurm import SlurmLauncher
from tests.slurm_cluster import SlurmCluster, slurm  # noqa: F401  (the session's cluster)
from tests.waiting import wait_until

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-secret",
    "SLACK_APP_TOKEN": "xapp-secret",
    "slack_signing_secret": "lower-case-is-read-too",
    "ANTHROPIC_API_KEY": "sk-ant-secret",
    "DATABASE_URL": "postgresql+psycopg://bot:password@db/trainbot",
}
KEPT = {"TRAINBOT_PROBE_KEPT": "an ordinary variable"}

# writes the environment it sees to argv[1] (atomically), then waits for stdin to close
WRITE_NAMES = (
    "import os, sys, pathlib; p = pathlib.Path(sys.argv[1]); t = p.with_suffix('.part');"
    "t.write_text(json.dumps(dict(os.environ))); t.rename(p); sys.stdin.read()"
)
PROBE = [sys.executable, "-c", "import json; " + WRITE_NAMES]


@pytest.fixture(autouse=True)
def secret_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SECRETS, **KEPT}.items():
        monkeypatch.setenv(name, value)


def assert_no_secrets(environ: dict[str, str]) -> None:
    assert environ["TRAINBOT_PROBE_KEPT"] == KEPT["TRAINBOT_PROBE_KEPT"]  # the rest is passed on
    assert not set(SECRETS) & set(environ)
    assert not {value for value in environ.values()} & set(SECRETS.values())


def test_the_filter_drops_every_secret_setting_and_keeps_the_rest() -> None:
    given = {**SECRETS, **KEPT, "PATH": "/usr/bin", "SLACK_API_URL": "http://127.0.0.1:1/api/"}
    filtered = child_environment({"CUDA_VISIBLE_DEVICES": "1"}, environ=given)
    assert filtered == {**KEPT, "PATH": "/usr/bin", "CUDA_VISIBLE_DEVICES": "1"}


def test_a_trainer_gets_no_secrets(tmp_path: Path) -> None:
    seen = tmp_path / "env.json"
    spec = LaunchSpec(run_id=1, args=[*PROBE, str(seen)], output_dir=tmp_path, gpu="0")
    trainer = TrainerProcess.launch(spec)  # stdin is /dev/null: the probe ends after writing
    wait_until(lambda: not trainer.is_running(), timeout=20)
    environ = json.loads(seen.read_text())
    assert_no_secrets(environ)
    assert environ["CUDA_VISIBLE_DEVICES"] == "0"


def test_the_warm_spare_gets_no_secrets(tmp_path: Path) -> None:
    seen = tmp_path / "env.json"
    spare = WarmSpare([*PROBE, str(seen)])  # it waits on stdin for a run, as a spare does
    try:
        wait_until(seen.is_file)
        assert_no_secrets(json.loads(seen.read_text()))
    finally:
        spare.close()


def test_a_prediction_worker_gets_no_secrets(tmp_path: Path) -> None:
    # a stand-in worker that answers every request with the names in its environment as the "classes"
    worker = (
        "import json, os, sys\nprint(json.dumps({'ready': True}), flush=True)\nfor line in sys.stdin:\n"
        "    top = [[f'{k}={v}', 1.0] for k, v in os.environ.items()]\n"
        "    print(json.dumps({'results': [{'top': top}]}), flush=True)\n"
    )
    service = PredictService(command=[sys.executable, "-c", worker], gpus=OneGpu())
    try:
        [result] = service.predict(str(tmp_path), [Accepted("a.png", tmp_path / "a.png")])
    finally:
        service.close()
    environ = dict(label.partition("=")[::2] for label, _ in result.top)  # type: ignore[union-attr]
    assert_no_secrets(environ)
    assert environ["CUDA_VISIBLE_DEVICES"] == "0"


def test_an_export_worker_gets_no_secrets(tmp_path: Path) -> None:
    seen = tmp_path / "env.json"
    reporter = (
        f"import json, os, pathlib; pathlib.Path({str(seen)!r}).write_text(json.dumps(dict(os.environ))); "
        "print(json.dumps({'status': 'unavailable', 'message': 'a stand-in'}))"
    )
    report = run_export(tmp_path, command=[sys.executable, "-c", reporter])
    assert report.status == "unavailable"  # its report was read: the worker ran it as an export
    assert_no_secrets(json.loads(seen.read_text()))


def test_a_slurm_job_gets_no_secrets(tmp_path: Path, slurm: SlurmCluster) -> None:  # noqa: F811
    launcher = SlurmLauncher(
        environ={**slurm.env(), **SECRETS, **KEPT}, partition=slurm.partition, gpus_per_run=0
    )
    seen = tmp_path / "env.json"
    job = launcher.submit(LaunchSpec(run_id=1, args=[*PROBE, str(seen)], output_dir=tmp_path))
    try:
        wait_until(seen.is_file, timeout=60)
    finally:
        job.kill()
    assert_no_secrets(json.loads(seen.read_text()))


class OneGpu:
    """A GPU lender with GPU 0 free (the run manager's part in bot/runs/gpus.py)."""

    def lend_gpu(self, take_back: Callable[[str], None]) -> str | None:
        return "0"

    def give_back_gpu(self, gpu: str) -> None:
        pass
