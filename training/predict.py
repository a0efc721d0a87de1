"""`python -m training.predict OUT IMAGE... [--top-k K]`: classify images with a trained run's model,
using exactly the validation preprocessing. Prints one JSON line per image on stdout.

On a detection run: `python -m training.predict OUT IMAGE... [--conf C] [--max-boxes N] [--draw DIR]`,
one line per image, {"image": ..., "boxes": [{"class": name, "score": s, "box": [x1, y1, x2, y2]}, ...]}
in the image's own pixels, best first."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from training.artifacts import load_model
from training.augment import Normalizer
from training.contract import MODEL_CONFIG_FILE, MODEL_FILE
from training.data import load_eval_image


@dataclass
class Prediction:
    image: str
    top: list[tuple[str, float]]  # (class name, probability), most likely first


class Predictor:
    def __init__(self, out_dir: Path, device: str = "cpu") -> None:
        self.device = torch.device(device)
        model, config = load_model(out_dir)
        self.model = model.to(self.device)
        self.classes: list[str] = config["label_names"]
        cfg = config["pretrained_cfg"]
        self.image_size = cfg["input_size"][-1]
        self.crop_pct = cfg["crop_pct"]
        self.normalize = Normalizer(tuple(cfg["mean"]), tuple(cfg["std"]), self.device)

    def inputs(self, paths: Sequence[Path]) -> torch.Tensor:
        """The model's input for `paths`: float NCHW, preprocessed exactly as timm's eval transform does."""
        images = torch.stack([load_eval_image(path, self.image_size, self.crop_pct) for path in paths])
        return self.normalize(images.to(self.device))

    @torch.no_grad()
    def probabilities(self, paths: Sequence[Path]) -> torch.Tensor:
        return self.model(self.inputs(paths)).softmax(dim=1).cpu()

    def predict(self, paths: Sequence[Path], top_k: int = 3) -> list[Prediction]:
        probabilities = self.probabilities(paths)
        values, indices = probabilities.topk(min(top_k, len(self.classes)), dim=1)
        return [
            Prediction(str(path), [(self.classes[i], float(p)) for p, i in zip(row_p, row_i, strict=True)])
            for path, row_p, row_i in zip(paths, values.tolist(), indices.tolist(), strict=True)
        ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.predict", description=__doc__)
    parser.add_argument(
        "out", type=Path, help=f"a finished run's output folder ({MODEL_FILE} + {MODEL_CONFIG_FILE})"
    )
    parser.add_argument("images", type=Path, nargs="+", help="image files to classify")
    parser.add_argument("--top-k", type=int, default=3, help="how many classes to show per image (default 3)")
    parser.add_argument(
        "--conf", type=float, help="detection: the lowest score shown (default: the run's score threshold)"
    )
    parser.add_argument("--max-boxes", type=int, default=100, help="detection: boxes per image (default 100)")
    parser.add_argument("--draw", type=Path, metavar="DIR", help="detection: write each image with its boxes")
    args = parser.parse_args(argv)
    if not (args.out / MODEL_FILE).is_file():
        print(f"error: no trained model in {args.out} ({MODEL_FILE} missing)", file=sys.stderr)
        return 2
    from training.detection.artifacts import is_detection_run

    if is_detection_run(args.out):
        from training.detection.predict import predict_files

        return predict_files(args.out, args.images, args.conf, args.max_boxes, args.draw)
    predictor = Predictor(args.out)
    status = 0
    for path in args.images:
        try:
            (prediction,) = predictor.predict([path], args.top_k)
        except OSError as exc:
            print(f"error: cannot read image {path}: {exc}", file=sys.stderr)
            status = 3
            continue
        top = [{"class": name, "probability": round(p, 4)} for name, p in prediction.top]
        print(json.dumps({"image": prediction.image, "top": top}), flush=True)
        print(f"{path}: " + ", ".join(f"{name} {p:.1%}" for name, p in prediction.top), file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
