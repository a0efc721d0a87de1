"""A sweep through the real slack-bolt app and the Slack stand-in: asked for in a thread (by the rules or by
Claude, through the Messages API stand-in), started with its button, one live table, the result naming the
best trial, with its model uploaded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from bot.storage import RunStatus, SweepStatus
from bot.sweeps.parse import parse_sweep, read_objective
from bot.sweeps.views import SweepView
from tests import fake_anthropic as fake
from tests.fake_anthropic import FakeAnthropic
from tests.slack_harness import CHANNEL, OWNER, STRANGER, SlackHarness, click, harness, setup_thread
from tests.slack_standin import Message, has_button


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[SlackHarness]:
    h = harness(tmp_path, 0.3, "--acc-by-lr", max_concurrent_runs=2)
    yield h
    h.close()


def propose(slack: SlackHarness, epochs: int, ask: str) -> tuple[str, Message]:
    """A thread set up for `epochs` epochs, then a sweep asked for: (the thread, the proposal)."""
    thread = setup_thread(slack, epochs=epochs)
    slack.summary(thread)
    slack.say(thread, OWNER, ask)
    proposal = slack.wait_message(
        lambda m: m.thread_ts == thread and has_button(m.blocks, "sweep_start"), "the sweep proposal"
    )
    return thread, proposal


def start(slack: SlackHarness, thread: str, proposal: Message) -> tuple[Message, int]:
    """Its requester presses Start: (the table message, the sweep's id)."""
    click(slack, proposal.ts, OWNER, "sweep_start")
    table = slack.wait_message(lambda m: m.thread_ts == thread and "Sweep #" in str(m.blocks), "the table")
    return table, int(re.search(r"Sweep #(\d+)", str(table.blocks)).group(1))  # type: ignore[union-attr]


def run_to_the_end(slack: SlackHarness, thread: str, proposal: Message) -> tuple[Message, SweepView, Message]:
    """Start pressed, then the sweep completed: (the table message, the sweep's last view, the result)."""
    table, sweep_id = start(slack, thread, proposal)
    sweeps = slack.ctx.actions.sweeps
    assert sweeps is not None
    slack.standin.wait_for(
        lambda: sweeps.controller.view(sweep_id).status == SweepStatus.COMPLETED, timeout=40, what="the end"
    )
    result = slack.wait_reply(thread, "Best: trial", timeout=10)
    return table, sweeps.controller.view(sweep_id), result


def finished_table(slack: SlackHarness, table: Message) -> tuple[Message, list[str]]:
    """The table once it says the sweep finished, and its rows (one per trial)."""
    final = slack.standin.wait_for(
        lambda: (
            "finished" in str(slack.standin.messages[(CHANNEL, table.ts)].blocks)
            and slack.standin.messages[(CHANNEL, table.ts)]
        ),
        what="the finished table",
    )
    text = final.blocks[0]["text"]["text"]
    return final, [line for line in text.splitlines() if line.lstrip("🏆 ").startswith("#")]


def test_three_learning_rates_fill_one_table_and_the_best_is_handed_back(slack: SlackHarness) -> None:
    thread, proposal = propose(slack, 2, "try lr 1e-2, 3e-3 and 1e-3")
    assert "3 trials" in proposal.text + str(proposal.blocks) and "learning rate 0.003" in str(
        proposal.blocks
    )
    assert slack.runs.recent_runs() == []  # a proposal starts nothing

    click(slack, proposal.ts, STRANGER, "sweep_start")  # not the requester's: refused, nothing starts
    slack.standin.wait_for(
        lambda: [e for e in slack.standin.ephemerals if e["user"] == STRANGER], what="the refusal"
    )
    assert slack.runs.recent_runs() == []

    table, sweep, result = run_to_the_end(slack, thread, proposal)
    runs = [trial.run for trial in sweep.trials if trial.run is not None]
    assert len(runs) == 3 and all(run.status == RunStatus.COMPLETED for run in runs)
    best = max(runs, key=lambda run: run.metrics["best_val_acc"])
    assert best.config.learning_rate == 1e-2
    assert f"run #{best.id}" in result.text and "learning rate 0.01" in result.text
    # the table, edited in place: one row per trial with its final figure, the best marked
    _final, rows = finished_table(slack, table)
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


def progress_messages(slack: SlackHarness, thread: str) -> list[Message]:
    return [
        m for m in slack.bot_messages(thread) if any(b.get("block_id") == "progress" for b in m.blocks or [])
    ]


def refused(slack: SlackHarness, words: str) -> list[dict]:
    return [e for e in slack.standin.ephemerals if e["user"] == STRANGER and words in e["text"]]


def test_stop_then_resume_from_the_thread_with_each_trials_progress_on_request(slack: SlackHarness) -> None:
    thread, proposal = propose(slack, 10, "lr 1e-2, 3e-3 and 1e-3")
    table, sweep_id = start(slack, thread, proposal)
    sweeps = slack.ctx.actions.sweeps
    assert sweeps is not None
    shown = lambda: slack.standin.messages[(CHANNEL, table.ts)]  # noqa: E731  the table as it is now
    slack.standin.wait_for(lambda: has_button(shown().blocks, "sweep_show_trials"), what="the switch")
    assert progress_messages(slack, thread) == []  # the default: the table only

    click(slack, table.ts, STRANGER, "sweep_show_trials")  # not the requester's: refused, nothing changes
    slack.standin.wait_for(lambda: refused(slack, "who set this up"), what="the switch refused")
    assert not sweeps.controller.view(sweep_id).show_trials
    click(slack, table.ts, OWNER, "sweep_show_trials")
    slack.wait_reply(thread, "now has its own progress message")
    # the two running trials get their ordinary run progress message, and the switch turns round
    slack.standin.wait_for(lambda: len(progress_messages(slack, thread)) == 2, what="two trial messages")
    slack.standin.wait_for(lambda: has_button(shown().blocks, "sweep_hide_trials"), what="Table only")

    first = lambda: sweeps.controller.view(sweep_id).trials[0].run  # noqa: E731
    slack.standin.wait_for(lambda: first().current_epoch >= 2, what="the first trial's second epoch")  # type: ignore[union-attr]
    click(slack, table.ts, STRANGER, "sweep_stop")
    slack.standin.wait_for(lambda: refused(slack, "can stop it"), what="the stop refused")
    click(slack, table.ts, OWNER, "sweep_stop")
    slack.wait_reply(thread, "Type `resume sweep`")
    slack.standin.wait_for(
        lambda: all(
            t.run is not None and t.run.status.is_terminal for t in sweeps.controller.view(sweep_id).trials
        ),
        timeout=20,
        what="the trials stopped",
    )
    slack.wait_reply(thread, f"Sweep #{sweep_id} stopped. Best so far: trial")
    stopped = sweeps.controller.view(sweep_id)
    assert stopped.status == SweepStatus.STOPPED and len(stopped.trials) == 2
    assert [t.run.status for t in stopped.trials if t.run] == [RunStatus.STOPPED, RunStatus.STOPPED]
    slack.standin.wait_for(
        lambda: has_button(shown().blocks, "sweep_resume") and not has_button(shown().blocks, "sweep_stop"),
        what="the stopped table with Resume",
    )

    click(slack, table.ts, STRANGER, "sweep_resume")
    slack.standin.wait_for(lambda: refused(slack, "can resume it"), what="the resume refused")
    assert sweeps.controller.view(sweep_id).status == SweepStatus.STOPPED
    slack.say(thread, OWNER, "resume sweep")
    slack.wait_reply(thread, f"Sweep #{sweep_id} resumed")
    slack.standin.wait_for(lambda: has_button(shown().blocks, "sweep_stop"), what="the table running again")
    slack.standin.wait_for(
        lambda: sweeps.controller.view(sweep_id).status == SweepStatus.COMPLETED, timeout=60, what="the end"
    )
    slack.wait_reply(thread, "Best: trial", timeout=10)
    done = sweeps.controller.view(sweep_id)
    assert [trial.number for trial in done.trials] == [0, 1, 2]
    runs = [trial.run for trial in done.trials if trial.run is not None]
    assert all(run.status == RunStatus.COMPLETED for run in runs)
    before = {t.number: t.run.id for t in stopped.trials if t.run}
    assert all(run.id != before.get(trial.number) for trial, run in zip(done.trials, runs, strict=True))
    # both stopped trials went on from their checkpoints (both trained); the third started afresh
    argv = [json.loads((Path(run.output_dir or "") / "seen.json").read_text())["argv"] for run in runs]
    assert ["--resume" in seen for seen in argv] == [True, True, False]
    # every trial run that trained after the switch has its own progress message, showing its end
    slack.standin.wait_for(
        lambda: {m.ts for m in progress_messages(slack, thread)} >= {run.slack_ts for run in runs},
        what="each trial's message",
    )
    assert all(run.slack_ts for run in runs)
    slack.standin.wait_for(
        lambda: all(
            "Completed" in str(slack.standin.messages[(CHANNEL, run.slack_ts)].blocks)  # type: ignore[index]
            for run in runs
        ),
        what="each trial's message completed",
    )


def test_the_table_waits_out_a_429_and_ends_with_the_final_state(slack: SlackHarness) -> None:
    thread, proposal = propose(slack, 2, "lr 1e-2 or 1e-3")
    table, sweep_id = start(slack, thread, proposal)
    slack.standin.rate_limit("chat.update", times=2, retry_after=1)  # Slack throttles the next two edits
    sweeps = slack.ctx.actions.sweeps
    assert sweeps is not None
    slack.standin.wait_for(
        lambda: sweeps.controller.view(sweep_id).status == SweepStatus.COMPLETED, timeout=40, what="the end"
    )
    final, rows = finished_table(slack, table)
    assert len(rows) == 2 and all("Completed" in row and "epoch 2/2" in row for row in rows)
    edits = [call for call in slack.standin.calls if call.method == "chat.update"]
    assert edits[0].params["ts"] == table.ts and edits[1].params["ts"] == table.ts  # the two answered 429
    # slack_sdk waited Retry-After (1 s) before each try again, on the publisher thread
    assert edits[1].at - edits[0].at >= 0.9 and edits[2].at - edits[1].at >= 0.9
    assert not has_button(final.blocks, "sweep_stop")


@pytest.fixture
def claude_slack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SlackHarness, FakeAnthropic]]:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    server = FakeAnthropic()
    client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=0)
    h = harness(tmp_path, 0.3, "--acc-by-lr", max_concurrent_runs=2, parser="claude", anthropic_client=client)
    yield h, server
    h.close()
    server.close()


