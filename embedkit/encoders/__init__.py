"""Encoders: the interface, the registry, and how to create one by name."""

from __future__ import annotations

from typing import Any

from embedkit.encoders.base import Encoder, Modality
from embedkit.plugins import load_registry
from embedkit.registry import Entry, Registry

ENCODERS: Registry[Encoder] = Registry("encoder", lambda registry: load_registry("register_encoders", registry))


def get_encoder(name: str, **options: Any) -> Encoder:
    """Create the encoder registered as `name` (or an alias), e.g. `get_encoder("vgg16", layer="fc2")`.

    Common options: `weights` (None for the pretrained weights, "none" for random, or a checkpoint
    path; `NAME.random` is NAME with random weights), `device` ("auto", "cpu", "cuda", "cuda:N"), `precision` ("fp32", "fp16", "bf16").
    """
    architecture, _, tag = name.rpartition(".")
    if tag == "random" and architecture and name not in ENCODERS and options.get("weights") in (None, "none"):
        return ENCODERS.create(architecture, **{**options, "weights": "none"})  # the name a random encoder shows
    return ENCODERS.create(name, **options)


def list_encoders(pattern: str | None = None) -> list[Entry[Encoder]]:
    """Registered encoders whose name or alias matches the glob `pattern`."""
    return ENCODERS.entries(pattern)


__all__ = ["ENCODERS", "Encoder", "Entry", "Modality", "get_encoder", "list_encoders"]
