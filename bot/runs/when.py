"""Deferred start times in English or Korean: "in 30 minutes", "at 2am", "tonight", "새벽 2시", "30분 후".

Rules (the result is always in the future, in the configured time zone):
- relative: "in 30 minutes", "in 2 hours", "in an hour", "in 1 hour 30 minutes", "30분 후", "2시간 뒤",
  "한 시간 반 후";
- clock times: "at 02:00", "14:30", "at 2am", "2:30 pm", "noon", "midnight", "새벽 2시", "오후 3시 30분",
  "9시 반", "자정", "정오". "02:00" and "14:30" are 24-hour times. A bare hour ("at 2", "2시") means the next
  2 o'clock, am or pm, whichever comes first; with a day ("tomorrow at 3") 1–6 mean pm and 7–11 am;
- periods without a time: tonight / at night / 오늘 밤 / 밤 = 22:00, this morning / 아침 / 오전 = 09:00,
  새벽 = 02:00, this afternoon / 오후 = 15:00, this evening / 저녁 = 19:00; plain "morning", "night", ...
  count only with a day ("tomorrow morning"), so "good morning" is no start time; "tomorrow" / "내일"
  alone = 09:00 the next day; "모레" / "day after tomorrow" = two days ahead;
- "tonight at 1" / "밤 1시" (1–4 at night) is the early morning after;
- a time that has already passed today rolls over to the next day ("tonight" at 23:00 is tomorrow 22:00).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

_KO_NUMBERS = {
    "한": 1,
    "두": 2,
    "세": 3,
    "네": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "아홉": 9,
    "열": 10,
    "열한": 11,
    "열두": 12,
}
_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}
_KO_NUMBER = "|".join(sorted(_KO_NUMBERS, key=len, reverse=True))
_EN_NUMBER = "|".join(sorted(_EN_NUMBERS, key=len, reverse=True))

_EN_RELATIVE = re.compile(
    rf"\bin\s+(?:(?P<half>half\s+an?\s+hour)|(?P<amount>\d+(?:\.\d+)?|{_EN_NUMBER})\s*"
    r"(?P<unit>hours?|hrs?|h|minutes?|mins?|m)\b(?:\s*(?:and\s+)?(?P<minutes>\d+)\s*(?:minutes?|mins?|m)\b)?)"
)
_KO_RELATIVE = re.compile(
    rf"(?:(?P<hours>\d+|{_KO_NUMBER})\s*시간\s*(?P<half>반)?)?\s*(?:(?P<minutes>\d+)\s*분)?\s*"
    r"(?:후|뒤|있다가|이따가?)"
)

_COLON_TIME = re.compile(r"\b(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<meridiem>[ap]\.?m\.?)?(?!\w)")
_MERIDIEM_TIME = re.compile(r"\b(?P<hour>\d{1,2})\s*(?P<meridiem>[ap]\.?m\.?)(?!\w)")
_AT_HOUR = re.compile(r"\bat\s+(?P<hour>\d{1,2})(?:\s*o'?clock)?\b(?!\s*(?:minutes?|mins?|hours?|h\b|m\b))")
_OCLOCK = re.compile(r"\b(?P<hour>\d{1,2})\s*o'?clock\b")
_KO_TIME = re.compile(
    rf"(?P<hour>\d{{1,2}}|{_KO_NUMBER})\s*시(?!간)\s*(?:(?P<minute>\d{{1,2}})\s*분|(?P<half>반))?"
)


class _Period(NamedTuple):
    pattern: re.Pattern[str]
    meaning: str  # "am", "pm" or "night": how to read a bare hour
    default: tuple[int, int]  # the time when no clock time is given
    standalone: bool  # counts without a time or a day; plain English words ("good morning") do not


_PERIODS = [  # first match wins
    _Period(re.compile(r"새벽"), "am", (2, 0), True),
    _Period(re.compile(r"아침|오전|\bthis morning\b"), "am", (9, 0), True),
    _Period(re.compile(r"\bmorning\b"), "am", (9, 0), False),
    _Period(re.compile(r"오후|\bthis afternoon\b"), "pm", (15, 0), True),
    _Period(re.compile(r"\bafternoon\b"), "pm", (15, 0), False),
    _Period(re.compile(r"저녁|\bthis evening\b"), "pm", (19, 0), True),
    _Period(re.compile(r"\bevening\b"), "pm", (19, 0), False),
    _Period(re.compile(r"밤|\btonight\b|\bat night\b"), "night", (22, 0), True),
    _Period(re.compile(r"\bnight\b"), "night", (22, 0), False),
]
_DAYS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"\bday after tomorrow\b|모레"), 2),
    (re.compile(r"\btomorrow\b|내일"), 1),
    (re.compile(r"\b(?:today|tonight)\b|오늘"), 0),
]
_NAMED_TIMES: list[tuple[re.Pattern[str], tuple[int, int]]] = [
    (re.compile(r"\bmidnight\b|자정"), (0, 0)),
    (re.compile(r"\bnoon\b|정오"), (12, 0)),
]
_TOMORROW_DEFAULT = (9, 0)


def parse_start_time(text: str, now: datetime, tz: str) -> datetime | None:
    """The future moment `text` asks for, as an aware datetime in `tz`; None when it names no time."""
    zone = ZoneInfo(tz)
    now = now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)
    lowered = text.lower()
    delay = _relative_delay(lowered)
    if delay is not None:
        return now + delay if delay > timedelta(0) else None
    day_offset = _first(_DAYS, lowered)
    period = next((period for period in _PERIODS if period.pattern.search(lowered)), None)
    clock = _clock_time(lowered)
    if clock is None:
        named = _first(_NAMED_TIMES, lowered)
        if named is not None:
            clock = (*named, True)
    if clock is None:
        if period is not None and (period.standalone or day_offset is not None):
            hours = [period.default]
        elif day_offset:
            hours = [_TOMORROW_DEFAULT]
        else:
            return None
    else:
        hours = _candidate_times(clock, period.meaning if period else None, has_day=day_offset is not None)
    return _earliest_future(
        now, zone, day_offset, hours, night=period is not None and period.meaning == "night"
    )


def _first(patterns: list[tuple[re.Pattern[str], T]], text: str) -> T | None:
    return next((value for pattern, value in patterns if pattern.search(text)), None)


def _number(token: str) -> float:
    if token in _KO_NUMBERS:
        return _KO_NUMBERS[token]
    if token in _EN_NUMBERS:
        return _EN_NUMBERS[token]
    return float(token)


def _relative_delay(text: str) -> timedelta | None:
    match = _EN_RELATIVE.search(text)
    if match:
        if match["half"]:
            return timedelta(minutes=30)
        amount = _number(match["amount"])
        extra = int(match["minutes"] or 0)
        if match["unit"].startswith("h"):
            return timedelta(hours=amount, minutes=extra)
        return timedelta(minutes=amount + extra)
    for match in _KO_RELATIVE.finditer(text):
        if not (match["hours"] or match["minutes"]):
            continue  # a bare 후 (as in 오후) is not a delay
        hours = _number(match["hours"]) if match["hours"] else 0
        return timedelta(hours=hours, minutes=int(match["minutes"] or 0) + (30 if match["half"] else 0))
    return None


def _clock_time(text: str) -> tuple[int, int, bool] | None:
    """(hour, minute, unambiguous): unambiguous for 24-hour forms ("02:00", "14:30") and am/pm."""
    if match := _COLON_TIME.search(text):
        hour, minute = int(match["hour"]), int(match["minute"])
        if match["meridiem"]:
            return _with_meridiem(hour, match["meridiem"]), minute, True
        return hour, minute, len(match["hour"]) == 2 or hour > 12 or hour == 0
    if match := _MERIDIEM_TIME.search(text):
        return _with_meridiem(int(match["hour"]), match["meridiem"]), 0, True
    if match := _KO_TIME.search(text):
        minute = 30 if match["half"] else int(match["minute"] or 0)
        hour = int(_number(match["hour"]))
        return hour, minute, hour > 12 or hour == 0
    if match := _AT_HOUR.search(text) or _OCLOCK.search(text):
        hour = int(match["hour"])
        return hour, 0, hour > 12 or hour == 0
    return None


def _with_meridiem(hour: int, meridiem: str) -> int:
    hour %= 12
    return hour + 12 if meridiem.startswith("p") else hour


def _candidate_times(
    clock: tuple[int, int, bool], period: str | None, has_day: bool
) -> list[tuple[int, int]]:
    hour, minute, unambiguous = clock
    if hour > 23 or minute > 59:
        return []
    if unambiguous:
        return [(hour, minute)]
    if period == "am":
        return [(hour % 12, minute)]
    if period == "pm":
        return [(hour % 12 + 12, minute)]
    if period == "night":
        return [(hour % 12 if hour <= 4 or hour == 12 else hour + 12, minute)]
    if has_day:
        return [(hour + 12 if 1 <= hour <= 6 else hour, minute)]
    return [(hour, minute), ((hour + 12) % 24, minute)]


def _earliest_future(
    now: datetime, zone: ZoneInfo, day_offset: int | None, times: list[tuple[int, int]], night: bool
) -> datetime | None:
    base: date = now.date() + timedelta(days=day_offset or 0)
    candidates = []
    for hour, minute in times:
        # "tonight at 1" / "오늘 밤 1시" is the early morning after that night
        day = base + timedelta(days=1) if night and day_offset is not None and hour <= 4 else base
        moment = datetime.combine(day, time(hour, minute), tzinfo=zone)
        while moment <= now:
            moment += timedelta(days=1)
        candidates.append(moment)
    return min(candidates, default=None)
