"""The local backend: trainer processes on this host, each in its own process group; liveness from
the Popen or /proc, stop with SIGTERM then SIGKILL, and the stderr tail.

With WARM_TRAINER, one spare `python -m training.warm` is kept ready (WarmSpare): it has done the imports
every run needs, and the next single-GPU run is handed to it instead of starting a cold process. Its
command line names no run folder, so the run folder gets WARM_PID_FILE for re-attaching after a restart.

stdout goes to /dev/null, not to a pipe: the trainer also appends every event to OUT/events.jsonl,
which the follower tails, and a pipe would break (SIGPIPE/EPIPE) when the bot restarts while the
trainer keeps running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from bot.child_env import child_environment
from bot.runs.cpus import set_affinity
from bot.runs.launcher import JobState, LaunchSpec
from training.contract import STDERR_FILE, WARM_PID_FILE, trainer_flags, warm_command
from training.warm import WarmRequest

log = logging.getLogger(__name__)

# a spare that took a run is replaced this much later, not at once: its imports would take a core from
# the run that is just starting
SPARE_REPLACED_AFTER_S = 20.0


def is_our_trainer(pid: int, out_dir: str | Path) -> bool:
    """True when `pid` is alive and is the trainer writing to `out_dir` (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if not cmdline:  # a zombie has an empty command line: it has exited
        return False
    if str(out_dir).encode() in cmdline.split(b"\0"):
        return True
    try:  # a warm spare that took this run: the bot noted its pid and start time
        noted = (Path(out_dir) / WARM_PID_FILE).read_text().split()
    except OSError:
        return False
    return noted == [str(pid), str(start_time(pid))]


def started_trainer(out_dir: Path) -> int | None:
    """The live trainer of `out_dir` when its pid was never recorded: the warm spare that WARM_PID_FILE
    notes, else the process group leader whose command line names the folder (a cold start; under
    torchrun its ranks name it too, but only torchrun leads the group)."""
    try:
        noted = int((out_dir / WARM_PID_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        noted = None
    if noted is not None and is_our_trainer(noted, out_dir):
        return noted
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return next((pid for pid in pids if _leads_group_naming(pid, out_dir)), None)


def _leads_group_naming(pid: int, out_dir: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return str(out_dir).encode() in argv and os.getpgid(pid) == pid
    except OSError:  # gone meanwhile
        return False


def proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 (state) on, so that index i is field i + 3; None when the process is
    gone. The command name before them is skipped whole: it may hold spaces and parentheses."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def start_time(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (field 22); None when gone."""
    fields = proc_stat(pid)
    return int(fields[19]) if fields is not None else None


def stderr_tail(out_dir: str | Path, lines: int = 20, max_chars: int = 4000) -> str:
    path = Path(out_dir) / STDERR_FILE
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - max_chars * 2))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])[-max_chars:]


