"""Reports of bench results: what the titles say was measured, and a plot whose legends cover nothing and
that draws the random ranking's baseline."""

from __future__ import annotations

import pytest

from embedkit.bench.metrics import METRICS
from embedkit.bench.report import BASELINE, describe_protocol, markdown, plot, plot_figure, rows


def result(encoder: str, score: float, dataset: str = "fashion-mnist", protocol: str = "leave-one-out",
           split: str | None = "test", limit: int | None = None, available: list[int] | None = None,
           queries: int = 2000, store: bool = False) -> dict:
    """A result dict shaped like bench's JSON files, with made-up figures."""
    splits = [split] if protocol == "leave-one-out" else ["test", "train"]
    return {
        "dataset": dataset, "encoder": encoder, "dim": 1280, "protocol": protocol,
        "query_split": split if protocol == "leave-one-out" else "test",
        "gallery_split": split if protocol == "leave-one-out" else "train", "queries": queries, "gallery": queries,
        "metrics": {name: score for name in METRICS},
        "random_expected": {**{name: 0.1 for name in METRICS}, "map@5": 0.05},
        "random_measured": {name: 0.1 for name in METRICS},
        "pr_curve": {"recall": [i / 10 for i in range(11)], "precision": [score - i * score / 20 for i in range(11)]},
        "store": {"recall@10_vs_exact": 0.999, "p@10": score, "map@5": score, "latency_p50_ms": 0.43,
                  "latency_p95_ms": 0.9} if store else None,
        "images_per_second": None,
        "provenance": {"dataset": {"name": dataset, "splits": splits, "limit": limit, "count": queries,
                                   **({"available": available} if available is not None else {})}},
    }


def test_the_protocol_says_which_splits_and_how_many_samples_were_used_never_none():
    assert describe_protocol(result("a", 0.7, split=None)) == "leave-one-out (all splits)"
    assert describe_protocol(result("a", 0.7, split="test")) == "leave-one-out (test)"
    assert describe_protocol(result("a", 0.7, split=None, limit=1000, available=[70000])) == \
        "leave-one-out (all splits, first 1000)"
    assert describe_protocol(result("a", 0.7, protocol="split", limit=2000, available=[10000, 60000])) == \
        "split (test vs train, first 2000 of each)"
    # a limit that left nothing out is not mentioned; a result file from before `available` was recorded says it
    assert describe_protocol(result("a", 0.7, split=None, limit=1000, available=[12])) == "leave-one-out (all splits)"
    assert describe_protocol(result("a", 0.7, limit=2000)) == "leave-one-out (test, first 2000)"
    assert "None" not in markdown([result("a", 0.7, split=None)])


def test_results_of_other_limits_or_query_counts_get_their_own_baseline_row():
    table = rows([result("a", 0.7, limit=2000), result("b", 0.6, limit=2000), result("a", 0.8, queries=10000)])
    baselines = [row for row in table if row["encoder"] == "random (expected)"]
    assert sorted((row["protocol"], row["queries"]) for row in baselines) == [
        ("leave-one-out (test)", 10000), ("leave-one-out (test, first 2000)", 2000)]


def several_groups() -> list[dict]:
    return [*(result(f"encoder_{i}.imagenet1k", 0.9 - i * 0.05, limit=2000, store=True) for i in range(7)),
            result("efficientnet_lite0.imagenet1k", 0.79, queries=10000),
            result("efficientnet_lite0.imagenet1k", 0.75, protocol="split", queries=1000, limit=2000)]


def test_the_plot_legends_cover_no_bar_and_the_random_baseline_is_drawn():
    from matplotlib.collections import LineCollection

    results = several_groups()
    figure = plot_figure(results)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legends = [figure.legends[0].get_window_extent(renderer)]
    legends += [axes.get_legend().get_window_extent(renderer) for axes in figure.axes if axes.get_legend()]
    assert len(legends) == 4  # one for the bars, one per row of curves
    bars = [patch.get_window_extent(renderer) for axes in figure.axes for patch in axes.patches]
    assert len(bars) == 3 * len(results)
    for legend in legends:
        assert not any(legend.overlaps(bar) for bar in bars)
        assert not any(legend.overlaps(axes.get_window_extent(renderer)) for axes in figure.axes)
    bar_axes, curve_axes = figure.axes[0::2], figure.axes[1::2]
    for axes in bar_axes:  # a mark at the random ranking's expected value on every bar
        marks = [c for c in axes.collections if isinstance(c, LineCollection) and c.get_gid() == BASELINE]
        levels = sorted({round(float(segment[0][1]), 4) for mark in marks for segment in mark.get_segments()})
        assert len(marks) == 3 and levels == [0.05, 0.1]
    for axes in curve_axes:
        assert [line.get_ydata()[0] for line in axes.lines if line.get_gid() == BASELINE] == [0.1]
    assert BASELINE in [text.get_text() for text in figure.legends[0].get_texts()]
    import matplotlib.pyplot as plt

    plt.close(figure)


@pytest.mark.parametrize("count", [1, 9])
def test_the_plot_is_saved_for_one_or_many_results(tmp_path, count):
    plot([result(f"e{i}", 0.5 + i / 50) for i in range(count)], tmp_path / "bench.png")
    assert (tmp_path / "bench.png").stat().st_size > 10_000


def test_a_bar_has_its_encoders_colour_and_the_metrics_differ_by_hatching_not_by_colour():
    from matplotlib.colors import to_hex

    figure = plot_figure(several_groups())
    bars, curves = figure.axes[0], figure.axes[1]
    colour_of = {line.get_label(): to_hex(line.get_color()) for line in curves.lines if line.get_gid() != BASELINE}
    names = [tick.get_text() for tick in bars.get_xticklabels()]
    patches = sorted(bars.patches, key=lambda patch: patch.get_x())
    for position, name in enumerate(names):
        three = patches[3 * position: 3 * position + 3]
        assert {to_hex(patch.get_facecolor()) for patch in three} == {colour_of[name]}
        assert len({patch.get_hatch() for patch in three}) == 3


def test_bench_report_skips_a_fifo_and_a_folder_named_json_in_a_results_folder_with_a_line(tmp_path, caplog):
    import json

    from click.testing import CliRunner

    from embedkit.cli import main
    from tests.support.special_files import finishes, make_fifo

    (tmp_path / "a.json").write_text(json.dumps(result("resnet50", 0.5)))
    make_fifo(tmp_path / "fifo.json")
    (tmp_path / "dir.json").mkdir()
    report = finishes(lambda: CliRunner().invoke(main, ["bench", "report", str(tmp_path), "--json"]))
    assert report.exit_code == 0, report.output
    assert [r["encoder"] for r in json.loads(report.stdout)["results"]] == ["resnet50"]
    assert sorted(record.getMessage() for record in caplog.records) == [  # the CLI shows warnings on stderr
        f"skipped {tmp_path / 'dir.json'}: a folder", f"skipped {tmp_path / 'fifo.json'}: a FIFO"]
    named = finishes(lambda: CliRunner().invoke(main, ["bench", "report", str(tmp_path / "fifo.json")]))
    assert named.exit_code == 2 and named.output.strip().splitlines() == [
        f"error: {tmp_path / 'fifo.json'} is a FIFO, not a regular file; pass bench result files "
        f"(`embedkit bench --out DIR` writes them)"]
