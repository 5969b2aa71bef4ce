"""webdataset: reads the tar shards img2dataset wrote: the images it downloaded, their captions and labels, ids
stable across runs and moves; a damaged member is skipped and listed, a truncated shard is a one-line error."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from embedkit.datasets import get_dataset
from embedkit.errors import DatasetFormatError, DatasetUnavailableError
from embedkit.images import load_image
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.manifests import CountingEncoder


def test_the_shards_img2dataset_wrote_give_its_images_captions_and_labels(made_shards):
    data = get_dataset(f"webdataset:{made_shards.webdataset}", label_field="label")
    view = data.view()
    assert len(view) == made_shards.count and data.classes == ["circle", "square"]
    assert view.counts() == {"circle": made_shards.count // 2, "square": made_shards.count // 2}
    for index in range(len(view)):
        sample = view[index]
        shard, key = sample.id.split("/")[1:]
        assert sample.source.endswith(f"{shard}::{key}")
        file = sample.payload["url"].split("/", 3)[3]  # the image img2dataset downloaded: CLASS/NNNN.png
        assert file.startswith(f"{sample.label_name}/")
        assert sample.payload["caption"] == f"a {sample.label_name} number {int(file[-8:-4])}"
        original = np.asarray(load_image(made_shards.images / file), dtype=float)
        assert np.abs(np.asarray(sample.image(), dtype=float) - original).mean() < 8  # img2dataset wrote a JPEG


def test_without_a_label_field_the_samples_are_unlabelled(made_shards):
    data = get_dataset(f"webdataset:{made_shards.webdataset}")
    assert data.classes == [] and set(data.view().labels()) == {None}


def test_ids_are_the_same_on_every_run_and_after_the_shards_move(made_shards, tmp_path):
    first = [sample.id for sample in get_dataset(f"webdataset:{made_shards.webdataset}").view()]
    again = [sample.id for sample in get_dataset(f"webdataset:{made_shards.webdataset}/*.tar").view()]
    shutil.copytree(made_shards.webdataset, tmp_path / "moved")
    moved = [sample.id for sample in get_dataset(f"webdataset:{tmp_path / 'moved'}").view()]
    assert first == again == moved and len(set(first)) == made_shards.count


def test_a_corrupt_member_is_skipped_and_listed_and_the_rest_of_its_shard_is_stored(made_shards, tmp_path):
    shards = shutil.copytree(made_shards.webdataset, tmp_path / "shards")
    with tarfile.open(shards / "00001.tar") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".jpg"))
    with open(shards / "00001.tar", "r+b") as file:  # the image's bytes spoilt in place: the tar stays whole
        file.seek(member.offset_data)
        file.write(b"\0" * member.size)
    report = ingest(f"webdataset:{shards}", CountingEncoder(), store=tmp_path / "store")
    bad = f"webdataset/00001.tar/{member.name.split('.')[0]}"
    assert report.stored == made_shards.count - 1
    assert [failure.sample_id for failure in report.failures] == [bad]
    assert "00001.tar::" in report.failures[0].source


def test_a_truncated_shard_is_a_one_line_error_naming_it(made_shards, tmp_path):
    shards = shutil.copytree(made_shards.webdataset, tmp_path / "shards")
    whole = (shards / "00002.tar").read_bytes()
    (shards / "00002.tar").write_bytes(whole[: len(whole) // 2 + 100])
    with pytest.raises(DatasetFormatError, match="00002.tar is truncated") as error:
        get_dataset(f"webdataset:{shards}")
    assert "\n" not in str(error.value)


def test_a_fifo_among_the_shards_is_skipped_with_a_note_and_one_named_alone_is_refused(made_shards, tmp_path):
    import os

    shards = shutil.copytree(made_shards.webdataset, tmp_path / "shards")
    os.mkfifo(shards / "stuck.tar")
    dataset = get_dataset(f"webdataset:{shards}")  # would block for ever if the FIFO were opened
    assert len(dataset.view()) == made_shards.count
    assert any("skipped 1 special file(s)" in note and "stuck.tar" in note for note in dataset.notes)
    with pytest.raises(DatasetUnavailableError, match="stuck.tar is a FIFO, not a regular file") as error:
        get_dataset(f"webdataset:{shards / 'stuck.tar'}")
    assert "\n" not in str(error.value)


def test_a_glob_that_names_no_shard_says_what_to_pass(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="names no .tar file"):
        get_dataset(f"webdataset:{tmp_path}/*.tar")


def test_an_ingest_killed_in_the_middle_of_a_shard_resumes_and_stores_every_sample_once(made_shards, tmp_path):
    store = tmp_path / "store"
    script = textwrap.dedent(f"""
        import os, signal
        from embedkit.ingestion import ingest
        from tests.support.manifests import CountingEncoder

        class Killed(CountingEncoder):
            def forward_images(self, pixels):
                if self.images_seen >= 6:  # the third batch of two: inside the second shard of five
                    os.kill(os.getpid(), signal.SIGKILL)
                return super().forward_images(pixels)

        ingest("webdataset:{made_shards.webdataset}", Killed(), store="{store}", batch_size=2, workers=0)
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300,
                            cwd=Path(__file__).parents[2])
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    rest = ingest(f"webdataset:{made_shards.webdataset}", CountingEncoder(), store=store, batch_size=2)
    assert 0 < rest.already_stored < made_shards.count
    assert rest.already_stored + rest.stored == made_shards.count
    whole = ingest(f"webdataset:{made_shards.webdataset}", CountingEncoder(), store=tmp_path / "whole")
    with open_store(store) as resumed, open_store(tmp_path / "whole") as clean:
        ids = sorted(clean.stored_ids(whole.collection, whole.vector_name))
        assert sorted(resumed.stored_ids(rest.collection, rest.vector_name)) == ids
        assert resumed.count(rest.collection) == made_shards.count
        np.testing.assert_allclose(resumed.get_vectors(rest.collection, rest.vector_name, ids),
                                   clean.get_vectors(whole.collection, whole.vector_name, ids), atol=1e-6)
