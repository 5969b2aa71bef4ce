"""Tables and plots of bench results, from the results in memory or from their JSON files."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embedkit.errors import InvalidOptionError, first_line

COLUMNS = (("map@5", "mAP@5"), ("p@10", "P@10"), ("ap", "AP"), ("map@r", "MAP@R"), ("recall@10", "R@10"))
RESULT_KEYS = ("dataset", "encoder", "protocol", "metrics", "query_split", "gallery_split", "dim", "queries")


def load_results(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Result dicts from bench's JSON files, or from those among the *.json of the folders given (other JSON
    files in a folder are passed over); InvalidOptionError when there are none or a file named is not one."""
    results = []
    for path in map(Path, paths):
        if path.is_dir():
            found = [result for file in sorted(path.glob("*.json")) if (result := _read_result(file, named=False))]
            results += found
        else:
            results.append(_read_result(path, named=True))
    if not results:
        raise InvalidOptionError(f"no bench result in {', '.join(map(str, paths))}; `embedkit bench --out DIR` "
                                 f"writes one JSON per dataset x encoder pair there")
    return results


def _read_result(file: Path, named: bool) -> dict[str, Any] | None:
    try:
        document = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        if not named:
            return None
        raise InvalidOptionError(f"{file} is not JSON ({first_line(error)}); pass bench result files "
                                 f"(`embedkit bench --out DIR` writes them)") from error
    lacking = [key for key in RESULT_KEYS if not isinstance(document, dict) or key not in document]
    if not lacking:
        return document
    if named:
        raise InvalidOptionError(f"{file} is not a bench result (it has no {', '.join(lacking)}); pass files "
                                 f"that `embedkit bench --out DIR` wrote")
    return None


def rows(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per result, then one random-baseline row per dataset and protocol."""
    out = []
    baselines: dict[tuple, dict[str, Any]] = {}
    for result in sorted(results, key=lambda r: (r["dataset"], r["protocol"], -r["metrics"]["map@5"])):
        splits = result["gallery_split"] if result["protocol"] == "leave-one-out" else \
            f"{result['query_split']} vs {result['gallery_split']}"
        row = {"dataset": result["dataset"], "protocol": f"{result['protocol']} ({splits})",
               "encoder": result["encoder"], "dim": result["dim"], "queries": result["queries"],
               "gallery": result["gallery"], "images_per_second": result.get("images_per_second")}
        row.update({label: result["metrics"][key] for key, label in COLUMNS})
        store = result.get("store")
        row["store_recall@10"] = store["recall@10_vs_exact"] if store else None
        row["store_p50_ms"] = store["latency_p50_ms"] if store else None
        out.append(row)
        key = (result["dataset"], row["protocol"])
        baselines.setdefault(key, {**{k: v for k, v in row.items() if k in ("dataset", "protocol", "queries", "gallery")},
                                   "encoder": "random (expected)", "dim": None, "images_per_second": None,
                                   **{label: result["random_expected"][k] for k, label in COLUMNS},
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
    headers = list(table[0])
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


def plot(results: Sequence[dict[str, Any]], path: str | Path) -> None:
    """A bar chart of mAP@5, P@10 and AP per pair, beside the mean precision-recall curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (bars, curves) = plt.subplots(1, 2, figsize=(13, 5))
    labels = [f"{r['encoder']}\n{r['dataset']}" for r in results]
    width = 0.27
    for offset, (key, label) in enumerate((("map@5", "mAP@5"), ("p@10", "P@10"), ("ap", "AP"))):
        bars.bar([i + (offset - 1) * width for i in range(len(results))], [r["metrics"][key] for r in results],
                 width, label=label)
    bars.set_xticks(range(len(results)), labels, rotation=30, ha="right", fontsize=7)
    bars.set_ylim(0, 1)
    bars.legend()
    bars.set_title("retrieval quality")
    for r in results:
        curves.plot(r["pr_curve"]["recall"], r["pr_curve"]["precision"], marker=".", label=f"{r['encoder']} ({r['dataset']})")
    curves.set_xlabel("recall")
    curves.set_ylabel("interpolated precision")
    curves.set_ylim(0, 1.02)
    curves.legend(fontsize=7)
    curves.set_title("precision-recall (mean over queries)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
