"""Cross-user attempts through the Slack stand-in with the real slack-bolt and slack-sdk: each is refused
privately with its reason and changes nothing, while the owner and admins can still do it."""

from __future__ import annotations

from pathlib import Path

from bot.storage import RunStatus, SessionState
from tests.slack_harness import CHANNEL, OWNER, STRANGER, SlackHarness, click, harness, setup_thread
from tests.slack_standin import BOT_USER_ID, TEAM_ID, has_button
from tests.waiting import wait_until

ADMIN, OTHER, OUTSIDER = "UADMIN", "UOTHER", "UOUTSIDER"
ELSEWHERE = "C0ELSEWHERE"  # a channel the outsider works in


def refusal_for(slack: SlackHarness, user: str, count: int = 1) -> str:
    """The text of the `count`-th private message to `user`."""
    texts = slack.standin.wait_for(
        lambda: [e["text"] for e in slack.standin.ephemerals if e["user"] == user][count - 1 :],
        what=f"refusal {count} for {user}",
    )
    return texts[0]


def command(slack: SlackHarness, user: str, text: str, channel: str = CHANNEL) -> str:
    before = len(slack.standin.responses)
    slack.standin.wait_ack(slack.standin.slash_command(channel, user, text))
    return slack.standin.wait_for(lambda: slack.standin.responses[before:], what=f"/train {text}")[0]["text"]


def test_other_people_cannot_touch_a_setup_or_a_run_of_a_private_channel(tmp_path: Path) -> None:
    slack = harness(
        tmp_path,
        0.05,
        allowed_user_ids=frozenset({OWNER, OTHER, OUTSIDER}),
        admin_user_ids=frozenset({ADMIN}),
    )
    standin = slack.standin
    standin.private_members[CHANNEL] = {BOT_USER_ID, OWNER, OTHER, ADMIN}
    try:
        thread = setup_thread(slack, epochs=2)
        summary = slack.summary(thread)
        session = lambda: slack.ctx.conversation.get_session(TEAM_ID, CHANNEL, thread)  # noqa: E731
        wait_until(lambda: session().summary_ts == summary.ts, what="the summary recorded")
        messages_before = len(session().messages)

        # typed "cancel" and a change in another person's setup thread, and Start on their summary
        slack.say(thread, OTHER, "cancel")
        assert "Only <@UOWNER>, who set this up, or an admin can change" in refusal_for(slack, OTHER)
        slack.say(thread, STRANGER, "batch 8")
        assert "not on this bot's list of people who can use it" in refusal_for(slack, STRANGER)
        click(slack, summary.ts, OTHER, "train_start")
        assert "or an admin can start it" in refusal_for(slack, OTHER, 2)
        assert session().state == SessionState.CONFIRMING and len(session().messages) == messages_before
        assert slack.runs.recent_runs() == []

        # an admin's Start starts the requester's run: the requester keeps Stop and Download
        click(slack, summary.ts, ADMIN, "train_start")
        run = wait_until(lambda: slack.runs.recent_runs(), what="the run")[0]
        assert run.requested_by == OWNER
        run = wait_until(
            lambda: (r := slack.runs.get(run.id)).status == RunStatus.COMPLETED and r, timeout=60
        )

        # someone not in the private channel sees none of it and may not use its model
        assert f"#{run.id}" not in command(slack, OUTSIDER, "list", ELSEWHERE)
        assert f"#{run.id}" in command(slack, OTHER, "list")  # a member of the channel does
        assert f"#{run.id}" in command(slack, ADMIN, "list", ELSEWHERE)  # and an admin, anywhere
        refused = command(slack, OUTSIDER, f"predict {run.id}", ELSEWHERE)
        assert f"started run #{run.id} (<@UOWNER>), an admin, or members of the channel" in refused
        standin.open_home(OUTSIDER)
        home = wait_until(lambda: standin.home_views.get(OUTSIDER), what="the outsider's App Home")
        assert f"#{run.id}" not in str(home["blocks"])

        # "1 more epoch on run N" in the outsider's own thread: refused, no draft continues it
        outsider_thread = slack.open_thread(OUTSIDER, f"1 more epoch on run {run.id}", ELSEWHERE)
        refused = refusal_for(slack, OUTSIDER)
        assert (
            f"Only the person who started run #{run.id} (<@UOWNER>), or an admin, can continue it" in refused
        )
        continued = slack.ctx.conversation.get_session(TEAM_ID, ELSEWHERE, outsider_thread)
        assert continued is None or continued.continues_run_id is None
        assert len(slack.runs.recent_runs()) == 1
        assert not [u for u in standin.uploads.values() if u.get("channel") == ELSEWHERE]

        # the owner still can: download its model again
        progress = slack.wait_message(
            lambda m: m.thread_ts == thread and has_button(m.blocks, "train_download"), "the Download button"
        )
        click(slack, progress.ts, OWNER, "train_download")
        wait_until(
            lambda: len([u for u in standin.uploads.values() if u["name"] == "model.safetensors"]) == 2,
            what="the model uploaded again",
        )
    finally:
        slack.close()
