"""docs/plugins.md works as written: its project builds into a wheel whose entry points embedkit loads, its encoder
and dataset are listed, ingest and search, and keep the encoder contract, and what it says a user sees is what a
user sees."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

import embedkit
from embedkit.datasets import get_dataset, list_datasets
from embedkit.encoders import get_encoder, list_encoders
from embedkit.errors import SchemaMismatchError
from embedkit.plugins import ENTRY_POINT_GROUP, load_registry
from embedkit.registry import Registry
from embedkit.store import open_store
from embedkit.testing import check_encoder

DOC = Path(__file__).parents[2] / "docs" / "plugins.md"
PLUGINS = {"tiny_encoders": "embedkit_tiny.encoders", "tiny_datasets": "embedkit_tiny.datasets"}


def doc_files() -> dict[str, str]:
    """The files the page spells out: every code block whose first line is the comment `# PATH`."""
    blocks = re.finditer(r"^```\w+\n(?P<body># (?P<path>[\w/.-]+\.(?:py|toml))\n.*?)^```$", DOC.read_text(),
                         re.MULTILINE | re.DOTALL)
    return {block["path"]: block["body"] for block in blocks}


def doc_block(containing: str) -> str:
    (block,) = [body for body in re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), re.MULTILINE | re.DOTALL)
                if containing in body]
    return block


def doc_error(command: str) -> str:
    """The error line the page shows under `$ COMMAND`."""
    found = re.search(rf"^\$ {re.escape(command)}\n(error: .*)$", DOC.read_text(), re.MULTILINE)
    assert found, f"docs/plugins.md shows no error for `{command}`"
    return found[1]


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory) -> Path:
    """The page's project, with weights of its own, built into a wheel and unpacked into a folder: installed as pip
    would install it, but only for the processes that look in that folder."""
    project = tmp_path_factory.mktemp("embedkit-tiny")
    for path, text in doc_files().items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    (project / "embedkit_tiny" / "__init__.py").write_text("")  # the page's layout: empty
    namespace: dict[str, object] = {"__file__": str(project / "embedkit_tiny" / "encoders.py")}
    exec(compile((project / "embedkit_tiny" / "encoders.py").read_text(), "encoders.py", "exec"), namespace)
    with torch.random.fork_rng():
        torch.manual_seed(1)  # trained weights, as far as the test can tell: not the random ones
        torch.save(namespace["network"]().state_dict(), project / "embedkit_tiny" / "tiny_cnn_v1.pt")
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(dist), str(project)], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("*.whl")
    site = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(site)
    return site


@pytest.fixture
def fresh_registries(monkeypatch, fresh_plugins) -> None:
    """Encoder and dataset registries filled afresh, on first use, from the plugins the test's environment loads."""
    monkeypatch.setattr("embedkit.encoders.ENCODERS",
                        Registry("encoder", lambda registry: load_registry("register_encoders", registry)))
    monkeypatch.setattr("embedkit.datasets.DATASETS",
                        Registry("dataset", lambda registry: load_registry("register_datasets", registry)))


@pytest.fixture
def tiny_plugin(tiny_site, monkeypatch, fresh_registries):
    """The page's plugins installed and loaded ($EMBEDKIT_LOAD_PLUGINS names them); the module that registers
    tiny_cnn is returned."""
    monkeypatch.syspath_prepend(str(tiny_site))
    monkeypatch.setenv("EMBEDKIT_LOAD_PLUGINS", ",".join(PLUGINS))
    yield lambda: importlib.import_module("embedkit_tiny.encoders")
    for name in [name for name in sys.modules if name.startswith("embedkit_tiny")]:
        del sys.modules[name]


def test_the_documented_project_builds_a_wheel_that_declares_both_plugins(tiny_site):
    (distribution,) = importlib.metadata.distributions(path=[str(tiny_site)])
    declared = {entry.name: entry.value for entry in distribution.entry_points if entry.group == ENTRY_POINT_GROUP}
    assert declared == PLUGINS
    assert (tiny_site / "embedkit_tiny" / "tiny_cnn_v1.pt").is_file()  # the weights travel as package data


def test_the_documented_encoder_module_imports_no_torch(tiny_site):
    code = "import sys, embedkit_tiny.encoders; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(tiny_site)})
    assert result.returncode == 0, result.stderr


def test_the_documented_encoder_and_dataset_are_listed_and_built_by_every_name(tiny_plugin):
    (entry,) = list_encoders("tiny*")
    assert (entry.name, entry.plugin, entry.info["weights_available"]()) == ("tiny_cnn.v1", "tiny_encoders", True)
    (dataset,) = list_datasets("shap*")
    assert (dataset.name, dataset.plugin) == ("shapes", "tiny_datasets")

    pretrained = get_encoder("tiny_cnn", device="cpu")
    assert (pretrained.vector_name, pretrained.record.weights) == ("tiny_cnn.v1", "v1")
    assert pretrained.record.weights_sha256 is not None
    assert get_encoder("tiny_cnn.random", device="cpu").vector_name == "tiny_cnn.random"
    assert get_encoder("tiny_cnn", weights="none", device="cpu").vector_name == "tiny_cnn.random"
    small = get_encoder("tiny-cnn", image_size=32, device="cpu")
    assert (small.vector_name, small.record.preprocessing.crop) == ("tiny_cnn.v1-32px", 32)
    assert get_encoder("tiny_cnn.v1-32px", device="cpu").record == small.record
    checkpoint = tiny_plugin().WEIGHTS
    assert get_encoder("tiny_cnn", weights=str(checkpoint), device="cpu").vector_name.startswith("tiny_cnn.ckpt-")

    shapes = get_dataset("shapes", size=4)
    assert (len(shapes), shapes.classes, shapes.splits) == (8, ["circle", "square", "triangle"], ("train", "test"))
    sample = shapes.view("test")[2]
    assert (sample.id, sample.label_name, sample.image().size) == ("shapes/test/00002", "triangle", (96, 96))


