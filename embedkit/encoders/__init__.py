"""Encoders: the interface, the registry, and how to create one by name.

Names are listed and looked up without importing torch: `Encoder` and `Modality` are imported on
first use, and each encoder's model when it is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.encoders import names
from embedkit.errors import InvalidOptionError
from embedkit.lazy import lazy_exports
from embedkit.plugins import load_registry
from embedkit.records import VectorRecord
from embedkit.registry import Entry, Registry

if TYPE_CHECKING:
    from embedkit.encoders.base import Encoder, Modality

_FROM_BASE = ("Encoder", "Modality")

ENCODERS: Registry[Encoder] = Registry("encoder", lambda registry: load_registry("register_encoders", registry))


def registered(name: str) -> bool:
    """Whether `name` (or the encoder it names with random weights) is a registered name or alias."""
    return ENCODERS.has_name(names.split_random(name)[0])


def encoder_entry(name: str) -> Entry[Encoder]:
    """The registry entry that creates `name` (any spelling of the grammar), without creating it; an unknown
    name raises UnknownNameError with the closest names."""
    base, _ = names.split_variants(names.canonical(name.strip()), registered)
    return ENCODERS.resolve(names.split_random(base)[0])[0]


def get_encoder(name: str, **options: Any) -> Encoder:
    """Create the encoder `name` says, e.g. `get_encoder("vgg16", layer="fc2")`, `get_encoder("resnet50.random")`.

    `name` follows the grammar of `embedkit.encoders.names`: a stored vector name (`vgg16.imagenet1k_v1-fc2`)
    creates the encoder that fills it. Common options: `weights` (None for the pretrained weights, or a
    checkpoint path), `device` ("auto", "cpu", "cuda", "cuda:N"), `precision` ("auto", the default: the fastest the device computes natively; "fp32", "fp16", "bf16").
    """
    base, variants = names.split_variants(names.canonical(name.strip()), registered)
    base, random = names.split_random(base)
    for key, value in variants.as_options().items():
        if options.get(key) not in (None, value):
            raise InvalidOptionError(f"{name!r} names {key} {value}, but {key}={options[key]!r} was given")
        options[key] = value
    if variants.pca is not None and options.get("pca") is None:
        raise InvalidOptionError(f"{name!r} applies a saved PCA: pass pca=FILE.npz (--pca FILE.npz)")
    weights = names.weights_option(options.pop("weights", None))
    if random:
        if weights not in (None, names.RANDOM):
            raise InvalidOptionError(f"{name!r} has random weights; leave out weights={weights!r}")
        weights = names.RANDOM
    if weights is not None:
        options["weights"] = weights
    return ENCODERS.create(base, **options)


def vector_name_candidates(name: str) -> list[str]:
    """The vector names `name` may be stored under: itself, and with an alias replaced by the registered name
    (`efficientnet-lite0` -> `efficientnet_lite0.imagenet1k`, `vgg16-fc2` -> `vgg16.imagenet1k_v1-fc2`)."""
    candidates = [name, names.canonical(name)]
    family, colon, argument = name.partition(":")
    if colon and Path(argument).expanduser().is_dir():  # `st:/models/my-model` is named `st:my-model`
        candidates.append(f"{family}:{Path(argument).expanduser().name}")
    base, variants = names.split_variants(names.canonical(name), registered)
    base, random = names.split_random(base)
    if ENCODERS.has_name(base):
        entry = ENCODERS.resolve(base)[0].name
        if random:
            entry = entry.rsplit(".", 1)[0] + names.RANDOM_SUFFIX
        candidates.append(entry + names.variant_suffix(variants.layer, None, variants.image_size)
                          + (f"@{variants.text_field}" if variants.text_field else ""))
    return list(dict.fromkeys(candidates))


def entry_record(entry: Entry[Encoder]) -> VectorRecord:
    """What a registered encoder makes, known without building it; a family's (`clip:`) has dim 0, as its
    models differ. A plugin that registered `dim=`, `modality=` and `weights=` instead gets them back."""
    record = entry.info.get("record")
    if isinstance(record, VectorRecord):
        return record
    return VectorRecord(entry.name, int(entry.info.get("dim") or 0), str(entry.info.get("modality") or "image"),
                        weights=entry.info.get("weights"))


def list_encoders(pattern: str | None = None) -> list[Entry[Encoder]]:
    """Registered encoders whose name or alias matches the glob `pattern`."""
    return ENCODERS.entries(pattern)


__getattr__ = lazy_exports(__name__, {name: "embedkit.encoders.base" for name in _FROM_BASE})


__all__ = ["ENCODERS", "Encoder", "Entry", "Modality", "encoder_entry", "entry_record", "get_encoder", "list_encoders",
           "names", "registered", "vector_name_candidates"]
