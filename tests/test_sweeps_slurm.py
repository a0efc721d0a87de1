"""A sweep on the Slurm backend (a real single-node Slurm, tests/slurm_cluster.py): every trial is
submitted as its own job, and the sweep ends with its best trial."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runs import RunManager
from bot.storage import Database, RunStatus, SweepStatus
from bot.sweeps.controller import SweepController
from bot.sweeps.parse import parse_sweep
from bot.sweeps.spec import checked
from tests.runs_support import fake_command, make_settings
from tests.slurm_cluster import SlurmCluster, launcher_for, slurm  # noqa: F401  (the session's cluster)
from tests.waiting import wait_until
from training.config import TrainingConfig


def test_a_sweep_on_slurm_submits_each_trial_as_a_job(tmp_path: Path, slurm: SlurmCluster) -> None:  # noqa: F811
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    db.create_all()
    settings = make_settings(tmp_path, run_backend="slurm", max_concurrent_runs=None, sweep_parallel=2)
    command = fake_command("--acc-by-lr", "--epoch-seconds", "0.2")
    manager = RunManager(db, settings, trainer_command=command, launcher=launcher_for(slurm))
    sweeps = SweepController(db, manager, settings)
    base = TrainingConfig(dataset_path="/data/shapes", model="resnet18", epochs=2, pretrained=False)
    spec = checked(parse_sweep("lr 1e-3 or 1e-2") or pytest.fail("not read as a sweep"), 12)
    try:
        manager.start()
        sweeps.start()
        sweep = sweeps.create(spec, base, "UOWNER")
        wait_until(lambda: sweeps.view(sweep.id).status == SweepStatus.COMPLETED, timeout=90)
        view = sweeps.view(sweep.id)
    finally:
        sweeps.close()
        manager.shutdown()
        slurm.cancel_all()
        db.dispose()

    runs = [trial.run for trial in view.trials if trial.run is not None]
    assert len(runs) == 2 and all(run.status == RunStatus.COMPLETED for run in runs)
    job_ids = {run.job_id for run in runs}
    assert None not in job_ids and len(job_ids) == 2  # one Slurm job per trial
    assert view.best is not None and view.best.params == {"learning_rate": 1e-2}
