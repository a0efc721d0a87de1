"""The launcher boundary: how the run manager hands a trainer to a backend and follows it.

Two backends, chosen by RUN_BACKEND (bot/runs/backends.py): `local` (a subprocess on this host,
bot/runs/process.py) and `slurm` (a batch job, bot/runs/slurm.py). The manager, the follower,
recovery and stop logic use only what is here; nothing else knows which backend runs a job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from training.contract import launch_command


class BackendUnavailable(Exception):
    """The backend cannot take runs (its tools are missing, its controller is down, ...): a message for
    the person starting the bot."""


class LaunchFailed(Exception):
    """The backend refused one job (e.g. sbatch rejected its options)."""


@dataclass(frozen=True)
class LaunchSpec:
    run_id: int
    args: list[str]  # the whole trainer command line
    output_dir: Path
    gpu: str | None = None  # the slots this host chose, as CUDA_VISIBLE_DEVICES ("0,1"); None: the backend's
    gpus: int = 1  # GPUs the run asks for (its TrainingConfig.gpus); more than 1: one node's, under torchrun
    cpus: tuple[int, ...] | None = None  # the cores this host chose (its affinity); None: the backend's


@dataclass(frozen=True)
class JobState:
    alive: bool  # waiting or running
    returncode: int | None = None  # once it ended, when known (negative: killed by that signal)
    pending: bool = False  # waiting in the backend's own queue
    pending_reason: str | None = None  # the backend's reason code, e.g. Slurm's Resources, Priority
    queue_position: int | None = None  # 1 = next to start, among the backend's waiting jobs


class Job(Protocol):
    @property
    def pid(self) -> int | None:
        """A local process id, or None."""

    @property
    def job_id(self) -> str | None:
        """The backend's job id, or None."""

    @property
    def out_dir(self) -> Path: ...

    def state(self) -> JobState: ...

    def terminate(self, grace_seconds: float) -> None:
        """Ask it to stop now (it checkpoints), and end it for good after grace_seconds."""

    def kill(self) -> None: ...

    def forget(self) -> None:
        """Stop tracking it (pending timers); the job itself is left alone."""


@dataclass(frozen=True)
class EndedJob:
    """A job found gone (after a restart): there is nothing left to signal."""

    out_dir: Path
    pid: int | None = None
    job_id: str | None = None

    def state(self) -> JobState:
        return JobState(alive=False)

    def terminate(self, grace_seconds: float) -> None:
        pass

    def kill(self) -> None:
        pass

    def forget(self) -> None:
        pass


class Launcher(Protocol):
    # True when the backend queues jobs and places them on GPUs itself: the bot then hands every run
    # over at once (unless MAX_CONCURRENT_RUNS is set) and picks no GPU
    schedules_itself: bool

    def check(self) -> None:
        """Raise BackendUnavailable, with what is wrong, when runs cannot be started."""

    def prepare(self, trainer: Sequence[str]) -> None:
        """Get ready to start `trainer` fast (WARM_TRAINER): the local backend keeps a spare with the
        imports done; a backend that cannot do that ignores it."""

    def close(self) -> None:
        """Let go of what prepare() holds; running jobs are left alone."""

    def submit(self, spec: LaunchSpec) -> Job:
        """Start a trainer; OSError or LaunchFailed when it could not be started."""

    def attach(self, run_id: int, pid: int | None, job_id: str | None, out_dir: Path) -> Job | None:
        """A job started earlier (by this or a previous bot), or None when it no longer exists. Without a
        pid or job id (the bot stopped between starting it and recording them), the job of that run is
        looked for, from what the backend and the run folder say."""


def trainer_args(
    command: Sequence[str],
    config_path: Path,
    out_dir: Path,
    *,
    resume: bool,
    cache_dir: Path | None = None,
    init_from: Path | None = None,
    gpus: int = 1,
) -> list[str]:
    args = [*launch_command(list(command), gpus), "--config", str(config_path), "--out", str(out_dir)]
    if cache_dir is not None:
        args += ["--cache-dir", str(cache_dir)]
    if init_from is not None:
        args += ["--init-from", str(init_from)]
    return [*args, "--resume"] if resume else args
