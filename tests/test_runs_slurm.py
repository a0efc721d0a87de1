"""The run manager with RUN_BACKEND=slurm against a real single-node Slurm (tests/slurm_cluster.py):
a real trainer from sbatch to completion, Slurm's queue reason and position while the node is full,
stop with a checkpoint, re-attach after a bot restart, a failing job, the start-up checks, and a
Slack conversation (the stand-in) whose run waits in Slurm's queue, then trains as a job."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runs import RunManager
from bot.runs.launcher import BackendUnavailable
from bot.runs.slurm import SlurmLauncher, gpus_in_gres
from bot.settings import Settings
from bot.storage import Database, RunEpoch, RunStatus, TrainingRun
from tests.detection_datasets import write_yolo
from tests.imagegen import make_image_folder
from tests.runs_support import Recorder, fake_command, make_request, make_settings
from tests.slack_harness import OWNER, SlackHarness, click, setup_thread
from tests.slurm_cluster import SlurmCluster, free_port, launcher_for, slurm  # noqa: F401  (the session's cluster)
from tests.waiting import wait_until
from training.config import TrainingConfig

FAKE = fake_command("--epoch-seconds", "0.3")


@pytest.fixture
def start_manager(db: Database, slurm: SlurmCluster) -> Iterator:  # noqa: F811
    created: list[RunManager] = []

    def start(settings: Settings, command: list[str] = FAKE) -> RunManager:
        manager = RunManager(db, settings, trainer_command=command, launcher=launcher_for(slurm))
        created.append(manager)
        manager.start()
        return manager

    try:
        yield start
    finally:
        for manager in created:
            manager.shutdown()
        slurm.cancel_all()


def slurm_settings(tmp_path: Path, grace: float = 5.0) -> Settings:
    return make_settings(tmp_path, run_backend="slurm", max_concurrent_runs=None, stop_grace_seconds=grace)


def conf_without_controller(cluster: SlurmCluster, folder: Path) -> Path:
    """The cluster's slurm.conf with the controller on a port where nothing listens."""
    conf = folder / "slurm.conf"
    text = re.sub(r"SlurmctldPort=\d+", f"SlurmctldPort={free_port()}", cluster.conf.read_text())
    conf.write_text(text)
    return conf


def job_state(cluster: SlurmCluster, job_id: str | None) -> str:
    assert job_id is not None
    return cluster.run("scontrol", "show", "job", job_id, "-o").split("JobState=")[1].split()[0]


def test_a_real_trainer_runs_as_a_slurm_job_to_completion(
    tmp_path: Path,
    start_manager,
    db: Database,
    slurm: SlurmCluster,  # noqa: F811
) -> None:
    dataset = make_image_folder(tmp_path / "data" / "shapes", per_class=6)
    request = make_request("real", epochs=2, dataset=str(dataset))
    request.config.image_size = 32
    request.config.batch_size = 8
    command = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1"]
    # a loaded CI host may take a while to tear torch down after the final event
    manager = start_manager(slurm_settings(tmp_path, grace=60), command)
    run = manager.submit(request)
    done = wait_until(lambda: (view := manager.get(run.id)).status.is_terminal and view, timeout=180)

    assert done.status == RunStatus.COMPLETED, done.error_message
    wait_until(lambda: job_state(slurm, done.job_id) == "COMPLETED", timeout=30)  # the trainer exited 0
    assert Path(done.figures.artifacts["model"]).is_file()
    assert (Path(done.output_dir or "") / "job.sh").read_text().count("--config") == 1
    with db.session() as session:
        epochs = session.scalars(select(RunEpoch.epoch).where(RunEpoch.run_id == run.id))
        assert sorted(epochs) == [1, 2]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the backend is what is tested
