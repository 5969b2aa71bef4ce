"""The ensemble spec: `a+b*0.5` names the members and their weights."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from embedkit.errors import InvalidOptionError


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
        members.append(Member(name.strip(), value))
    if len(members) < 2:
        raise InvalidOptionError(f"an ensemble needs at least two members, got {[m.name for m in members]}")
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise InvalidOptionError(f"ensemble members must differ; {names} repeats one (use a weight instead)")
    return members


def spec_name(vector_names: Sequence[str], weights: Sequence[float]) -> str:
    return "+".join(name + ("" if weight == 1 else f"*{weight:g}") for name, weight in zip(vector_names, weights))