@pytest.mark.parametrize("name", ["tiny_cnn.v1", "tiny_cnn.random-32px"])
def test_the_documented_encoder_keeps_the_encoder_contract(tiny_plugin, name):
    outcomes = check_encoder(get_encoder(name, device="cpu"))
    assert {check for check, outcome in outcomes.items() if outcome != "passed"} == {"texts"}


def test_the_documented_plugin_ingests_its_dataset_and_searches_it(tiny_plugin, tmp_path):
    with open_store(tmp_path / "store") as store:
        report = embedkit.ingest("shapes", "tiny_cnn", split="train", limit=9, batch_size=4, workers=2, store=store,
                                 device="cpu")
        assert (report.collection, report.vector_name, report.stored, report.failures) == ("shapes", "tiny_cnn.v1",
                                                                                            9, [])
        by_id = embedkit.search("shapes", sample_id="shapes/train/00000", k=3, store=store)
        assert len(by_id.hits) == 3 and "shapes/train/00000" not in [hit.sample_id for hit in by_id.hits]
        circle = get_dataset("shapes").view("train")[3].image()  # a query image, created again from the record
        assert embedkit.search("shapes", image=circle, k=1, store=store).hits[0].sample_id == "shapes/train/00003"


def test_a_changed_preprocessing_is_refused_with_the_errors_the_docs_show(tiny_plugin, tmp_path, monkeypatch):
    module = tiny_plugin()
    with open_store(tmp_path / "store") as store:
        embedkit.ingest("shapes", "tiny_cnn.random", split="train", limit=6, workers=0, store=store, device="cpu")
        first_record = module.record

        def resized_to_72(tag="v1", image_size=None):  # the plugin's next version: resize to 72, then crop 64
            record = first_record(tag, image_size)
            return record.replace(preprocessing=dataclasses.replace(record.preprocessing, resize=72))

        monkeypatch.setattr(module, "record", resized_to_72)
        with pytest.raises(SchemaMismatchError) as refused:
            embedkit.ingest("shapes", "tiny_cnn.random", split="train", limit=6, workers=0, store=store, device="cpu")
        assert f"error: {refused.value}" == doc_error("embedkit ingest shapes --encoder tiny_cnn.random")
        with pytest.raises(SchemaMismatchError) as refused:
            embedkit.search("shapes", image=get_dataset("shapes").view("test")[0].image(), store=store, device="cpu")
        assert f"error: {refused.value}" == doc_error("embedkit search -c shapes --image circle.png")


def test_the_documented_contract_tests_pass_on_the_plugin(tiny_site, tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_contract.py").write_text(doc_files()["tests/test_contract.py"])
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_contract.py"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(tiny_site), "EMBEDKIT_LOAD_PLUGINS": ",".join(PLUGINS)})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "20 passed, 2 skipped in" in result.stdout  # two encoders, neither of which embeds text; no warnings


def test_an_option_the_factory_does_not_take_is_the_one_line_error_the_docs_show(install_plugin, run_embedkit,
                                                                                  photo_files):
    path = install_plugin("mean_colour", doc_block("class MeanColour(Encoder)"))
    result = run_embedkit("embed", photo_files["cat"], "--encoder", "mean-colour", "--image-size", "32", path=path,
                          load="mean_colour")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == doc_error("embedkit embed cat.jpg --encoder mean-colour --image-size 32")


def test_the_store_backend_of_the_page_opens_its_urls_as_the_built_ins_open_theirs(tmp_path, monkeypatch,
                                                                                   fresh_plugins):
    import types

    from embedkit.errors import InvalidOptionError
    from embedkit.plugins import plugin_manager

    plugin = types.ModuleType("embedkit_edge_url")
    exec(doc_block("def register_stores"), plugin.__dict__)
    monkeypatch.setattr("embedkit.store.location.STORES",
                        Registry("store backend", lambda registry: load_registry("register_stores", registry)))
    plugin_manager().register(plugin, name="edge_url")
    with open_store(f"edge://{tmp_path / 'vectors'}") as store:
        assert type(store).__name__ == "EdgeURLStore" and store.location == str(tmp_path / "vectors")
        assert store.capabilities.embedded and not store.capabilities.remote
    with pytest.raises(InvalidOptionError) as refused:
        open_store("s3://bucket/vectors")
    assert ("is a URL of scheme s3://, which embedkit does not read; give a folder, edge://PATH, a Qdrant server "
            "http(s)://HOST:PORT, :memory: or local:PATH") in str(refused.value)
    assert " ".join(str(refused.value).split("'s3://bucket/vectors' ")[1:]) in " ".join(DOC.read_text().split())
