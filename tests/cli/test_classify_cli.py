"""`embedkit classify`: a table on stderr or one JSON document on stdout, a saved classifier that labels image files
(with the encoder its vectors record) and stored points, and one `error:` line for every call that cannot work."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from embedkit.cli import main
from embedkit.ingestion import ingest
from embedkit.records import VectorRecord
from embedkit.store import open_store
from tests.cli.test_fuzz import assert_one_error_line
from tests.support.manifests import COLOURS, CountingEncoder, make_manifest


def invoke(*args: object):
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=True)


def unwrapped(text: str) -> str:
    """What rich printed, without the line breaks it adds at the console's width."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Collection `shapes` (colour vectors of 9 train and 9 test images), `unlabelled` and `one-class` (4 points
    each), a saved classifier of `shapes`, a green image file, and a classifier file without its provenance."""
    root = tmp_path_factory.mktemp("classify-cli")
    store = root / "store"
    ingest(f"manifest:{make_manifest(root / 'data', per_class=3)}", CountingEncoder("colour"), store=store,
           collection="shapes", workers=0)
    vectors = np.array([[1, 0], [0, 1], [1, 1], [1, 2]], np.float32)
    with open_store(store) as opened:
        for collection, label in (("unlabelled", None), ("one-class", 4)):
            opened.ensure_vector(collection, "enc", VectorRecord("enc", 2, "image"))
            opened.upsert(collection, "enc", ["a", "b", "c", "d"], vectors,
                          [{"label": label, "split": split} for split in ("train", "train", "test", "test")])
    saved = invoke("classify", "-c", "shapes", "--k", "3", "--save", root / "model.skops", "--out-dir", root / "out",
                   "--qdrant", store)
    assert saved.exit_code == 0, saved.output
    Image.new("RGB", (20, 20), COLOURS["green"]).save(root / "green.png")
    (root / "orphan.skops").write_bytes((root / "model.skops").read_bytes())
    return {"root": root, "store": store, "model": root / "model.skops", "image": root / "green.png",
            "orphan": root / "orphan.skops"}


def test_classify_draws_its_report_on_stderr_and_saves_the_confusion_matrix(world, tmp_path):
    result = invoke("classify", "-c", "shapes", "--method", "linear", "--out-dir", tmp_path, "--qdrant", world["store"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    for text in ("shapes / colour.v1: linear", "accuracy", "macro-F1", "training accuracy", "precision", "green",
                 "trained on 'train' (9 points), tested on 'test' (9 points)", "confusion matrix:"):
        assert text in unwrapped(result.stderr), text
    assert (tmp_path / "shapes-colour.v1-linear-train-vs-test-confusion.png").is_file()
    assert (tmp_path / "shapes-colour.v1-linear-train-vs-test.json").is_file()
    lines = result.stderr.splitlines()  # each path whole on its line, however narrow the console
    assert f"confusion matrix: {tmp_path / 'shapes-colour.v1-linear-train-vs-test-confusion.png'}" in lines
    assert f"report: {tmp_path / 'shapes-colour.v1-linear-train-vs-test.json'}" in lines


def test_a_split_run_and_a_cv_run_of_the_same_method_write_different_files(world, tmp_path):
    for extra in ([], ["--cv", "3"]):
        result = invoke("classify", "-c", "shapes", "--method", "linear", "--out", tmp_path, "--qdrant", world["store"],
                        *extra)
        assert result.exit_code == 0, result.output
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["shapes-colour.v1-linear-cv-confusion.png", "shapes-colour.v1-linear-cv.json",
                     "shapes-colour.v1-linear-train-vs-test-confusion.png", "shapes-colour.v1-linear-train-vs-test.json"]


def test_json_is_one_document_with_the_scores_each_class_and_each_seed(world, tmp_path):
    result = invoke("classify", "-c", "shapes", "--shots", "2", "--seeds", "3", "--method", "linear", "--json",
                    "--out-dir", tmp_path, "--qdrant", world["store"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["protocol"] == "k-shot" and len(document["runs"]) == 3 and document["accuracy_std"] is not None
    assert document["accuracy"] > 0.6  # chance is 1/3
    assert [row["name"] for row in document["per_class"]] == ["blue", "green", "red"]
    assert document["confusion_labels"] == ["blue", "green", "red"] and document["method"] == "linear"


def test_cross_validation_on_one_split(world, tmp_path):
    result = invoke("classify", "-c", "shapes", "--train-split", "test", "--cv", "3", "--k", "2", "--json",
                    "--out-dir", tmp_path, "--qdrant", world["store"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["protocol"], document["train_split"], document["test_count"]) == ("cv", "test", 9)


def test_a_loaded_classifier_labels_an_image_by_the_encoder_its_vectors_record(world, monkeypatch):
    rebuilt = []

    def rebuild(record, **options):
        rebuilt.append(record.encoder)
        return CountingEncoder("colour")

    monkeypatch.setattr("embedkit.encoders.rebuild.encoder_from_record", rebuild)
    result = invoke("classify", "--load", world["model"], "--predict", world["image"], "--json")
    assert result.exit_code == 0, result.output
    [prediction] = json.loads(result.stdout)["predictions"]
    assert prediction["label_name"] == "green" and 0 < prediction["probability"] <= 1 and rebuilt == ["colour.v1"]
    shown = invoke("classify", "--load", world["model"], "--predict", world["image"])
    assert shown.exit_code == 0 and "green" in shown.stderr and "green.png" in shown.stderr


def test_write_labels_stores_the_predictions_in_the_payloads(world, tmp_path):
    trained = invoke("classify", "-c", "shapes", "--k", "2", "--write-labels", "--out-dir", tmp_path,
                     "--qdrant", world["store"])
    assert trained.exit_code == 0, trained.output
    assert "wrote predicted_label and predicted_label_name to 9 points (split 'test')" in unwrapped(trained.stderr)
    loaded = invoke("classify", "--load", world["model"], "--write-labels", "-c", "shapes", "--json",
                    "--qdrant", world["store"])
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["labels_written"]["written"] == 18  # every point
    with open_store(world["store"]) as opened:
        ids = opened.stored_ids("shapes", "colour.v1")
        names = opened.payload_values("shapes", ids, "predicted_label_name")
        truth = opened.payload_values("shapes", ids, "label_name")
    assert names == truth


MALFORMED = [  # (arguments, exit code, what the error line says); {store}, {model}, {image}, {orphan}, {root}
    ("classify", 2, "--collection (-c) is required to train"),
    ("classify -c nothing", 2, "collection 'nothing' does not exist"),
    ("classify -c shapes -e vgg16", 2, "has no vector 'vgg16'"),
    ("classify -c unlabelled", 2, "no point of 'unlabelled'/'enc' split 'train' has a label"),
    ("classify -c one-class", 2, "have a single class ('4'); a classifier needs at least two"),
    ("classify -c shapes --train-split validation", 2, "the train split 'validation' of 'shapes'/'colour.v1' has no"),
    ("classify -c shapes --k 10", 2, "k=10 neighbours are more than the 9 points each fit trains on; use -k 9"),
    ("classify -c shapes --shots 4", 2, "4 shots are more than the 3 training points of class 'blue'"),
    ("classify -c shapes --cv 7", 2, "7 folds need 7 points of each class, and class 'blue' has 6"),
    ("classify -c shapes --seeds 3", 2, "--seeds averages k-shot runs: give --shots N with it"),
    ("classify -c shapes --cv 3 --test-split test", 2, "it takes no --test-split and no --shots"),
    ("classify -c shapes --method svm --k 3", 2, "--method svm does not use it"),
    ("classify -c shapes --save {root}/model.npz", 2, "save the classifier as a .skops file"),
    ("classify -c shapes --save {root}/none/model.skops", 2, "does not exist; create it first"),
    ("classify -c shapes --k 99999999999999", 2, "1<=x<=10000"),
    ("classify -c shapes --cv 1", 2, "2<=x<=100"),
    ("classify -c shapes --method tree", 2, "'tree' is not one of"),
    ("classify --predict", 2, "--predict needs the IMAGE files to label"),
    ("classify --load {model} {image}", 2, "IMAGES are labelled with --predict"),
    ("classify --load {model}", 2, "--load needs something to do"),
    ("classify --load {model} --method svm --predict {image}", 2, "--method (which train one) cannot be given"),
    ("classify --load {model} -c shapes --predict {image}", 2, "-c names the collection to --write-labels to"),
    ("classify --load {model} -e colour.v1 --predict {image}", 2, "leave out --encoder with --load"),
    ("classify --load {model} --write-labels", 2, "--write-labels needs the collection"),
    ("classify --load {root}/none.skops --predict {image}", 2, "does not exist"),
    ("classify --load {orphan} --predict {image}", 2, "has no readable provenance orphan.json beside it"),
    ("classify --load {model} --predict {root}/missing.png", 2, "does not exist"),
    ("classify --load {model} -c one-class --write-labels", 2, "has no vector 'colour.v1'"),
]


@pytest.mark.parametrize(("line", "exit_code", "says"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_call_that_cannot_work_is_one_error_line(world, line, exit_code, says):
    args = shlex.split(line.format(**{key: str(value) for key, value in world.items()}))
    out = [] if "--load" in args else ["--out-dir", world["root"] / "out"]
    error = assert_one_error_line(invoke(*args, *out, "--qdrant", world["store"]), exit_code)
    assert says in error


def test_help_imports_neither_scikit_learn_nor_matplotlib_nor_a_model_library():
    code = ("import sys\nfrom embedkit.cli import main\ntry:\n    main(['classify', '--help'])\nexcept SystemExit:\n"
            "    pass\nprint([m for m in ('sklearn', 'matplotlib', 'torch', 'joblib') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_written_out_methods_are_the_analysis_rooms():
    from embedkit.analysis.classifiers import METHODS
    from embedkit.cli.classify import CLASSIFY_METHODS

    assert CLASSIFY_METHODS == METHODS


class Marker:
    """Unpickled, it calls `os.system` to create a file: what a crafted classifier file does."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.path}",)


