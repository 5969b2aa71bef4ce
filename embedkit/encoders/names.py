"""The one grammar of encoder and vector names, parsed here and nowhere else.

    name     := [family ":"] model [tag] variant*        resnet50.imagenet1k_v2, clip:ViT-B-32/openai, st:all-MiniLM-L6-v2
    tag      := "." TAG (registry names) | "/" TAG (clip:, st:) the weights; TAG `random` is written ".random" everywhere
    variant  := "-" LAYER | "-" N "px" | "@" FIELD          a non-default layer, input size, or embedded text field
    ensemble := "ensemble:" member ("+" member)* ["-pca" K]
    member   := name ["*" WEIGHT]

Random weights have one spelling, `NAME.random`. Names that earlier versions wrote (and that live on
in users' stores as vector names) are mapped to their current spelling by `canonical`, as timm's
`register_model_deprecations` does, so a rename never orphans a collection.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from embedkit.errors import InvalidOptionError

log = logging.getLogger(__name__)

RANDOM = "random"
RANDOM_SUFFIX = "." + RANDOM
DEPRECATED_RANDOM = "none"
"""`--weights none`, `clip:ARCH/none` and `st:MODEL/none`: embedkit 0.1.0's other spellings of random weights."""

DEPRECATED_NAMES: dict[str, str] = {}
"""Explicit renames, old name -> current name; `deprecate` adds to it (plugins may too)."""

_SLASH_RANDOM = re.compile(r"^(?P<family>clip|st):(?P<model>.+)/(?:random|none)(?P<variants>(?:-\d+px)?(?:@[^@]+)?)$")
_IMAGE_SIZE = re.compile(r"-(\d+)px$")
_PCA = re.compile(r"-pca(\d+)$")
ENSEMBLE_PREFIX = "ensemble:"


def deprecate(old: str, new: str) -> None:
    """Declare that `old` is now called `new`: both find the same stored vectors."""
    DEPRECATED_NAMES[old] = new


def canonical(name: str) -> str:
    """The current spelling of `name` (itself when it is current); an ensemble's, member by member."""
    if name in DEPRECATED_NAMES:
        return DEPRECATED_NAMES[name]
    if name.startswith(ENSEMBLE_PREFIX):
        spec = name[len(ENSEMBLE_PREFIX):]
        pca = _PCA.search(spec)
        members = spec[: pca.start()] if pca else spec
        current = "+".join(canonical(member.rpartition("*")[0]) + "*" + member.rpartition("*")[2] if "*" in member
                           else canonical(member) for member in members.split("+"))
        return ENSEMBLE_PREFIX + current + (pca[0] if pca else "")
    slash = _SLASH_RANDOM.match(name)
    if slash:
        return f"{slash['family']}:{slash['model']}{RANDOM_SUFFIX}{slash['variants']}"
    return name


def same_vector(a: str, b: str) -> bool:
    """Whether two vector names, in any spelling embedkit ever wrote, mean the same vectors."""
    return a == b or canonical(a) == canonical(b)


def find_stored(wanted: Iterable[str], stored: Sequence[str]) -> str | None:
    """The name, as the collection spells it, of the first of `wanted` that `stored` holds."""
    for name in wanted:
        for candidate in stored:
            if same_vector(candidate, name):
                return candidate
    return None


def weights_option(weights: object) -> object:
    """A `weights=` value in its current spelling: None (pretrained), "random", or a checkpoint path."""
    if isinstance(weights, str) and weights.lower() == DEPRECATED_RANDOM:
        log.warning("weights 'none' is deprecated: write NAME.random (or weights='random') for random weights")
        return RANDOM
    if isinstance(weights, str) and weights.lower() == RANDOM:
        return RANDOM
    return weights


def split_random(name: str) -> tuple[str, bool]:
    """`resnet50.random` -> ("resnet50", True); other names -> (name, False)."""
    name = canonical(name)
    if name.startswith(("ensemble:", "stack:")):  # the members carry their own weights
        return name, False
    if name.endswith(RANDOM_SUFFIX) and len(name) > len(RANDOM_SUFFIX):
        return name[: -len(RANDOM_SUFFIX)], True
    return name, False


def split_tag(argument: str, separator: str = "/") -> tuple[str, str | None]:
    """A family's argument into model and weights tag: `ViT-B-32/openai` -> ("ViT-B-32", "openai")."""
    model, _, tag = argument.rpartition(separator) if separator in argument else (argument, "", "")
    return model, tag or None