def test_a_detection_run_trains_as_a_slurm_job(
    tmp_path: Path,
    start_manager,
    slurm: SlurmCluster,  # noqa: F811
) -> None:
    data = tmp_path / "data" / "parts"
    write_yolo(data, n_images=16, size=64, seed=5, negatives=1)
    request = make_request("detector", epochs=1, dataset=str(data))
    request.config = TrainingConfig(
        task="detection",
        model="ssdlite320_mobilenet_v3_large",
        dataset_path=str(data),
        epochs=1,
        image_size=64,
        batch_size=8,
        pretrained=False,
    )
    command = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1", "--no-onnx"]
    manager = start_manager(slurm_settings(tmp_path, grace=60), command)
    run = manager.submit(request)
    done = wait_until(lambda: (view := manager.get(run.id)).status.is_terminal and view, timeout=180)

    assert done.status == RunStatus.COMPLETED, done.error_message
    assert done.job_id is not None and done.task == "detection"
    assert done.summary.final.val_map50 is not None
    assert Path(done.figures.artifacts["val_predictions"]).is_file()


def test_a_full_node_shows_slurms_reason_and_position_and_stop_works_queued_or_running(
    tmp_path: Path,
    start_manager,
    slurm: SlurmCluster,  # noqa: F811
) -> None:
    manager = start_manager(slurm_settings(tmp_path))
    recorder = Recorder()
    manager.subscribe(recorder)
    first, second, third = (manager.submit(make_request(f"q{n}", epochs=60)) for n in range(3))
    wait_until(lambda: manager.get(first.id).current_epoch >= 1, timeout=60)

    # the node has one CPU: the others wait in Slurm's queue, with Slurm's reason (once its
    # scheduler has looked at them; until then Slurm says "None") and order
    def waiting_with_reasons() -> list | None:
        views = [manager.get(second.id), manager.get(third.id)]
        placed = [(v.status, v.queue_position) for v in views] == [(RunStatus.QUEUED, n) for n in (1, 2)]
        return views if placed and all(v.pending_reason for v in views) else None

    waiting = wait_until(waiting_with_reasons, timeout=60)
    assert waiting[0].pending_reason == "Resources" and waiting[1].pending_reason in {"Priority", "Resources"}
    assert all(view.job_id for view in waiting)
    assert any(u.run.pending_reason for u in recorder.for_run(second.id))
    assert manager.get(first.id).status == RunStatus.RUNNING

    # a job still waiting in Slurm is cancelled at once; the one behind moves up
    manager.stop(second.id, "UOWNER")
    assert wait_until(lambda: manager.get(second.id).status == RunStatus.STOPPED, timeout=30)
    assert manager.get(second.id).checkpoint_path is None
    wait_until(lambda: manager.get(third.id).queue_position == 1, timeout=30)

    # a running job gets SIGTERM, saves a checkpoint and the next job starts
    manager.stop(first.id, "UOWNER")
    stopped = wait_until(lambda: (v := manager.get(first.id)).status == RunStatus.STOPPED and v, timeout=30)
    assert 1 <= stopped.current_epoch < 60 and stopped.checkpoint_path is not None
    wait_until(lambda: manager.get(third.id).status == RunStatus.RUNNING, timeout=30)
    assert manager.get(third.id).pending_reason is None


def test_a_restarted_bot_reattaches_to_its_slurm_job(
    tmp_path: Path,
    db: Database,
    start_manager,
    slurm: SlurmCluster,  # noqa: F811
) -> None:
    settings = slurm_settings(tmp_path)
    first = start_manager(settings)
    run = first.submit(make_request("survivor", epochs=8))
    wait_until(lambda: first.get(run.id).current_epoch >= 1, timeout=60)
    job_id = first.get(run.id).job_id
    first.shutdown()

    second = start_manager(settings)
    assert second.get(run.id).status == RunStatus.RUNNING
    done = wait_until(lambda: (v := second.get(run.id)).status == RunStatus.COMPLETED and v, timeout=60)
    assert done.job_id == job_id and done.current_epoch == 8
    with db.session() as session:
        epochs = session.scalars(select(RunEpoch.epoch).where(RunEpoch.run_id == run.id))
        assert sorted(epochs) == list(range(1, 9))