def vouched_for(world, crafted):
    """A .json beside `crafted` as an embedkit classifier's, with the crafted file's SHA-256."""
    import hashlib

    provenance = json.loads(world["model"].with_suffix(".json").read_text())
    provenance["model_sha256"] = hashlib.sha256(crafted.read_bytes()).hexdigest()
    crafted.with_suffix(".json").write_text(json.dumps(provenance))


def test_a_crafted_pickle_with_a_matching_json_is_refused_without_trust_and_nothing_runs(world, tmp_path):
    import pickle

    marker = tmp_path / "ran"
    crafted = tmp_path / "evil.joblib"
    crafted.write_bytes(pickle.dumps(Marker(marker)))
    vouched_for(world, crafted)
    refused = invoke("classify", "--load", crafted, "--predict", world["image"], "--qdrant", world["store"])
    error = assert_one_error_line(refused, 1)
    assert f"{crafted} is a pickle: loading it runs whatever code it holds" in error and "pass --trust" in error
    assert not marker.exists()


def test_trust_loads_a_pickle_you_saved_and_goes_only_with_load(world, tmp_path, monkeypatch):
    import joblib

    from embedkit.analysis.classify import load_classifier

    pickled = tmp_path / "old.joblib"
    joblib.dump(load_classifier(world["model"]).estimator, pickled)
    vouched_for(world, pickled)
    monkeypatch.setattr("embedkit.encoders.rebuild.encoder_from_record", lambda record, **options: CountingEncoder("colour"))
    loaded = invoke("classify", "--load", pickled, "--trust", "--predict", world["image"], "--json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["predictions"][0]["label_name"] == "green"
    alone = invoke("classify", "-c", "shapes", "--trust", "--out", tmp_path, "--qdrant", world["store"])
    assert "--trust goes with --load FILE.joblib" in assert_one_error_line(alone, 2)


def test_a_skops_file_with_a_type_no_classifier_holds_is_refused_before_it_is_loaded(world, tmp_path, monkeypatch):
    import os

    import skops.io

    crafted = tmp_path / "evil.skops"
    skops.io.dump({"estimator": os.system}, crafted)
    vouched_for(world, crafted)
    monkeypatch.setattr("skops.io.load", lambda *args, **kwargs: pytest.fail("an untrusted type was loaded"))
    refused = invoke("classify", "--load", crafted, "--predict", world["image"], "--qdrant", world["store"])
    assert "holds types an embedkit classifier never holds" in assert_one_error_line(refused, 1)


def test_a_forest_is_saved_and_loaded_as_skops_and_a_tree_pointing_outside_itself_is_refused(world, tmp_path):
    from types import SimpleNamespace

    from embedkit.analysis.classify import load_classifier
    from embedkit.analysis.trained_classifier import _check_trees
    from embedkit.errors import UntrustedFileError

    saved = invoke("classify", "-c", "shapes", "--method", "forest", "--save", tmp_path / "forest.skops", "--out",
                   tmp_path, "--qdrant", world["store"])
    assert saved.exit_code == 0, saved.output
    forest = load_classifier(tmp_path / "forest.skops").estimator
    assert len(forest.estimators_) > 1
    tree = forest.estimators_[0].tree_
    bent = SimpleNamespace(node_count=tree.node_count, n_features=tree.n_features, value=tree.value,
                           children_left=tree.children_left.copy() + 10**6, children_right=tree.children_right,
                           feature=tree.feature)
    with pytest.raises(UntrustedFileError, match="nodes point outside it"):
        _check_trees(tmp_path / "forest.skops", SimpleNamespace(estimators_=[SimpleNamespace(tree_=bent)]))
