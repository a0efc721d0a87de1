"""Deferred start times in English and Korean."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.runs import parse_start_time

SEOUL = "Asia/Seoul"
NOW = datetime(2026, 3, 10, 15, 20, tzinfo=ZoneInfo(SEOUL))  # a Tuesday afternoon


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start at 02:00", "2026-03-11 02:00"),
        ("at 2am", "2026-03-11 02:00"),
        ("2:30 pm please", "2026-03-11 14:30"),
        ("14:30", "2026-03-11 14:30"),
        ("at 16:00", "2026-03-10 16:00"),
        ("at 4", "2026-03-10 16:00"),  # bare hour: the next 4 o'clock, am or pm
        ("tonight", "2026-03-10 22:00"),
        ("tonight at 11", "2026-03-10 23:00"),
        ("in 30 minutes", "2026-03-10 15:50"),
        ("in an hour", "2026-03-10 16:20"),
        ("in half an hour", "2026-03-10 15:50"),
        ("in 1 hour 30 minutes", "2026-03-10 16:50"),
        ("tomorrow", "2026-03-11 09:00"),
        ("tomorrow at 3", "2026-03-11 15:00"),
        ("tomorrow morning", "2026-03-11 09:00"),
        ("midnight", "2026-03-11 00:00"),
        ("내일 아침 9시", "2026-03-11 09:00"),
        ("새벽 2시에 시작", "2026-03-11 02:00"),
        ("오늘 밤", "2026-03-10 22:00"),
        ("오늘 밤 1시에 돌려줘", "2026-03-11 01:00"),
        ("30분 후", "2026-03-10 15:50"),
        ("2시간 뒤에 시작해줘", "2026-03-10 17:20"),
        ("한 시간 반 후", "2026-03-10 16:50"),
        ("오후 3시 30분", "2026-03-10 15:30"),
        ("오후 3시", "2026-03-11 15:00"),  # already past today: tomorrow
        ("9시 반", "2026-03-10 21:30"),
        ("모레 오후 2시", "2026-03-12 14:00"),
        ("자정에 시작", "2026-03-11 00:00"),
        ("this evening", "2026-03-10 19:00"),
        ("tomorrow evening", "2026-03-11 19:00"),
        ("at 9 in the morning", "2026-03-11 09:00"),
    ],
)
def test_phrases_become_the_next_matching_moment(text: str, expected: str) -> None:
    result = parse_start_time(text, NOW, SEOUL)
    assert result is not None
    assert result > NOW
    assert result.tzinfo is not None and result.utcoffset() == NOW.utcoffset()
    assert result.strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize(
    "text",
    [
        "start now",
        "ResNet50으로 학습해줘",
        "batch size 32",
        "",
        "오늘",
        "good morning!",
        "I am ready",
        "a night-vision model",
    ],
)
def test_text_without_a_time_gives_none(text: str) -> None:
    assert parse_start_time(text, NOW, SEOUL) is None


def test_tonight_after_ten_rolls_to_the_next_night_and_time_zones_apply() -> None:
    late = datetime(2026, 3, 10, 23, 0, tzinfo=ZoneInfo(SEOUL))
    assert parse_start_time("tonight", late, SEOUL) == datetime(2026, 3, 11, 22, 0, tzinfo=ZoneInfo(SEOUL))
    # 15:20 in Seoul is 06:20 UTC: "at 7am" in UTC is 40 minutes away
    in_utc = parse_start_time("at 7am", NOW, "UTC")
    assert in_utc is not None and (in_utc - NOW).total_seconds() == 40 * 60
