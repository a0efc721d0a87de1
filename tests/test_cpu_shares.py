"""CPU shares: the trainer's thread choice (affinity, cgroup quota, Slurm, load, --threads) and the bot's
CPU inventory, checked on the real processes it starts (their affinity as the kernel reports it)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bot.predict.client import PredictService
from bot.predict.export import run_export
from bot.runs.cpus import CpuInventory, allowed_list, cores_text
from bot.runs.launcher import LaunchSpec
from bot.runs.manager import RunManager
from bot.runs.process import TrainerProcess, WarmSpare
from bot.runs.slurm import SlurmLauncher
from bot.storage import Database, RunStatus, TrainingRun
from tests.runs_support import fake_command, make_request, make_settings, managers
from tests.waiting import wait_until
from training.cpus import cgroup_cpu_limit, host_plan, other_load, plan_threads, slurm_cpus
from training.warm import at_lowest_priority

CORES = sorted(os.sched_getaffinity(0))
needs_two_cores = pytest.mark.skipif(len(CORES) < 2, reason="needs a host with at least 2 cores")


# --- the trainer's threads ----------------------------------------------------------------------------------
def test_threads_follow_the_tightest_limit_and_the_load() -> None:
    assert plan_threads(None, None, cpus=8).compute == 8
    assert plan_threads(None, None, cpus=8).reason == "cpus"
    quota = plan_threads(None, None, cpus=8, quota=2.5)
    assert (quota.compute, quota.reason) == (2, "cgroup")
    slurm = plan_threads(None, None, cpus=16, quota=12.0, slurm=4)
    assert (slurm.compute, slurm.reason, slurm.decode) == (4, "slurm", 4)
    loaded = plan_threads(None, None, cpus=2, busy=1.0)  # a neighbour holds one of the two cores
    assert (loaded.compute, loaded.reason) == (1, "load")
    assert "1.0 busy" in loaded.detail
    assert plan_threads(None, None, cpus=2, busy=0.3).compute == 2  # background noise is not a neighbour
    assert plan_threads(None, None, cpus=4, busy=9.0).compute == 1  # never fewer than one
    flag = plan_threads(3, None, cpus=8, busy=6.0)
    assert (flag.compute, flag.reason, flag.detail) == (3, "flag", "--threads 3")
    assert plan_threads(None, 6, cpus=2).decode == 6  # --workers still sets the decode threads
    assert plan_threads(None, None, cpus=32).interop == 4


def test_the_plan_reads_this_process_affinity() -> None:
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {CORES[0]})
        plan = host_plan(None, None)
    finally:
        os.sched_setaffinity(0, before)
    assert plan.cpus == 1 and plan.compute == 1 and plan.decode == 1
    assert host_plan(2, None).compute == 2


def test_cgroup_quota_v2_and_v1(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    proc.write_text("0::/user.slice/job\n")
    (tmp_path / "v2" / "user.slice" / "job").mkdir(parents=True)
    (tmp_path / "v2" / "user.slice" / "job" / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path / "v2", proc) is None
    (tmp_path / "v2" / "user.slice" / "cpu.max").write_text("150000 100000\n")  # a parent's quota binds
    assert cgroup_cpu_limit(tmp_path / "v2", proc) == 1.5

    proc.write_text("4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    v1 = tmp_path / "v1" / "cpu,cpuacct" / "docker" / "abc"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path / "v1", proc) is None
    (v1 / "cpu.cfs_quota_us").write_text("300000\n")
    assert cgroup_cpu_limit(tmp_path / "v1", proc) == 3.0
    assert cgroup_cpu_limit(tmp_path / "missing", tmp_path / "no-such-file") is None


def test_slurm_allocation() -> None:
    assert slurm_cpus({}) is None
    assert slurm_cpus({"SLURM_CPUS_PER_TASK": "4"}) is None  # not inside a job
    assert slurm_cpus({"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "4"}) == 4
    assert slurm_cpus({"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_GPU": "6", "SLURM_GPUS_ON_NODE": "2"}) == 12
    assert slurm_cpus({"SLURM_JOB_ID": "7"}) is None
    assert slurm_cpus({"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "lots"}) is None


def test_load_counts_other_work_but_not_niced_work(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    ticks = os.sysconf("SC_CLK_TCK")
    # columns: user nice system idle iowait irq softirq steal
    stat.write_text("cpu  0 0 0 0 0 0 0 0\ncpu0 100 0 0 0 0 0 0 0\ncpu1 100 0 0 0 0 0 0 0\n")

    now = [0.0]

    def one_second_passes(seconds: float) -> None:  # cpu0 fully busy, cpu1 busy only with niced work
        stat.write_text(f"cpu  0 0 0 0\ncpu0 {100 + ticks} 0 0 0 0 0 0 0\ncpu1 100 {ticks} 0 0 0 0 0 0\n")
        now[0] += seconds

    busy = other_load([0, 1], seconds=1.0, stat=stat, sleep=one_second_passes, clock=lambda: now[0])
    assert 0.9 <= busy <= 1.0  # one core's worth (less this process's own CPU time meanwhile)
    assert other_load([0], stat=tmp_path / "missing") == 0.0


def test_the_warm_spare_imports_at_the_lowest_priority() -> None:
    seen: list[int] = []
    before = os.getpriority(os.PRIO_PROCESS, 0)
    at_lowest_priority(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
    assert seen == [19]
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the thread that becomes the run keeps its own

    def fails() -> None:
        raise ValueError("import failed")

    with pytest.raises(ValueError, match="import failed"):
        at_lowest_priority(fails)


# --- the bot's inventory ------------------------------------------------------------------------------------
def test_shares_on_a_larger_host() -> None:
    host = CpuInventory(lambda: list(range(16)), reserved=2)
    assert host.reserved == (0, 1)
    assert host.cores == tuple(range(2, 16))
    # GPU host: each GPU slot its block; a run on two GPUs both blocks
    gpus = ["0", "1"]
    assert host.for_run("0", gpus, [], 2) == tuple(range(2, 9))
    assert host.for_run("1", gpus, [], 2) == tuple(range(9, 16))
    assert host.for_run("0,1", gpus, [], 2) == tuple(range(2, 16))
    # CPU host, two runs at once: an even split, then what is left; never a core another run holds
    first = host.for_run(None, [], [], 2)
    second = host.for_run(None, [], [first], 2)
    assert len(first) == len(second) == 7 and not set(first) & set(second)
    alone = host.for_run(None, [], [], 1)
    assert alone == host.cores
    # helpers: the cores no run holds, else the reserved ones
    assert host.for_helper([first]) == second
    assert host.for_helper([first, second]) == (0, 1)
    assert CpuInventory(lambda: [0, 1, 2, 3]).for_helper([(0, 1, 2, 3)]) == (0, 1, 2, 3)
    # more runs than cores share the least held ones
    small = CpuInventory(lambda: [0, 1])
    assert small.for_run(None, [], [(0,), (1,)], 3) in {(0,), (1,)}
    # a reservation as large as the host still leaves runs one core
    assert CpuInventory(lambda: [0, 1], reserved=5).cores == (1,)
    assert host.split(3) == [(2, 3, 4, 5, 6), (7, 8, 9, 10), (11, 12, 13, 14, 15)]
    assert cores_text([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"


def test_slurm_asks_for_cpus_with_the_gpus() -> None:
    assert "--cpus-per-gpu=8" in SlurmLauncher(gpus_per_run=1, cpus_per_gpu=8)._resource_args(1)
    assert not any("cpus" in arg for arg in SlurmLauncher(gpus_per_run=0, cpus_per_gpu=8)._resource_args(1))
    assert not any("cpus" in arg for arg in SlurmLauncher(gpus_per_run=1, cpus_per_gpu=0)._resource_args(1))


# --- every process the bot starts, started with its share ---------------------------------------------------
WAIT_ON_STDIN = "import sys; sys.stdin.readline()"
READY_WORKER = "import sys; print('{\"ready\": true}', flush=True); sys.stdin.readline()"
# an export worker's stand-in: writes the CPUs it may run on to the file its first argument names (the
# run folder's), then prints a report
REPORT_AFFINITY = (
    "import json, os, pathlib, sys; cpus = sorted(os.sched_getaffinity(0)); "
    "pathlib.Path(sys.argv[1], 'cpus.json').write_text(json.dumps(cpus)); "
    "print(json.dumps({'status': 'unavailable', 'message': 'a stand-in'}))"
)


@needs_two_cores
def test_trainer_spare_and_workers_start_on_their_share(tmp_path: Path) -> None:
    last = (CORES[-1],)
    spec = LaunchSpec(1, [sys.executable, "-c", WAIT_ON_STDIN], tmp_path, cpus=last)
    trainer = TrainerProcess.launch(spec)
    try:
        assert allowed_list(trainer.pid) == str(CORES[-1])
    finally:
        trainer.kill()

    spare = WarmSpare([sys.executable, "-c", WAIT_ON_STDIN + "; import time; time.sleep(30)"])
    try:
        taken = spare.take(spec, ["--epochs", "1"])
        assert taken is not None
        assert allowed_list(taken.pid) == str(CORES[-1])
    finally:
        spare.close()

    service = PredictService(command=[sys.executable, "-c", READY_WORKER], cpus=lambda: (CORES[0],))
    try:
        service.devices()
        worker = service._worker()
        assert allowed_list(worker.process.pid) == str(CORES[0])
    finally:
        service.close()

    report = run_export(tmp_path, [sys.executable, "-c", REPORT_AFFINITY], cpus=last)
    assert report.status == "unavailable"  # its report was read
    assert json.loads((tmp_path / "cpus.json").read_text()) == list(last)


def trainer_pid(db: Database, run_id: int) -> int | None:
    with db.session() as session:
        row = session.get(TrainingRun, run_id)
        return row.pid if row is not None else None


@needs_two_cores
def test_two_runs_at_once_each_get_their_own_cores(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path, max_concurrent_runs=2)
    with managers(db) as created:
        manager = RunManager(
            db,
            settings,
            trainer_command=fake_command("--epoch-seconds", "0.5"),
            cpus=CpuInventory(lambda: CORES[:2]),
        )
        created.append(manager)
        manager.start()
        runs = [manager.submit(make_request(f"cpu{n}", epochs=4)) for n in range(2)]
        pids = [wait_until(lambda run=run: trainer_pid(db, run.id)) for run in runs]
        shares = sorted(allowed_list(pid) for pid in pids)
        assert shares == [str(CORES[0]), str(CORES[1])]
        # a prediction worker now finds no free core and nothing reserved: it gets them all
        assert manager.helper_cpus() == tuple(CORES[:2])
        for run in runs:
            manager.stop(run.id, "UOWNER")
        for run in runs:
            wait_until(lambda run=run: manager.get(run.id).status == RunStatus.STOPPED)
        assert manager.helper_cpus() == tuple(CORES[:2])
