"""Who may do what (bot/policy.py), driven through every surface: buttons, App Home buttons, typed words in a
DM thread, slash commands and the console, each as the run's owner, an admin, another allowed user who is
in the run's private channel, an allowed user who is not, and a user not on ALLOWED_USER_IDS. A refusal
says its reason and changes nothing; an allowed attempt does the thing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest

from bot.actions import Started, Thread
from bot.console import Console
from bot.policy import Action, Actor, Policy, Reason, Refusal
from bot.predict.answer import Predicted
from bot.settings import Settings
from bot.slack.listeners import actions as action_listeners
from bot.slack.listeners import commands, home, messages
from bot.storage import Database, RunStatus
from tests.imagegen import make_image_folder
from tests.slack_units import (
    ADMIN,
    DM,
    MEMBERS,
    OTHER,
    OUTSIDER,
    OWNER,
    PRIVATE,
    STRANGER,
    TEAM,
    Unit,
    ack,
    button_body,
    finished_run,
    unit,
)

ROLES = (OWNER, ADMIN, OTHER, OUTSIDER, STRANGER)
OK = None
NOT_LISTED, NOT_OWNER, NOT_MEMBER = Reason.USER_NOT_LISTED, Reason.NOT_OWNER, Reason.NOT_OWNER_OR_MEMBER
FINISHED, RUNNING, STOPPED = 1, 2, 3  # the owner's runs, all in the private channel

# (action) -> the decision for OWNER, ADMIN, OTHER (in the channel), OUTSIDER (not in it), STRANGER (unlisted)
DECISIONS: dict[Action, tuple[Reason | None, ...]] = {
    Action.STOP: (OK, OK, NOT_OWNER, NOT_OWNER, NOT_OWNER),
    Action.RESUME: (OK, OK, NOT_OWNER, NOT_OWNER, NOT_LISTED),
    Action.DOWNLOAD: (OK, OK, OK, NOT_MEMBER, NOT_MEMBER),
    Action.EXPORT: (OK, OK, NOT_OWNER, NOT_OWNER, NOT_OWNER),
    Action.CONTINUE: (OK, OK, NOT_OWNER, NOT_OWNER, NOT_LISTED),
    Action.PREDICT: (OK, OK, OK, NOT_MEMBER, NOT_LISTED),
}
# typed words and the console first reach the conversation: an unlisted user is refused there
TALK_FIRST = {STRANGER: NOT_LISTED}
SURFACES: dict[str, tuple[Action, ...]] = {
    "button": (Action.STOP, Action.RESUME, Action.DOWNLOAD, Action.EXPORT),
    "home": (Action.STOP, Action.RESUME, Action.DOWNLOAD),
    "typed_dm": (Action.EXPORT, Action.CONTINUE),
    "slash": (Action.STOP, Action.PREDICT),
    "console": (Action.STOP, Action.EXPORT, Action.CONTINUE, Action.PREDICT),
}
WORDS = {
    Action.STOP: f"stop {RUNNING}",
    Action.EXPORT: f"export onnx for run {FINISHED}",
    Action.CONTINUE: f"2 more epochs on run {FINISHED}",
    Action.PREDICT: f"predict {FINISHED}",
}
BUTTONS = {
    Action.STOP: ("train_stop", RUNNING),
    Action.RESUME: ("train_resume", STOPPED),
    Action.DOWNLOAD: ("train_download", FINISHED),
    Action.EXPORT: ("train_export_onnx", FINISHED),
}
SAYS = {NOT_LISTED: "list of people", NOT_OWNER: "Only the person who started run", NOT_MEMBER: "members of"}

CASES = [
    pytest.param(surface, action, role, TALK_FIRST.get(role, decision) if surface in ("typed_dm", "console")
                 else decision, id=f"{surface}-{action.value}-{role}")
    for surface, actions in SURFACES.items()
    for action in actions
    for role, decision in zip(ROLES, DECISIONS[action], strict=True)
]  # fmt: skip


@pytest.fixture(scope="module")
def settings(module_tmp: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_root=module_tmp / "data",
        output_root=module_tmp / "outputs",
        database_url=f"sqlite:///{module_tmp / 'bot.db'}",
        allowed_user_ids=frozenset({OWNER, OTHER, OUTSIDER}),
        admin_user_ids=frozenset({ADMIN}),
        user_messages_per_minute=1000,
        user_heavy_actions_per_minute=1000,
    )


@pytest.fixture(scope="module")
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url_or_default)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def slack(db: Database, settings: Settings, module_tmp: Path) -> Unit:
    runs = [
        finished_run(module_tmp / "outputs", FINISHED, OWNER, PRIVATE),
        finished_run(module_tmp / "outputs", RUNNING, OWNER, PRIVATE, status=RunStatus.RUNNING),
        finished_run(module_tmp / "outputs", STOPPED, OWNER, PRIVATE, status=RunStatus.STOPPED),
    ]
    made = unit(db, settings, runs)
    made.ctx.actions.predict = Mock(return_value=Predicted("PREDICTED"))  # type: ignore[method-assign]
    for package in (action_listeners, commands, home, messages):
        package.register(made.app, made.ctx)  # type: ignore[arg-type]
    return made


def _thread(role: str, case: str) -> str:
    return f"{abs(hash((role, case))) % 10**6}.{len(case)}"


def drive(slack: Unit, surface: str, action: Action, user: str) -> list[str]:
    """Do `action` as `user` on `surface`; what the person was told (refusals and replies)."""
    told: list[str] = []
    if surface in ("button", "home"):
        action_id, run_id = BUTTONS[action]
        body = button_body(user, action_id, str(run_id), PRIVATE, f"{run_id}.0")
        if surface == "home":
            body["container"] = {"type": "view"}
        acked = ack()
        slack.app.actions[action_id](ack=acked, body=body, action=body["actions"][0])
        acked.assert_called_once()
    elif surface == "typed_dm":
        event = {
            "channel": f"D{user}",
            "user": user,
            "text": WORDS[action],
            "ts": _thread(user, WORDS[action]),
        }
        (listener,) = slack.app.events["message"]
        listener(event={**event, "channel_type": "im"}, body={"team_id": TEAM})
    elif surface == "slash":
        respond = Mock()
        command = {"text": WORDS[action], "user_id": user, "channel_id": PRIVATE, "team_id": TEAM}
        acked = ack()
        slack.app.commands["/train"](ack=acked, command=command, respond=respond)
        acked.assert_called_once()
        told += [call.args[0] for call in respond.call_args_list]
    elif surface == "console":
        out = io.StringIO()
        lines = iter([WORDS[action] + (" photo.png" if action == Action.PREDICT else ""), "quit"])
        Console(slack.ctx.actions, user=user, read_line=lambda _: next(lines), out=out).run()
        told.append(out.getvalue())
    return told + slack.ephemeral_texts() + slack.posted_texts()


def done(slack: Unit, action: Action, told: list[str]) -> bool:
    """Whether the action took effect."""
    calls = {name for name, _run, _user in slack.runs.calls}
    uploads = slack.client.files_upload_v2.called or slack.client.files_getUploadURLExternal.called
    match action:
        case Action.STOP:
            return "stop" in calls
        case Action.RESUME:
            return "resume" in calls
        case Action.DOWNLOAD | Action.EXPORT:
            return bool(uploads) or any("verified ONNX file" in text for text in told)
        case Action.CONTINUE:  # a draft continuing the run, in the DM thread or the console
            return any(f"Continuing run #{FINISHED}" in text for text in told)
        case Action.PREDICT:
            return slack.ctx.actions.predict.called or slack.client.chat_postMessage.called  # type: ignore[attr-defined]
    raise AssertionError(action)


@pytest.mark.parametrize(("surface", "action", "user", "refused"), CASES)
def test_every_action_on_every_surface(
    slack: Unit, surface: str, action: Action, user: str, refused: Reason | None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.png").write_bytes(b"png")
    said = drive(slack, surface, action, user)
    told = "\n".join(said)
    if refused is None:
        assert done(slack, action, said), told
        assert not any(phrase in told for phrase in SAYS.values()), told
    else:
        assert SAYS[refused] in told, told
        assert slack.runs.calls == [] and not slack.client.files_upload_v2.called, told


def test_the_consoles_local_user_is_an_admin_there(settings: Settings, module_tmp: Path) -> None:
    run = finished_run(module_tmp / "outputs", FINISHED, OWNER, PRIVATE)
    console = Policy(settings, admins=frozenset({"alice"}))  # as run_console builds it
    assert console.may_start(Actor("alice")) is None
    assert all(console.may_use_run(Actor("alice"), run, action) is None for action in DECISIONS)
    assert Policy(settings).may_use_run(Actor("alice"), run, Action.STOP) is not None


def test_the_policy_table_itself(settings: Settings, module_tmp: Path) -> None:
    """The decisions without a front end, including channel lists and drafts."""
    policy = Policy(settings, lambda channel, user: user in MEMBERS.get(channel, set()))
    run = finished_run(module_tmp / "outputs", FINISHED, OWNER, PRIVATE)
    for action, decisions in DECISIONS.items():
        for role, decision in zip(ROLES, decisions, strict=True):
            refusal = policy.may_use_run(Actor(role, PRIVATE), run, action)
            assert (refusal.reason if refusal else None) == decision, (action, role)
    assert [policy.may_see(role, run) for role in ROLES] == [True, True, True, False, False]
    dm_run = finished_run(module_tmp / "outputs", 5, OWNER, DM)
    assert [policy.may_see(role, dm_run) for role in ROLES] == [True, True, False, False, False]
    draft: dict[str, Any] = {"requester": OWNER}
    assert policy.may_use_draft(Actor(OTHER), draft["requester"], Action.EDIT) == Refusal(
        Reason.NOT_REQUESTER, Action.EDIT, owner=OWNER
    )
    assert policy.may_use_draft(Actor(ADMIN), OWNER, Action.CANCEL) is None
    assert policy.may_use_draft(Actor(STRANGER), None, Action.TALK) == Refusal(
        Reason.USER_NOT_LISTED, Action.TALK
    )
    channels = Policy(settings.model_copy(update={"allowed_channel_ids": frozenset({PRIVATE})}))
    assert channels.may_start(Actor(OWNER, "COTHER"), Action.UPLOAD) == Refusal(
        Reason.CHANNEL_NOT_LISTED, Action.UPLOAD
    )
    assert channels.may_start(Actor(STRANGER, "COTHER"), Action.UPLOAD) == Refusal(
        Reason.USER_NOT_LISTED, Action.UPLOAD
    )  # the person's own reason first, not the channel's


def test_status_and_list_hide_runs_of_channels_the_person_is_not_in(slack: Unit) -> None:
    outsider = slack.ctx.actions.recent(Actor(OUTSIDER))
    assert outsider == [] and [run.id for run in slack.ctx.actions.recent(Actor(OTHER))] == [3, 2, 1]
    assert [run.id for run in slack.ctx.actions.status(Actor(ADMIN))] == [RUNNING]


def test_a_continue_is_checked_again_when_it_is_started(slack: Unit, module_tmp: Path) -> None:
    """A draft continuing someone's run (made while its maker could, e.g. as an admin since removed) is
    refused at Start, and nothing is submitted; the run's owner starts the same kind of draft."""
    make_image_folder(module_tmp / "data" / "pets", classes=("cat", "dog"), per_class=2)
    actions = slack.ctx.actions
    for user, thread in ((OTHER, "77.1"), (OWNER, "77.2")):
        where = Thread(TEAM, PRIVATE, thread)
        turn = actions.talk(Actor(user, PRIVATE), where, "resnet18 on pets, 2 epochs")
        assert not isinstance(turn, Refusal)
        pets = str(module_tmp / "data" / "pets")
        config = actions.runs.get(FINISHED).config.model_copy(update={"dataset_path": pets})
        assert actions.conversation.continue_run(turn.session_id, FINISHED, config, 1, "en").complete
        started = actions.typed_start(Actor(user, PRIVATE), where, "start", None)
        if user == OTHER:
            assert started == Refusal(Reason.NOT_OWNER, Action.CONTINUE, run_id=FINISHED, owner=OWNER)
            assert slack.runs.calls == []
        else:
            assert isinstance(started, Started) and slack.runs.calls == [("submit", FINISHED, OWNER)]
