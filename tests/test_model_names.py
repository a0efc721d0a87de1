"""The timm name list shipped as data matches the installed timm; unknown names are caught in the chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import ConversationService
from bot.conversation.model_names import close_matches, find_model, is_known_model, weights_source
from bot.settings import Settings
from bot.storage import Database
from scripts.gen_timm_models import build


def test_the_shipped_list_matches_the_installed_timm() -> None:
    import json

    import timm

    from bot.conversation.model_names import CATALOGUE_FILE

    shipped = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    assert sorted(shipped["models"]) == sorted(timm.list_models()), "run python scripts/gen_timm_models.py"
    assert shipped == build()


@pytest.mark.parametrize(
    "name", ["resnet18", "convnext_nano", "efficientnet_b0", "resnet50.a1_in1k", "timm/vit_base_patch16_224"]
)
def test_known_names(name: str) -> None:
    assert is_known_model(name)


def test_weights_sources_come_from_timm() -> None:
    assert weights_source("resnet50") == "hf:timm/resnet50.a1_in1k"
    assert weights_source("no_such_net") is None


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("resnet500", "resnet50"), ("efficientnet_b9", "efficientnet_b8"), ("convnxt_tiny", "convnext_tiny")],
)
def test_close_matches(typo: str, meant: str) -> None:
    assert not is_known_model(typo) and meant in close_matches(typo)


def test_a_timm_name_used_as_is_is_found_in_free_text() -> None:
    mention = find_model("train convnext_nano on cats")
    assert mention is not None and mention.name == "convnext_nano"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("model: resnet500", "did you mean `resnet50`"),
        ("모델은 convnxt_tiny로", "`convnext_tiny`"),
        ("use model efficientnet_b9", "`efficientnet_b8`"),
    ],
)
def test_an_unknown_model_is_answered_with_close_matches_and_kept_out(
    db: Database, tmp_path: Path, text: str, shown: str
) -> None:
    service = ConversationService(db, Settings(data_root=tmp_path, _env_file=None), "rules")
    turn = service.handle_message(team_id="T", channel_id="C", thread_ts="1", user_id="U", text=text)
    assert "model" not in turn.draft
    assert shown in turn.reply and ("timm has no model" in turn.reply or "timm에" in turn.reply)
