"""Database tables (SQLAlchemy 2 typed ORM). Nothing here is SQLite-only.

Every change here needs a migration in bot/storage/migrations/versions (tests/test_migrations.py compares
the migrated schema with these models).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class SessionState(StrEnum):
    COLLECTING = "collecting"  # fields still missing
    CONFIRMING = "confirming"  # complete; summary with Start/Cancel shown
    STARTED = "started"  # a run was started from it
    CANCELLED = "cancelled"


class RunStatus(StrEnum):
    PENDING = "pending"  # created, not yet handed to the queue (also: scheduled for later)
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"  # the bot restarted and the trainer was gone

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_RUN_STATUSES


TERMINAL_RUN_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.INTERRUPTED}
)


class ChatSession(Base):
    """One conversation: a Slack thread (or a console / CLI session)."""

    __tablename__ = "chat_sessions"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_chat_session_thread"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    messages: Mapped[list[Any]] = mapped_column(default=list)  # [{"role", "text", "ts"}]
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)  # partial TrainingConfig fields
    asked_field: Mapped[str | None] = mapped_column(String(64), default=None)
    language: Mapped[str] = mapped_column(String(8), default="en")
    state: Mapped[str] = mapped_column(String(16), default=SessionState.COLLECTING)
    summary_ts: Mapped[str | None] = mapped_column(String(32), default=None)  # message with Start/Cancel
    # the finished run whose last checkpoint the draft continues ("10 more epochs"), until another one
    # (run ids without a foreign key: training_runs already refers to this table)
    continues_run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # the run images posted here are classified with when the thread has no finished run of its own
    # (a thread opened by `/train predict <id>`)
    model_run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # moves on with every saved message (bot/storage/sessions.py): a turn read at one version is saved
    # only if no other bot process saved the conversation since
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    runs: Mapped[list[TrainingRun]] = relationship(back_populates="session")


class TrainingRun(Base):
    """One trainer process (the plan's training_workflows table)."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("chat_sessions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.PENDING, index=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[float] = mapped_column(default=0.0)  # 0..1 over the whole run
    current_epoch: Mapped[int] = mapped_column(default=0)
    total_epochs: Mapped[int] = mapped_column(default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # latest epoch, then the done summary
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)  # reason code (runs/advice.py)
    error_detail: Mapped[str | None] = mapped_column(Text, default=None)  # raw error / stderr tail
    output_dir: Mapped[str | None] = mapped_column(String(1024), default=None)

    # what running needs
    start_key: Mapped[str | None] = mapped_column(String(128), unique=True, default=None)  # idempotent starts
    pid: Mapped[int | None] = mapped_column(default=None)  # local backend
    job_id: Mapped[str | None] = mapped_column(String(64), default=None)  # a scheduler's job id (Slurm)
    # while the scheduler holds the job in its own queue: its reason code and the job's position there
    backend_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    backend_position: Mapped[int | None] = mapped_column(default=None)
    # CUDA_VISIBLE_DEVICES given to it: one GPU, or the GPUs of a multi-GPU run ("0,1,2,3"). SQLite keeps
    # the first schema's length, which it never enforces (changing it would mean copying the table)
    gpu: Mapped[str | None] = mapped_column(String(255).with_variant(String(16), "sqlite"), default=None)
    events_offset: Mapped[int] = mapped_column(default=0)  # bytes of events.jsonl already applied
    last_event_at: Mapped[datetime | None] = mapped_column(default=None)
    stalled: Mapped[bool] = mapped_column(default=False)
    stop_requested_at: Mapped[datetime | None] = mapped_column(default=None)  # a stop sent, not yet finished
    scheduled_for: Mapped[datetime | None] = mapped_column(default=None)
    resume_of: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"), default=None)
    # a finished run whose last checkpoint's weights this run starts from, with its own schedule
    # (no foreign key: adding one would make SQLite rebuild the table the run epochs refer to)
    continues_run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    slack_channel: Mapped[str | None] = mapped_column(String(32), default=None)
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    slack_ts: Mapped[str | None] = mapped_column(String(32), default=None)  # the progress message
    requested_by: Mapped[str | None] = mapped_column(String(32), default=None)
    # the sweep this run is a trial of (bot/sweeps); no foreign key, like continues_run_id
    sweep_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)

    session: Mapped[ChatSession | None] = relationship(back_populates="runs")
    epochs: Mapped[list[RunEpoch]] = relationship(
        back_populates="run", order_by="RunEpoch.epoch", cascade="all, delete-orphan"
    )


class RunEpoch(Base):
    """Every finished epoch of a run, so nothing is lost across restarts."""

    __tablename__ = "run_epochs"
    __table_args__ = (UniqueConstraint("run_id", "epoch", name="uq_run_epoch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("training_runs.id", ondelete="CASCADE"), index=True)
    epoch: Mapped[int]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[TrainingRun] = relationship(back_populates="epochs")


class ProcessedEvent(Base):
    """Slack event ids already handled, so a re-delivered event is handled once (also across restarts)."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SweepStatus(StrEnum):
    DRAFT = "draft"  # proposed with Start, not started
    DISCARDED = "discarded"  # a draft a newer proposal replaced (kept: its id is never reused)
    RUNNING = "running"  # trials are queued, running or still to ask for
    COMPLETED = "completed"
    STOPPED = "stopped"


class Sweep(Base):
    """Several runs of one config that differ in some settings (bot/sweeps). The search's own state
    (Optuna's study) lives in a journal file beside the runs, never in these tables."""

    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16), default=SweepStatus.RUNNING, index=True)
    base_config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the TrainingConfig the trials vary
    space: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the SweepSpec (bot/sweeps/spec.py)
    objective: Mapped[str] = mapped_column(String(32), default="val_acc")
    trials_budget: Mapped[int] = mapped_column(default=1)
    parallel: Mapped[int] = mapped_column(default=1)
    requested_by: Mapped[str | None] = mapped_column(String(32), default=None)
    slack_channel: Mapped[str | None] = mapped_column(String(32), default=None)
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    slack_ts: Mapped[str | None] = mapped_column(String(32), default=None)  # the live table message
    best_run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # each trial's own progress message in the thread, as asked for (default: the table only)
    show_trials: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    trials: Mapped[list[SweepTrial]] = relationship(
        back_populates="sweep", order_by="SweepTrial.number", cascade="all, delete-orphan"
    )


class SweepTrial(Base):
    """One trial of a sweep: the study's trial number, its values and the run that trains it."""

    __tablename__ = "sweep_trials"
    __table_args__ = (UniqueConstraint("sweep_id", "number", name="uq_sweep_trial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  # the Optuna trial number
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    pruned: Mapped[bool] = mapped_column(default=False)  # stopped by the pruner, not by a person
    told: Mapped[bool] = mapped_column(default=False)  # its result was given to the study
    value: Mapped[float | None] = mapped_column(default=None)

    sweep: Mapped[Sweep] = relationship(back_populates="trials")
