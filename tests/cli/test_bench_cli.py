"""`embedkit bench` and `bench report` as a newcomer meets them: a bare run is quick and says so, --json
prints one document shaped like the result files, and the tables keep what matters at 80 columns."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from click.testing import CliRunner
from rich.console import Console

import embedkit.cli.bench as bench_module
from embedkit.cli import main
from tests.bench.test_report import result
from tests.support.photos import PER_CLASS, make_photo_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory, photos):
    return make_photo_folder(tmp_path_factory.mktemp("bench-cli") / "photos", photos, corrupt=False)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def small_bench(folder, tmp_path, *args):
    return invoke("bench", "-d", f"folder:{folder}", "-e", "mobilenet_v2.random", "--image-size", 32, "--workers", 0,
                  "--qdrant", tmp_path / "store", "--out-dir", tmp_path / "out", *args)


def words(text: str) -> str:
    """`text` with every run of spaces and line breaks (a wrapped title) made one space."""
    return " ".join(text.split())


def test_a_bare_bench_uses_the_quick_limit_and_full_or_limit_replace_it(monkeypatch, tmp_path):
    calls = []

    def bench(datasets, encoders, **kwargs):
        calls.append(kwargs)
        return [], []

    monkeypatch.setattr("embedkit.bench.run.bench", bench)
    for args in ((), ("--full",), ("--limit", 5)):
        assert invoke("bench", "--qdrant", tmp_path / "store", *args).exit_code == 0
    assert [call["limit"] for call in calls] == [bench_module.QUICK_LIMIT, None, 5]
    both = invoke("bench", "--full", "--limit", 5)
    assert both.exit_code == 2 and "--full" in both.stderr and "--limit" in both.stderr


def test_a_quick_run_says_what_it_left_out_in_the_table_the_json_and_how_to_run_it_all(folder, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.setattr(bench_module, "QUICK_LIMIT", 11)
    quick = small_bench(folder, tmp_path)
    assert quick.exit_code == 0, quick.output
    assert "leave-one-out (all splits, first 11): 11 queries" in words(quick.stdout) and "None" not in quick.stdout
    note = words(quick.stderr)
    assert "quick run: the first 11 samples" in note and "--full" in note and f"{2 * PER_CLASS:,} samples" in note
    assert "at this run's images/s" in note
    (written,) = (tmp_path / "out").glob("*.json")
    dataset = json.loads(written.read_text())["provenance"]["dataset"]
    assert (dataset["limit"], dataset["count"], dataset["available"]) == (11, 11, [2 * PER_CLASS])

    full = small_bench(folder, tmp_path, "--full")
    assert full.exit_code == 0, full.output
    assert f"leave-one-out (all splits): {2 * PER_CLASS} queries" in words(full.stdout)
    assert "quick run" not in full.stderr


def test_json_prints_one_document_with_the_result_files_rows_and_no_table(folder, tmp_path):
    ran = small_bench(folder, tmp_path, "--queries", 5, "--json")
    assert ran.exit_code == 0, ran.output
    document = json.loads(ran.stdout)
    (written,) = (tmp_path / "out").glob("*.json")
    assert document["results"] == [json.loads(written.read_text())]
    assert document["failures"] == [] and document["out"] == str(tmp_path / "out")
    assert "┏" not in ran.stdout + ran.stderr

    report = invoke("bench", "report", tmp_path / "out", "--json", "--plot", tmp_path / "bench.png")
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout) == {"results": document["results"]}
    assert "saved" in report.stderr and (tmp_path / "bench.png").exists()
    both = invoke("bench", "report", tmp_path / "out", "--json", "--markdown")
    assert both.exit_code == 2 and "--json" in both.stderr


def test_a_failed_pair_is_listed_in_the_json_and_on_stderr(folder, tmp_path):
    shutil.copytree(folder / "cat", tmp_path / "one-class" / "cat")
    ran = invoke("bench", "-d", f"folder:{tmp_path / 'one-class'}", "-e", "mobilenet_v2.random", "--image-size", 32,
                 "--workers", 0, "--qdrant", tmp_path / "store", "--out-dir", tmp_path / "out", "--json")
    assert ran.exit_code == 1
    (failure,) = json.loads(ran.stdout)["failures"]
    assert failure["encoder"] == "mobilenet_v2.random" and "single class" in failure["error"]
    assert "single class" in ran.stderr


def test_a_misspelt_encoder_is_refused_before_any_work(tmp_path):
    ran = invoke("bench", "-d", "fashion-mnist", "-e", "mobilenet_v2.random,resnet5O", "--qdrant", tmp_path / "store",
                 "--out-dir", tmp_path / "out")
    assert ran.exit_code != 0 and "resnet5O" in ran.stderr and ran.stderr.count("\n") == 1
    assert not (tmp_path / "store").exists() and not (tmp_path / "out").exists()


def rendered(results, width):
    console = Console(width=width, file=io.StringIO(), force_terminal=False, color_system=None)
    bench_module.render(results, console)
    return console.file.getvalue()


def test_at_80_columns_the_tables_keep_the_whole_encoder_names_and_the_headline_metrics():
    names = ["efficientnet_lite0.imagenet1k", "mobilenet_v2.random-32px", "densenet121.random"]
    results = [result(name, 0.7 - i / 10, limit=2000, store=True) for i, name in enumerate(names)]
    results[0]["images_per_second"] = 23.4
    narrow = rendered(results, 80)
    lines = narrow.splitlines()
    assert max(map(len, lines)) <= 80
    for name in [*names, "random (expected)"]:
        assert any(name in line for line in lines), name
    header = next(line for line in lines if "mAP@5" in line)
    assert "P@10" in header and "AP" in header.replace("mAP@5", "")
    assert "not shown at 80 columns: img/s, dim" in narrow and "--json" in narrow

    wide = rendered(results, 150)
    assert "not shown" not in wide and "img/s" in wide and "MAP@R" in wide and "R@10" in wide


def test_a_column_without_any_value_is_left_out():
    table = rendered([result("a", 0.7), result("b", 0.6)], 150)
    assert "img/s" not in table and "R@10" not in table and "MAP@R" in table


def test_the_progress_bar_keeps_the_count_the_speed_and_the_time_left_at_80_columns():
    from embedkit.cli.progress import JobProgress
    from embedkit.ingestion import IngestProgress

    console = Console(width=80, file=io.StringIO(), force_terminal=True, color_system=None)
    clock = iter(range(0, 1000, 10))
    job = JobProgress("bench", "images", console=console, clock=lambda: float(next(clock)))
    progress = bench_module.EncodingProgress(job)
    progress("fashion-mnist", "efficientnet_lite0.imagenet1k", None, IngestProgress(total=70000, to_encode=70000))
    progress("fashion-mnist", "efficientnet_lite0.imagenet1k", None, IngestProgress(total=70000, to_encode=70000,
                                                                                     encoded=1234))
    (task,) = job.bar.tasks
    assert (task.total, task.completed) == (70000, 1234)
    console.print(job.bar.make_tasks_table(job.bar.tasks))
    (line,) = console.file.getvalue().splitlines()
    assert line.startswith("bench: encoding eff") and " 1234/70000 " in line
    assert "images/s" in line and "left" in line  # the speed and the time left, whole
    progress("fashion-mnist", "efficientnet_lite0.imagenet1k", None, IngestProgress(total=70000, to_encode=70000,
                                                                                     encoded=70000))
    assert job.title() == "bench: measuring efficientnet_lite0.imagenet1k, fashion-mnist" and job.left_text() == ""
    progress("fashion-mnist", "pixels", "train", IngestProgress(total=60000, to_encode=10, encoded=3))
    assert job.title() == "bench: encoding pixels, fashion-mnist train"
    progress("fashion-mnist", "pixels", "train", IngestProgress(total=60000, to_encode=10, encoded=10))
    assert job.title() == "bench: measuring pixels, fashion-mnist"  # test against train: not the split encoded last
