"""The bot must stay light: nothing it imports may pull in torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import bot


def test_importing_every_bot_module_never_imports_torch() -> None:
    modules = sorted(
        info.name
        for info in pkgutil.walk_packages(bot.__path__, "bot.")
        if not info.name.endswith("__main__")
    )
    assert "bot.settings" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import training.config, training.events\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'timm'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_bot_help_is_instant_and_torch_free() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--console" in result.stdout
    assert "torch" not in result.stderr
