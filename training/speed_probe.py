"""`python -m training.speed_probe --model M --image-size S`: a quick measurement of this host's training
speed for one model, for a time estimate before any run has finished here.

A few training steps (forward, backward, AdamW) on random images at the size and batch asked, with the
threads and precision a run would use, then one evaluation pass; prints one JSON line:
{"seconds_per_image": ..., "measured_seconds": ...}. seconds_per_image counts a training image once and
an evaluation image at the measured evaluation cost. The caller times the whole process: what is not
`measured_seconds` is start-up (imports, the model), as a run's own start-up.
"""

from __future__ import annotations

import argparse
import json
import time

STEPS_MAX = 12
MEASURE_S = 2.0  # stop measuring once this much time went into the steps
VAL_FRACTION = 0.2  # a dataset's share of validation images, when the split is not known


def measure(model_name: str, image_size: int, batch_size: int, device_name: str) -> dict[str, float]:
    import torch

    from training.cpus import host_plan
    from training.device import choose_precision, configure_backend, resolve_device
    from training.model import build_model

    device = resolve_device(device_name)
    configure_backend(device, host_plan(None, None))
    precision = choose_precision(device, image_size)
    model = build_model(model_name, 2, False, None).model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.AdamW(model.parameters())
    images = torch.randn(batch_size, 3, image_size, image_size, device=device)
    images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 2, (batch_size,), device=device)

    def step() -> None:
        with precision.autocast(device):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    started = time.perf_counter()
    step()  # the first step pays for allocation and kernel choice, as a run's first does
    timed, steps = time.perf_counter(), 0
    while steps < STEPS_MAX and time.perf_counter() - timed < MEASURE_S:
        step()
        steps += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    train_per_image = (time.perf_counter() - timed) / (steps * batch_size)
    model.eval()
    evaluated = time.perf_counter()
    with torch.no_grad(), precision.autocast(device):
        model(images)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    eval_per_image = (time.perf_counter() - evaluated) / batch_size
    per_image = (1 - VAL_FRACTION) * train_per_image + VAL_FRACTION * eval_per_image
    return {"seconds_per_image": per_image, "measured_seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.speed_probe", description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--image-size", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    result = measure(args.model, args.image_size, args.batch_size, args.device)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    from training.cli import exit_now

    exit_now(main())