class TrainerProcess:
    """A trainer we launched (with its Popen) or one we re-attached to after a restart (pid only)."""

    job_id: str | None = None

    def __init__(self, pid: int, out_dir: Path, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.out_dir = out_dir
        self._popen = popen
        self._kill_timer: threading.Timer | None = None

    @classmethod
    def launch(cls, spec: LaunchSpec) -> TrainerProcess:
        env = child_environment({"CUDA_VISIBLE_DEVICES": spec.gpu} if spec.gpu is not None else None)
        with (spec.output_dir / STDERR_FILE).open("ab") as stderr:
            popen = subprocess.Popen(
                spec.args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                start_new_session=True,  # its own process group: signals reach its workers, not the bot
            )
        if spec.cpus is not None:  # before it has started a thread of its own: they inherit it
            set_affinity(popen.pid, spec.cpus)
        log.info("launched trainer pid %s on cores %s: %s", popen.pid, spec.cpus or "all", spec.args)
        return cls(popen.pid, spec.output_dir, popen)

    def state(self) -> JobState:
        if self.is_running():
            return JobState(alive=True)
        return JobState(alive=False, returncode=self.returncode)

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def is_running(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        return is_our_trainer(self.pid, self.out_dir)

    def terminate(self, grace_seconds: float) -> None:
        """SIGTERM to the whole group now, SIGKILL if it is still running after the grace period."""
        self._signal_group(signal.SIGTERM)
        if self._kill_timer is None:
            self._kill_timer = threading.Timer(grace_seconds, self._kill_if_running)
            self._kill_timer.daemon = True
            self._kill_timer.start()

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def forget(self) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()

    def _kill_if_running(self) -> None:
        if self.is_running():
            log.warning("trainer pid %s ignored SIGTERM; sending SIGKILL", self.pid)
            self.kill()

    def _signal_group(self, signum: signal.Signals) -> None:
        if not self.is_running():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)  # pgid == pid: launched with start_new_session


class WarmSpare:
    """One `python -m training.warm`, importing or waiting on stdin for the run it will become."""

    def __init__(self, command: list[str]) -> None:
        self._popen = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # until a run: then the run folder's stderr.log
            env=child_environment(),
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def take(self, spec: LaunchSpec, flags: list[str]) -> TrainerProcess | None:
        """The spare running `spec` with `flags` (what follows `PYTHON -m training`), or None when it has
        died and a cold start is needed."""
        popen = self._popen
        if popen.poll() is not None or popen.stdin is None:
            return None
        marker = spec.output_dir / WARM_PID_FILE
        marker.write_text(f"{popen.pid} {start_time(popen.pid)}\n")
        if spec.cpus is not None:  # before the request: the run sizes its threads from its affinity
            set_affinity(popen.pid, spec.cpus)
        env = {"CUDA_VISIBLE_DEVICES": spec.gpu} if spec.gpu is not None else {}
        request = WarmRequest(argv=flags, env=env, stderr=spec.output_dir / STDERR_FILE)
        try:
            popen.stdin.write(request.model_dump_json().encode() + b"\n")
            popen.stdin.close()
        except OSError:  # it died just now
            marker.unlink(missing_ok=True)
            return None
        log.info("handed run %s to the warm trainer pid %s: %s", spec.run_id, popen.pid, spec.args)
        return TrainerProcess(popen.pid, spec.output_dir, popen)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, signal.SIGKILL)  # it holds nothing yet
        self._popen.wait()
        if self._popen.stdin is not None:
            self._popen.stdin.close()


class LocalLauncher:
    """Trainers as subprocesses of this host; the manager queues them and assigns GPUs."""

    schedules_itself = False

    def __init__(self, replace_spare_after: float = SPARE_REPLACED_AFTER_S) -> None:
        self._trainer: list[str] | None = None  # the command a spare stands in for
        self._spare_command: list[str] = []  # warm_command(self._trainer)
        self._spare: WarmSpare | None = None
        self._replace_after = replace_spare_after
        self._replacing: threading.Timer | None = None
        self._lock = threading.Lock()

    @property
    def spare(self) -> WarmSpare | None:
        return self._spare

    def check(self) -> None:
        """A subprocess can always be started."""

    def prepare(self, trainer: Sequence[str]) -> None:
        """Keep a warm spare for `trainer` from now on, when it is this package's trainer."""
        command = warm_command(list(trainer))
        if command is None:
            return
        with self._lock:
            self._trainer, self._spare_command = list(trainer), command
            if self._spare is None:
                self._spare = WarmSpare(command)

    def close(self) -> None:
        with self._lock:
            spare, self._spare, self._trainer = self._spare, None, None
            if self._replacing is not None:
                self._replacing.cancel()
        if spare is not None:
            spare.close()

    def submit(self, spec: LaunchSpec) -> TrainerProcess:
        flags = trainer_flags(spec.args)
        with self._lock:
            trainer, spare = self._trainer, self._spare
            takes = trainer is not None and spec.args[: len(trainer)] == trainer and spec.gpus <= 1
            if spare is None or flags is None or not takes:
                return TrainerProcess.launch(spec)
            self._spare = None
            self._replacing = threading.Timer(self._replace_after, self._replace_spare)
            self._replacing.daemon = True
            self._replacing.start()
        return spare.take(spec, flags) or TrainerProcess.launch(spec)

    def _replace_spare(self) -> None:
        with self._lock:
            if self._trainer is not None and self._spare is None:
                self._spare = WarmSpare(self._spare_command)

    def attach(
        self, run_id: int, pid: int | None, job_id: str | None, out_dir: Path
    ) -> TrainerProcess | None:
        if pid is None:
            pid = started_trainer(out_dir)
        if pid is None or not is_our_trainer(pid, out_dir):
            return None
        return TrainerProcess(pid, out_dir)
