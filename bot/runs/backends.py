"""RUN_BACKEND → the launcher the run manager uses."""

from __future__ import annotations

from bot.runs.launcher import Launcher
from bot.runs.process import LocalLauncher
from bot.runs.slurm import SlurmLauncher
from bot.settings import Settings


def make_launcher(settings: Settings) -> Launcher:
    if settings.run_backend == "slurm":
        return SlurmLauncher.from_settings(settings)
    return LocalLauncher()
