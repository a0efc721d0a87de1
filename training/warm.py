"""`python -m training.warm`: a trainer started before its run is known.

It imports what every run needs (torch, torchvision, timm, matplotlib: about 6 s on a small CPU), then
waits for one WarmRequest as a JSON line on stdin and becomes `python -m training ARGV` with ENV added
and its stderr sent to the given file. The bot keeps one ready (bot/runs/process.py), so a run skips the
imports. An end of stdin with no request (the bot went away) ends it quietly. Nothing here touches CUDA
before the request: CUDA_VISIBLE_DEVICES must still be settable.

The imports run in a thread at the lowest nice level (19): a spare started while a run trains takes
little from it (a nice-19 thread weighs 15 against a normal one's 1024). The run itself then runs on the
main thread, at the priority the spare was started with (an unprivileged process could not raise a
niced thread back). SCHED_IDLE would yield even more, but it starves the imports, and even a SIGKILL's
exit, for as long as anything else keeps the cores busy.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class WarmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    argv: list[str]  # the flags of `python -m training`
    env: dict[str, str] = {}
    stderr: Path  # appended to, as a cold launch's stderr would be


def warm_up() -> None:
    import training.checkpoint
    import training.loop  # noqa: F401  (torch, torchvision, timm, the data pipeline)
    from training.reports import pyplot

    pyplot()


def lowest_priority_here() -> None:
    """This thread (not the process) at nice 19: it yields the CPU to normal work, and its time stays out
    of the load a starting trainer counts (training/cpus.py)."""
    with suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def at_lowest_priority(work: Callable[[], None]) -> None:
    """`work` in a new thread at the lowest priority, waited for; its exception is raised here."""
    failed: list[BaseException] = []

    def run() -> None:
        lowest_priority_here()
        try:
            work()
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="warm-imports")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def become(request: WarmRequest) -> int:
    os.environ.update(request.env)
    with request.stderr.open("ab") as stderr:
        os.dup2(stderr.fileno(), sys.stderr.fileno())
    from training.cli import main

    return main(request.argv)


def main() -> int:
    at_lowest_priority(warm_up)
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    return become(WarmRequest.model_validate_json(line))


if __name__ == "__main__":
    from training.cli import exit_now

    exit_now(main())
