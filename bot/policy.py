"""Who may do what: the one place that decides, for every front end (Slack buttons, typed words, slash
commands, App Home, DMs, the console).

- Talking to the bot (anything that reaches the parser or Claude), drafting, uploading a dataset,
  continuing a run and using a run's model need `may_start`: ALLOWED_USER_IDS and ALLOWED_CHANNEL_IDS
  (empty: everyone, everywhere). Admins are always on the user list.
- A draft (a setup thread) is edited, started and cancelled by the person who opened it, or an admin.
- Stop, resume, download, export and continue on a run need its owner or an admin; predict and download
  also the members of the channel the run lives in. The run manager asks the same question
  (`is_owner_or_admin`) of whoever it stops, resumes or cancels a run for.
- A run is shown (list, status, App Home) to its owner, admins and the members of its channel.

Each decision is None (allowed) or a `Refusal` with a reason code; the catalogue words it
(`refusal_<reason>_<action>` when the action has its own sentence, else `refusal_<reason>`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:  # the run manager asks the policy too: bot.runs (and through it the sweeps' views)
    from bot.runs import RunView  # import this module
    from bot.sweeps.views import SweepView


class Action(StrEnum):
    TALK = "talk"  # a message that reaches the conversation engine (and Claude)
    EDIT = "edit"  # change a draft
    START = "start"  # start or schedule a draft
    CANCEL = "cancel"  # cancel a draft
    UPLOAD = "upload"  # a dataset .zip
    STOP = "stop"
    RESUME = "resume"
    DOWNLOAD = "download"
    EXPORT = "export"
    CONTINUE = "continue"
    PREDICT = "predict"


class Reason(StrEnum):
    USER_NOT_LISTED = "user_not_listed"  # not in ALLOWED_USER_IDS
    CHANNEL_NOT_LISTED = "channel_not_listed"  # not in ALLOWED_CHANNEL_IDS
    NOT_REQUESTER = "not_requester"  # someone else's draft
    NOT_OWNER = "not_owner"  # someone else's run (owner or admin only)
    NOT_OWNER_OR_MEMBER = "not_owner_or_member"  # someone else's run in a channel they are not in
    RATE_LIMITED = "rate_limited"  # too many requests in a short time (bot/actions/fairness.py)


# what a run's channel members may do besides its owner and admins
MEMBER_ACTIONS = frozenset({Action.PREDICT, Action.DOWNLOAD})
RUN_ACTIONS = frozenset(
    {Action.STOP, Action.RESUME, Action.DOWNLOAD, Action.EXPORT, Action.CONTINUE, Action.PREDICT}
)
# run actions that start work the bot pays for: they need the user and channel lists too
STARTING_RUN_ACTIONS = frozenset({Action.RESUME, Action.CONTINUE, Action.PREDICT})


@dataclass(frozen=True)
class Actor:
    """Who asks, and where: `channel` is the Slack channel (a DM's too), None in the console."""

    user: str
    channel: str | None = None


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    action: Action
    run_id: int | None = None
    owner: str | None = None  # the draft's requester or the run's owner, named in the sentence
    retry_after_s: int | None = None  # for RATE_LIMITED


# (channel, user) -> is the user a member of the channel (Slack: conversations.members)
Membership = Callable[[str, str], bool]


def no_membership(_channel: str, _user: str) -> bool:
    return False


class Policy:
    def __init__(
        self,
        settings: Settings,
        membership: Membership = no_membership,
        *,
        admins: frozenset[str] = frozenset(),
    ) -> None:
        """`admins` adds to ADMIN_USER_IDS (the console's local user); `membership` answers channel
        membership (Slack's conversations.members; the console has no channels)."""
        self._allowed_users = settings.allowed_user_ids
        self._allowed_channels = settings.allowed_channel_ids
        self._admins = settings.admin_user_ids | admins
        self._membership = membership

    def is_admin(self, user: str) -> bool:
        return user in self._admins

    def may_start(self, actor: Actor, action: Action = Action.TALK) -> Refusal | None:
        """The user and channel lists: the user's reason first, so an unlisted user is told so."""
        if self._allowed_users and actor.user not in self._allowed_users and not self.is_admin(actor.user):
            return Refusal(Reason.USER_NOT_LISTED, action)
        if (
            self._allowed_channels
            and actor.channel is not None
            and actor.channel not in self._allowed_channels
        ):
            return Refusal(Reason.CHANNEL_NOT_LISTED, action)
        return None

    def may_use_draft(self, actor: Actor, requester: str | None, action: Action) -> Refusal | None:
        """Edit, start or cancel a draft opened by `requester` (None: a thread nobody owns yet)."""
        refusal = self.may_start(actor, action)
        if refusal is not None:
            return refusal
        if requester is not None and actor.user != requester and not self.is_admin(actor.user):
            return Refusal(Reason.NOT_REQUESTER, action, owner=requester)
        return None

    def may_use_run(self, actor: Actor, run: RunView, action: Action) -> Refusal | None:
        assert action in RUN_ACTIONS, action
        if action in STARTING_RUN_ACTIONS and (refusal := self.may_start(actor, action)) is not None:
            return refusal
        if self.is_owner_or_admin(actor.user, run):
            return None
        if action in MEMBER_ACTIONS:
            if self.is_member(actor.user, run):
                return None
            return Refusal(Reason.NOT_OWNER_OR_MEMBER, action, run_id=run.id, owner=run.requested_by)
        return Refusal(Reason.NOT_OWNER, action, run_id=run.id, owner=run.requested_by)

    def may_see(self, user: str, run: RunView) -> bool:
        return self.is_owner_or_admin(user, run) or self.is_member(user, run)

    def is_owner_or_admin(self, user: str, run: RunView) -> bool:
        return user == run.requested_by or self.is_admin(user)

    def is_member(self, user: str, run: RunView) -> bool:
        return run.slack_channel is not None and self._membership(run.slack_channel, user)

    def may_use_sweep(self, actor: Actor, sweep: SweepView, action: Action) -> Refusal | None:
        """Stop or resume a sweep, or change how its trials are shown (EDIT): its requester or an admin;
        resuming starts work, so it needs the user and channel lists too."""
        if action == Action.RESUME and (refusal := self.may_start(actor, action)) is not None:
            return refusal
        if actor.user == sweep.requested_by or self.is_admin(actor.user):
            return None
        return Refusal(Reason.NOT_REQUESTER, action, owner=sweep.requested_by)

    def may_see_sweep(self, user: str, sweep: SweepView) -> bool:
        """As for runs: its requester, admins, and the members of the channel it runs in."""
        return (
            user == sweep.requested_by
            or self.is_admin(user)
            or (sweep.slack_channel is not None and self._membership(sweep.slack_channel, user))
        )
