"""The records of a bench run: query-time settings (`QuerySpec`) apart from build-time ones (`BuildSpec`), merged
once into the run's spec; a field of either given as a keyword of `bench` is refused with how to pass it."""

from __future__ import annotations

import re

import pytest

from embedkit.bench import BuildSpec, QuerySpec, bench
from embedkit.bench.run import run_spec
from embedkit.errors import InvalidOptionError


def test_split_given_either_way_is_the_run_s_and_tasks_are_checked_and_put_in_order():
    spec = run_spec("test", 100, QuerySpec(seed=3, tasks=("clustering", "knn")), BuildSpec(workers=0), {"device": "cpu"})
    assert (spec.split, spec.limit, spec.seed, spec.build.workers) == ("test", 100, 3, 0)
    assert spec.tasks == ("knn", "clustering") and dict(spec.encoder_options) == {"device": "cpu"}
    assert run_spec(None, None, QuerySpec(split="train"), BuildSpec(), {}).split == "train"
    assert run_spec("train", None, QuerySpec(split="train"), BuildSpec(), {}).split == "train"
    with pytest.raises(InvalidOptionError, match="differ"):
        run_spec("test", None, QuerySpec(split="train"), BuildSpec(), {})
    with pytest.raises(InvalidOptionError, match="unknown task"):
        run_spec(None, None, QuerySpec(tasks=("knn", "nearest")), BuildSpec(), {})


@pytest.mark.parametrize("keyword, record", [("workers", "build=BuildSpec(workers=...)"),
                                             ("through_store", "query=QuerySpec(through_store=...)")])
def test_a_spec_field_given_as_a_keyword_is_refused_with_the_record_to_use(tmp_path, keyword, record):
    with pytest.raises(InvalidOptionError, match=re.escape(record)):
        bench(["fashion-mnist"], ["mobilenet_v2.random"], store=tmp_path / "store", out_dir=tmp_path / "out",
              **{keyword: 0})
    assert not (tmp_path / "out").exists()
