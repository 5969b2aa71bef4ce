"""A fitted classifier of stored vectors: saved with its provenance, loaded only when the two match, and used to
label new images (embedded by the encoder its vectors record) or the stored points of a collection.

A classifier is saved with skops (.skops), a format that holds data only: loading it builds the scikit-learn types
skops trusts and refuses any other type. A pickle (.joblib, what embedkit 0.2 saved) runs whatever code it holds when
loaded, so it is loaded only when the caller says it trusts the file (`trust=True`, `--trust`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedkit.analysis.classifiers import is_estimator
from embedkit.analysis.ensembles import stored_record
from embedkit.analysis.vectors import stored_vectors
from embedkit.errors import ArtifactMismatchError, InvalidOptionError, UntrustedFileError, first_line
from embedkit.images import ImageInput, ReadOptions, load_image
from embedkit.records import VectorRecord
from embedkit.special_files import SpecialFileError, check_regular, read_regular_text
from embedkit.store import Store, using_store

if TYPE_CHECKING:
    from embedkit.encoders import Encoder

SUFFIX = ".skops"
LABEL_FIELDS = ("predicted_label", "predicted_label_name")
PICKLE_SUFFIX = ".joblib"
"""A pickle, as embedkit 0.2 saved classifiers: loaded only with trust=True."""
TREE_TYPE = "sklearn.tree._tree.Tree"
"""The one type beyond skops's trusted ones that an embedkit classifier (forest) holds; its node indices are checked
after loading, as skops does not check them."""


@dataclass
class Prediction:
    image: str
    label: int
    label_name: str
    probability: float | None
    """The classifier's probability of `label`; None for one that gives no probabilities (svm)."""


@dataclass
class LabelsWritten:
    collection: str
    vector_name: str
    split: str | None
    """The split whose points were labelled; None: every point."""
    written: int
    counts: dict[str, int] = field(default_factory=dict)
    """Points given each predicted label name."""


