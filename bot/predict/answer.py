"""One prediction request from any front end: which run, which files, and the reply text."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.i18n import t
from bot.predict.client import PredictError, PredictService
from bot.predict.files import Limits, gather_images
from bot.predict.present import prediction_text
from bot.runs import RunView
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
        return t(language, "predict_not_finished", run_id=run.id, status=run.status.value)
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
    return prediction_text(language, run.id, str(run.config.get("model", "")), results, problems)


def latest_completed(runs: list[RunView]) -> RunView | None:
    return next((run for run in runs if run.status == RunStatus.COMPLETED), None)
