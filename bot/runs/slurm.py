"""The Slurm backend: each run is a batch job (sbatch) running the same trainer command.

State comes from one squeue listing shared by all jobs and refreshed at most every poll_seconds; a
job that has left squeue is looked up with sacct when accounting is on, else with scontrol (which
keeps finished jobs for MinJobAge). Stop is `scancel --signal=TERM --full` (the trainer checkpoints
and exits), then a plain scancel after the grace period. OUTPUT_ROOT and DATA_ROOT must be on storage
the compute nodes share: the bot follows OUT/events.jsonl there as for a local run.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.child_env import child_environment
from bot.runs.launcher import BackendUnavailable, JobState, LaunchFailed, LaunchSpec
from bot.settings import Settings
from training.contract import STDERR_FILE

log = logging.getLogger(__name__)

TOOLS = ("sbatch", "squeue", "scontrol", "scancel")
JOB_SCRIPT_NAME = "job.sh"
# squeue states in which the job has not ended yet
ALIVE_STATES = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "STOPPED"}
)
# what a Slurm job must not carry into the controller's job records
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class _Listed:
    state: str
    reason: str
    partition: str


def job_name(run_id: int) -> str:
    """The Slurm job name of a run: how a job whose id the bot did not record is found again."""
    return f"trainbot-run-{run_id}"


def exit_code(value: str) -> int | None:
    """Slurm's `code:signal` as a Popen-style return code (negative for a signal)."""
    code, _, signal_number = value.partition(":")
    try:
        if signal_number and int(signal_number):
            return -int(signal_number)
        return int(code)
    except ValueError:
        return None


def _state_of(state: str, code: str) -> JobState:
    if state in ALIVE_STATES:
        return JobState(alive=True, pending=state == "PENDING")
    return JobState(alive=False, returncode=exit_code(code))


def gpus_in_gres(gres: str) -> int:
    """GPUs in one node's generic resources as sinfo prints them: gpu:4, gpu:a100:8(S:0-1), (null)."""
    total = 0
    for entry in gres.split(","):
        name, _, rest = entry.partition(":")
        if name == "gpu" and rest:
            count = rest.split("(")[0].rsplit(":", 1)[-1]
            total += int(count) if count.isdigit() else 0
    return total


