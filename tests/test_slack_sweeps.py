"""A sweep through the real slack-bolt app and the Slack stand-in: asked for in a thread, started with its
button, one live table, the result naming the best trial, with its model uploaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import RunStatus, SweepStatus
from tests.slack_harness import CHANNEL, OWNER, STRANGER, SlackHarness, click, harness, setup_thread
from tests.slack_standin import has_button


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[SlackHarness]:
    h = harness(tmp_path, 0.3, "--acc-by-lr", max_concurrent_runs=2)
    yield h
    h.close()


def test_three_learning_rates_fill_one_table_and_the_best_is_handed_back(slack: SlackHarness) -> None:
    thread = setup_thread(slack, epochs=2)
    slack.summary(thread)
    slack.say(thread, OWNER, "try lr 1e-2, 3e-3 and 1e-3")
    proposal = slack.wait_message(
        lambda m: m.thread_ts == thread and has_button(m.blocks, "sweep_start"), "the sweep proposal"
    )
    assert "3 trials" in proposal.text + str(proposal.blocks) and "learning rate 0.003" in str(
        proposal.blocks
    )
    assert slack.runs.recent_runs() == []  # a proposal starts nothing

    click(slack, proposal.ts, STRANGER, "sweep_start")  # not the requester's: refused, nothing starts
    slack.standin.wait_for(
        lambda: [e for e in slack.standin.ephemerals if e["user"] == STRANGER], what="the refusal"
    )
    assert slack.runs.recent_runs() == []

    click(slack, proposal.ts, OWNER, "sweep_start")
    table = slack.wait_message(lambda m: m.thread_ts == thread and "Sweep #" in str(m.blocks), "the table")
    sweeps = slack.ctx.actions.sweeps
    assert sweeps is not None
    sweep_id = int(re.search(r"Sweep #(\d+)", str(table.blocks)).group(1))  # type: ignore[union-attr]
    slack.standin.wait_for(
        lambda: sweeps.controller.view(sweep_id).status == SweepStatus.COMPLETED, timeout=40, what="the end"
    )
    result = slack.wait_reply(thread, "Best: trial", timeout=10)
    sweep = sweeps.controller.view(sweep_id)
    runs = [trial.run for trial in sweep.trials if trial.run is not None]
    assert len(runs) == 3 and all(run.status == RunStatus.COMPLETED for run in runs)
    best = max(runs, key=lambda run: run.metrics["best_val_acc"])
    assert best.config.learning_rate == 1e-2
    assert f"run #{best.id}" in result.text and "learning rate 0.01" in result.text
    # the table, edited in place: one row per trial with its final figure, the best marked
    final = slack.standin.wait_for(
        lambda: (
            "finished" in str(slack.standin.messages[(CHANNEL, table.ts)].blocks)
            and slack.standin.messages[(CHANNEL, table.ts)]
        ),
        what="the finished table",
    )
    rows = [
        line for line in final.blocks[0]["text"]["text"].splitlines() if line.lstrip("🏆 ").startswith("#")
    ]
    assert len(rows) == 3 and all("Completed" in row and "epoch 2/2" in row for row in rows)
    assert rows[0].startswith("🏆") and "100.0%" in rows[0] and "10.0%" in rows[2]
    upload = slack.standin.wait_for(
        lambda: [u for u in slack.standin.uploads.values() if f"#{best.id}" in str(u.get("title"))],
        what="the best model uploaded",
    )
    assert upload[0]["thread_ts"] == thread
    chart = slack.standin.wait_for(
        lambda: [
            u for u in slack.standin.uploads.values() if "per trial and per epoch" in str(u.get("title"))
        ],
        what="the sweep's chart",
    )
    assert chart[0]["name"] == "sweep.png" and chart[0]["thread_ts"] == thread
    # trials post no progress messages of their own
    assert not [
        m for m in slack.bot_messages(thread) if any(b.get("block_id") == "progress" for b in m.blocks or [])
    ]
    # the winner is the thread's finished run: "N more epochs" continues it
    slack.say(thread, OWNER, "2 more epochs")
    slack.wait_reply(thread, f"Continuing run #{best.id}")
    # no more than two trials at once (two slots)
    spans = sorted((run.started_at, run.completed_at) for run in runs)
    assert spans[2][0] >= min(spans[0][1], spans[1][1])  # type: ignore[operator]
