"""manifest.yml is a valid Slack app manifest and asks for exactly the scopes the bot's code uses.

tests/data/slack_manifest.schema.1.0.0.json is a copy of schemas/manifest.schema.1.0.0.json from
slackapi/manifest-schema (MIT License, Copyright (c) Slack Technologies, LLC).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).with_name("data") / "slack_manifest.schema.1.0.0.json"

# Web API methods (as slack_sdk WebClient method names) -> the bot scope each needs (None: no scope)
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth_test": (),
    "chat_postMessage": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_postEphemeral": ("chat:write",),
    "files_upload_v2": ("files:write",),
    "files_info": ("files:read",),
    "views_publish": (),  # the App Home tab
    # who is in a run's channel (bot/policy.py): public and private channels, DMs and group DMs
    "conversations_members": ("channels:read", "groups:read", "im:read", "mpim:read"),
}
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "app_home_opened": None,  # publish the App Home tab when a user opens it
}


def load_manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def slack_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "bot" / "slack").rglob("*.py")))


def test_manifest_is_valid_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(load_manifest(), schema)


def test_the_schema_catches_a_broken_manifest() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = load_manifest()
    broken["settings"]["socket_mode"] = True
    broken["features"]["slash_commands"][0]["command"] = "train"
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(broken))
    assert len(errors) == 2


def test_socket_mode_surfaces_match_the_code() -> None:
    manifest = load_manifest()
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True and settings["interactivity"]["is_enabled"] is True
    assert "request_url" not in settings["interactivity"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == sorted(EVENT_SCOPES)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/train"]
    assert 'command("/train")' in slack_sources()
    for event in EVENT_SCOPES:  # every subscribed event has a listener (message.* share one)
        assert f'event("{event.split(".")[0]}"' in slack_sources(), event
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True and "views_publish(" in slack_sources()


def test_scopes_are_exactly_the_ones_the_code_uses() -> None:
    source = slack_sources()
    called = set(re.findall(r"\bclient\.([a-z]+_[A-Za-z0-9_]+)\(", source))
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add the scopes of {unknown} to METHOD_SCOPES and manifest.yml"
    used = (
        {scope for method in called for scope in METHOD_SCOPES[method]}
        | set(EVENT_SCOPES.values())
        | {"commands"}
    ) - {None}
    if "url_private_download" in source:  # downloading a shared file with the bot token
        used.add("files:read")
    assert sorted(load_manifest()["oauth_config"]["scopes"]["bot"]) == sorted(used)