@dataclass
class TrainedClassifier:
    """A fitted scikit-learn estimator over the vectors `vector_name`, which `record` describes."""

    KIND = "embedkit.classifier"
    FORMAT = 1

    estimator: Any
    vector_name: str
    record: VectorRecord
    label_names: dict[int, str]
    provenance: dict[str, Any]
    """What it was trained on and how (saved as FILE.json beside FILE.joblib)."""
    file: Path | None = None

    def predict(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The label of each row of `vectors`, and its probability (None when the estimator gives none)."""
        labels = np.asarray(self.estimator.predict(vectors))
        if not hasattr(self.estimator, "predict_proba"):
            return labels, None
        probabilities = np.asarray(self.estimator.predict_proba(vectors))
        columns = {label: index for index, label in enumerate(self.estimator.classes_.tolist())}
        return labels, probabilities[np.arange(len(labels)), [columns[label] for label in labels.tolist()]]

    def label_name(self, label: int) -> str:
        return self.label_names.get(int(label), str(label))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the estimator to `path` (.skops) and its provenance, with the file's SHA-256, to the .json beside."""
        import skops.io

        target = check_classifier_file(path)
        skops.io.dump(self.estimator, target)
        provenance = {**self.provenance, "model_file": target.name, "model_sha256": _sha256(target)}
        target.with_suffix(".json").write_text(json.dumps(provenance, indent=2, default=str))
        self.file, self.provenance = target, provenance
        return target


def check_classifier_file(path: str | os.PathLike[str]) -> Path:
    """`path`, when a classifier can be saved there: a .skops file in a folder that exists."""
    target = Path(path)
    if target.suffix != SUFFIX or target.is_dir():
        raise InvalidOptionError(f"save the classifier as a {SUFFIX} file (a format that cannot run code), not "
                                 f"{target.name!r}")
    if not target.parent.is_dir():
        raise InvalidOptionError(f"folder {target.parent} does not exist; create it first")
    return target


def load_classifier(path: str | os.PathLike[str], *, trust: bool = False) -> TrainedClassifier:
    """The classifier saved at `path`, after its .json was checked: it must be an embedkit classifier's provenance
    that records this very file (its SHA-256). A .skops file is read as data, refusing any type skops does not trust
    (UntrustedFileError); a pickle (.joblib) runs code when loaded and is refused unless `trust`."""
    source = Path(path)
    try:
        check_regular(source)
    except SpecialFileError as error:
        raise InvalidOptionError(f"{error}; name the {SUFFIX} file that `embedkit classify --save` wrote") from error
    if source.suffix not in (SUFFIX, PICKLE_SUFFIX) or not source.is_file():
        raise InvalidOptionError(f"{source} is not a saved classifier file; name the {SUFFIX} file that "
                                 f"`embedkit classify --save` wrote")
    if source.suffix == PICKLE_SUFFIX and not trust:
        raise UntrustedFileError(
            f"{source} is a pickle: loading it runs whatever code it holds, and the .json beside it only proves that "
            f"the two belong together, not that the file is safe; if you saved it yourself, pass --trust "
            f"(trust=True), then save it again as {SUFFIX}")
    sidecar = source.with_suffix(".json")
    try:
        provenance = json.loads(read_regular_text(sidecar))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactMismatchError(f"{source} has no readable provenance {sidecar.name} beside it: embedkit loads "
                                    f"only a classifier with the .json it was saved with") from error
    if not isinstance(provenance, dict) or provenance.get("kind") != TrainedClassifier.KIND:
        raise ArtifactMismatchError(f"{sidecar} is not the provenance of an embedkit classifier; refusing to load "
                                    f"{source.name}")
    if provenance.get("model_sha256") != _sha256(source):
        raise ArtifactMismatchError(f"{source} is not the file its {sidecar.name} records (the SHA-256 differs: it "
                                    f"was replaced or changed after it was saved); refusing to load it")
    estimator = _read_estimator(source)
    try:
        record = VectorRecord.from_json(provenance["vector_record"])
        names = {int(label): str(name) for label, name in provenance["training"]["classes"].items()}
        vector_name = str(provenance["vector_name"])
    except Exception as error:  # a hand-edited provenance raises anything at all
        raise ArtifactMismatchError(f"{sidecar} could not be read ({first_line(error)}); save the classifier "
                                    f"again with classify --save") from error
    learnt = getattr(estimator, "classes_", None)
    if not is_estimator(estimator) or learnt is None or sorted(np.asarray(learnt).tolist()) != sorted(names):
        raise ArtifactMismatchError(f"{source} does not hold the classifier of the classes its {sidecar.name} "
                                    f"records; save it again")
    return TrainedClassifier(estimator, vector_name, record, names, provenance, source)


def _read_estimator(source: Path) -> Any:
    """The estimator in `source`: a pickle (already trusted by the caller), or a skops file holding no type beyond
    skops's trusted ones and the trees of a forest, whose node indices must stay inside the tree."""
    try:
        if source.suffix == PICKLE_SUFFIX:
            import joblib

            return joblib.load(source)
        import skops.io

        untrusted = skops.io.get_untrusted_types(file=source)
    except Exception as error:  # a damaged file raises anything at all
        raise ArtifactMismatchError(f"{source} could not be loaded ({first_line(error)}); save the classifier "
                                    f"again with classify --save") from error
    unknown = [name for name in untrusted if name != TREE_TYPE]
    if unknown:
        raise UntrustedFileError(f"{source} holds types an embedkit classifier never holds ({', '.join(unknown[:3])}); "
                                 f"refusing to load it (nothing of it was run)")
    try:
        estimator = skops.io.load(source, trusted=list(untrusted))
    except Exception as error:
        raise ArtifactMismatchError(f"{source} could not be loaded ({first_line(error)}); save the classifier "
                                    f"again with classify --save") from error
    if untrusted:
        _check_trees(source, estimator)
    return estimator


def _check_trees(source: Path, estimator: Any) -> None:
    """Refuse trees whose child or feature indices point outside the tree: scikit-learn follows them unchecked."""
    for member in getattr(estimator, "estimators_", [estimator]):
        tree = getattr(member, "tree_", None)
        if tree is None:
            raise UntrustedFileError(f"{source} holds a tree outside a forest; refusing to load it")
        count, features = int(tree.node_count), int(getattr(member, "n_features_in_", tree.n_features))
        children = np.concatenate([np.asarray(tree.children_left), np.asarray(tree.children_right)])
        feature = np.asarray(tree.feature)
        if (len(children) != 2 * count or len(feature) != count or children.min(initial=-1) < -1
                or children.max(initial=-1) >= count or feature.min(initial=-2) < -2
                or feature.max(initial=-2) >= features or np.asarray(tree.value).shape[0] != count):
            raise UntrustedFileError(f"{source} holds a tree whose nodes point outside it; refusing to load it")


def predict_images(
    classifier: TrainedClassifier | str | os.PathLike[str],
    images: Sequence[ImageInput],
    *,
    encoder: Encoder | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> list[Prediction]:
    """Label `images` (files or PIL images): embedded by `encoder`, or by the encoder rebuilt from the record of
    the vectors the classifier was trained on, and read as those vectors' images were read."""
    trained = classifier if isinstance(classifier, TrainedClassifier) else load_classifier(classifier)
    record = trained.record
    if encoder is not None:
        differing = record.differences(encoder.record.replace(text_field=record.text_field))
        if differing:
            raise ArtifactMismatchError(
                f"the classifier learnt from vectors of {record.encoder or trained.vector_name}, and encoder "
                f"{encoder.name} differs from it in {', '.join(differing)}; embed with the encoder it records")
        model = encoder
    else:
        from embedkit.encoders.rebuild import encoder_from_record

        if not record.encoder or record.modality == "text":
            raise InvalidOptionError(f"the vectors {trained.vector_name!r} the classifier learnt from record no "
                                     f"image encoder; pass the encoder that made them (encoder=)")
        model = encoder_from_record(record, device=device)
    reading = ReadOptions.for_reading(record.reading, model.input_size)
    pixels = [load_image(image, reading) for image in images]
    labels, probabilities = trained.predict(model.encode_images(pixels, batch_size=batch_size))
    return [Prediction(str(image) if isinstance(image, (str, os.PathLike)) else "<image>", int(label),
                       trained.label_name(label), None if probabilities is None else float(probabilities[index]))
            for index, (image, label) in enumerate(zip(images, labels.tolist()))]


def write_labels(
    classifier: TrainedClassifier | str | os.PathLike[str],
    collection: str,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    split: str | None = None,
) -> LabelsWritten:
    """Store each point's predicted label in its payload (`predicted_label`, `predicted_label_name`), for the
    points of `split` (None: every point), predicted from their stored vectors."""
    trained = classifier if isinstance(classifier, TrainedClassifier) else load_classifier(classifier)
    with using_store(store) as target:
        stored = stored_record(target, collection, trained.vector_name)
        differing = trained.record.differences(stored)
        if differing:
            raise ArtifactMismatchError(
                f"collection {collection!r} stores {trained.vector_name!r} from another encoder than the classifier "
                f"learnt from (they differ in {', '.join(differing)}); train one on this collection")
        points = stored_vectors(target, collection, trained.vector_name, split, require_labels=False)
        labels, _ = trained.predict(points.vectors)
        names = [trained.label_name(label) for label in labels.tolist()]
        command = (f"embedkit classify --load {trained.file}" if trained.file is not None else
                   f"embedkit classify -e {trained.vector_name}") + f" -c {collection} --write-labels" + \
            (f" --test-split {split}" if split is not None else "")
        with target.writing_fields(collection, LABEL_FIELDS, command):
            target.set_payloads(collection, {sample_id: {"predicted_label": int(label), "predicted_label_name": name}
                                             for sample_id, label, name in zip(points.ids, labels.tolist(), names)})
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return LabelsWritten(collection, trained.vector_name, split, len(points.ids), dict(sorted(counts.items())))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:  # a regular file: load_classifier checked it
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
