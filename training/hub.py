"""Whether the Hugging Face hub can be reached, asked by the trainer before it fetches weights and by the
bot before it promises them. No torch: the bot imports this."""

from __future__ import annotations

import os
import socket
import threading

HUB_HOST = ("huggingface.co", 443)


def hub_reachable(timeout: float) -> bool:
    """A TCP connect to the hub in a thread, so a hanging DNS lookup cannot stall the caller;
    HF_HUB_OFFLINE means offline."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    return host_reachable(HUB_HOST, timeout)


def host_reachable(host: tuple[str, int], timeout: float) -> bool:
    """A TCP connect to `host` in a thread, given up after `timeout` seconds."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(host, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])
