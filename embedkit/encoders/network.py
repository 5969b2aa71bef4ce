"""Whether a download can be tried now: known in a moment, before a hub client spends a minute on retries."""

from __future__ import annotations

import socket
import urllib.parse
import urllib.request

from embedkit.errors import first_line

PROBE_TIMEOUT_S = 3.0


def unreachable(url: str) -> str | None:
    """Why `url`'s host, or the proxy the environment names for it, takes no connection; None when it does."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxied = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = proxied.hostname or "", proxied.port or 80
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as error:
        return f"{host} cannot be reached: {first_line(error)}"
    return None


def hugging_face_unreachable() -> str | None:
    """Why nothing can be downloaded from the Hugging Face hub now ($HF_HUB_OFFLINE, or no connection); None
    when a download can be tried."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    return unreachable(constants.ENDPOINT)
