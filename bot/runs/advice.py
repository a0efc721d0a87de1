"""Turn a trainer failure into plain advice; the raw detail stays in the run record."""

from __future__ import annotations

import re

_OOM_PATTERN = re.compile(r"out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED", re.IGNORECASE)
_DATASET_PATTERN = re.compile(
    r"no such file|not a directory|cannot identify image|found no (valid )?images?|empty dataset|"
    r"Found 0 files|unidentifiedimageerror|truncated",
    re.IGNORECASE,
)

_ADVICE: dict[str, dict[str, str]] = {
    "out_of_memory": {
        "en": "Training ran out of memory. Try a smaller batch size (e.g. half of it) or a smaller "
        "image size (e.g. 160 instead of 224), or a smaller model.",
        "ko": "학습 중 메모리가 부족했습니다. 배치 크기를 줄이거나(예: 절반), 이미지 크기를 줄이거나"
        "(예: 224 대신 160), 더 작은 모델을 사용해 보세요.",
    },
    "dataset": {
        "en": "The dataset could not be used. Check that the folder exists and has one sub-folder per "
        "class (optionally inside train/ and val/), each with readable .jpg/.png images.",
        "ko": "데이터셋을 사용할 수 없습니다. 폴더가 존재하는지, 클래스마다 하위 폴더가 있는지"
        "(train/, val/ 안에 있어도 됩니다), 각 폴더에 읽을 수 있는 .jpg/.png 이미지가 있는지 확인해 주세요.",
    },
    "config": {
        "en": "The training settings were rejected. Check the model name and the numbers "
        "(epochs, batch size, learning rate, image size) and start again.",
        "ko": "학습 설정이 거부되었습니다. 모델 이름과 숫자 값(에폭, 배치 크기, 학습률, 이미지 크기)을 "
        "확인하고 다시 시작해 주세요.",
    },
    "killed": {
        "en": "The trainer was killed by the system, often because the machine ran out of RAM. "
        "Try a smaller batch size or image size.",
        "ko": "시스템이 학습 프로세스를 종료했습니다. 보통 RAM 부족 때문입니다. 배치 크기나 이미지 크기를 "
        "줄여 보세요.",
    },
    "internal": {
        "en": "The trainer failed unexpectedly. The error detail is kept in the run record; "
        "try again, and tell an admin if it keeps happening.",
        "ko": "학습 프로그램이 예기치 않게 실패했습니다. 자세한 오류는 실행 기록에 남아 있습니다. "
        "다시 시도해 보고, 계속되면 관리자에게 알려 주세요.",
    },
}


def classify(kind: str | None, message: str) -> str:
    """The advice kind: the trainer's own kind wins, otherwise guess from the error text."""
    if kind in _ADVICE and kind != "internal":
        return kind
    if _OOM_PATTERN.search(message):
        return "out_of_memory"
    if _DATASET_PATTERN.search(message):
        return "dataset"
    return kind if kind in _ADVICE else "internal"


def explain_failure(kind: str | None, message: str, language: str = "en") -> str:
    """Plain advice for a failed run, followed by the last line of the error text."""
    advice = _ADVICE[classify(kind, message)]
    text = advice.get(language, advice["en"])
    last_line = next((line.strip() for line in message.strip().splitlines()[::-1] if line.strip()), "")
    if not last_line:
        return text
    return f"{text}\n> {last_line[:300]}"