def test_a_failing_job_fails_the_run_with_its_exit_code_and_stderr(
    tmp_path: Path,
    db: Database,
    start_manager,
    slurm: SlurmCluster,  # noqa: F811
) -> None:
    manager = start_manager(slurm_settings(tmp_path), fake_command("--mode", "crash"))
    run = manager.submit(make_request("crash", epochs=3))
    failed = wait_until(lambda: (v := manager.get(run.id)).status == RunStatus.FAILED and v, timeout=60)
    with db.session() as session:
        detail = session.get_one(TrainingRun, run.id).error_detail or ""
    assert "exit code 1" in detail and "RuntimeError: fake trainer crashed" in detail
    assert failed.error_message == "internal"  # a reason code, worded by the front end
    assert failed.error_line == "RuntimeError: fake trainer crashed"
    wait_until(lambda: job_state(slurm, failed.job_id) == "FAILED", timeout=30)


def test_start_up_checks_say_what_is_wrong(tmp_path: Path, slurm: SlurmCluster) -> None:  # noqa: F811
    launcher_for(slurm).check()  # reachable: no error

    with pytest.raises(BackendUnavailable, match=r"SLURM_PARTITION=gpu-big is not a partition.*debug"):
        launcher_for(slurm, partition="gpu-big").check()

    with pytest.raises(
        BackendUnavailable, match=r"SLURM_GPUS_PER_RUN=2, but the nodes of partition debug have at most 0"
    ):
        launcher_for(slurm, gpus_per_run=2).check()

    no_tools = SlurmLauncher(environ={**slurm.env(), "PATH": str(tmp_path)})
    with pytest.raises(BackendUnavailable, match="sbatch, squeue, scontrol, scancel is not installed"):
        no_tools.check()

    dead_conf = conf_without_controller(slurm, tmp_path)
    controller_down = SlurmLauncher(environ={**slurm.env(), "SLURM_CONF": str(dead_conf)})
    with pytest.raises(BackendUnavailable, match="controller does not answer"):
        controller_down.check()


def test_the_bot_refuses_to_start_when_slurm_is_unreachable(tmp_path: Path, slurm: SlurmCluster) -> None:  # noqa: F811
    dead_conf = conf_without_controller(slurm, tmp_path)
    env = {
        **slurm.env(),
        "SLURM_CONF": str(dead_conf),
        "RUN_BACKEND": "slurm",
        "SLURM_PARTITION": slurm.partition,
        "DATA_ROOT": str(tmp_path / "data"),
        "OUTPUT_ROOT": str(tmp_path / "outputs"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--console"],
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Cannot start runs: RUN_BACKEND=slurm, but the Slurm controller does not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_slack_conversation_trains_as_a_slurm_job_after_waiting_in_slurms_queue(
    tmp_path: Path,
    slurm: SlurmCluster,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    make_image_folder(tmp_path / "data" / "pets", classes=("cat", "dog"), per_class=4)
    # a job from someone else holds the only CPU, so the run waits in Slurm's queue first
    blocker = slurm.run("sbatch", "--parsable", "--output=/dev/null", "--wrap", "sleep 60").strip()
    wait_until(lambda: job_state(slurm, blocker) == "RUNNING", timeout=30)
    slack = SlackHarness.start(
        tmp_path,
        fake_command("--epoch-seconds", "0.2"),
        run_backend="slurm",
        slurm_partition=slurm.partition,
        slurm_gpus_per_run=0,
    )
    try:
        thread = setup_thread(slack, epochs=3)
        click(slack, slack.summary(thread).ts, OWNER, "train_start")
        progress = slack.progress_message(thread)
        slack.standin.wait_for(
            lambda: "Slurm queue position 1: waiting for free resources" in str(progress.blocks),
            timeout=30,
            what="Slurm's reason in the queued message",
        )
        slurm.run("scancel", blocker)
        slack.wait_reply(thread, "Final validation accuracy", timeout=60)
        run = slack.runs.recent_runs()[0]
        assert run.status == RunStatus.COMPLETED and run.job_id is not None and run.job_id != blocker
    finally:
        slack.close()
        slurm.cancel_all()


def test_gpus_are_counted_from_sinfos_generic_resources() -> None:
    assert [gpus_in_gres(g) for g in ("gpu:4", "gpu:a100:8(S:0-1)", "(null)", "gpu:2,mps:100", "")] == [
        4,
        8,
        0,
        2,
        0,
    ]
