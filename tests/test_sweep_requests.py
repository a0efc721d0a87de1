"""Asking for a sweep: the phrasings of a grid and of a search (both languages), the refusals (worded in
both languages, changing nothing), and a Korean sweep in the console from proposal to result."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.actions import Actions, Thread
from bot.actions.sweeps import SweepActions, SweepProposed, SweepSaid, SweepTrialsShown
from bot.console import Console
from bot.conversation import ConversationService, Turn
from bot.conversation.facts import HostFacts, Throughput
from bot.conversation.sweeps import refused_text
from bot.policy import Actor, Policy, Reason, Refusal
from bot.runs import RunManager
from bot.settings import Settings
from bot.storage import Database, RunStatus, Sweep, SweepStatus
from bot.sweeps.controller import SweepController
from bot.sweeps.parse import parse_sweep
from bot.sweeps.spec import SearchRange, SweepRefusal, SweepSpec, checked
from bot.sweeps.views import SweepView
from tests.conversation_support import typed_lines
from tests.english import english_sentences
from tests.imagegen import make_image_folder
from tests.runs_support import FAKE_TRAINER

LOCAL_USER = "local"


@pytest.mark.parametrize(
    ("text", "grid"),
    [
        ("lr 1e-3, 3e-4, 1e-4", {"learning_rate": [1e-3, 3e-4, 1e-4]}),
        ("learning rates 0.001 and 0.01", {"learning_rate": [1e-3, 1e-2]}),
        ("batch 16이랑 32 둘 다 해봐", {"batch_size": [16, 32]}),
        ("배치 16, 32, 64로 각각 돌려줘", {"batch_size": [16, 32, 64]}),
        ("image size 128 or 224", {"image_size": [128, 224]}),
        ("resnet18 vs resnet50", {"model": ["resnet18", "resnet50"]}),
        (
            "compare batch size 16 and 32 with lr 1e-3 or 1e-2",
            {"batch_size": [16, 32], "learning_rate": [1e-3, 1e-2]},
        ),
        ("학습률 0.01하고 0.001 비교해줘", {"learning_rate": [1e-2, 1e-3]}),
    ],
)
def test_a_list_of_values_makes_a_grid(text: str, grid: dict) -> None:
    spec = parse_sweep(text)
    assert spec is not None and spec.kind == "grid" and spec.grid == grid


@pytest.mark.parametrize(
    ("text", "low", "high", "trials"),
    [
        ("find a good learning rate between 1e-4 and 1e-2 in 8 trials", 1e-4, 1e-2, 8),
        ("학습률 1e-4~1e-2 사이에서 8번 찾아줘", 1e-4, 1e-2, 8),
        ("search lr from 1e-5 to 1e-3, 6 runs", 1e-5, 1e-3, 6),
    ],
)
def test_a_range_with_a_budget_makes_a_search(text: str, low: float, high: float, trials: int) -> None:
    spec = parse_sweep(text)
    assert spec is not None and spec.kind == "search" and spec.trials == trials
    assert spec.ranges == {"learning_rate": SearchRange(low=low, high=high, log=True)}


@pytest.mark.parametrize(
    "text",
    [
        "resnet18 classifier, 3 epochs",
        "image size 224, 10 epochs",
        "lr 0.001",
        "batch 16, lr 0.001, 5 epochs",
        "데이터셋은 ./data/birds",
        "what is a sweep?",
        "스윕이 뭐야?",
        "2 more epochs",
    ],
)
def test_ordinary_settings_and_questions_are_no_sweep(text: str) -> None:
    assert parse_sweep(text) is None


@pytest.mark.parametrize(
    ("spec", "reason", "en", "ko"),
    [
        (
            SweepSpec(grid={"dataset_path": ["a", "b"]}),
            "cannot_vary",
            "can't vary *dataset*",
            "*데이터셋*은 바꿀 수 없",
        ),
        (
            SweepSpec(ranges={"learning_rate": SearchRange(low=1e-2, high=1e-4)}, trials=4),
            "empty_range",
            "0.01 to 0.0001",
            "0.01~0.0001",
        ),
        (
            SweepSpec(grid={"learning_rate": [1e-3, 5.0]}),
            "bad_value",
            "5 is not a possible learning rate: it must be between 0 and 1",
            "0~1 사이여야",
        ),
        (SweepSpec(grid={"batch_size": list(range(1, 15))}), "too_many_trials", "14 trials", "최대 12개"),
        (
            SweepSpec(ranges={"learning_rate": SearchRange(low=1e-4, high=1e-2)}),
            "no_budget",
            "How many",
            "몇 번",
        ),
        (
            SweepSpec(ranges={"model": SearchRange(low=1, high=2)}, trials=3),
            "not_a_range",
            "no range",
            "범위로",
        ),
    ],
)
def test_refusals_are_specific_in_both_languages(spec: SweepSpec, reason: str, en: str, ko: str) -> None:
    with pytest.raises(SweepRefusal) as refused:
        checked(spec, max_trials=12)
    assert refused.value.reason == reason
    assert en in refused_text("en", refused.value)
    korean = refused_text("ko", refused.value)
    assert ko in korean and english_sentences(korean) == []


@pytest.fixture
def console_parts(tmp_path: Path) -> Iterator[tuple[Settings, Database, RunManager]]:
    make_image_folder(tmp_path / "data" / "pets", classes=("cat", "dog"), per_class=4)
    settings = Settings(
        _env_file=None,
        data_root=tmp_path / "data",
        output_root=tmp_path / "outputs",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        max_concurrent_runs=2,
        sweep_max_trials=4,
    )
    db = Database(settings.database_url_or_default)
    db.create_all()
    command = [sys.executable, str(FAKE_TRAINER), "--epoch-seconds", "0.05", "--acc-by-lr"]
    runs = RunManager(db, settings, trainer_command=command)
    runs.start()
    yield settings, db, runs
    runs.shutdown()


def play(
    parts: tuple[Settings, Database, RunManager],
    lines: list[str],
    language: str,
    watch: Callable[[Actions], Callable[[SweepView], None]] | None = None,
) -> str:
    """The console as the local user, fed `lines`; `watch(actions)` sees every sweep change meanwhile."""
    settings, db, runs = parts
    out = io.StringIO()
    read_line = typed_lines(lines)

    actions = Actions(
        settings,
        Policy(settings, admins=frozenset({LOCAL_USER})),
        ConversationService(db, settings, "rules"),
        runs,
        sweeps=SweepController(db, runs, settings),
    )
    if watch is not None and actions.sweeps is not None:
        actions.sweeps.controller.subscribe(watch(actions))
    try:
        Console(actions, user=LOCAL_USER, read_line=read_line, out=out, language=language).run()
    finally:
        actions.close()
    return out.getvalue()


def sweep_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Sweep)) or 0


def test_a_korean_sweep_in_the_console(console_parts: tuple[Settings, Database, RunManager]) -> None:
    lines = [
        "resnet18로 고양이 분류 모델, 2 에폭",
        "pets",
        "데이터셋 pets랑 flowers 둘 다 해봐",  # refused: the dataset cannot vary
        "학습률 1e-3, 2e-3, 3e-3, 5e-3, 1e-2 비교해줘",  # refused: 5 trials, the limit is 4
        "학습률 1e-2~1e-4 사이에서 4번 찾아줘",  # refused: an empty range
        "학습률 0.001하고 0.01 둘 다 해봐",
        "스윕 시작",
        "종료",
    ]
    output = play(console_parts, lines, language="ko")
    assert "스윕에서 데이터셋은 바꿀 수 없어요" in output
    assert "시도가 5개예요" in output and "범위 0.01~0.0001이 비어 있어요" in output
    assert "스윕: `pets`에서 resnet18 시도 2개. 바꾸는 설정: 학습률." in output
    assert "• 시도 1: 학습률 0.001\n• 시도 2: 학습률 0.01\n검증 정확도 기준" in output
    assert "`스윕 시작`이라고 입력하면" in output and "누르" not in output  # nothing to press here
    assert "스윕 #1 시작: 시도 2개, 한 번에 2개씩." in output
    assert "#1 학습률 0.001 · ✅ 완료 · 에폭 2/2 · 10.0%" in output
    assert "🏆 #2 학습률 0.01 · ✅ 완료 · 에폭 2/2 · 100.0%" in output
    assert "🏆 스윕 #1 완료. 최고: 시도 2 (학습률 0.01), 실행 #2, 검증 정확도 100.0%" in output
    assert "차트: " in output and "sweep.png" in output
    runs = console_parts[2].recent_runs()
    assert sorted(run.config.learning_rate for run in runs) == [1e-3, 1e-2]
    assert all(run.status == RunStatus.COMPLETED for run in runs)
    assert sweep_count(console_parts[1]) == 1  # the refusals stored nothing
    assert english_sentences(output) == []


def test_the_consoles_proposal_takes_another_objective_in_words(
    console_parts: tuple[Settings, Database, RunManager],
) -> None:
    lines = [
        "resnet18, 2 epochs, dataset pets",
        "lr 1e-3 or 1e-2",
        "pick by val loss instead",
        "use mAP@[.5:.95]",  # refused: a classifier reports no mAP
        "quit",
    ]
    output = play(console_parts, lines, language="en")
    proposals = output.count("🔬 Sweep: 2 trials of resnet18 on `pets`, varying learning rate.")
    assert proposals == 2 and "Best trial by the lowest validation loss; 2 at a time." in output
    assert "I can't pick the best trial by validation mAP@[.50:.95]" in output
    _settings, db, runs = console_parts
    with db.session() as session:
        (draft,) = session.scalars(select(Sweep)).all()
        assert draft.objective == "val_loss" and draft.status == SweepStatus.DRAFT
    assert runs.recent_runs() == []


def say(conversation: ConversationService, text: str) -> Turn:
    return conversation.handle_message(
        team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1", text=text
    )


def test_the_proposal_estimates_the_total_time_from_this_hosts_history(
    console_parts: tuple[Settings, Database, RunManager], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, db, runs = console_parts
    facts = HostFacts(settings, db)
    # this host's history: 7.5 s per image and epoch for resnet18 (the pets set has 8 images)
    monkeypatch.setattr(facts, "throughput", lambda model, size: Throughput(model, size, "cpu", 7.5, 3, size))
    conversation = ConversationService(db, settings, "rules", facts=facts)
    sweeps = SweepActions(settings, Policy(settings), conversation, SweepController(db, runs, settings))
    where, who = Thread("T1", "C1", "1.1"), Actor("U1", "C1")
    say(conversation, "resnet18, 2 epochs")
    say(conversation, "pets")
    try:
        grid = sweeps.propose(where, say(conversation, "lr 1e-3, 3e-3 and 1e-2"))
        search = sweeps.propose(
            where, say(conversation, "find the best batch size between 8 and 64 in 4 trials")
        )
        assert isinstance(grid, SweepProposed) and isinstance(search, SweepProposed)
        # the newer proposal replaced the older: its Start starts nothing
        stale = sweeps.start(who, grid.sweep.id, "en")
        assert isinstance(stale, SweepSaid) and "replaced by a newer one" in stale.text
        nothing = sweeps.handle_text(who, where, "stop sweep")
        assert isinstance(nothing, SweepSaid) and "no sweep to start or stop" in nothing.text
    finally:
        sweeps.controller.close()
    # three trials of 2 epochs x 8 images x 7.5 s = 120 s each, two at a time: 240 s
    assert isinstance(grid, SweepProposed) and "about *4 min*" in grid.text, grid
    assert "3 trials of resnet18 on `pets`" in grid.text and "Press *Start*" in grid.text
    assert isinstance(search, SweepProposed) and "about *4 min*" in search.text  # 4 x 120 s, two at a time
    assert "batch size from 8 to 64 chosen by Optuna" in search.text
    assert runs.recent_runs() == []  # proposals start nothing


def test_sweep_requests_count_against_the_message_limit(
    console_parts: tuple[Settings, Database, RunManager],
) -> None:
    settings, db, runs = console_parts
    limited = settings.model_copy(update={"user_messages_per_minute": 3})
    actions = Actions(
        limited,
        Policy(limited),
        ConversationService(db, limited, "rules"),
        runs,
        sweeps=SweepController(db, runs, limited),
    )
    where, who = Thread("T1", "C1", "1.1"), Actor("U1", "C1")
    try:
        for text in ("resnet18, 2 epochs", "pets"):
            actions.talk(who, where, text)
        first = actions.talk(who, where, "lr 1e-3 or 1e-2")
        second = actions.talk(who, where, "batch 16 or 32")
        assert isinstance(first, Turn) and actions.sweeps is not None
        assert isinstance(actions.sweeps.propose(where, first), SweepProposed)
    finally:
        actions.close()
    assert isinstance(second, Refusal) and second.reason == Reason.RATE_LIMITED
    assert sweep_count(db) == 1


def stop_at_first_epoch(actions: Actions) -> Callable[[SweepView], None]:
    """Stops the sweep (as its requester, from another front end) once a trial has trained an epoch."""
    stopped: list[int] = []

    def watch(sweep: SweepView) -> None:
        trained = any(t.run is not None and t.run.current_epoch >= 1 for t in sweep.trials)
        if trained and not stopped and actions.sweeps is not None:
            stopped.append(sweep.id)
            actions.sweeps.stop(Actor(LOCAL_USER), sweep.id, "ko")

    return watch


def test_a_korean_sweep_in_the_console_stopped_and_resumed_with_each_trials_progress(
    console_parts: tuple[Settings, Database, RunManager],
) -> None:
    lines = [
        "resnet18로 고양이 분류 모델, 30 에폭",
        "pets",
        "스윕 재개",  # nothing stopped to resume
        "학습률 0.001하고 0.01 둘 다 해봐",
        "시도별 진행 보여줘",
        "스윕 시작",  # followed until the watcher stops it
        "스윕 재개",  # followed until it ends
        "종료",
    ]
    output = play(console_parts, lines, "ko", watch=stop_at_first_epoch)
    assert "이 스레드에는 재개할 중지된 스윕이 없어요." in output
    assert "이제 스윕 #1의 시도마다 에폭마다 진행 줄이 따로 나와요." in output
    stopped_at = output.index("⏹️ 스윕 #1 중지됨. 지금까지 최고: 시도 ")
    assert output.index("이어서 하려면 `스윕 재개`라고 입력해 주세요.") > stopped_at
    resumed_at = output.index("▶️ 스윕 #1 재개: 멈춘 시도는 마지막 체크포인트부터 이어서 하고")
    assert resumed_at > stopped_at
    done_at = output.index("🏆 스윕 #1 완료. 최고: 시도 2 (학습률 0.01), 실행 #4, 검증 정확도 100.0%")
    assert done_at > resumed_at
    # each trial's own progress, as a run's line at its epochs: the resumed runs reach their last
    assert "#3" in output[resumed_at:done_at] and "#4" in output[resumed_at:done_at]
    assert "에폭 30/30" in output[resumed_at:done_at]
    runs = {run.id: run for run in console_parts[2].recent_runs()}
    assert sorted(runs) == [1, 2, 3, 4]
    assert [runs[n].status for n in (1, 2)] == [RunStatus.STOPPED, RunStatus.STOPPED]
    assert [runs[n].status for n in (3, 4)] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    assert english_sentences(output) == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("show trial progress", True),
        ("Show each trial's progress", True),
        ("시도별 진행 보여줘", True),
        ("hide the trials' progress", False),
        ("시도별 진행 숨겨줘", False),
    ],
)
def test_each_trials_progress_is_switched_by_typed_words(
    console_parts: tuple[Settings, Database, RunManager], text: str, shown: bool
) -> None:
    settings, db, runs = console_parts
    conversation = ConversationService(db, settings, "rules")
    sweeps = SweepActions(settings, Policy(settings), conversation, SweepController(db, runs, settings))
    where, who = Thread("T1", "C1", "1.1"), Actor("U1", "C1")
    say(conversation, "resnet18, 2 epochs")
    say(conversation, "pets")
    try:
        proposed = sweeps.propose(where, say(conversation, "lr 1e-3 or 1e-2"))
        assert isinstance(proposed, SweepProposed)
        sweeps.controller.show_trials(proposed.sweep.id, not shown)
        switched = sweeps.handle_text(who, where, text)
        stranger = sweeps.handle_text(Actor("U2", "C1"), where, text)  # not the requester's
    finally:
        sweeps.controller.close()
    assert isinstance(switched, SweepTrialsShown) and switched.sweep.show_trials is shown
    assert isinstance(stranger, Refusal) and stranger.reason == Reason.NOT_REQUESTER
