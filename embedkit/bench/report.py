"""Tables and plots of bench results, from the results in memory or from their JSON files."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embedkit.errors import InvalidOptionError, first_line
from embedkit.special_files import SpecialFileError, read_regular_text

log = logging.getLogger(__name__)

COLUMNS = (("map@5", "mAP@5"), ("p@10", "P@10"), ("ap", "AP"), ("map@r", "MAP@R"), ("recall@10", "R@10"))
OPTIONAL_COLUMNS = (("hit@10", "hit@10"),)
"""Metrics results written before they existed lack: shown as "-" there."""
RESULT_KEYS = ("dataset", "encoder", "protocol", "metrics", "query_split", "gallery_split", "dim", "queries",
               "gallery", "random_expected")


def load_results(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Result dicts from bench's JSON files, or from those among the *.json of the folders given (other JSON
    files in a folder are passed over, and a FIFO, device or folder named *.json is skipped with a warning, never
    opened); InvalidOptionError when there are none or a file named is not one."""
    results = []
    for path in map(Path, paths):
        if path.is_dir():
            found = [result for file in sorted(path.glob("*.json")) if (result := _read_result(file, named=False))]
            results += found
        else:
            results.append(_read_result(path, named=True))
    if not results:
        raise InvalidOptionError(f"no bench result in {', '.join(map(str, paths))}; `embedkit bench --out-dir DIR` "
                                 f"writes one JSON per dataset x encoder pair there")
    return results


def _read_result(file: Path, named: bool) -> dict[str, Any] | None:
    try:
        document = json.loads(read_regular_text(file))
    except SpecialFileError as error:
        if not named:
            log.warning("skipped %s: %s", file, error.kind)
            return None
        raise InvalidOptionError(f"{error}; pass bench result files (`embedkit bench --out DIR` writes them)") \
            from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        if not named:
            return None
        raise InvalidOptionError(f"{file} is not JSON ({first_line(error)}); pass bench result files "
                                 f"(`embedkit bench --out-dir DIR` writes them)") from error
    problem = shape_problem(document)
    if problem is None:
        return document
    if named:
        raise InvalidOptionError(f"{file} is not a bench result ({problem}); pass files that `embedkit bench "
                                 f"--out DIR` wrote")
    return None


def shape_problem(document: Any) -> str | None:
    """What keeps a JSON document from being read as a bench result; None when nothing does."""
    if not isinstance(document, dict):
        return "it is not a JSON object"
    lacking = [key for key in RESULT_KEYS if key not in document]
    if lacking:
        return f"it has no {', '.join(lacking)}"
    wrong = [key for key, kinds in (("dataset", str), ("encoder", str), ("protocol", str), ("dim", int),
                                    ("queries", int), ("gallery", int), ("query_split", (str, type(None))),
                                    ("gallery_split", (str, type(None))), ("store", (dict, type(None))),
                                    ("provenance", dict)) if key in document and not isinstance(document[key], kinds)]
    wrong += [key for key in ("metrics", "random_expected") if not _numbers(document[key], [k for k, _ in COLUMNS])]
    if document.get("store") and not _numbers(document["store"], ["recall@10_vs_exact", "latency_p50_ms"]):
        wrong.append("store")
    dataset = document.get("provenance", {}).get("dataset", {})
    if not isinstance(dataset, dict) or not isinstance(dataset.get("limit"), (int, type(None))) or \
            not isinstance(dataset.get("available", []), list) or not _numbers(dataset.get("available", []), []):
        wrong.append("provenance")
    return f"unexpected {', '.join(dict.fromkeys(wrong))}" if wrong else None


def _numbers(values: Any, keys: list[str]) -> bool:
    """Whether `values` is a dict with numbers under `keys` (or a list of numbers, when it is a list)."""
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if isinstance(values, list):
        return all(map(number, values))
    return isinstance(values, dict) and all(number(values.get(key)) for key in keys)


def limit_cut(result: dict[str, Any]) -> int | None:
    """The --limit of a result when it left samples out (None: every sample of its splits was used)."""
    dataset = result.get("provenance", {}).get("dataset", {})
    limit, available = dataset.get("limit"), dataset.get("available")
    if limit is None or (available is not None and all(count <= limit for count in available)):
        return None
    return limit


