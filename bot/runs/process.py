"""The local backend: trainer processes on this host, each in its own process group; liveness from
the Popen or /proc, stop with SIGTERM then SIGKILL, and the stderr tail.

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
from pathlib import Path

from bot.runs.launcher import JobState, LaunchSpec
from training.contract import STDERR_FILE

log = logging.getLogger(__name__)


def is_our_trainer(pid: int, out_dir: str | Path) -> bool:
    """True when `pid` is alive and is the trainer writing to `out_dir` (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # a zombie has an empty command line: it has exited
    return str(out_dir).encode() in cmdline.split(b"\0")


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
        env = dict(os.environ)
        if spec.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = spec.gpu
        with (spec.output_dir / STDERR_FILE).open("ab") as stderr:
            popen = subprocess.Popen(
                spec.args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                start_new_session=True,  # its own process group: signals reach its workers, not the bot
            )
        log.info("launched trainer pid %s: %s", popen.pid, spec.args)
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


class LocalLauncher:
    """Trainers as subprocesses of this host; the manager queues them and assigns GPUs."""

    schedules_itself = False

    def check(self) -> None:
        """A subprocess can always be started."""

    def submit(self, spec: LaunchSpec) -> TrainerProcess:
        return TrainerProcess.launch(spec)

    def attach(self, pid: int | None, job_id: str | None, out_dir: Path) -> TrainerProcess | None:
        if pid is None or not is_our_trainer(pid, out_dir):
            return None
        return TrainerProcess(pid, out_dir)
