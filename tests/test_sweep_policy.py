"""Who may stop, resume and switch the trials' progress of a sweep, and who sees it listed (bot/policy.py):
its requester and admins act on it; the members of its channel see it, as for runs; nobody else does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.actions.sweeps import SweepActions, SweepSaid, SweepStopped
from bot.conversation import ConversationService
from bot.policy import Action, Actor, Policy, Reason, Refusal
from bot.runs import RunManager
from bot.storage import Database, Sweep, SweepStatus
from bot.sweeps.controller import SweepController
from bot.sweeps.parse import parse_sweep
from bot.sweeps.spec import checked
from tests.runs_support import fake_command, make_settings
from training.config import TrainingConfig

OWNER, MEMBER, OUTSIDER, ADMIN, UNLISTED = "UOWNER", "UMEMBER", "UOUTSIDER", "UADMIN", "UUNLISTED"
CHANNEL = "CPRIVATE"


def members(channel: str, user: str) -> bool:
    return channel == CHANNEL and user in {OWNER, MEMBER}


@pytest.fixture
def actions(tmp_path: Path) -> Iterator[tuple[SweepActions, Database]]:
    settings = make_settings(tmp_path, allowed_user_ids=frozenset({OWNER, MEMBER, OUTSIDER}))
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    db.create_all()
    manager = RunManager(db, settings, trainer_command=fake_command())  # never started: runs stay queued
    sweeps = SweepActions(
        settings,
        Policy(settings, members),
        ConversationService(db, settings, "rules"),
        SweepController(db, manager, settings),
    )
    yield sweeps, db
    sweeps.controller.close()
    db.dispose()


def stopped_sweep(sweeps: SweepActions, db: Database, channel: str | None) -> int:
    """A sweep of OWNER's in `channel`, stored as stopped (no trial trained: nothing to wait for)."""
    spec = checked(parse_sweep("lr 1e-3 or 1e-2") or pytest.fail("not read as a sweep"), 12)
    base = TrainingConfig(dataset_path="/data/pets", model="resnet18", epochs=2, pretrained=False)
    sweep = sweeps.controller.create(spec, base, OWNER, slack_channel=channel, draft=True)
    with db.session() as session:
        row = session.get(Sweep, sweep.id)
        assert row is not None
        row.status = SweepStatus.STOPPED
    return sweep.id


def test_a_sweep_is_listed_for_its_requester_its_channels_members_and_admins(
    actions: tuple[SweepActions, Database],
) -> None:
    sweeps, db = actions
    in_channel = stopped_sweep(sweeps, db, CHANNEL)
    in_console = stopped_sweep(sweeps, db, None)
    seen = {user: [s.id for s in sweeps.visible(user)] for user in (OWNER, MEMBER, OUTSIDER, ADMIN)}
    assert seen == {
        OWNER: [in_console, in_channel],
        MEMBER: [in_channel],
        OUTSIDER: [],
        ADMIN: [in_console, in_channel],
    }


@pytest.mark.parametrize(
    ("user", "reason"),
    [(MEMBER, Reason.NOT_REQUESTER), (OUTSIDER, Reason.NOT_REQUESTER), (UNLISTED, Reason.USER_NOT_LISTED)],
)
def test_only_the_requester_or_an_admin_resumes_or_switches_a_sweep(
    actions: tuple[SweepActions, Database], user: str, reason: Reason
) -> None:
    sweeps, db = actions
    sweep_id = stopped_sweep(sweeps, db, CHANNEL)
    refused = sweeps.resume(Actor(user, CHANNEL), sweep_id, "en")
    assert isinstance(refused, Refusal) and (refused.reason, refused.action) == (reason, Action.RESUME)
    assert sweeps.controller.view(sweep_id).status == SweepStatus.STOPPED  # nothing changed
    with db.session() as session:
        row = session.get(Sweep, sweep_id)
        assert row is not None
        row.status = SweepStatus.DRAFT  # a proposal's trials' progress can be switched on before Start
    switched = sweeps.show_trials(Actor(user, CHANNEL), sweep_id, True, "en")
    if reason == Reason.USER_NOT_LISTED:  # switching starts nothing: only the requester's check
        reason = Reason.NOT_REQUESTER
    assert isinstance(switched, Refusal) and (switched.reason, switched.action) == (reason, Action.EDIT)
    assert not sweeps.controller.view(sweep_id).show_trials
    allowed = sweeps.show_trials(Actor(ADMIN, CHANNEL), sweep_id, True, "en")
    assert not isinstance(allowed, Refusal) and sweeps.controller.view(sweep_id).show_trials


def test_the_requester_stops_and_an_admin_stops_but_no_member(actions: tuple[SweepActions, Database]) -> None:
    sweeps, db = actions
    sweep_id = stopped_sweep(sweeps, db, CHANNEL)
    with db.session() as session:
        row = session.get(Sweep, sweep_id)
        assert row is not None
        row.status = SweepStatus.RUNNING
    refused = sweeps.stop(Actor(MEMBER, CHANNEL), sweep_id, "en")
    assert isinstance(refused, Refusal) and (refused.reason, refused.action) == (
        Reason.NOT_REQUESTER,
        Action.STOP,
    )
    assert sweeps.controller.view(sweep_id).status == SweepStatus.RUNNING
    assert isinstance(sweeps.stop(Actor(ADMIN, CHANNEL), sweep_id, "en"), SweepStopped)
    again = sweeps.stop(Actor(OWNER, CHANNEL), sweep_id, "en")
    assert isinstance(again, SweepSaid) and "no sweep to start or stop" in again.text
