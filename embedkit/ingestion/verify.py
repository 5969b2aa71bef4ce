"""Is a collection still what ingest made? Re-embed a random sample of its stored points from their sources and
compare (damaged files show up here), and count the dataset's samples that have no vector."""

from __future__ import annotations

import random
from typing import Any
from dataclasses import dataclass, field

import numpy as np
import torch

from embedkit.datasets import Sample, get_dataset
from embedkit.encoders import Encoder
from embedkit.encoders.ensemble.combination import normalise_rows
from embedkit.errors import ImageLoadError, InvalidOptionError
from embedkit.images import ReadOptions
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store, using_store


@dataclass
class VerifyReport:
    collection: str
    vector_name: str
    checked: int = 0
    differing: list[tuple[str, float]] = field(default_factory=list)
    """Sample ids whose stored vector is not what their source embeds to now, with the cosine between them."""
    largest_difference: float = 0.0
    """The largest difference of one component between a stored unit vector and its source's, over the checked
    points that do not differ: how far from bit-exact re-embedding is here."""
    unreadable: list[str] = field(default_factory=list)
    repaired: int = 0
    """Differing points whose stored vector was replaced by what their source embeds to now (`repair`)."""
    missing: int = 0
    """Samples of the collection's datasets without this vector: files ingest could not read (`missing_unreadable`),
    lost points, or samples an ingest with --split or --limit left out (the store does not say which)."""
    missing_unreadable: int = 0
    """Of the missing samples, those whose file cannot be read (ingest skipped them), among the first
    MISSING_CHECKED."""
    problems: list[str] = field(default_factory=list)
    """One line per loss the store's own counts show: a lost metadata point, fewer points than the last writer
    recorded (`Store.count_problems`); and one per command that left payload fields half-written."""
    to_check: int = 0
    """Points chosen to be embedded again; fewer were checked when the run was interrupted."""
    interrupted: bool = False
    """Ctrl-C (or SIGTERM handled as it) stopped the run: the counts are those of the points checked so far."""

    @property
    def ok(self) -> bool:
        return not self.differing and not self.problems


MISSING_CHECKED = 2000
"""Missing samples whose files verify tries to read, to tell unreadable files from lost points."""


def readable(sample: Any) -> bool:
    """Whether a sample's image decodes (what ingest needs to store it)."""
    try:
        sample.image()
    except ImageLoadError:
        return False
    return True


def verify(collection: str, *, encoder: str | None = None, sample: int | None = 100, seed: int = 0,
           store: Store | str | None = None, tolerance: float = 1e-5, device: str = "auto",
           batch_size: int = 32, repair: bool = False, progress: ProgressListener | None = None) -> VerifyReport:
    """Re-embed `sample` stored points (chosen with `seed`; None: every one) by the encoder their record names and
    compare them with what is stored (a component of the unit vectors more than `tolerance` apart differs: a
    damaged byte can leave the cosine at 0.99999); count the samples without a vector, and compare the points
    stored with the counts the last writer recorded.
    `repair` stores what the differing points' sources embed to now in place of their damaged vectors.
    `progress` hears the points checked; Ctrl-C returns the report of those checked so far (`interrupted`), each
    batch compared (and repaired) whole."""
    if sample is not None and sample < 1:
        raise InvalidOptionError(f"the sample must hold at least 1 point, got {sample}")
    if not 0 <= tolerance <= 2:  # also refuses NaN, which every comparison would pass
        raise InvalidOptionError(f"the tolerance must be between 0 and 2, got {tolerance}")
    with using_store(store) as target:
        stored_names = target.vector_names(collection)
        if not stored_names:
            raise InvalidOptionError(f"collection {collection!r} does not exist in {target.location} or has no "
                                     f"vectors; `embedkit collections` lists what there is")
        problems = target.count_problems(collection)
        if problems and not target.datasets(collection):  # the metadata point is lost: nothing says what to re-embed
            return VerifyReport(collection, "", problems=problems)
        vector = target.vector(collection, encoder)
        vector_name, record = vector.name, vector.record
        if record is None or not record.encoder or record.modality == "text" or record.members:
            raise InvalidOptionError(f"vector {vector_name!r} cannot be verified: verify re-embeds images with the "
                                     f"encoder a vector records (not texts or ensembles)")
        datasets = target.datasets(collection)
        if not datasets:
            raise InvalidOptionError(f"collection {collection!r} records no dataset (made before embedkit 0.3); "
                                     f"ingest it again once to record it")
        tell(progress, "reading the datasets")
        samples = {}
        for identity in datasets:
            view = get_dataset(identity).view()
            samples.update({view[i].id: view[i] for i in range(len(view))})
        tell(progress, "reading the stored points")
        stored = target.stored_ids(collection, vector_name)
        absent = sorted(set(samples) - set(stored))
        report = VerifyReport(collection, vector_name, missing=len(absent),
                              problems=problems + target.half_written(collection), missing_unreadable=sum(not readable(samples[i]) for i in absent[:MISSING_CHECKED]))
        population = sorted(set(stored) & set(samples))
        chosen = random.Random(seed).sample(population, len(population) if sample is None else
                                            min(sample, len(population)))
        tell(progress, "loading the encoder")
        model = vector.encoder(device=device, precision=record.precision)  # the stored vectors' own precision
        reading = ReadOptions.for_reading(record.reading, model.input_size)
        report.to_check = len(chosen)
        try:
            for start in range(0, len(chosen), batch_size):
                tell(progress, "embedding again", start, len(chosen), "points")
                _check(target, model, reading, chosen[start : start + batch_size], samples, report, tolerance, repair)
            tell(progress, "embedding again", len(chosen), len(chosen), "points")
        except KeyboardInterrupt:
            report.interrupted = True
        if report.repaired:
            target.flush()
        return report


def _check(target: Store, model: Encoder, reading: ReadOptions, batch: list[str], samples: dict[str, Sample],
           report: VerifyReport, tolerance: float, repair: bool) -> None:
    """Embed one batch of points again and add what it shows to `report`, all at once at the end (Ctrl-C in the
    middle leaves the report as it was)."""
    collection, vector_name = report.collection, report.vector_name
    ids, pixels, unreadable = [], [], []
    for sample_id in batch:
        try:
            pixels.append(model.preprocess(samples[sample_id].image(reading)))
            ids.append(sample_id)
        except ImageLoadError:
            unreadable.append(sample_id)
    if not ids:
        report.unreadable += unreadable
        return
    now = model.embed_pixels(torch.stack(pixels))
    kept = target.get_vectors(collection, vector_name, ids)
    now_unit, kept_unit = normalise_rows(now), normalise_rows(kept)
    cosines = np.sum(now_unit * kept_unit, axis=1)
    gaps = np.abs(now_unit - kept_unit).max(axis=1)
    differing = [n for n, gap in enumerate(gaps) if not gap <= tolerance]
    sound = gaps[gaps <= tolerance]
    if repair and differing:
        target.upsert(collection, vector_name, [ids[n] for n in differing], now[differing], [{} for _ in differing])
        report.repaired += len(differing)
    report.unreadable += unreadable
    report.checked += len(ids)
    report.largest_difference = max(report.largest_difference, float(sound.max()) if len(sound) else 0.0)
    report.differing += [(ids[n], float(cosines[n])) for n in differing]
