"""One generic registry: names to factories, with aliases, prefix families, globs and close matches."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from embedkit.errors import InvalidOptionError, UnknownNameError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered name. A name ending in ':' is a family: `clip:` serves every `clip:ARGUMENT`."""

    name: str
    factory: Callable[..., T]
    aliases: tuple[str, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)
    plugin: str = ""

    @property
    def is_family(self) -> bool:
        return self.name.endswith(":")

    def matches(self, pattern: str) -> bool:
        """Whether the glob `pattern` (case-insensitive) matches the name or an alias."""
        return _glob(self.name, pattern) or any(_glob(alias, pattern) for alias in self.aliases)

    def aliases_matching(self, pattern: str | None) -> tuple[str, ...]:
        """The aliases a listing filtered by `pattern` shows: all of them when the name matches (or no pattern
        is given), else those that match (`clip:ViT-B-32*` shows the `clip:` family's ViT-B-32 names only)."""
        if pattern is None or _glob(self.name, pattern):
            return self.aliases
        return tuple(alias for alias in self.aliases if _glob(alias, pattern))

    def create(self, argument: str | None = None, **options: Any) -> T:
        if self.is_family:
            return self.factory(argument, **options)
        return self.factory(**options)


class Registry(Generic[T]):
    """Names of one kind (encoders, datasets), filled on first use by a plugin hook.

    `load` is called once with the registry; it hands `register` to each plugin in turn
    (`load_from`), the same way for built-ins and third-party plugins.
    """

    def __init__(self, kind: str, load: Callable[[Registry[T]], None] | None = None):
        self.kind = kind
        self._load = load
        self._loaded = load is None
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        self._current_plugin = ""

    def register(
        self,
        name: str,
        factory: Callable[..., T],
        *,
        aliases: tuple[str, ...] | list[str] = (),
        replace: bool = False,
        **info: Any,
    ) -> None:
        """Add `name` (and its aliases). The first registration of a name wins; later ones are logged, unless
        `replace` says that this one is newer (a model trained again under its name)."""
        if replace and name in self._entries and not aliases:
            self._entries[name] = Entry(name, factory, (), dict(info), self._current_plugin)
            return
        if name in self._entries or name in self._aliases:
            log.warning("%s %r registered twice; keeping the first (%s)", self.kind, name,
                        self._entries.get(name, self._entries.get(self._aliases.get(name, ""))))
            return
        entry = Entry(name, factory, tuple(aliases), dict(info), self._current_plugin)
        self._entries[name] = entry
        for alias in entry.aliases:
            if alias in self._entries or alias in self._aliases:
                log.warning("%s alias %r already taken; ignored for %r", self.kind, alias, name)
                continue
            self._aliases[alias] = name

    def load_from(self, plugin: str, hook: Callable[..., None]) -> None:
        """Run one plugin's registration hook, remembering which plugin each entry came from."""
        self._current_plugin = plugin
        try:
            hook(register=self.register)
        finally:
            self._current_plugin = ""

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            assert self._load is not None
            self._loaded = True  # set first: a plugin that looks names up while registering must not recurse
            try:
                self._load(self)
            except BaseException:
                self._loaded = False
                raise

    def resolve(self, name: str) -> tuple[Entry[T], str | None]:
        """The entry serving `name`, and the family argument when `name` is `prefix:argument`."""
        self._ensure_loaded()
        canonical = self._aliases.get(name, name)
        if canonical in self._entries and not self._entries[canonical].is_family:
            return self._entries[canonical], None
        prefix, sep, argument = name.partition(":")
        if sep and f"{prefix}:" in self._entries:
            return self._entries[f"{prefix}:"], argument
        raise UnknownNameError(self.kind, name, self.close_matches(name))

    def has_name(self, name: str) -> bool:
        """Whether `name` is registered as it is (a name or an alias), not as an argument of a family."""
        self._ensure_loaded()
        canonical = self._aliases.get(name, name)
        return canonical in self._entries and not self._entries[canonical].is_family

    def create(self, name: str, **options: Any) -> T:
        entry, argument = self.resolve(name)
        arguments = ((argument,) if entry.is_family else ())
        try:
            inspect.signature(entry.factory).bind(*arguments, **options)
        except TypeError as error:
            raise InvalidOptionError(f"{self.kind} {name!r} cannot take these options: {error}") from error
        except ValueError:  # a factory whose signature cannot be read is called as it is
            pass
        try:
            return entry.create(argument, **options)
        except TypeError as error:  # a factory that passes **options on to something that does not take one
            unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(error))
            if unexpected is None or unexpected[1] not in options:
                raise
            raise InvalidOptionError(f"{self.kind} {name!r} cannot take these options: got an unexpected keyword "
                                     f"argument {unexpected[1]!r}") from error

    def close_matches(self, name: str, n: int = 3, cutoff: float = 0.5) -> list[str]:
        self._ensure_loaded()
        candidates = list(self._entries) + list(self._aliases)
        lowered = {c.lower(): c for c in candidates}
        matches = difflib.get_close_matches(name.lower(), lowered, n=n, cutoff=cutoff)
        return [lowered[m] for m in matches]

    def entries(self, pattern: str | None = None) -> list[Entry[T]]:
        """Entries whose name or an alias matches the glob `pattern` (case-insensitive), sorted by name."""
        self._ensure_loaded()
        found = [entry for entry in self._entries.values() if pattern is None or entry.matches(pattern)]
        return sorted(found, key=lambda e: e.name)

    def __contains__(self, name: str) -> bool:
        try:
            self.resolve(name)
        except UnknownNameError:
            return False
        return True

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self.entries())


def _glob(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())
