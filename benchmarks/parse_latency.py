"""Rule-parsed reply time through ConversationService with a SQLite file database.

    .venv/bin/python benchmarks/parse_latency.py [--threads 100]

Each thread plays a three-message conversation (request, dataset, epochs) against a dataset of
3 classes × 200 files, then a correction; every handle_message call is timed (parse + engine +
dataset listing + two SQLite transactions).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bot.conversation import ConversationService
from bot.settings import Settings
from bot.storage import Database

CONVERSATION = ("ResNet50으로 고양이 3종류 분류하는 모델 만들어줘", "./cats", "50번", "배치는 16으로 줄여줘")


def make_dataset(root: Path, classes: int = 3, per_class: int = 200) -> None:
    for index in range(classes):
        folder = root / "cats" / f"class_{index}"
        folder.mkdir(parents=True)
        for n in range(per_class):
            (folder / f"{n:04d}.jpg").touch()  # the summary lists files; it never decodes them


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "data"
        make_dataset(root)
        db = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        db.create_all()
        service = ConversationService(db, Settings(data_root=root, _env_file=None), "rules")
        timings: list[float] = []
        for thread in range(args.threads):
            for text in CONVERSATION:
                started = time.perf_counter()
                turn = service.handle_message(
                    team_id="T", channel_id="C", thread_ts=str(thread), user_id="U", text=text
                )
                timings.append((time.perf_counter() - started) * 1000)
            assert turn.complete and turn.config is not None and turn.config.batch_size == 16
        db.dispose()
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(
        f"{len(timings)} replies: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
        f"max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
