"""Requests on a finished run's model from any front end: a prediction (which run, which files, and the
reply text), and whether a run can be continued."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.i18n import t
from bot.predict.client import DetectionResult, PredictError, PredictService
from bot.predict.files import Accepted, Limits, Problem, gather_images
from bot.predict.last_images import ThreadImages
from bot.predict.present import detection_text, prediction_text
from bot.runs import RunView
from bot.runs.views import CONTINUABLE_STATUSES, continuable_checkpoint
from bot.storage import RunStatus
from training.contract import MODEL_FILE


@dataclass(frozen=True)
class Predicted:
    """A prediction's answer: its text, and for a detection run each answered image drawn with its boxes
    (the image's name, the drawn file)."""

    text: str
    drawn: list[tuple[str, Path]] = field(default_factory=list)
    run_id: int | None = None  # the run that drew them


def predict_reply(
    service: PredictService,
    run: RunView,
    files: list[tuple[str, Path]],
    language: str,
    limits: Limits | None = None,
    *,
    kept: ThreadImages,
    thread: str,
) -> Predicted:
    """Check `files` (display name, local path), classify the good ones with `run`'s model (a detection
    run: find boxes, draw them, and keep the images as the thread's last ones in `kept`), and word the
    answer; every refusal is a sentence, never an exception."""
    refusal = unusable(run, language)
    if refusal is not None:
        return Predicted(refusal)
    with tempfile.TemporaryDirectory(prefix="trainbot-predict-") as scratch:
        accepted, problems = gather_images(files, Path(scratch), limits or Limits())
        if run.detects:
            if accepted:  # nothing usable: the thread's earlier images stay its last ones
                accepted = kept.keep(thread, run.id, accepted)
            return detect_reply(service, run, accepted, problems, language, None, kept.drawn_folder(thread))
        try:
            results = service.predict(str(run.output_dir), accepted)
        except PredictError as error:
            return Predicted(failure(language, run, error))
    return Predicted(prediction_text(language, run.id, run.model, results, problems))


def detect_reply(
    service: PredictService,
    run: RunView,
    images: list[Accepted],
    problems: list[Problem],
    language: str,
    conf: float | None,
    draw_dir: Path,
) -> Predicted:
    """A detection run's boxes on `images` at `conf` (None: the run's threshold), drawn into `draw_dir`."""
    refusal = unusable(run, language)
    if refusal is not None:
        return Predicted(refusal)
    try:
        results = service.detect(str(run.output_dir), images, conf, draw_dir)
    except PredictError as error:
        return Predicted(failure(language, run, error))
    threshold = run.score_threshold if conf is None else conf
    text = detection_text(language, run.id, run.model, threshold, results, problems)
    drawn = [(r.name, r.drawn) for r in results if isinstance(r, DetectionResult) and r.drawn is not None]
    return Predicted(text, drawn, run.id)


def unusable(run: RunView, language: str) -> str | None:
    """Why `run`'s model cannot answer (not finished, no model file), or None."""
    if run.status != RunStatus.COMPLETED:
        status = t(language, f"status_{run.status.value}")
        return t(language, "predict_not_finished", run_id=run.id, status=status)
    if not run.output_dir or not (Path(run.output_dir) / MODEL_FILE).is_file():
        return t(language, "predict_no_model", run_id=run.id)
    return None


def failure(language: str, run: RunView, error: PredictError) -> str:
    if error.code == "no_model":
        return t(language, "predict_no_model", run_id=run.id)
    return t(language, "predict_failed", detail=error.code)


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