def test_a_sweep_only_claude_reads_is_proposed_started_and_handed_back(
    claude_slack: tuple[SlackHarness, FakeAnthropic],
) -> None:
    slack, server = claude_slack
    asked = "see whether a thousandth or a hundredth works better as the learning rate"
    judged = "actually, judge them by how small the error on held-out images gets"
    assert parse_sweep(asked) is None and read_objective(judged) is None  # no rule reads either
    learning_rates = {"field": "learning_rate", "kind": "values", "values": ["0.001", "0.01"]}
    server.script = [
        fake.updates(model="resnet18", epochs=2),
        fake.updates(dataset_path="pets"),
        fake.message({"intent": "settings", "updates": {}, "sweep": {"settings": [learning_rates]}}),
        fake.message(
            {"intent": "settings", "updates": {}, "sweep": {"settings": [], "objective": "val_loss"}}
        ),
    ]
    thread = setup_thread(slack, epochs=2)
    slack.summary(thread)
    slack.say(thread, OWNER, asked)
    first = slack.wait_message(
        lambda m: m.thread_ts == thread and has_button(m.blocks, "sweep_start"), "the sweep proposal"
    )
    assert "2 trials of resnet18 on `pets`" in str(first.blocks) and "learning rate 0.01" in str(first.blocks)
    assert "Best trial by *validation accuracy*" in str(first.blocks)
    slack.say(thread, OWNER, judged)
    proposal = slack.wait_message(
        lambda m: m.thread_ts == thread and m.ts != first.ts and has_button(m.blocks, "sweep_start"),
        "the sweep proposed again",
    )
    assert "Best trial by the lowest *validation loss*" in str(proposal.blocks)
    assert slack.runs.recent_runs() == [] and len(server.requests) == 4

    table, sweep, result = run_to_the_end(slack, thread, proposal)
    runs = [trial.run for trial in sweep.trials if trial.run is not None]
    assert len(runs) == 2 and all(run.status == RunStatus.COMPLETED for run in runs)
    best = min(runs, key=lambda run: run.metrics["val_loss"])  # the trials' own figures
    assert sweep.objective == "val_loss" and best.config.learning_rate == 1e-2
    assert f"run #{best.id}" in result.text and "learning rate 0.01" in result.text
    assert "validation loss *0.5*" in result.text
    _final, rows = finished_table(slack, table)
    assert len(rows) == 2 and rows[1].startswith("🏆")
    assert len(server.requests) == 4  # pressing Start asks Claude nothing


