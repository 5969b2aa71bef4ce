"""Classifiers learnt from stored vectors: each method beats chance and is what scikit-learn gives on the same arrays,
no image is encoded, k-shot averages seeds, a saved classifier loads only with its own provenance and predicts the
same, new images get their colour, predicted labels go into the payloads, and every refusal is one line."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid
from sklearn.svm import SVC

from embedkit.analysis.classifiers import SVM_EXACT_LIMIT, make_method
from embedkit.analysis.classify import (classify, content_sha256, load_classifier, predict_images, sample_shots,
                                        write_labels)
from embedkit.analysis.vectors import stored_vectors
from embedkit.errors import ArtifactMismatchError, EmbedkitError, InvalidOptionError
from embedkit.ingestion import ingest
from embedkit.records import VectorRecord
from embedkit.store import open_store
from tests.support.manifests import COLOURS, CountingEncoder, make_manifest

PER_CLASS = 6
"""Train and test images of each of the three colours."""


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """An open store whose collection `shapes` holds colour vectors (they tell the classes apart) and grey
    thumbnails (they hardly do), 18 train and 18 test points; and the colour encoder that made them."""
    root = tmp_path_factory.mktemp("classify")
    manifest = make_manifest(root / "data", per_class=PER_CLASS)
    colour = CountingEncoder("colour")
    with open_store(root / "store") as store:  # open once: opening and closing costs more than a small fit
        for encoder in (colour, CountingEncoder("thumb")):
            ingest(f"manifest:{manifest}", encoder, store=store, collection="shapes", workers=0)
        yield store, colour


def arrays(store, vector, split):
    return stored_vectors(store, "shapes", vector, split)


SKLEARN_DIRECTLY = {
    "knn": lambda train: KNeighborsClassifier(n_neighbors=5, metric="cosine", weights="distance"),
    "linear": lambda train: LogisticRegression(max_iter=1000, random_state=0),
    "svm": lambda train: SVC(kernel="rbf", gamma="scale"),
    "forest": lambda train: RandomForestClassifier(n_estimators=100, random_state=0),
}


@pytest.mark.parametrize("method", sorted(SKLEARN_DIRECTLY))
def test_each_method_beats_chance_and_is_what_sklearn_gives_on_the_stored_arrays(shapes, method):
    store, colour = shapes
    seen = colour.images_seen
    report = classify(store, "shapes", vector="colour.v1", method=method, k=5)
    assert colour.images_seen == seen  # learnt from stored vectors only
    assert report.accuracy >= 0.9 and report.macro_f1 >= 0.9  # chance is 1/3
    assert (report.protocol, report.train_count, report.test_count) == ("split", 18, 18)
    assert [row.name for row in report.per_class] == ["blue", "green", "red"]
    assert sum(row.support for row in report.per_class) == 18 and np.sum(report.confusion) == 18
    assert 0.0 <= report.train_accuracy <= 1.0

    # on vectors that hardly tell the classes apart, every prediction still matches scikit-learn's own
    hard = classify(store, "shapes", vector="thumb.v1", method=method, k=5)
    train, test = arrays(store, "thumb.v1", "train"), arrays(store, "thumb.v1", "test")
    direct = SKLEARN_DIRECTLY[method](train).fit(train.vectors, train.labels)
    predicted = direct.predict(test.vectors)
    assert hard.accuracy == pytest.approx(accuracy_score(test.labels, predicted))
    assert hard.confusion == confusion_matrix(test.labels, predicted).tolist()
    assert hard.train_accuracy == pytest.approx(accuracy_score(train.labels, direct.predict(train.vectors)))


def test_any_scikit_learn_estimator_is_taken_and_the_one_given_stays_unfitted(shapes):
    store, _ = shapes
    given = NearestCentroid()
    report = classify(store, "shapes", vector="colour.v1", method=given)
    assert report.method == "NearestCentroid" and report.accuracy >= 0.9
    assert not hasattr(given, "classes_") and report.classifier.estimator is not given


def test_svm_approximates_its_kernel_above_the_size_limit_and_says_so():
    vectors = np.random.default_rng(0).normal(size=(SVM_EXACT_LIMIT + 1, 4)).astype(np.float32)
    approximated = make_method("svm", k=10, seed=0, train_vectors=vectors)
    exact = make_method("svm", k=10, seed=0, train_vectors=vectors[:100])
    assert [type(step).__name__ for step in approximated.estimator] == ["Nystroem", "LinearSVC"]
    assert "approximated (Nystroem" in approximated.notes[0] and not exact.notes
    assert type(exact.estimator).__name__ == "SVC"
    assert approximated.params["gamma"] == pytest.approx(1 / (4 * vectors.var()))  # the kernel SVC would use


def test_an_approximated_svm_still_separates_the_colours(shapes, monkeypatch):
    store, _ = shapes
    monkeypatch.setattr("embedkit.analysis.classifiers.SVM_EXACT_LIMIT", 10)
    report = classify(store, "shapes", vector="colour.v1", method="svm")
    assert report.accuracy >= 0.9 and "approximated (Nystroem, 18 components" in report.notes[0]
    assert report.params["kernel"] == "rbf (Nystroem approximation)"


def test_k_shot_averages_seeds_that_each_draw_their_own_examples(shapes):
    store, _ = shapes
    report = classify(store, "shapes", vector="thumb.v1", method="linear", shots=2, seeds=4, seed=7)
    assert report.protocol == "k-shot" and report.train_count == 6 and report.test_count == 18
    assert [run["seed"] for run in report.runs] == [7, 8, 9, 10]
    assert report.accuracy == pytest.approx(np.mean([run["accuracy"] for run in report.runs]))
    assert report.accuracy_std == pytest.approx(np.std([run["accuracy"] for run in report.runs]))
    assert np.sum(report.confusion) == 4 * 18  # every seed's predictions of the test split
    labels = arrays(store, "thumb.v1", "train").labels
    draws = [sample_shots(labels, 2, seed) for seed in (7, 8, 9, 10)]
    assert all(np.bincount(labels[draw]).tolist() == [2, 2, 2] for draw in draws)
    assert len({tuple(draw) for draw in draws}) > 1
    assert np.array_equal(sample_shots(labels, 2, 7), draws[0])  # a seed draws the same examples again
    assert report.classifier.provenance["training"]["count"] == 6


def test_cross_validation_scores_every_point_once_and_keeps_a_classifier_of_all(shapes):
    store, _ = shapes
    report = classify(store, "shapes", vector="colour.v1", method="knn", k=3, cv=3, train_split=None)
    assert (report.protocol, report.test_split, report.test_count, len(report.runs)) == ("cv", None, 36, 3)
    assert np.sum(report.confusion) == 36 and report.accuracy >= 0.9 and report.accuracy_std is not None
    assert report.classifier.provenance["training"]["count"] == 36
    assert any("refit on all 36 points" in note for note in report.notes)


def test_a_report_writes_nothing_until_saved_then_the_confusion_matrix_png_and_the_report_json(shapes, tmp_path):
    store, _ = shapes
    report = classify(store, "shapes", vector="colour.v1", method="forest")
    assert report.confusion_png is None and report.report_json is None and not (tmp_path / "out").exists()
    picture_file, report_file = report.save(tmp_path / "out")
    assert (str(picture_file), str(report_file)) == (report.confusion_png, report.report_json)
    with Image.open(report.confusion_png) as picture:
        assert picture.format == "PNG" and min(picture.size) > 200
    written = json.loads(open(report.report_json).read())
    assert written["accuracy"] == report.accuracy and written["per_class"][0]["name"] == "blue"
    assert "classifier" not in written and written["confusion_png"] == report.confusion_png


def test_a_saved_classifier_records_its_provenance_and_predicts_the_same_once_loaded(shapes, tmp_path):
    store, _ = shapes
    report = classify(store, "shapes", vector="colour.v1", method="linear")
    written = report.save(tmp_path / "out", classifier=tmp_path / "colour.skops")
    assert written[1] == tmp_path / "colour.skops" and report.saved == str(written[1])
    assert json.loads(written[-1].read_text())["saved"] == report.saved
    provenance = json.loads((tmp_path / "colour.json").read_text())
    train = arrays(store, "colour.v1", "train")
    assert (provenance["collection"], provenance["vector_name"], provenance["classifier"]) == \
        ("shapes", "colour.v1", "linear")
    assert provenance["vector_record"]["encoder"] == "colour.v1" and provenance["params"]["C"] == 1.0
    training = provenance["training"]
    assert (training["split"], training["count"], training["classes"]) == \
        ("train", 18, {"0": "blue", "1": "green", "2": "red"})
    assert training["content_sha256"] == content_sha256(train.ids, train.labels)
    assert provenance["metrics"]["accuracy"] == report.accuracy and provenance["embedkit_version"]
    assert provenance["created_at"] and provenance["library"].startswith("scikit-learn")

    loaded = load_classifier(tmp_path / "colour.skops")
    test = arrays(store, "colour.v1", "test")
    labels, probabilities = loaded.predict(test.vectors)
    np.testing.assert_array_equal(labels, report.classifier.estimator.predict(test.vectors))
    assert probabilities is not None and np.all((probabilities > 0) & (probabilities <= 1))


def test_a_classifier_file_that_cannot_be_written_is_refused_before_anything_is_saved(shapes, tmp_path):
    store, _ = shapes
    report = classify(store, "shapes", vector="colour.v1", method="knn", k=3)
    for bad, says in ((tmp_path / "model.npz", "save the classifier as a .skops file \\(a format that cannot run code\\), not 'model.npz'"),
                      (tmp_path / "missing" / "model.skops", "does not exist; create it first")):
        with pytest.raises(InvalidOptionError, match=says):
            report.save(tmp_path / "out", classifier=bad)
    assert not (tmp_path / "out").exists() and report.saved is None


def test_a_classifier_file_its_json_does_not_record_is_refused_before_it_is_read(shapes, tmp_path, monkeypatch):
    store, _ = shapes
    for name, k in (("a", 3), ("b", 4)):
        report = classify(store, "shapes", vector="colour.v1", method="knn", k=k)
        report.save(tmp_path / "out", classifier=tmp_path / f"{name}.skops")
    monkeypatch.setattr("skops.io.load", lambda *args: pytest.fail("a file its provenance does not vouch for was loaded"))
    (tmp_path / "a.json").write_text((tmp_path / "b.json").read_text())  # another file's provenance
    with pytest.raises(ArtifactMismatchError, match="SHA-256 differs") as caught:
        load_classifier(tmp_path / "a.skops")
    (tmp_path / "b.json").write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(ArtifactMismatchError, match="is not the provenance of an embedkit classifier"):
        load_classifier(tmp_path / "b.skops")
    (tmp_path / "b.json").unlink()
    with pytest.raises(ArtifactMismatchError, match="no readable provenance b.json"):
        load_classifier(tmp_path / "b.skops")
    with pytest.raises(InvalidOptionError, match="is not a saved classifier file"):
        load_classifier(tmp_path / "a.json")
    assert "\n" not in str(caught.value)


def test_a_damaged_classifier_file_says_to_save_it_again(shapes, tmp_path):
    import hashlib

    store, _ = shapes
    classify(store, "shapes", vector="colour.v1", method="knn", k=3).save(tmp_path / "out",
                                                                         classifier=tmp_path / "a.skops")
    (tmp_path / "a.skops").write_bytes(b"not a zip file")
    provenance = json.loads((tmp_path / "a.json").read_text())
    provenance["model_sha256"] = hashlib.sha256(b"not a zip file").hexdigest()  # the pair still belongs together
    (tmp_path / "a.json").write_text(json.dumps(provenance))
    with pytest.raises(ArtifactMismatchError, match="could not be loaded .*; save the classifier again") as caught:
        load_classifier(tmp_path / "a.skops")
    assert "\n" not in str(caught.value)


def test_a_new_image_is_labelled_with_its_colour(shapes, tmp_path):
    store, colour = shapes
    report = classify(store, "shapes", vector="colour.v1", method="knn", k=5)
    files = []
    for name in ("green", "red"):
        files.append(tmp_path / f"{name}.png")
        Image.new("RGB", (30, 20), COLOURS[name]).save(files[-1])
    predictions = predict_images(report.classifier, files, encoder=colour)
    assert [p.label_name for p in predictions] == ["green", "red"]
    assert [p.image for p in predictions] == [str(f) for f in files]
    assert all(0 < p.probability <= 1 for p in predictions)
    with pytest.raises(ArtifactMismatchError, match="differs from it in"):
        predict_images(report.classifier, files, encoder=CountingEncoder("colour", name="colour.v2"))


def test_predicted_labels_are_written_into_the_payloads_of_the_split(shapes):
    store, _ = shapes
    report = classify(store, "shapes", vector="colour.v1", method="knn", k=3)
    written = write_labels(report.classifier, "shapes", store=store, split="test")
    assert (written.written, written.split, written.counts) == (18, "test", {"blue": 6, "green": 6, "red": 6})
    test, train = arrays(store, "colour.v1", "test"), arrays(store, "colour.v1", "train")
    names = store.payload_values("shapes", test.ids, "predicted_label_name")
    labels = store.payload_values("shapes", test.ids, "predicted_label")
    untouched = store.payload_values("shapes", train.ids, "predicted_label")
    assert [names[i] for i in test.ids] == [test.label_name(label) for label in test.labels]
    assert [labels[i] for i in test.ids] == test.labels.tolist()
    assert set(untouched.values()) == {None}
    elsewhere = dataclasses.replace(report.classifier, vector_name="thumb.v1")  # a vector another encoder made
    with pytest.raises(ArtifactMismatchError, match="from another encoder than the classifier learnt from"):
        write_labels(elsewhere, "shapes", store=store)


@pytest.fixture(scope="module")
def awkward(shapes):
    """Collections that cannot be classified as they are, beside `shapes`: `unlabelled`, and `one-class` (all
    label 0)."""
    store, _ = shapes
    vectors = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    for collection, label in (("unlabelled", None), ("one-class", 0)):
        store.ensure_vector(collection, "enc", VectorRecord("enc", 4, "image"))
        store.upsert(collection, "enc", [f"s{i}" for i in range(8)], vectors,
                     [{"label": label, "split": "train" if i < 4 else "test"} for i in range(8)])
    store.ensure_vector("lonely", "enc", VectorRecord("enc", 4, "image"))  # one split, a class of one image
    store.upsert("lonely", "enc", [f"s{i}" for i in range(8)], vectors,
                 [{"label": min(i // 4, 1) if i < 7 else 2, "label_name": ["cat", "dog", "owl"][min(i // 4, 1) if i < 7
                                                                                               else 2],
                   "split": "all"} for i in range(8)])
    return store


REFUSALS = [  # (collection, keywords, error, what the message says)
    ("nothing", {}, InvalidOptionError, "does not exist"),
    ("shapes", {"vector": "vgg16"}, InvalidOptionError, "has no vector 'vgg16'"),
    ("shapes", {"train_split": "validation"}, InvalidOptionError, "split 'validation' of 'shapes'/'colour.v1' has no "
                                                                  "points (its splits: test, train)"),
    ("shapes", {"test_split": "dev"}, InvalidOptionError, "the test split 'dev'"),
    ("shapes", {"test_split": "train"}, InvalidOptionError, "testing on split 'train' would score points the "
                                                            "classifier learnt from; name another test split"),
    ("shapes", {"test_split": None}, InvalidOptionError, "testing on every point would score points"),
    ("shapes", {"k": 19}, InvalidOptionError, "k=19 neighbours are more than the 18 points"),
    ("shapes", {"k": 25, "cv": 3, "train_split": None}, InvalidOptionError, "k=25 neighbours are more than the 24"),
    ("shapes", {"shots": 7}, InvalidOptionError, "7 shots are more than the 6 training points of class 'blue'"),
    ("shapes", {"shots": 2, "k": 7}, InvalidOptionError, "k=7 neighbours are more than the 6 points"),
    ("shapes", {"cv": 7}, InvalidOptionError, "7 folds need 7 points of each class"),
    ("shapes", {"cv": 3, "shots": 2}, InvalidOptionError, "use shots or cv, not both"),
    ("shapes", {"method": "tree"}, InvalidOptionError, "unknown classifier 'tree'"),
    ("shapes", {"method": object()}, InvalidOptionError, "or a scikit-learn estimator"),
    ("shapes", {"method": KNeighborsClassifier(50)}, InvalidOptionError,
     "KNeighborsClassifier could not learn from 18 points: Expected n_neighbors <= n_samples_fit"),
    ("shapes", {"k": 0}, InvalidOptionError, "k must be a whole number of at least 1"),
    ("shapes", {"seeds": 0, "shots": 1}, InvalidOptionError, "seeds must be"),
    ("unlabelled", {}, InvalidOptionError, "no point of 'unlabelled'/'enc' split 'train' has a label"),
    ("one-class", {}, InvalidOptionError, "have a single class ('0'); a classifier needs at least two"),
    ("lonely", {"cv": 2, "train_split": None}, InvalidOptionError,  # names the class, and sends nowhere in a circle
     "class 'owl' of 'lonely'/'enc' has a single point, and cross-validation needs at least 2 of each class: add "
     "another image of it, or leave that class out of the collection"),
]


@pytest.mark.parametrize(("collection", "keywords", "error", "says"), REFUSALS,
                         ids=[f"{case[0]}-{'-'.join(case[1])}-{index}" for index, case in enumerate(REFUSALS)])
def test_what_cannot_be_classified_is_refused_in_one_line_that_says_what_to_do(shapes, awkward, collection,
                                                                               keywords, error, says):
    keywords = {"vector": "colour.v1", **keywords} if collection == "shapes" else keywords
    with pytest.raises(error) as caught:
        classify(awkward, collection, **keywords)
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, EmbedkitError)
