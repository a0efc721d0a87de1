"""The ONNX export of a finished run on request, for any front end: `python -m training.export OUT` in a
subprocess (the bot never imports torch), which exports the best model, verifies it with onnxruntime on
the validation images and prints its report (training/export_report.py) as one JSON line; a file verified
at training time is reused."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.child_env import child_environment
from bot.runs import RunView
from bot.runs.cpus import set_affinity
from training.contract import METRICS_FILE, ONNX_FILE
from training.export_report import ONNX_REPORT, OnnxNotChecked, OnnxReport, read_report

log = logging.getLogger(__name__)

EXPORT_TIMEOUT_S = 1800.0  # decoding the validation images again and running both models on them


def export_command() -> list[str]:
    return [sys.executable, "-m", "training.export"]


def verified_report(run: RunView) -> OnnxReport | None:
    """The report of an earlier export (at training time or on request, as metrics.json keeps it) when
    its verified file is still there: no export needed."""
    if not run.output_dir or not (Path(run.output_dir) / ONNX_FILE).is_file():
        return None
    try:
        metrics = json.loads((Path(run.output_dir) / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    report = read_report(metrics.get("onnx")) if isinstance(metrics, dict) else None
    return report if report is not None and report.status == "ok" else None


def offered_file(run: RunView, report: OnnxReport) -> Path | None:
    """The ONNX file to hand out: only one that passed the check."""
    path = Path(run.output_dir or "") / ONNX_FILE
    return path if report.status == "ok" and run.output_dir and path.is_file() else None


def run_export(
    out_dir: Path, command: Sequence[str] | None = None, cpus: Sequence[int] | None = None
) -> OnnxReport:
    """Export and verify in a subprocess on `cpus` (the run manager's helper_cpus(); None: the bot's):
    the report it printed last (status ok | refused | unavailable | error)."""
    try:
        with subprocess.Popen(
            [*(command or export_command()), str(out_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_environment(),
            start_new_session=True,
        ) as process:
            if cpus:
                set_affinity(process.pid, cpus)
            try:
                stdout, stderr = process.communicate(timeout=EXPORT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("the ONNX export of %s did not finish: %s", out_dir, exc)
        return OnnxNotChecked(status="error", message=type(exc).__name__)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    for line in reversed(result.stdout.splitlines()):
        try:
            return ONNX_REPORT.validate_json(line)
        except ValidationError:  # another line on stdout (torch's own), or not a report
            continue
    log.warning(
        "the ONNX export of %s printed no report (exit %s): %s",
        out_dir,
        result.returncode,
        result.stderr[-2000:],
    )
    return OnnxNotChecked(status="error", message=f"exit code {result.returncode}")
