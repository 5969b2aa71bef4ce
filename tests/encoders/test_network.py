"""Whether a download can be tried: one short connection, to the host or the proxy the environment names."""

from __future__ import annotations

import socket

import pytest

from embedkit.encoders.network import hugging_face_unreachable, unreachable


@pytest.fixture
def connections(monkeypatch):
    """Every connection tried, none made; no proxy set."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    tried = []

    def refuse(address, timeout=None):
        tried.append((address, timeout))
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return tried


def test_the_host_is_tried_once_and_briefly(connections):
    assert unreachable("https://huggingface.co") == "huggingface.co cannot be reached: [Errno 111] Connection refused"
    assert connections == [(("huggingface.co", 443), 3.0)]


def test_the_proxy_the_environment_names_is_tried_instead_unless_the_host_bypasses_it(connections, monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert unreachable("https://huggingface.co").startswith("proxy.example cannot be reached")
    monkeypatch.setenv("no_proxy", "huggingface.co")
    unreachable("https://huggingface.co")
    assert [address for address, _ in connections] == [("proxy.example", 3128), ("huggingface.co", 443)]


def test_hf_hub_offline_is_an_answer_without_a_connection(connections, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert hugging_face_unreachable() == "HF_HUB_OFFLINE is set" and connections == []


def test_a_host_that_answers_is_reachable(monkeypatch):
    class Connection:
        def close(self):
            pass

    monkeypatch.setattr(socket, "create_connection", lambda address, timeout=None: Connection())
    assert unreachable("https://huggingface.co") is None
