"""Epoch-event-to-chat.update latency of the Slack progress message, against the local Slack stand-in.

    .venv/bin/python benchmarks/slack_edit_latency.py [--epochs 12] [--epoch-seconds 1.5 0.3]

The real Bolt app (Socket Mode) and RunManager run the fake trainer (tests/fake_trainer.py); for each
epoch event, latency = the wall time of the first chat.update showing that epoch (or a later one) minus
the event's `time` (set by the trainer when it wrote the line). Slack is not rate-limiting here.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.imagegen import make_image_folder  # noqa: E402
from tests.slack_harness import SlackHarness  # noqa: E402

USER = "UBENCH"
EPOCH_IN_TEXT = re.compile(r"epoch (\d+)/")


def measure(epochs: int, epoch_seconds: float) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        make_image_folder(tmp / "data" / "pets", classes=("cat", "dog"), per_class=2)
        command = [
            sys.executable,
            str(ROOT / "tests" / "fake_trainer.py"),
            "--epoch-seconds",
            str(epoch_seconds),
        ]
        slack = SlackHarness.start(tmp, command)
        try:
            thread = slack.open_thread(USER, f"resnet18 classifier, {epochs} epochs")
            slack.wait_reply(thread, "Which dataset")
            slack.say(thread, USER, "pets")
            summary = slack.summary(thread)
            slack.standin.click(summary, USER, "train_start")
            progress = slack.progress_message(thread)
            slack.standin.wait_for(
                lambda: "Completed" in str(progress.blocks),
                timeout=epochs * epoch_seconds + 30,
                what="completion",
            )
            events_file = tmp / "outputs" / "run-0001" / "events.jsonl"
            events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
            updates = [
                (call.wall, int(match.group(1)))
                for call in slack.standin.calls_to("chat.update")
                if (match := EPOCH_IN_TEXT.search(call.params.get("text", "")))
            ]
        finally:
            slack.close()
    latencies = []
    for event in (e for e in events if e.get("type") == "epoch"):
        shown = [wall for wall, epoch in updates if epoch >= event["epoch"] and wall >= event["time"]]
        latencies.append(min(shown) - event["time"])
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--epoch-seconds", type=float, nargs="+", default=[1.5, 0.3])
    args = parser.parse_args()
    for epoch_seconds in args.epoch_seconds:
        latencies = sorted(measure(args.epochs, epoch_seconds))
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        print(
            f"epoch every {epoch_seconds:.1f}s, {len(latencies)} epoch events: "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
