"""`python -m training.warm`: a trainer started before its run is known.

It imports what every run needs (torch, torchvision, timm, matplotlib: about 6 s on a small CPU), then
waits for one WarmRequest as a JSON line on stdin and becomes `python -m training ARGV` with ENV added
and its stderr sent to the given file. The bot keeps one ready (bot/runs/process.py), so a run skips the
imports. An end of stdin with no request (the bot went away) ends it quietly. Nothing here touches CUDA
before the request: CUDA_VISIBLE_DEVICES must still be settable.
"""

from __future__ import annotations

import os
import sys
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
    from training.artifacts import pyplot

    pyplot()


def become(request: WarmRequest) -> int:
    os.environ.update(request.env)
    with request.stderr.open("ab") as stderr:
        os.dup2(stderr.fileno(), sys.stderr.fileno())
    from training.cli import main

    return main(request.argv)


def main() -> int:
    warm_up()
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    return become(WarmRequest.model_validate_json(line))


if __name__ == "__main__":
    from training.cli import exit_now

    exit_now(main())