class SlurmLauncher:
    schedules_itself = True

    def __init__(
        self,
        *,
        partition: str | None = None,
        account: str | None = None,
        qos: str | None = None,
        time_limit: str | None = None,
        gpus_per_run: int = 1,
        cpus_per_gpu: int = 0,
        extra_args: Sequence[str] = (),
        poll_seconds: float = 2.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.partition = partition
        self._account = account
        self._qos = qos
        self._time_limit = time_limit
        self._gpus_per_run = gpus_per_run
        self._cpus_per_gpu = cpus_per_gpu
        self._extra_args = list(extra_args)
        self._poll_seconds = poll_seconds
        self._environ = environ
        self._lock = threading.Lock()
        self._listing: dict[str, _Listed] = {}
        self._pending_order: dict[str, list[str]] = {}  # partition -> pending job ids, next to start first
        self._listed_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> SlurmLauncher:
        return cls(
            partition=settings.slurm_partition,
            account=settings.slurm_account,
            qos=settings.slurm_qos,
            time_limit=settings.slurm_time_limit,
            gpus_per_run=settings.slurm_gpus_per_run,
            cpus_per_gpu=settings.slurm_cpus_per_gpu,
            extra_args=shlex.split(settings.slurm_extra_args),
        )

    # the Launcher interface

    def check(self) -> None:
        path = self._env().get("PATH")
        missing = [tool for tool in TOOLS if shutil.which(tool, path=path) is None]
        if missing:
            raise BackendUnavailable(
                f"RUN_BACKEND=slurm, but {', '.join(missing)} is not installed on this host. Run the bot on "
                "a Slurm login node (or install the Slurm client tools), or set RUN_BACKEND=local."
            )
        ping = self._run("scontrol", "ping", check=False)
        if ping.returncode != 0 or " is UP" not in ping.stdout:
            detail = (ping.stdout + ping.stderr).strip() or f"exit code {ping.returncode}"
            raise BackendUnavailable(
                f"RUN_BACKEND=slurm, but the Slurm controller does not answer ({detail}). Check that "
                "slurmctld is running and that SLURM_CONF points at the cluster's slurm.conf."
            )
        if self.partition:
            shown = self._run("scontrol", "show", "partition", self.partition, "-o", check=False)
            if shown.returncode != 0 or f"PartitionName={self.partition}" not in shown.stdout:
                names = self._run("sinfo", "-h", "-o", "%R", check=False).stdout.split()
                raise BackendUnavailable(
                    f"SLURM_PARTITION={self.partition} is not a partition of this cluster "
                    f"(it has: {', '.join(sorted(set(names))) or 'none'})."
                )
        if self._gpus_per_run:
            most = self.most_gpus_per_node()
            if most < self._gpus_per_run:
                where = f"partition {self.partition}" if self.partition else "the default partition"
                raise BackendUnavailable(
                    f"SLURM_GPUS_PER_RUN={self._gpus_per_run}, but the nodes of {where} have at most {most} "
                    "GPUs. Lower it (0 for CPU-only partitions) or choose another SLURM_PARTITION."
                )

    def prepare(self, trainer: Sequence[str]) -> None:
        """Jobs start on whichever node Slurm picks: there is no process to keep warm."""

    def close(self) -> None:
        pass

    def submit(self, spec: LaunchSpec) -> SlurmJob:
        script = spec.output_dir / JOB_SCRIPT_NAME
        script.write_text(
            f"#!/bin/sh\n# trainbot run {spec.run_id}\nexec {shlex.join(spec.args)}\n", encoding="utf-8"
        )
        args = [
            "sbatch",
            "--parsable",
            f"--job-name={job_name(spec.run_id)}",
            "--nodes=1",
            "--output=/dev/null",  # events go to OUT/events.jsonl; stdout carries the same lines
            f"--error={spec.output_dir / STDERR_FILE}",
            "--open-mode=append",
            f"--chdir={os.getcwd()}",
            *self._resource_args(spec.gpus),
            str(script),
        ]
        result = self._run(*args, check=False)
        if result.returncode != 0:
            raise LaunchFailed(f"sbatch refused the job: {result.stderr.strip() or result.stdout.strip()}")
        job_id = result.stdout.strip().split(";")[0]  # --parsable: id[;cluster]
        log.info("run %s: submitted as Slurm job %s", spec.run_id, job_id)
        self._listed_at = float("-inf")  # the next state() lists it
        return SlurmJob(job_id, spec.output_dir, self)

    def attach(self, run_id: int, pid: int | None, job_id: str | None, out_dir: Path) -> SlurmJob | None:
        if job_id is None:
            job_id = self._submitted(run_id, out_dir)
        if job_id is None:
            return None
        job = SlurmJob(job_id, out_dir, self)
        state = self.state_of(job_id)
        return job if state.alive or state.returncode is not None else None

    # used by SlurmJob

    def state_of(self, job_id: str) -> JobState:
        listed, position = self._listed(job_id)
        if listed is not None and listed.state in ALIVE_STATES:
            if listed.state == "PENDING":
                # "None" is Slurm's word for a job its scheduler has not looked at yet
                reason = listed.reason if listed.reason not in {"", "None"} else None
                return JobState(alive=True, pending=True, pending_reason=reason, queue_position=position)
            return JobState(alive=True)
        return self._unlisted_state(job_id)

    def cancel(self, job_id: str, *, signal: str | None = None) -> None:
        args = ["scancel", *(["--signal", signal, "--full"] if signal else []), job_id]
        result = self._run(*args, check=False)
        if result.returncode != 0:
            log.warning("%s failed: %s", shlex.join(args), result.stderr.strip())
        self._listed_at = float("-inf")

    # internals

    def _submitted(self, run_id: int, out_dir: Path) -> str | None:
        """The newest job of run `run_id` that squeue still knows (by its name and its script in
        `out_dir`), for a bot that stopped between sbatch and recording the job id."""
        listed = self._run(
            "squeue", "-h", "-t", "all", f"--name={job_name(run_id)}", "-o", "%i|%o", check=False
        )
        script = str(out_dir / JOB_SCRIPT_NAME)
        found = [
            job_id
            for job_id, _, command in (line.strip().partition("|") for line in listed.stdout.splitlines())
            if command == script
        ]
        return max(found, key=int, default=None)

    def _resource_args(self, run_gpus: int) -> list[str]:
        """sbatch's options; a run on several GPUs asks for them on one node (torchrun runs in the job),
        a one-GPU run for SLURM_GPUS_PER_RUN; with GPUs, SLURM_CPUS_PER_GPU cores for each (the trainer sizes
        its threads from the allocation)."""
        gpus = run_gpus if run_gpus > 1 else self._gpus_per_run
        options = {
            "--partition": self.partition,
            "--account": self._account,
            "--qos": self._qos,
            "--time": self._time_limit,
            "--gpus-per-node": str(gpus) if gpus else None,
            "--cpus-per-gpu": str(self._cpus_per_gpu) if gpus and self._cpus_per_gpu else None,
        }
        return [f"{flag}={value}" for flag, value in options.items() if value] + self._extra_args

    def most_gpus_per_node(self) -> int:
        """The most GPUs one node of the partition has, from its generic resources (gpu:4, gpu:a100:8)."""
        partition = ["--partition", self.partition] if self.partition else []
        listing = self._run("sinfo", "-h", "-N", *partition, "-o", "%G", check=False).stdout
        return max((gpus_in_gres(line) for line in listing.split()), default=0)

    def _listed(self, job_id: str) -> tuple[_Listed | None, int | None]:
        with self._lock:
            if time.monotonic() - self._listed_at >= self._poll_seconds:
                self._refresh_listing()
            listed = self._listing.get(job_id)
            if listed is None or listed.state != "PENDING":
                return listed, None
            return listed, self._pending_order[listed.partition].index(job_id) + 1

    def _refresh_listing(self) -> None:
        result = self._run("squeue", "-h", "-t", "all", "--sort=-p,i", "-o", "%i|%T|%r|%P", check=False)
        if result.returncode != 0:
            # the controller is briefly unreachable: keep the last listing rather than report jobs gone
            log.warning("squeue failed: %s", result.stderr.strip())
            return
        listing: dict[str, _Listed] = {}
        pending: dict[str, list[str]] = {}
        for line in result.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) != 4:
                continue
            job_id, state, reason, partition = parts
            listing[job_id] = _Listed(state, reason, partition)
            if state == "PENDING":
                pending.setdefault(partition, []).append(job_id)
        self._listing, self._pending_order = listing, pending
        self._listed_at = time.monotonic()

    def _unlisted_state(self, job_id: str) -> JobState:
        """A job squeue does not list (or lists as ended): ask accounting, else the controller. When
        neither can answer, the job is taken to be still alive: a controller hiccup must not end runs."""
        accounted = self._run("sacct", "-n", "-P", "-X", "-j", job_id, "-o", "State,ExitCode", check=False)
        if accounted.returncode == 0 and accounted.stdout.strip():
            state, _, code = accounted.stdout.split()[0].partition("|")
            return _state_of(state.split()[0], code)
        shown = self._run("scontrol", "show", "job", job_id, "-o", check=False)
        fields = dict(field.partition("=")[::2] for field in shown.stdout.split())
        if shown.returncode == 0 and "JobState" in fields:
            return _state_of(fields["JobState"], fields.get("ExitCode", ""))
        if "Invalid job id" in shown.stderr:
            return JobState(alive=False)  # ended long ago and forgotten: the exit code is lost
        log.warning("Slurm job %s: no state from squeue or scontrol (%s)", job_id, shown.stderr.strip())
        return JobState(alive=True)

    def _run(self, *args: str, check: bool) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                args, env=self._env(), capture_output=True, text=True, timeout=TIMEOUT_S, check=check
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return subprocess.CompletedProcess(args, 255, "", str(exc))

    def _env(self) -> dict[str, str]:
        """This process's environment (or the one given) without the bot's secrets: sbatch copies it
        into the job, and the controller stores it with the job."""
        return child_environment(environ=self._environ)


class SlurmJob:
    """One batch job, found again after a restart by its id."""

    pid: int | None = None

    def __init__(self, job_id: str, out_dir: Path, launcher: SlurmLauncher) -> None:
        self.job_id: str | None = job_id
        self._id = job_id
        self.out_dir = out_dir
        self._launcher = launcher
        self._cancel_timer: threading.Timer | None = None

    def state(self) -> JobState:
        return self._launcher.state_of(self._id)

    def terminate(self, grace_seconds: float) -> None:
        if self.state().pending:
            self.kill()  # nothing runs yet, so there is no checkpoint to wait for
            return
        self._launcher.cancel(self._id, signal="TERM")
        if self._cancel_timer is None:
            self._cancel_timer = threading.Timer(grace_seconds, self._cancel_if_alive)
            self._cancel_timer.daemon = True
            self._cancel_timer.start()

    def kill(self) -> None:
        self._launcher.cancel(self._id)

    def forget(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer.cancel()

    def _cancel_if_alive(self) -> None:
        if self.state().alive:
            log.warning("Slurm job %s still running after SIGTERM; cancelling it", self._id)
            self.kill()