def test_a_sweep_asked_while_the_threads_run_trains_runs_beside_it(slack: SlackHarness) -> None:
    thread = setup_thread(slack, epochs=30)  # 9 s of training: it outlasts the sweep's short trials
    click(slack, slack.summary(thread).ts, OWNER, "train_start")
    slack.progress_message(thread)
    (run,) = slack.runs.recent_runs()
    slack.say(thread, OWNER, "epochs 1 or 2")
    proposal = slack.wait_message(
        lambda m: m.thread_ts == thread and has_button(m.blocks, "sweep_start"), "the sweep proposal"
    )
    assert not slack.runs.get(run.id).status.is_terminal  # asked while the run trains
    assert "• Trial 1: epochs 1\n• Trial 2: epochs 2" in proposal.blocks[0]["text"]["text"]
    _table, sweep_id = start(slack, thread, proposal)
    sweeps = slack.ctx.actions.sweeps
    assert sweeps is not None
    slack.standin.wait_for(
        lambda: sweeps.controller.view(sweep_id).status == SweepStatus.COMPLETED, timeout=40, what="the end"
    )
    slack.wait_reply(thread, "Best: trial", timeout=10)
    trials = [trial.run for trial in sweeps.controller.view(sweep_id).trials if trial.run is not None]
    assert [t.config.epochs for t in trials] == [1, 2] and run.id not in {t.id for t in trials}
    assert all(t.status == RunStatus.COMPLETED for t in trials)
    ran = slack.runs.get(run.id)  # the thread's own run went on untouched
    assert ran.sweep_id is None and ran.config.epochs == 30
    assert ran.status in (RunStatus.RUNNING, RunStatus.COMPLETED)
    slack.say(thread, OWNER, "stop")  # and "stop" still means that run
    slack.standin.wait_for(
        lambda: slack.runs.get(run.id).status.is_terminal, timeout=20, what="the run stopped or done"
    )


