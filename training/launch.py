"""`python -m training.launch`: torchrun for the trainer, ending with the trainer's exit codes.

It takes torchrun's arguments, e.g. `python -m training.launch --standalone --nproc-per-node 2 -m training
--data cats --gpus 2`, and runs torchrun's own launcher. torchrun itself exits 1 whenever a rank fails and
raises when it is signalled; this turns how the ranks ended into one code of training/contract.py:
- all ranks done: 0;
- a stop (SIGTERM/SIGINT to this process, forwarded by torchrun to every rank, which checkpoint): 5;
- a rank failed: its code, a specific one (config, dataset, out of memory, stopped) before the internal
  error the other ranks then hit; a rank killed by a signal (e.g. the OOM killer's SIGKILL) ends this
  process by the same signal, as one trainer process would.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence

from training.contract import ExitCode


def exit_code(codes: dict[int, int]) -> int:
    """The run's exit status from its failed ranks' exit codes (negative: killed by that signal)."""
    specific_codes = {int(code) for code in ExitCode} - {ExitCode.DONE, ExitCode.INTERNAL}
    # torchrun ends the other ranks with SIGTERM once one failed: those deaths are never the cause
    induced = {-signal.SIGTERM, -signal.SIGINT}
    in_rank_order = [code for _, code in sorted(codes.items())]
    specific = [code for code in in_rank_order if code in specific_codes]
    killed = [code for code in in_rank_order if code < 0 and code not in induced]
    return (specific or killed or [int(ExitCode.INTERNAL)])[0]


def main(argv: Sequence[str] | None = None) -> int:
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    args = parse_args(list(argv) if argv is not None else sys.argv[1:])
    # without --log-dir torchrun makes a torchelastic_* folder in the temp folder and leaves it behind,
    # one per run; this one goes when the ranks have ended (their output is this process's own)
    own_log_dir = args.log_dir is None
    if own_log_dir:
        args.log_dir = tempfile.mkdtemp(prefix="torchelastic_")
    try:
        run(args)
    except ChildFailedError as exc:
        return exit_code({rank: failure.exitcode for rank, failure in exc.failures.items()})
    except SignalException as exc:
        if exc.sigval in (signal.SIGTERM, signal.SIGINT):
            return int(ExitCode.STOPPED)  # torchrun sent it on to the ranks and waited for them
        return -int(exc.sigval)
    finally:
        if own_log_dir:
            shutil.rmtree(args.log_dir, ignore_errors=True)
    return int(ExitCode.DONE)


def _exit(code: int) -> None:
    if code < 0:  # die by the rank's signal, so whoever waits on this process sees it
        if -code != signal.SIGKILL:  # its handler cannot be changed (nor can it be caught)
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    _exit(main())
