"""Requests on a finished run's model from any front end: a prediction (which run, which files, and the
reply text), and whether a run can be continued."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.i18n import t
from bot.predict.client import PredictError, PredictService
from bot.predict.files import Limits, gather_images
from bot.predict.present import prediction_text
from bot.runs import RunView
from bot.runs.views import CONTINUABLE_STATUSES, continuable_checkpoint
from bot.storage import RunStatus
from training.contract import MODEL_FILE


def predict_reply(
    service: PredictService,
    run: RunView,
    files: list[tuple[str, Path]],
    language: str,
    limits: Limits | None = None,
) -> str:
    """Check `files` (display name, local path), classify the good ones with `run`'s model, and word
    the answer; every refusal is a sentence, never an exception."""
    if run.status != RunStatus.COMPLETED:
        status = t(language, f"status_{run.status.value}")
        return t(language, "predict_not_finished", run_id=run.id, status=status)
    if not run.output_dir or not (Path(run.output_dir) / MODEL_FILE).is_file():
        return t(language, "predict_no_model", run_id=run.id)
    with tempfile.TemporaryDirectory(prefix="trainbot-predict-") as scratch:
        accepted, problems = gather_images(files, Path(scratch), limits or Limits())
        try:
            results = service.predict(run.output_dir, accepted)
        except PredictError as error:
            if error.code == "no_model":
                return t(language, "predict_no_model", run_id=run.id)
            return t(language, "predict_failed", detail=error.code)
    return prediction_text(language, run.id, run.model, results, problems)


def latest_completed(runs: list[RunView]) -> RunView | None:
    return next((run for run in runs if run.status == RunStatus.COMPLETED), None)


def latest_continuable(runs: list[RunView]) -> RunView | None:
    """The newest finished or stopped run (`runs` newest first), else the newest run (to say why not)."""
    return next((run for run in runs if run.status in CONTINUABLE_STATUSES), runs[0] if runs else None)


def continue_refusal(language: str, source: RunView | None) -> str | None:
    """Why `source` cannot be continued (none, still running, failed, no checkpoint), or None."""
    if source is None:
        return t(language, "continue_no_run")
    if source.status not in CONTINUABLE_STATUSES:
        status = t(language, f"status_{source.status.value}")
        return t(language, "continue_not_continuable", run_id=source.id, status=status)
    if continuable_checkpoint(source) is None:
        return t(language, "continue_no_checkpoint", run_id=source.id)
    return None