def describe_protocol(result: dict[str, Any]) -> str:
    """What was measured, in words: `leave-one-out (test)`, `leave-one-out (all splits, first 1000)`,
    `split (test vs train, first 2000 of each)`."""
    leave_one_out = result["protocol"] == "leave-one-out"
    splits = (result["gallery_split"] or "all splits") if leave_one_out else \
        f"{result['query_split']} vs {result['gallery_split']}"
    limit = limit_cut(result)
    if limit is not None:
        splits += f", first {limit}" + ("" if leave_one_out else " of each")
    return f"{result['protocol']} ({splits})"


def ordered(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results as the tables show them: by dataset, protocol and number of queries, best mAP@5 first."""
    return sorted(results, key=lambda r: (r["dataset"], describe_protocol(r), r["queries"], -r["metrics"]["map@5"]))


def rows(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per result, then one random-baseline row per dataset, protocol and number of queries."""
    out = []
    baselines: dict[tuple, dict[str, Any]] = {}
    for result in ordered(results):
        row = {"dataset": result["dataset"], "protocol": describe_protocol(result),
               "encoder": result["encoder"], "dim": result["dim"], "queries": result["queries"],
               "gallery": result["gallery"], "images_per_second": result.get("images_per_second")}
        row.update({label: result["metrics"][key] for key, label in COLUMNS})
        row.update({label: result["metrics"].get(key) for key, label in OPTIONAL_COLUMNS})
        store = result.get("store")
        row["store_recall@10"] = store["recall@10_vs_exact"] if store else None
        row["store_p50_ms"] = store["latency_p50_ms"] if store else None
        out.append(row)
        for method, variant in (result.get("reranks") or {}).items():
            if method != "none" and isinstance(variant, dict) and _numbers(variant.get("metrics"), [k for k, _ in COLUMNS]):
                out.append({**row, "encoder": f"{result['encoder']} + {method}", "images_per_second": None,
                            **{label: variant["metrics"][k] for k, label in COLUMNS},
                            **{label: variant["metrics"].get(k) for k, label in OPTIONAL_COLUMNS},
                            "store_recall@10": None, "store_p50_ms": None})
        key = (result["dataset"], row["protocol"], result["queries"])
        baselines.setdefault(key, {**{k: v for k, v in row.items() if k in ("dataset", "protocol", "queries", "gallery")},
                                   "encoder": "random (expected)", "dim": None, "images_per_second": None,
                                   **{label: result["random_expected"][k] for k, label in COLUMNS},
                                   **{label: result["random_expected"].get(k) for k, label in OPTIONAL_COLUMNS},
                                   "store_recall@10": None, "store_p50_ms": None})
    return out + list(baselines.values())


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if value <= 1 else f"{value:.1f}"
    return str(value)


def markdown(results: Sequence[dict[str, Any]]) -> str:
    table = rows(results)
    if not table:
        return "(no results)\n"
    headers = [h for h in table[0] if any(row[h] is not None for row in table)]  # a column of "-" says nothing
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(row[h]) for h in headers) + " |" for row in table]
    return "\n".join(lines) + "\n"


def write_summaries(results: Sequence[dict[str, Any]], out_dir: Path) -> None:
    (out_dir / "summary.md").write_text(markdown(results))
    table = rows(results)
    with open(out_dir / "summary.csv", "w", newline="") as handle:
        if table:
            writer = csv.DictWriter(handle, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)


BAR_METRICS = (("map@5", "mAP@5"), ("p@10", "P@10"), ("ap", "AP"))
BASELINE = "random ranking (expected)"
"""The label (and the gid) of the random baseline's marks in the plot."""


