"""training/detection/roi_align_cpu.py against torchvision's own CPU kernel, which it replaces: the same
gradient for every kind of proposal (fixed and adaptive sampling, aligned or not, inside, across the
edge, outside and degenerate, on several images, none at all; float and double), and a Faster R-CNN
training step whose gradients are the same with either kernel, run in a fresh process because the
registration holds for the rest of the process and torchvision's kernel must answer first. And a CPU
run on two threads with it stays deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.detection_datasets import write_yolo
from training.cli import main
from training.contract import ExitCode

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, torch
from torchvision.ops import roi_align
from training.detection.models import architecture

torch.manual_seed(0)
features = torch.randn(3, 8, 12, 16, requires_grad=True)
count = 300
corner = torch.rand(count, 2) * 300 - 20
size = torch.rand(count, 2) * 180
rois = torch.cat([torch.randint(0, 3, (count, 1)).float(), corner, corner + size], 1)
rois[:4, 3:] = rois[:4, 1:3] + 0.05        # smaller than a pixel
rois[4:8, 3:] = rois[4:8, 1:3] - 2.0       # upside down
rois[8:12, 1:] = torch.tensor([400.0, 300.0, 480.0, 360.0])  # off the map
cases = [(2, False), (2, True), (1, False), (3, True), (0, False), (0, True)]
upstream = torch.randn(count, 8, 7, 7)

double = features.detach().double().requires_grad_()

def gradients(rois):
    found = []
    for sampling, aligned in cases:
        features.grad = None
        roi_align(features, rois, (7, 7), 1 / 16, sampling, aligned).backward(upstream[: len(rois)])
        found.append(features.grad.clone())
    roi_align(double, rois.double(), (7, 7), 1 / 16, 2, False).backward(upstream[: len(rois)].double())
    found.append(double.grad.clone())
    double.grad = None
    return found

def step():
    torch.manual_seed(1)
    model = architecture("fasterrcnn_mobilenet_v3_large_320_fpn", 3, 96).train()
    images = [torch.rand(3, 96, 96), torch.rand(3, 80, 96)]
    targets = [{"boxes": torch.tensor([[10.0, 12.0, 60.0, 70.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.tensor([[5.0, 5.0, 40.0, 30.0], [50.0, 40.0, 90.0, 78.0]]),
                "labels": torch.tensor([2, 3])}]
    sum(model(images, targets).values()).backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

theirs, theirs_empty, their_step = gradients(rois), gradients(rois[:0]), step()
from training.detection import roi_align_cpu
roi_align_cpu.register()
kernel = torch._C._dispatch_dump("torchvision::_roi_align_backward")
ours, ours_empty, our_step = gradients(rois), gradients(rois[:0]), step()
print(json.dumps({
    "differences": [float((a - b).abs().max()) for a, b in zip(theirs, ours)],
    "scale": [float(a.abs().max()) for a in theirs],
    "empty": [float(g.abs().max()) for g in ours_empty],
    "step": max(float((their_step[k] - our_step[k]).abs().max() / their_step[k].abs().max().clamp(min=1e-12))
                for k in their_step),
    "parts": sorted({k.split(".")[0] for k in our_step}),
    "python_kernel": "roi_align_cpu" in kernel,
}))
"""


def test_the_cpu_backward_equals_torchvisions_kernel() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, check=True
    )
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["python_kernel"], "the CPU kernel was not replaced"
    assert all(d <= 1e-5 * s for d, s in zip(found["differences"], found["scale"], strict=True)), found
    assert min(found["scale"]) > 0 and found["empty"] == [0.0] * 7
    assert "roi_heads" in found["parts"] and found["step"] <= 1e-5, found
    assert "Warning" not in result.stderr, result.stderr


def test_a_faster_rcnn_run_on_two_cpu_threads_is_deterministic(tmp_path: Path) -> None:
    write_yolo(tmp_path / "shapes", n_images=16, size=64, seed=3, negatives=1, split=True)
    flags = [
        "--data", str(tmp_path / "shapes"), "--task", "detection", "--no-pretrained", "--no-onnx",
        "--model", "fasterrcnn_mobilenet_v3_large_320_fpn", "--image-size", "64", "--batch-size", "4",
        "--epochs", "1", "--threads", "2", "--workers", "1", "--device", "cpu", "--seed", "5",
    ]  # fmt: skip
    weights = []
    for name in ("a", "b"):
        assert main([*flags, "--out", str(tmp_path / name)]) == ExitCode.DONE
        weights.append((tmp_path / name / "model.safetensors").read_bytes())
    assert weights[0] == weights[1]
