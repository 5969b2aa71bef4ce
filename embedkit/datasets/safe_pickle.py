"""Reading pickles a user did not make: only the few globals their published format holds are admitted.

`pickle.load` runs whatever callable a file names (`os.system`, `builtins.exec`), so a file found on disk
is unpickled by `RestrictedUnpickler`, whose `find_class` admits an allow-list of (module, name) pairs and
refuses everything else before anything is called.
"""

from __future__ import annotations

import codecs
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global that is not on the allow-list; nothing it names was called."""

    def __init__(self, module: str, name: str):
        self.module = module
        self.name = name
        super().__init__(f"{module}.{name} is not allowed")


def latin1_bytes(text: str = "", encoding: str = "latin1") -> bytes:
    """`_codecs.encode(text, 'latin1')`, which Python 3 writes for each bytes object at protocol 2;
    any other codec is refused."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r} is not how bytes are pickled")
    return codecs.encode(text, "latin1")


def empty_bytes(*args: Any) -> bytes:
    """`bytes()`, which Python 3 writes for b'' at protocol 2; `bytes(n)` (n zero bytes) is refused."""
    if args:
        raise pickle.UnpicklingError("bytes(...) with arguments is not how bytes are pickled")
    return b""


def _reconstruct() -> Callable[..., Any]:
    try:
        from numpy._core.multiarray import _reconstruct as reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover (numpy 1.x)
        from numpy.core.multiarray import _reconstruct as reconstruct
    return reconstruct


NUMPY_ARRAYS: Mapping[tuple[str, str], Callable[[], Any]] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy 1.x (the CIFAR files: Python 2)
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy 2
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}
"""What an ndarray pickled below protocol 5 names: its reconstructor, its type and its dtype's."""

PROTOCOL2_BYTES: Mapping[tuple[str, str], Callable[[], Any]] = {
    ("_codecs", "encode"): lambda: latin1_bytes,
    ("__builtin__", "bytes"): lambda: empty_bytes,
    ("builtins", "bytes"): lambda: empty_bytes,
}
"""What bytes objects pickled by Python 3 at protocol 2 name (Python 2's str needs no global)."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in `allowed`, (module, name) -> a function returning the
    object to use; any other global raises RefusedGlobal. Opcodes that call something (REDUCE, BUILD,
    NEWOBJ, extensions) only ever get a callable through `find_class`, so the allow-list bounds them."""

    def __init__(self, stream: Any, allowed: Mapping[tuple[str, str], Callable[[], Any]], **options: Any):
        super().__init__(stream, **options)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        resolve = self.allowed.get((module, name))
        if resolve is None:
            raise RefusedGlobal(module, name)
        return resolve()

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def load_restricted(path: Path, allowed: Mapping[tuple[str, str], Callable[[], Any]],
                    encoding: str = "latin1") -> Any:
    """The object pickled in `path`, admitting only the globals in `allowed`. `encoding` is how Python 2 str
    objects are read: latin1 keeps an ndarray's bytes as they were written."""
    with open(path, "rb") as stream:
        return RestrictedUnpickler(stream, allowed, encoding=encoding).load()
