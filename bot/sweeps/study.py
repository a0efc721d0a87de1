"""Optuna's side of a search: one study per sweep in a journal file beside the runs (never the bot's
tables), asked for trials and told their results (ask-and-tell). The only module that imports Optuna."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from bot.sweeps.spec import SweepSpec, maximised
from training.config import NUMERIC_FIELDS

JOURNAL_FILE = "optuna.journal"
optuna.logging.set_verbosity(optuna.logging.WARNING)


class SearchStudy:
    """A search sweep's study. Trials are numbered by Optuna; the bot keeps which run trains which."""

    def __init__(self, folder: Path, sweep_id: int, spec: SweepSpec, startup_trials: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(folder / JOURNAL_FILE)))
        self._spec = spec
        # a trial is compared with the others from its second epoch on, once `startup_trials` have ended;
        # the pruner compares in the study's direction (a loss is minimised)
        self._study = optuna.create_study(
            study_name=f"sweep-{sweep_id}",
            storage=storage,
            direction="maximize" if maximised(spec.objective) else "minimize",
            sampler=optuna.samplers.TPESampler(seed=sweep_id, n_startup_trials=startup_trials),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=1),
            load_if_exists=True,
        )

    def ask(self) -> tuple[int, dict[str, Any]]:
        trial = self._study.ask()
        for name, span in self._spec.ranges.items():
            if NUMERIC_FIELDS[name] is int:
                trial.suggest_int(name, int(span.low), int(span.high), log=span.log)
            else:
                trial.suggest_float(name, span.low, span.high, log=span.log)
        return trial.number, dict(trial.params)

    def report(self, number: int, step: int, value: float) -> bool:
        """Record a trial's metric at an epoch; True when the pruner says it should stop."""
        trial = self._trial(number)
        if trial is None:
            return False
        trial.report(value, step)
        return trial.should_prune()

    def tell(self, number: int, value: float | None, *, pruned: bool = False) -> None:
        if self._trial(number) is None:
            return  # told already (before a restart)
        if pruned:
            self._study.tell(number, state=TrialState.PRUNED)
        elif value is None:
            self._study.tell(number, state=TrialState.FAIL)
        else:
            self._study.tell(number, value)

    def abandon_unknown(self, known: set[int]) -> None:
        """Trials asked for just before a restart that never got a run: failed, so none is run twice."""
        for trial in self._study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.number not in known:
                self._study.tell(trial.number, state=TrialState.FAIL)

    def _trial(self, number: int) -> optuna.Trial | None:
        """The live trial with this number; None once it has finished. Optuna hands out Trial objects
        only from ask(), so after a restart one is rebuilt from the storage's id for it."""
        for frozen in self._study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if frozen.number == number:
                return optuna.Trial(self._study, frozen._trial_id)
        return None
