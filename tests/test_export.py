"""ONNX export after training and on request: dynamic batch, metadata, and a check against PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from bot.present import runs as present
from tests.imagegen import make_image_folder
from tests.trainer_helpers import run_trainer
from training import export
from training.artifacts import load_model
from training.augment import Normalizer
from training.contract import ExitCode
from training.data import discover, load_eval_image
from training.export_report import ClassifierOnnxCheck


@pytest.fixture(scope="module")
def exported(module_tmp: Path) -> tuple[Path, Path, list]:
    root = module_tmp
    data = make_image_folder(root / "data", per_class=10)
    code, events = run_trainer(data, root / "out", "--onnx", "--lr", "0.003", epochs=2)
    assert code == ExitCode.DONE
    return data, root / "out", events


def test_training_exports_a_verified_onnx_file(exported) -> None:
    data, out, events = exported
    done = events[-1]
    report = done.onnx
    assert isinstance(report, ClassifierOnnxCheck) and report.file == done.artifacts["onnx"]
    assert report.status == "ok" and Path(report.file) == out / "model.onnx"
    assert report.images == len(discover(data, seed=0).val) == 6  # every validation image
    assert report.top1_agreement == 1.0 and 0 <= report.max_abs_logit_diff < 1e-3
    assert json.loads((out / "metrics.json").read_text())["onnx"] == report.model_dump()  # the same figures
    # the words a person sees come from the report the trainer wrote
    line = "• ONNX export verified: top-1 agreement with PyTorch *100.00%* on 6 validation images"
    assert (present.onnx_line("en", report) or "").startswith(line)
    assert "ONNX: `model.onnx`" in (out / "README.md").read_text()


def test_onnx_metadata_and_dynamic_batch_reproduce_the_pytorch_model(exported) -> None:
    data, out, _ = exported
    props = {p.key: p.value for p in onnx.load(str(out / "model.onnx")).metadata_props}
    assert json.loads(props["class_names"]) == ["circle", "square", "triangle"]
    pre = json.loads(props["preprocessing"])
    assert pre["input_size"] == [3, 32, 32] and pre["interpolation"] == "bicubic"
    assert pre["crop_mode"] == "center" and len(pre["mean"]) == len(pre["std"]) == 3
    # a user's own pipeline from the metadata alone agrees with the PyTorch model, at any batch size
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    model, _ = load_model(out)
    paths = [data / "circle" / f"circle_00{i}.png" for i in range(5)]
    normalize = Normalizer(tuple(pre["mean"]), tuple(pre["std"]), torch.device("cpu"))
    images = normalize(torch.stack([load_eval_image(p, 32, pre["crop_pct"]) for p in paths]))
    for batch in (images[:1], images):
        (logits,) = session.run(None, {"image": batch.numpy()})
        with torch.no_grad():
            expected = model(batch).numpy()
        assert logits.shape == (len(batch), 3)
        assert np.abs(logits - expected).max() < 1e-3


def test_export_on_request_rechecks_on_the_validation_split(exported, capsys, recwarn) -> None:
    _, out, events = exported
    (out / "model.onnx").unlink()
    assert export.main([str(out)]) == 0
    report = json.loads(capsys.readouterr().out)  # torch.onnx's own progress lines stay off stdout
    assert report["status"] == "ok" and report["images"] == events[-1].onnx.images
    assert report["exporter"] == events[-1].onnx.exporter == "dynamo"
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
    assert report["top1_agreement"] == 1.0 and (out / "model.onnx").is_file()
    assert json.loads((out / "metrics.json").read_text())["onnx"] == report


def test_a_file_below_the_agreement_bar_is_not_offered(exported, monkeypatch, capsys) -> None:
    _, out, _ = exported
    monkeypatch.setattr(export, "MIN_AGREEMENT", 1.01)  # nothing can reach it
    assert export.main([str(out)]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "refused" and report["top1_agreement"] == 1.0
    assert not (out / "model.onnx").exists() and not (out / "model.tmp").exists()


def test_without_onnx_installed_the_report_says_how_to_get_it(exported, monkeypatch, capsys) -> None:
    _, out, _ = exported
    monkeypatch.setattr(export, "onnx_available", lambda: False)
    assert export.main([str(out)]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "unavailable" and 'pip install -e ".[onnx]"' in report["message"]


def test_a_folder_without_a_finished_run_is_an_error(tmp_path: Path, capsys) -> None:
    assert export.main([str(tmp_path)]) == 2
    assert "no finished run" in json.loads(capsys.readouterr().out)["message"]


def test_the_legacy_exporter_is_the_fallback_when_dynamo_fails(
    exported, monkeypatch, recwarn, capsys
) -> None:
    _, out, _ = exported
    legacy = torch.onnx.export

    def dynamo_fails(*args, dynamo: bool, **kwargs):
        if dynamo:
            raise RuntimeError("an operator torch.export cannot trace")
        return legacy(*args, dynamo=dynamo, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", dynamo_fails)
    assert export.main([str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "ok" and report["exporter"] == "torchscript"
    assert report["top1_agreement"] == 1.0
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
