"""Payload fields written over a collection (clusters, predicted labels, duplicate marks) are recorded on the metadata
point as being written, by which command, before the first point is written, and cleared when the last one is: a
process killed in between leaves the record, and every reader says that the field is half-written and what finishes
it (docs/store.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from embedkit.store.metadata import CollectionMetadata

UNFINISHED_KEY = "unfinished_fields"
"""On the metadata point: {field: the command that writes it}, while (or since a crash stopped) it is written."""


class FieldWrites(CollectionMetadata):
    """Which payload fields of a collection a writer started and has not finished."""

    @contextmanager
    def writing_fields(self, collection: str, fields: Sequence[str], command: str) -> Iterator[None]:
        """Record that `fields` are being written by `command` (what a user runs to finish them, e.g.
        "embedkit cluster -c photos --write --field cluster"), run the block, then clear the record. An error inside the block
        keeps the record: the fields are half-written until a run of the command gets to the end."""
        self.check_writable(f"write payload fields into collection {collection!r}")
        self._note_unfinished(collection, {field: command for field in fields})
        self.flush()  # the record is durable before the first point changes
        yield
        self.flush()
        self._note_unfinished(collection, {field: None for field in fields})

    def unfinished_fields(self, collection: str) -> dict[str, str]:
        """The payload fields a writer started and did not finish, with the command that finishes each."""
        if not self._has_collection(collection):
            return {}
        recorded = self._read_metadata(collection).get(UNFINISHED_KEY) or {}
        return {str(field): str(command) for field, command in recorded.items()} if isinstance(recorded, dict) else {}

    def half_written(self, collection: str, fields: Sequence[str] | None = None) -> list[str]:
        """One line per command that left payload fields of `collection` half-written (of `fields`; None: any)."""
        by_command: dict[str, list[str]] = {}
        for field, command in self.unfinished_fields(collection).items():
            if fields is None or field in fields:
                by_command.setdefault(command, []).append(field)
        return [half_written_line(collection, names, command) for command, names in by_command.items()]

    def _note_unfinished(self, collection: str, changes: dict[str, Any]) -> None:
        metadata = self._read_metadata(collection)
        recorded = dict(metadata.get(UNFINISHED_KEY) or {})
        for field, command in changes.items():
            if command is None:
                recorded.pop(field, None)
            else:
                recorded[field] = command
        if recorded != (metadata.get(UNFINISHED_KEY) or {}):
            metadata[UNFINISHED_KEY] = recorded
            self._write_metadata(collection, metadata)


def half_written_line(collection: str, fields: Sequence[str], command: str) -> str:
    named = ", ".join(repr(field) for field in fields)
    subject = f"payload field {named} of collection {collection!r} is" if len(fields) == 1 else \
        f"payload fields {named} of collection {collection!r} are"
    return f"{subject} half-written (`{command}` stopped before the end); run it again to finish it"
