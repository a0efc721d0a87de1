"""A real single-node Slurm cluster on loopback for tests: munged, slurmctld and slurmd from Debian's
slurm-wlm and munge, with their key, sockets, state and logs in a temp dir, started and stopped by PID.

Clients find it through SLURM_CONF (set by the fixture for the test session); nothing under /etc
is touched. One cluster is shared by the whole session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.runs.slurm import SlurmLauncher

DAEMONS = ("munged", "slurmctld", "slurmd")
PARTITION = "debug"


@dataclass(frozen=True)
class SlurmCluster:
    root: Path
    conf: Path
    partition: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str) -> str:
        return subprocess.run(
            args, env=self.env(), capture_output=True, text=True, timeout=30, check=True
        ).stdout

    def cancel_all(self) -> None:
        """Cancel every job, so one test's jobs never hold the node for the next."""
        ids = self.run("squeue", "-h", "-o", "%i").split()
        if ids:
            self.run("scancel", *ids)
        deadline = time.monotonic() + 30
        while self.run("squeue", "-h", "-o", "%i").split() and time.monotonic() < deadline:
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _conf(root: Path, munge_socket: Path) -> str:
    memory_mib = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return "\n".join(
        [
            "ClusterName=trainbot-test",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={munge_socket}",
            f"StateSaveLocation={root}/state",
            f"SlurmdSpoolDir={root}/spool",
            f"SlurmctldPidFile={root}/slurmctld.pid",
            f"SlurmdPidFile={root}/slurmd.pid",
            f"SlurmctldLogFile={root}/slurmctld.log",
            f"SlurmdLogFile={root}/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SlurmUser=root",
            "ReturnToService=2",
            "MpiDefault=none",
            "JobAcctGatherType=jobacct_gather/none",
            "SchedulerParameters=sched_interval=2",
            "KillWait=5",
            # one CPU: a second job waits (Resources) while the first runs
            f"NodeName=localhost NodeAddr=127.0.0.1 CPUs=1 RealMemory={memory_mib * 3 // 4} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _stop(pid_file: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _wait_idle(cluster: SlurmCluster, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.SubprocessError):
            state = cluster.run("sinfo", "-h", "-N", "-o", "%T").strip()
            if state == "idle":
                return
        time.sleep(0.3)
    logs = "\n".join((cluster.root / f"{name}.log").read_text()[-2000:] for name in ("slurmctld", "slurmd"))
    raise RuntimeError(f"the test Slurm node did not become idle (state {state!r})\n{logs}")


def unavailable_reason() -> str | None:
    """Why the Slurm tests cannot run here (they skip with it, as the PostgreSQL tests do), or None."""
    missing = [name for name in (*DAEMONS, "sbatch", "mungekey") if shutil.which(name) is None]
    if missing:
        return f"Slurm not installed ({', '.join(missing)} missing): apt-get install -y slurm-wlm munge"
    return None


@contextlib.contextmanager
def slurm_cluster() -> Iterator[SlurmCluster]:
    """Start munged, slurmctld and slurmd in a temp dir; stop them by PID afterwards."""
    root = Path(tempfile.mkdtemp(prefix="trainbot-slurm-"))
    (root / "state").mkdir()
    (root / "spool").mkdir()
    munge_socket = root / "munge.sock"
    conf = root / "slurm.conf"
    conf.write_text(_conf(root, munge_socket))
    cluster = SlurmCluster(root, conf, PARTITION)
    pid_files = [root / "munged.pid", root / "slurmctld.pid", root / "slurmd.pid"]
    try:
        subprocess.run(["mungekey", "-c", "-k", str(root / "munge.key")], check=True, capture_output=True)
        subprocess.run(
            [
                "munged", "--force", f"--socket={munge_socket}", f"--key-file={root / 'munge.key'}",
                f"--pid-file={pid_files[0]}", f"--log-file={root / 'munged.log'}",
                f"--seed-file={root / 'munged.seed'}", "--origin=127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        env = cluster.env()
        subprocess.run(["slurmctld", "-f", str(conf)], env=env, check=True, capture_output=True)
        subprocess.run(
            ["slurmd", "-f", str(conf), "-N", "localhost"], env=env, check=True, capture_output=True
        )
        _wait_idle(cluster)
        yield cluster
    finally:
        for pid_file in reversed(pid_files):
            _stop(pid_file)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm() -> Iterator[SlurmCluster]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with slurm_cluster() as cluster:
        yield cluster


def launcher_for(cluster: SlurmCluster, **overrides: object) -> SlurmLauncher:
    values: dict = {"partition": cluster.partition, "gpus_per_run": 0, "poll_seconds": 0.3}
    values.update(overrides)
    return SlurmLauncher(environ=cluster.env(), **values)
