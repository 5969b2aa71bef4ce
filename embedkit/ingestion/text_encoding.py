"""The text of one payload field (a manifest's caption) encoded in this process, a batch at a time; a sample
without text is a failure, like an unreadable image."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from embedkit.ingestion.encoding import EncodedBatch
from embedkit.ingestion.freshness import CONTENT_FIELD, text_stamp
from embedkit.ingestion.inputs import sample_payload
from embedkit.ingestion.run import Failure, IngestRun


@dataclass(frozen=True)
class TextEncoding:
    """The text of `text_field`, embedded by the run's encoder; each point records the stamp of its text in
    `content@<field>`, not its file's."""

    text_field: str
    uploads: int | None = None

    def batches(self, run: IngestRun) -> Iterator[EncodedBatch]:
        stamp = text_stamp(self.text_field)
        for start in range(0, len(run.todo), run.batch_size):
            records: list[dict[str, Any]] = []
            texts: list[str] = []
            failures: list[Failure] = []
            for index in run.todo[start : start + run.batch_size]:
                sample = run.view[index]
                text = sample.payload.get(self.text_field)
                if not isinstance(text, str) or not text.strip():
                    failures.append(Failure(sample.id, sample.source,
                                            f"sample {sample.id!r} has no text in {self.text_field!r}"))
                    continue
                texts.append(text)
                payload = {key: value for key, value in sample_payload(run.view, sample).items()
                           if key != CONTENT_FIELD}
                records.append({**payload, f"{CONTENT_FIELD}@{self.text_field}": stamp(sample)})
            vectors = run.model.encode_texts(texts, batch_size=run.batch_size) if texts else None
            yield EncodedBatch.of(records, vectors, failures)
