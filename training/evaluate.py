"""Validation/test pass: loss, top-1, top-5 (more than 5 classes) and the confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from training import distributed
from training.augment import Normalizer
from training.data import ImageSource
from training.device import Precision
from training.distributed import SINGLE, World


@dataclass
class EvalResult:
    loss: float
    acc: float
    top5: float | None
    confusion: list[list[int]]  # rows: true class, columns: predicted

    def per_class_acc(self, classes: list[str]) -> dict[str, float]:
        rows = zip(classes, self.confusion, strict=True)
        return {name: row[i] / max(1, sum(row)) for i, (name, row) in enumerate(rows)}


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    source: ImageSource,
    num_classes: int,
    normalize: Normalizer,
    device: torch.device,
    precision: Precision,
    batch_size: int,
    world: World = SINGLE,
) -> EvalResult:
    """On several GPUs each rank scores its share of the images and the sums are added up: every rank
    gets the metrics of the whole split, as one process would."""
    distributed.same_buffers(model, world)  # one model scores the split: rank 0's
    model.eval()
    loss_sum = torch.zeros((), device=device)
    top5_hits = torch.zeros((), device=device)
    confusion = torch.zeros(num_classes * num_classes, dtype=torch.long, device=device)
    for images, labels in source.batches(batch_size, distributed.eval_shard(len(source), world)):
        images = normalize(images.to(device, non_blocking=True)).contiguous(memory_format=torch.channels_last)
        labels = labels.to(device, non_blocking=True)
        with precision.autocast(device):
            logits = model(images)
        logits = logits.float()
        loss_sum += F.cross_entropy(logits, labels, reduction="sum")
        confusion += torch.bincount(
            labels * num_classes + logits.argmax(1), minlength=num_classes * num_classes
        )
        if num_classes > 5:
            top5_hits += (logits.topk(5, dim=1).indices == labels[:, None]).any(1).sum()
    distributed.all_sum(world, loss_sum, top5_hits, confusion)
    matrix = confusion.view(num_classes, num_classes).cpu()
    total = int(matrix.sum())
    return EvalResult(
        loss=float(loss_sum) / total,
        acc=float(matrix.diag().sum()) / total,
        top5=float(top5_hits) / total if num_classes > 5 else None,
        confusion=matrix.tolist(),
    )