def plot_figure(results: Sequence[dict[str, Any]]) -> Any:
    """The matplotlib Figure of `plot`: one row per dataset, protocol and number of queries, with bars of
    mAP@5, P@10 and AP per encoder (the random ranking's expected value marked on each bar) beside the mean
    precision-recall curves; the legends outside the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for result in ordered(results):
        groups.setdefault((result["dataset"], describe_protocol(result), result["queries"]), []).append(result)
    encoders = list(dict.fromkeys(r["encoder"] for r in ordered(results)))
    colours = plt.get_cmap("tab10" if len(encoders) <= 10 else "tab20")
    widest = max(map(len, groups.values()))
    bar_inches = max(3.5, 0.55 * widest + 2.5)
    figure, axes = plt.subplots(len(groups), 2, figsize=(bar_inches + 8, 4.8 * len(groups) + 0.4), squeeze=False,
                                layout="constrained", width_ratios=(bar_inches, 5))
    for (bars, curves), ((dataset, protocol, queries), members) in zip(axes, groups.items()):
        _bars(bars, members, widest, lambda name: colours(encoders.index(name) % colours.N))
        bars.set_title(f"{dataset}, {protocol}\n{queries} queries", fontsize=10)
        for r in members:
            curves.plot(r["pr_curve"]["recall"], r["pr_curve"]["precision"], marker=".", label=r["encoder"],
                        color=colours(encoders.index(r["encoder"]) % colours.N))
        # a random ranking's expected precision is R/N at every rank, hence at every recall
        curves.axhline(members[0]["random_expected"]["p@1"], color="black", linewidth=1.2, linestyle="--",
                       label=BASELINE, gid=BASELINE)
        curves.set_xlabel("recall")
        curves.set_ylabel("interpolated precision")
        curves.set_ylim(0, 1.02)
        curves.set_title("precision-recall (mean over the queries)", fontsize=10)
        curves.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    from matplotlib.patches import Patch

    handles, labels = axes[0][0].get_legend_handles_labels()  # the baseline's mark
    keys = [Patch(facecolor="lightgrey", edgecolor="dimgrey", hatch=hatch)  # hatching, in no encoder's colour
            for hatch in METRIC_HATCHES]
    figure.legend(keys + handles, [label for _, label in BAR_METRICS] + labels, loc="outside lower center", ncol=4,
                  fontsize=8, frameon=False)
    return figure


METRIC_HATCHES = ("", "////", "....")
"""How the bars of BAR_METRICS differ: colours are the encoders', as on the precision-recall curves."""


def _bars(axes: Any, members: Sequence[dict[str, Any]], slots: int, colour: Any) -> None:
    """Three bars per encoder in `slots` places (the same width of bar in every row), each in the encoder's
    `colour(name)` and told apart by its hatching, the baseline on each."""
    width = 0.27
    for offset, (key, label) in enumerate(BAR_METRICS):
        xs = [i + (offset - 1) * width for i in range(len(members))]
        axes.bar(xs, [r["metrics"][key] for r in members], width, color=[colour(r["encoder"]) for r in members],
                 edgecolor="white", hatch=METRIC_HATCHES[offset])
    for offset, (key, _) in enumerate(BAR_METRICS):
        xs = [i + (offset - 1) * width for i in range(len(members))]
        chance = axes.hlines([r["random_expected"][key] for r in members], [x - width / 2 for x in xs],
                             [x + width / 2 for x in xs], colors="black", linewidth=2, zorder=3,
                             label=BASELINE if offset == 0 else None)
        chance.set_gid(BASELINE)
    axes.set_xticks(range(len(members)), [r["encoder"] for r in members], rotation=30, ha="right",
                    rotation_mode="anchor", fontsize=7)
    axes.set_xlim(-0.6, slots - 0.4)
    axes.set_ylim(0, 1)
    axes.set_ylabel("mean over the queries")


PLOT_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".eps", ".ps")


def check_plot_path(path: str | Path) -> None:
    """InvalidOptionError unless `path` names a file matplotlib writes (by its suffix) in a folder that exists."""
    path = Path(path)
    if path.is_dir():
        raise InvalidOptionError(f"--plot {path} is a folder; name a file in it, e.g. {path / 'bench.png'}")
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise InvalidOptionError(f"--plot {path}: end the name with .png (or {', '.join(PLOT_SUFFIXES[1:])})")
    if not path.parent.is_dir():
        raise InvalidOptionError(f"--plot {path}: folder {path.parent} does not exist; create it first")


def check_plot(results: Sequence[dict[str, Any]], path: str | Path) -> None:
    """InvalidOptionError unless `plot` can draw `results` to `path`."""
    check_plot_path(path)
    for result in results:
        curve = result.get("pr_curve")
        if not (isinstance(curve, dict) and _numbers(curve.get("recall"), []) and _numbers(curve.get("precision"), [])
                and len(curve["recall"]) == len(curve["precision"]) and _numbers(result["random_expected"], ["p@1"])):
            raise InvalidOptionError(f"the result of {result['encoder']} on {result['dataset']} has no precision-"
                                     f"recall curve to plot; leave out --plot, or run `embedkit bench` again")


def plot(results: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Save `plot_figure` as a PNG (or another format by the suffix of `path`)."""
    import matplotlib.pyplot as plt

    check_plot(results, path)
    figure = plot_figure(results)
    figure.savefig(path, dpi=110)
    plt.close(figure)