def split_checkpoint(name: str) -> tuple[str, str | None]:
    """`resnet50.ckpt-1a2b3c4d` -> ("resnet50", "ckpt-1a2b3c4d"): the encoder a checkpoint was loaded into."""
    for separator in (".", "/"):
        head, found, tag = name.rpartition(separator)
        if found and head and tag.startswith("ckpt"):
            return head, tag
    return name, None


@dataclass(frozen=True)
class Variants:
    """The options a vector name carries after the encoder's name."""

    layer: str | None = None
    image_size: int | None = None
    text_field: str | None = None
    pca: int | None = None

    def as_options(self) -> dict[str, object]:
        return {key: value for key, value in (("layer", self.layer), ("image_size", self.image_size)) if value}


def split_variants(name: str, known: Callable[[str], bool]) -> tuple[str, Variants]:
    """Strip the variants off a vector name until `known` accepts what is left.

    `vgg16.imagenet1k_v1-fc2-32px` -> ("vgg16.imagenet1k_v1", Variants(layer="fc2", image_size=32)).
    A name `known` accepts as it is has no variants (`efficientnet-lite0` keeps its dash).
    """
    if name.startswith((ENSEMBLE_PREFIX, "stack:")):  # its members carry their own variants
        match = _PCA.search(name)
        return (name[: match.start()], Variants(pca=int(match[1]))) if match else (name, Variants())
    base, text_field = name, None
    if "@" in base and not known(base):
        base, _, text_field = base.rpartition("@")
    image_size = pca = layer = None
    if not known(base) and (match := _PCA.search(base)):
        base, pca = base[: match.start()], int(match[1])
    if not known(base) and (match := _IMAGE_SIZE.search(base)):
        base, image_size = base[: match.start()], int(match[1])
    if not known(base) and "-" in base:
        head, _, tail = base.rpartition("-")
        if known(head) and re.fullmatch(r"[a-z][a-z0-9_]*", tail):
            base, layer = head, tail
    return base, Variants(layer, image_size, text_field, pca)


def variant_suffix(layer: str | None, default_layer: str | None, image_size: int | None) -> str:
    """What a vector name adds to its encoder's name for non-default options."""
    return ("" if layer in (None, default_layer) else f"-{layer}") + ("" if image_size is None else f"-{image_size}px")


def text_vector_name(encoder_vector_name: str, text_field: str, embeds_images: bool) -> str:
    """A text-only encoder stores a text field under its own name (a search by text finds it); an image+text
    encoder under `NAME@FIELD`, beside its image vectors."""
    return f"{encoder_vector_name}@{text_field}" if embeds_images else encoder_vector_name


@dataclass(frozen=True)
class Member:
    """One member of an ensemble spec: a name (an encoder, or a stored vector name) and its weight."""

    name: str
    weight: float = 1.0


def parse_members(spec: str | Sequence[str | Member] | None) -> list[Member]:
    """`resnet50+densenet121*0.5` -> [Member("resnet50"), Member("densenet121", 0.5)]."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        raise InvalidOptionError("an ensemble needs members, e.g. ensemble:resnet50+densenet121+vgg16")
    items = spec.split("+") if isinstance(spec, str) else list(spec)
    members = []
    for item in items:
        if isinstance(item, Member):
            members.append(item)
            continue
        name, star, weight = item.strip().rpartition("*")
        if not star:
            name, weight = weight, "1"
        try:
            value = float(weight)
        except ValueError as error:
            raise InvalidOptionError(f"member weight {weight!r} in {item!r} is not a number; write NAME*0.5") from error
        if not name or not math.isfinite(value) or value <= 0:
            raise InvalidOptionError(f"ensemble member {item!r} needs a name and a positive weight, e.g. resnet50*0.5")
        members.append(Member(canonical(name.strip()), value))
    if len(members) < 2:
        raise InvalidOptionError(f"an ensemble needs at least two members, got {[m.name for m in members]}")
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise InvalidOptionError(f"ensemble members must differ; {names} repeats one (use a weight instead)")
    return members


def spec_name(vector_names: Sequence[str], weights: Sequence[float]) -> str:
    """The spec an ensemble of these stored vectors is named by: `a+b*0.5`."""
    return "+".join(name + ("" if weight == 1 else f"*{weight:g}") for name, weight in zip(vector_names, weights))
