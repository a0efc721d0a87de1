"""Every Korean catalogue text, rendered with representative values, reads as Korean: no English words
(names, units, commands in code spans and setting names aside) and no particle left as "을(를)"."""

from __future__ import annotations

import re
import string
from typing import ClassVar

import pytest

from bot import i18n
from bot.i18n.particles import final_consonant, resolve

# words a Korean sentence keeps as they are: product, library and model names, units, file formats
NAMES = {
    "onnx", "onnxruntime", "gpu", "gpus", "cpu", "cuda", "slack", "claude", "timm", "slurm", "postgresql",
    "sqlite", "hugging", "face", "imagenet", "zip", "csv", "json", "png", "jpg", "jpeg", "safetensors", "pth",
    "px", "mb", "gb", "kb", "ms", "s", "img", "id", "api", "url", "top", "resnet", "efficientnet", "vit",
    "convnext", "mobilenet", "pytorch", "torch", "sbatch", "anthropic", "adamw", "sgd", "fp16", "bf16",
    "coco", "yolo", "mrkdwn", "eta", "optuna", "webp", "qos", "torchrun", "deflate", "dm", "iou", "map", "ap",
}  # fmt: skip
# code spans (typed commands), paths, setting and env names, mentions, file names
_ASIDE = re.compile(r"Train Bot|`[^`]*`|\S*[/_.]\S*|<@[A-Z0-9]+>|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
_WORD = re.compile(r"[A-Za-z]+")
_UNRESOLVED = re.compile(r"\((?:을|를|이|가|은|는|으|와|과)\)|[을이은과]\([를가는와]\)")


class Sample(dict):  # type: ignore[type-arg]
    """A representative value for any placeholder, by its name (a number where a format spec needs one)."""

    VALUES: ClassVar[dict[str, str]] = {
        "model": "resnet18", "path": "/data/cats", "name": "cats", "dataset": "cats",
        "names": "`cats`, `dogs`", "classes": "고양이, 강아지", "status": "🏃 학습 중", "user": "<@U123>",
    }  # fmt: skip

    def __missing__(self, key: str) -> object:
        return self.VALUES.get(key, 12)


def render(language: str, key: str) -> str:
    text = i18n.template(language, key)
    values = {}
    for _, name, spec, _ in string.Formatter().parse(text):
        if name:
            values[name.split(".")[0].split("[")[0]] = 0.5 if spec and spec[-1] in "%f" else Sample()[name]
    return i18n.t(language, key, **values)


def english_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(_ASIDE.sub(" ", text)) if w.lower() not in NAMES and len(w) > 1]


@pytest.mark.parametrize("key", sorted(i18n.CATALOGUE["ko"]))
def test_every_korean_text_is_korean_with_its_particles_resolved(key: str) -> None:
    text = render("ko", key)
    assert english_words(text) == [], text
    assert _UNRESOLVED.search(text) is None, text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("학습 #1을(를)", "학습 #1을"), ("학습 #2을(를)", "학습 #2를"), ("학습 #10을(를)", "학습 #10을"),
        ("resnet18(으)로", "resnet18로"), ("`cats`(으)로", "`cats`로"), ("모델(으)로", "모델로"),
        ("사진(으)로", "사진으로"), ("*사과*은(는)", "*사과*는"), ("dog이(가)", "dog가"),
        ("cat이(가)", "cat이"), ("efficientnet_b0이(가)", "efficientnet_b0이"), ("개(이)에요", "개예요"),
        ("사진(이)에요", "사진이에요"),
        ("vit과(와)", "vit과"), ("8과(와) 2", "8과 2"), ("2과(와) 8", "2와 8"),
    ],
)  # fmt: skip
def test_particles_follow_the_word_before_them(text: str, expected: str) -> None:
    assert resolve(text) == expected


def test_a_final_rieul_takes_ro_and_numbers_read_as_korean() -> None:
    assert (
        final_consonant("파일") == "ㄹ" and final_consonant("7") == "ㄹ" and final_consonant("model") == "ㄹ"
    )
    assert final_consonant("100") != "" and final_consonant("4") == "" and final_consonant("...") is None
    assert i18n.t("en", "run_title", id=1, model="m", status="s").count("(") == 0  # English is left as is
