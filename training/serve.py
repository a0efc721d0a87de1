"""`python -m training.serve [--device cpu|cuda]`: a prediction worker for the bot.

It loads each run's model once (the few most recent stay loaded) and answers requests, one JSON line
each on stdin -> one JSON line on stdout:

    {"id": 1, "run_dir": "/.../run-0007", "images": ["/tmp/a.jpg", ...], "top_k": 3}
    {"id": 1, "results": [{"image": "/tmp/a.jpg", "top": [["cat", 0.91], ...]},
                          {"image": "/tmp/b.png", "error": "unreadable", "message": "..."}]}

A detection run's request may carry "conf", "max_boxes" and "draw_dir"; each result then holds "boxes":
[{"class": name, "score": s, "box": [x1, y1, x2, y2]}, ...] (training/detection/predict.py) instead of
"top", and with "draw_dir" also "drawn": the image with its boxes drawn, written into that folder as
NNN.jpg (NNN: the image's place in the request). A request that cannot be served at all gets
{"id": 1, "error": "...", "message": "..."}. The preprocessing is the validation one recorded with the
model (training/predict.py). The bot decides when the worker starts and stops (bot/predict.py); it also
exits when stdin closes.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from training.contract import MODEL_FILE

log = logging.getLogger(__name__)

MODELS_KEPT = 2  # most recently used models kept loaded


class Worker:
    def __init__(self, device: str) -> None:
        from training.predict import Predictor  # torch loads here, after the flags

        self._predictor_class = Predictor
        self._device = device
        self._models: OrderedDict[str, Any] = OrderedDict()

    def predictor(self, run_dir: str) -> Any:
        if run_dir in self._models:
            self._models.move_to_end(run_dir)
        else:
            from training.detection.artifacts import is_detection_run

            if is_detection_run(Path(run_dir)):
                from training.detection.predict import DetectionPredictor

                self._models[run_dir] = DetectionPredictor(Path(run_dir), self._device)
            else:
                self._models[run_dir] = self._predictor_class(Path(run_dir), self._device)
            while len(self._models) > MODELS_KEPT:
                self._models.popitem(last=False)
        return self._models[run_dir]

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = {"id": request.get("id")}
        run_dir = str(request.get("run_dir") or "")
        if not (Path(run_dir) / MODEL_FILE).is_file():
            return reply | {"error": "no_model", "message": f"no trained model in {run_dir}"}
        predictor = self.predictor(run_dir)
        top_k = int(request.get("top_k") or 3)
        results = []
        detects = hasattr(predictor, "boxes")  # a detection run's predictor
        conf, max_boxes = request.get("conf"), int(request.get("max_boxes") or 100)
        draw_dir = request.get("draw_dir")
        for index, image in enumerate(request.get("images") or []):
            try:
                if detects:
                    results.append(self._boxes(predictor, Path(image), conf, max_boxes, draw_dir, index))
                    continue
                (prediction,) = predictor.predict([Path(image)], top_k)
            except Exception as exc:  # not an image after all, truncated, too large to decode
                results.append({"image": image, "error": "unreadable", "message": str(exc)[:300]})
                continue
            results.append({"image": image, "top": prediction.top})
        return reply | {"results": results, "device": self._device}

    @staticmethod
    def _boxes(
        predictor: Any, image: Path, conf: float | None, max_boxes: int, draw_dir: str | None, index: int
    ) -> dict[str, Any]:
        found = predictor.kept(image, conf, max_boxes)
        result = {"image": str(image), "boxes": predictor.as_json(found)}
        if draw_dir:
            result["drawn"] = str(predictor.draw(image, found, Path(draw_dir) / f"{index:03d}.jpg"))
        return result


def serve(worker: Worker, requests: TextIO, replies: TextIO) -> None:
    for line in requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as exc:
            reply: dict[str, Any] = {"id": None, "error": "bad_request", "message": str(exc)[:300]}
        else:
            try:
                reply = worker.handle(request)
            except Exception as exc:  # e.g. a model file that cannot be loaded
                log.exception("request failed")
                reply = {
                    "id": request.get("id"),
                    "error": "internal",
                    "message": f"{type(exc).__name__}: {exc}",
                }
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m training.serve", description=__doc__)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    args = parser.parse_args(argv)
    worker = Worker(args.device)
    sys.stdout.write(json.dumps({"ready": True, "device": args.device}) + "\n")
    sys.stdout.flush()
    serve(worker, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
