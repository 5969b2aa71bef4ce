"""The one record of what made a vector: encoders carry it, the store writes it, search rebuilds from it.

In the spirit of timm's PretrainedCfg: a frozen description that travels with the weights. The
store writes it as JSON beside the vectors and compares it field by field: a field that changes the
vectors (`IDENTITY_FIELDS`) must match to add vectors under the same name; the others are history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from embedkit._version import __version__
from embedkit.errors import InvalidOptionError

RESIZE_MODES = ("shortest", "squash")

IDENTITY_FIELDS = ("encoder", "dim", "weights", "weights_sha256", "layer", "image_size", "preprocessing", "reading",
                   "text_field", "members", "artifact")
"""Fields that decide the vectors."""
UNRECORDED_IS_UNKNOWN = ("weights", "weights_sha256", "layer", "image_size", "preprocessing", "reading")
"""Identity fields compared only when both records have them: embedkit 0.1.0 (and a plugin's bare encoder) may
not have recorded them."""


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the tensor the model sees: resize, centre crop, then normalise.

    `resize_mode` "shortest" resizes the short side to `resize` (aspect kept); "squash" resizes both sides.
    Without `mean` and `std` the tensor is uint8 CHW pixels, for models whose own processor normalises.
    """

    resize: int
    crop: int
    interpolation: str = "bilinear"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    resize_mode: str = "shortest"

    def __post_init__(self) -> None:
        if self.resize_mode not in RESIZE_MODES:
            raise InvalidOptionError(f"resize mode {self.resize_mode!r} is not supported; use one of "
                                     f"{', '.join(RESIZE_MODES)}")
        if (self.mean is None) != (self.std is None):
            raise InvalidOptionError("preprocessing needs both mean and std, or neither")

    def transform(self) -> Callable[[Any], Any]:
        """The torchvision transform this record describes (picklable, for DataLoader workers)."""
        from torchvision import transforms

        mode = transforms.InterpolationMode(self.interpolation)
        size = self.resize if self.resize_mode == "shortest" else (self.resize, self.resize)
        steps: list[Any] = [transforms.Resize(size, interpolation=mode, antialias=True), transforms.CenterCrop(self.crop)]
        if self.mean is None or self.std is None:
            steps.append(transforms.PILToTensor())
        else:
            steps += [transforms.ToTensor(), transforms.Normalize(self.mean, self.std)]
        return transforms.Compose(steps)

    def to_json(self) -> dict[str, Any]:
        return {"resize": self.resize, "crop": self.crop, "interpolation": self.interpolation,
                "mean": None if self.mean is None else list(self.mean),
                "std": None if self.std is None else list(self.std), "resize_mode": self.resize_mode}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Preprocessing:
        def floats(values: Any) -> tuple[float, ...] | None:
            return None if values is None else tuple(float(v) for v in values)

        return cls(int(data["resize"]), int(data["crop"]), str(data.get("interpolation", "bilinear")),
                   floats(data.get("mean")), floats(data.get("std")), str(data.get("resize_mode", "shortest")))


@dataclass(frozen=True)
class Reading:
    """How image files became pixels before preprocessing: the colour under transparent pixels (#rrggbb), and
    whether a large JPEG was decoded at a reduced scale (`embedkit.images.ReadOptions` holds them while reading)."""

    background: str = "#ffffff"
    reduced_decoding: bool = True

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reading:
        return cls(str(data.get("background", "#ffffff")), bool(data.get("reduced_decoding", True)))


@dataclass(frozen=True)
class ArtifactRecord:
    """The trained map (a PCA, a stacker) an ensemble's combined member vectors go through, saved in `file`."""

    method: str
    dim: int
    sha256: str | None = None
    file: str | None = None

    def identity(self) -> tuple[str, int, str | None]:
        """What decides the vectors: not where the file lies."""
        return self.method, self.dim, self.sha256

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class VectorRecord:
    """What made the vectors stored under one name."""

    encoder: str
    """The encoder's name, which creates it again (`resnet50.imagenet1k_v2`, `clip:ViT-B-32/openai`, `ensemble:a+b`)."""
    dim: int
    modality: str = "image"
    architecture: str | None = None
    weights: str | None = None
    """The weights tag: a pretrained tag, `random`, `ckpt-<sha256 prefix>`, or `members` for an ensemble."""
    weights_sha256: str | None = None
    weights_file: str | None = None
    layer: str | None = None
    image_size: int | None = None
    """The input size asked for; None for the weights' own."""
    preprocessing: Preprocessing | None = None
    reading: Reading | None = None
    """How the image files were read (set by ingest); None for texts and for vectors of embedkit 0.2.0 or older."""
    precision: str = "fp32"
    text_field: str | None = None
    """For text vectors of a dataset: the payload field that was embedded."""
    members: tuple[MemberRecord, ...] = ()
    artifact: ArtifactRecord | None = None
    """For an ensemble: the trained map (a PCA, a stacker) its combined members go through."""
    source: str | None = None
    """The library that built the model, with its version (`torchvision 0.29.1`)."""
    licence: str | None = None
    embedkit_version: str = __version__
    details: Mapping[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (a model folder, a legacy preprocessing text); never compared."""

    def differences(self, other: VectorRecord) -> list[str]:
        """The identity fields on which two records disagree (see IDENTITY_FIELDS and UNRECORDED_IS_UNKNOWN)."""
        differing = []
        for name in IDENTITY_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if name == "members":
                if _members_differ(mine, theirs):
                    differing.append(name)
                continue
            if name == "weights_sha256" and self.members and other.members:
                continue  # an ensemble's is a hash of its members, compared one by one above
            if name == "artifact" and mine is not None and theirs is not None:
                mine, theirs = mine.identity(), theirs.identity()
            if name not in UNRECORDED_IS_UNKNOWN or (mine is not None and theirs is not None):
                if mine != theirs:
                    differing.append(name)
        return differing

    def replace(self, **changes: Any) -> VectorRecord:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "members":
                value = [member.to_json() for member in value]
            elif item.name in ("preprocessing", "reading", "artifact") and value is not None:
                value = value.to_json()
            elif item.name == "details":
                value = _jsonable(dict(value))
            document[item.name] = value
        return document

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VectorRecord:
        """Read a record as any embedkit version wrote it (0.1.0 kept the preprocessing as text and the
        encoder's own description under `encoder_info`)."""
        legacy = dict(data.get("encoder_info") or {})
        known = {item.name for item in dataclasses.fields(cls)}
        values = {key: value for key, value in {**legacy, **data}.items() if key in known}
        values["encoder"] = str(data.get("encoder") or legacy.get("name") or "")
        values["dim"] = int(data.get("dim") or legacy.get("dim") or 0)
        details = dict(values.get("details") or {})
        preprocessing = values.get("preprocessing")
        if isinstance(preprocessing, Mapping):
            values["preprocessing"] = Preprocessing.from_json(preprocessing)
        else:
            if preprocessing is not None:
                details["legacy_preprocessing"] = str(preprocessing)
            values["preprocessing"] = None
        if isinstance(values.get("reading"), Mapping):
            values["reading"] = Reading.from_json(values["reading"])
        artifact = values.get("artifact") or {**legacy, **data}.get("projection")  # 0.1.0's name for it
        values["artifact"] = None if not artifact else ArtifactRecord(
            str(artifact.get("method")), int(artifact.get("dim") or 0), artifact.get("sha256"), artifact.get("file"))
        values["members"] = tuple(MemberRecord.from_json(member) for member in values.get("members") or ())
        for name in ("modality", "precision", "embedkit_version"):
            if values.get(name) is None:
                values.pop(name, None)
        values["details"] = details
        return cls(**values)


@dataclass(frozen=True)
class MemberRecord:
    """One member of an ensemble: the stored vector name it reads, its weight, and what made it."""

    vector_name: str
    weight: float
    record: VectorRecord

    def to_json(self) -> dict[str, Any]:
        return {"vector_name": self.vector_name, "weight": float(self.weight), **self.record.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberRecord:
        rest = {key: value for key, value in data.items() if key not in ("vector_name", "weight")}
        return cls(str(data["vector_name"]), float(data.get("weight", 1.0)), VectorRecord.from_json(rest))


def _members_differ(mine: Sequence[MemberRecord], theirs: Sequence[MemberRecord]) -> bool:
    """Whether two ensembles' members differ: in number, order, stored name, weight, or what made them."""
    return len(mine) != len(theirs) or any(
        a.vector_name != b.vector_name or a.weight != b.weight or a.record.differences(b.record)
        for a, b in zip(mine, theirs)
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
