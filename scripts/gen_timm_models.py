"""Write bot/conversation/timm_models.json from the installed timm: every model name and where its default
pretrained weights come from, so the bot can check names and weights without importing timm (or torch).

    python scripts/gen_timm_models.py        # after upgrading timm; tests/test_model_names.py checks it
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "conversation" / "timm_models.json"


def weights_source(name: str) -> str | None:
    """ "hf:<repo>" (Hugging Face hub), "url:<file name>" (torch hub cache), or None (no weights)."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return None
    if cfg.hf_hub_id:
        return f"hf:{cfg.hf_hub_id}"
    if cfg.url:
        return "url:" + cfg.url.rsplit("/", 1)[-1]
    return None


def build() -> dict[str, object]:
    import timm

    return {
        "timm_version": timm.__version__,
        "models": {name: weights_source(name) for name in timm.list_models()},
    }


def main() -> int:
    OUT.write_text(json.dumps(build(), indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