def test_a_sweep_in_a_dm_started_twice_runs_each_trial_once(slack: SlackHarness) -> None:
    dm = "D0DM"
    _envelope, asked = slack.standin.user_message(
        dm, OWNER, "train resnet18 on pets, 2 epochs, lr 1e-3 or 1e-2", channel_type="im"
    )
    proposal = slack.wait_message(
        lambda m: m.channel == dm and m.thread_ts == asked and has_button(m.blocks, "sweep_start"),
        "the proposal in the DM",
    )
    for _press in range(2):  # a double click
        envelope = slack.standin.click(slack.standin.messages[(dm, proposal.ts)], OWNER, "sweep_start")
        slack.standin.wait_ack(envelope)
    table = slack.wait_message(lambda m: m.channel == dm and "Sweep #" in str(m.blocks), "the table")
    sweep_id = int(re.search(r"Sweep #(\d+)", str(table.blocks)).group(1))  # type: ignore[union-attr]
    # a typed start, and Slack delivering it again: one answer, nothing started twice
    for retry in (0, 1):
        envelope, _ts = slack.standin.user_message(
            dm,
            OWNER,
            "start sweep",
            thread_ts=asked,
            channel_type="im",
            event_id="EvSTART",
            retry_attempt=retry,
        )
        slack.standin.wait_ack(envelope)
    slack.wait_message(
        lambda m: m.channel == dm and f"Sweep #{sweep_id} has started already" in m.text, "the typed start"
    )
    sweeps = slack.ctx.actions.sweeps
    assert sweeps is not None
    slack.standin.wait_for(
        lambda: sweeps.controller.view(sweep_id).status == SweepStatus.COMPLETED, timeout=40, what="the end"
    )
    result = slack.wait_message(
        lambda m: m.channel == dm and m.thread_ts == asked and "Best: trial" in m.text, "the result in the DM"
    )
    assert "learning rate 0.01" in result.text
    replies = [m for m in slack.standin.thread(dm, asked) if m.user != OWNER]
    assert len([m for m in replies if "Sweep #" in str(m.blocks)]) == 1  # one table
    assert len([m for m in replies if "has started already" in m.text]) == 1
    assert not [m for m in replies if "replaced" in m.text]
    runs = slack.runs.recent_runs()
    assert len(runs) == 2 and {run.sweep_id for run in runs} == {sweep_id}
    assert sorted(run.config.learning_rate for run in runs) == [1e-3, 1e-2]
