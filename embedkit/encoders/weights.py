"""Finding weights: the torch hub cache, downloads, local checkpoints, and fitting them to a model."""

from __future__ import annotations

import hashlib
import os
import re
import sys
import urllib.error
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.encoders.names import RANDOM, weights_option
from embedkit.errors import WeightsChecksumError, WeightsMismatchError, WeightsUnavailableError, first_line

if TYPE_CHECKING:
    import torch

CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")


def torch_hub_dir() -> Path:
    """`torch.hub.get_dir()`, known without importing torch: $TORCH_HOME/hub, TORCH_HOME being
    $XDG_CACHE_HOME/torch (~/.cache/torch) unless set."""
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "hub"):  # torch.hub.set_dir may have moved it
        return Path(torch.hub.get_dir())
    home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(home)) / "hub"


def hub_checkpoint_path(url: str) -> Path:
    """Where torch.hub keeps the file downloaded from `url` (honours TORCH_HOME)."""
    return torch_hub_dir() / "checkpoints" / os.path.basename(url)


def download_state_dict(url: str, label: str, progress: bool = True) -> tuple[dict[str, torch.Tensor], Path]:
    """The state_dict at `url`, from the hub cache when present, else downloaded into it.

    Either way the file must have the SHA-256 whose first hex digits its name carries (torch.hub's
    `check_hash`): a download that does not is not kept, and a cached file that does not is not loaded."""
    import torch

    path = hub_checkpoint_path(url)
    cached = path.exists()
    try:
        if cached:
            verify_named_hash(path, label)
        state = torch.hub.load_state_dict_from_url(
            url, map_location="cpu", progress=progress and not cached, check_hash=True, weights_only=True
        )
    except (urllib.error.URLError, OSError, RuntimeError) as error:
        if not cached and isinstance(error, RuntimeError) and str(error).startswith("invalid hash value"):
            raise WeightsChecksumError(
                f"the weights for {label} downloaded from {url} are not the published file ({first_line(error)}); "
                f"nothing was kept: try again, or pass --weights PATH to load a checkpoint"
            ) from error
        if path.exists():
            raise WeightsMismatchError(
                f"cached weights {path} for {label} cannot be read ({first_line(error)}); "
                f"delete the file to download it again"
            ) from error
        reason = getattr(error, "reason", error)
        raise WeightsUnavailableError(
            f"pretrained weights for {label} are not cached and could not be downloaded ({reason}); "
            f"expected file {path}: put it there, pass --weights PATH to load a checkpoint, "
            f"or name the encoder NAME.random for random weights"
        ) from error
    if not cached:
        verify_named_hash(path, label)  # checked while downloading; this hashes it once for the record to reuse
    return state, path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A state_dict from a local file: a plain state_dict, or a training checkpoint that holds one."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(f"checkpoint file {str(path)!r} does not exist; pass the path of a .pt/.pth file")
    try:
        loaded: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsMismatchError(
            f"cannot read checkpoint {str(path)!r} ({first_line(error)}); "
            f"save it with torch.save(model.state_dict(), path)"
        ) from error
    for key in CHECKPOINT_KEYS:
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
            break
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise WeightsMismatchError(
            f"checkpoint {str(path)!r} holds no state_dict; save it with torch.save(model.state_dict(), path)"
        )
    return {key.removeprefix("module."): value for key, value in loaded.items()}


def fit_state_dict(
    model: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    label: str,
    source: str,
    unused_prefixes: tuple[str, ...] = (),
) -> None:
    """Load `state` into `model`, naming the first layer that does not fit.

    Layers under `unused_prefixes` (a classifier head the features do not use) may differ, as
    they do in a backbone fine-tuned on another number of classes; they are then left out.
    """
    expected = model.state_dict()

    def used(key: str) -> bool:
        return not key.startswith(unused_prefixes)

    for key, tensor in expected.items():
        if not used(key):
            continue
        if key not in state:
            raise WeightsMismatchError(f"{source} does not fit {label}: layer {key!r} is missing from it")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise WeightsMismatchError(
                f"{source} does not fit {label}: layer {key!r} has shape {tuple(state[key].shape)} "
                f"in the checkpoint but {tuple(tensor.shape)} in the model"
            )
    for key in state:
        if used(key) and key not in expected:
            raise WeightsMismatchError(f"{source} does not fit {label}: it has layer {key!r}, which the model lacks")
    loadable = {
        key: value
        for key, value in state.items()
        if key in expected and tuple(value.shape) == tuple(expected[key].shape)
    }
    model.load_state_dict(loadable, strict=False)


HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
"""torch.hub.HASH_REGEX: a hub file's name carries the first hex digits of its SHA-256 (`resnet50-11ad3fa6.pth`)."""

_verified: dict[tuple[str, int, int, int], str] = {}
"""The SHA-256 of each file `verify_named_hash` passed, by (path, inode, size, mtime): a file is hashed once per
process unless it changes, and `file_sha256` (the record's weights_sha256) reuses the digest. Hashing vgg16's
528 MB took 0.3-0.9 s here (2 busy cores), against 1.5-2.5 s to torch.load it."""


def _identity(path: str | os.PathLike[str]) -> tuple[str, int, int, int]:
    stat = os.stat(path)
    return os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns


def file_sha256(path: str | os.PathLike[str]) -> str:
    return _verified.get(_identity(path)) or _hash(path)


def _hash(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def named_hash(path: str | os.PathLike[str]) -> str | None:
    """The SHA-256 prefix that a file's name carries, torch.hub's way (`NAME-<hex>.EXT`), or None."""
    found = HASH_REGEX.search(os.path.basename(path))
    return found.group(1) if found and found.group(1) else None


def verify_named_hash(path: str | os.PathLike[str], label: str) -> None:
    """WeightsChecksumError unless the SHA-256 of the file at `path` starts with the hex digits of its name
    (no check for a name without them). Each file is hashed once per process unless it changes."""
    prefix = named_hash(path)
    if prefix is None:
        return
    identity = _identity(path)
    digest = _verified.get(identity) or _hash(path)
    if not digest.startswith(prefix):
        raise WeightsChecksumError(
            f"weights file {path} for {label} has SHA-256 {digest[:len(prefix)]}..., not the {prefix}... its name "
            f"says: it is damaged or not the published file; delete it to download it again, "
            f"or pass --weights PATH to load a checkpoint"
        )
    _verified[identity] = digest


def resolve_weights(
    weights: str | os.PathLike[str] | None,
    pretrained_tag: str,
    fetch_pretrained: Any,
) -> tuple[dict[str, torch.Tensor] | None, str, Path | None]:
    """Turn a `--weights` value into (state_dict or None, weights tag, file).

    None means the pretrained weights of `pretrained_tag`, fetched by `fetch_pretrained()` ->
    (state_dict, file); "random" means random initialisation (tag `random`); anything else is the
    path of a local checkpoint (tag `ckpt-<first 8 hex of its sha256>`).
    """
    if weights is None or str(weights) == pretrained_tag:
        state, path = fetch_pretrained()
        return state, pretrained_tag, path
    weights = weights_option(weights)
    if weights == RANDOM:
        return None, "random", None
    state = load_checkpoint(weights)
    return state, f"ckpt-{file_sha256(weights)[:8]}", Path(weights).expanduser().resolve()
