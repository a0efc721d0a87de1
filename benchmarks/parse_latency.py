"""Rule-parsed reply time through ConversationService with a SQLite file database, and the worst case.

    .venv/bin/python benchmarks/parse_latency.py [--threads 100]

Each thread plays a three-message conversation (request, dataset, epochs) against a dataset of
3 classes × 200 files, then a correction and a question; every handle_message call is timed (parse +
engine + dataset listing + two SQLite transactions).

Worst case: adversarial messages (one long word of letters, digits or Hangul, a keyword repeated, a path
of slashes, ...) parsed at half the length cap and at the cap; the time per message should about double
(linear), and stay under ~50 ms at the cap. A 100 KB message is refused by the service before parsing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bot.conversation import ConversationService
from bot.conversation.parsing import ParseContext
from bot.conversation.rules import parse_message
from bot.conversation.service import MAX_MESSAGE_CHARS
from bot.settings import Settings
from bot.storage import Database

CONVERSATION = (
    "ResNet50으로 고양이 3종류 분류하는 모델 만들어줘",
    "./cats",
    "50번",
    "배치는 16으로 줄여줘",
    "how long will it take?",
)


def adversarial_messages(length: int) -> dict[str, str]:
    """Messages of `length` characters built to make backtracking regexes slow (also used by the tests)."""

    def fill(unit: str, prefix: str = "") -> str:
        return (prefix + unit * (length // len(unit) + 1))[:length]

    return {
        "letters": fill("a"),
        "digits": fill("1"),
        "hangul": fill("가"),
        "keyword": fill("batch "),
        "ko keyword": fill("배치"),
        "model name": fill("a1_", "model "),
        "dataset name": fill("a", "dataset "),
        "slashes": fill("a/"),
        "decimals": fill("1."),
        "exponents": fill("1e"),
        "dashes": fill("-"),
        "spaces": fill(" ")[:-1] + "x",
        "question marks": fill("?"),
        "ko words": fill("많이 ", "에폭 "),
        "models": fill("resnet"),
        "datasets": fill("cats dataset "),
        "mixed": fill("resnet50 -1e9 ./a 배치 ? "),
        "command files": fill("a.jpg ", "predict 3 "),
        "command dots": fill("a.", "predict "),
        "count words": fill("tell apart seven ", "a 5-way "),
    }


def worst_parse_ms(length: int, repeats: int = 5) -> dict[str, float]:
    """CPU time (best of `repeats`) to parse each adversarial message: on a shared host CPU time is what
    the parser itself costs, without the waits for other processes."""
    context = ParseContext(asked_field="epochs", last_field="batch_size")
    worst: dict[str, float] = {}
    for name, text in adversarial_messages(length).items():
        best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            parse_message(text, context)
            best = min(best, (time.process_time() - started) * 1000)
        worst[name] = best
    return worst


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
            assert turn.intent == "question" and turn.draft["batch_size"] == 16
        started = time.perf_counter()
        refused = service.handle_message(
            team_id="T", channel_id="C", thread_ts="big", user_id="U", text="a" * 100_000
        )
        big_ms = (time.perf_counter() - started) * 1000
        assert str(MAX_MESSAGE_CHARS) in refused.reply
        db.dispose()
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(
        f"{len(timings)} replies: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
        f"max {timings[-1]:.1f} ms"
    )
    half, full = worst_parse_ms(MAX_MESSAGE_CHARS // 2), worst_parse_ms(MAX_MESSAGE_CHARS)
    slowest = max(full, key=full.__getitem__)
    print(
        f"adversarial messages, parse only (best of 3), {MAX_MESSAGE_CHARS // 2} → {MAX_MESSAGE_CHARS} chars:"
    )
    for name in sorted(full, key=full.__getitem__, reverse=True)[:6]:
        print(
            f"  {name:15} {half[name]:6.2f} ms → {full[name]:6.2f} ms"
            f" (x{full[name] / max(half[name], 1e-3):.1f})"
        )
    print(
        f"worst at the cap: {slowest} {full[slowest]:.1f} ms; a 100 KB message is refused in {big_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
