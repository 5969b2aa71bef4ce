"""The tables of the tasks `embedkit bench --tasks` scores beside retrieval: one per task and dataset, with the
baseline chance gives as a dimmed row."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from embedkit.bench.report import ordered

CLASSIFICATION_COLUMNS = (("accuracy", "accuracy"), ("± std", "accuracy_std"), ("macro-F1", "macro_f1"),
                          ("train acc.", "train_accuracy"))
CLUSTERING_COLUMNS = (("NMI", "nmi"), ("NMI ± std\nover seeds", "nmi_spread"), ("ARI", "ari"),
                      ("silhouette", "silhouette"))
TITLES = {"knn": "kNN classification (cosine, distance-weighted)",
          "linear": "linear probe (logistic regression)", "clustering": "k-means, one cluster per label"}


def render_tasks(results: list[dict[str, Any]], console: Console) -> None:
    """A table for each task the results hold, per dataset, its rows in the order of the retrieval tables; the
    errors of tasks that could not run, below."""
    errors = []
    for task in TITLES:
        by_dataset: dict[str, list[dict[str, Any]]] = {}
        for result in ordered(results) if all("map@5" in r.get("metrics", {}) for r in results) else results:
            if task in result.get("tasks", {}):
                by_dataset.setdefault(result["dataset"], []).append(result)
        for dataset, members in by_dataset.items():
            columns = CLUSTERING_COLUMNS if task == "clustering" else CLASSIFICATION_COLUMNS
            scored = [(r["encoder"], r["tasks"][task]) for r in members if "error" not in r["tasks"][task]]
            columns = tuple(c for c in columns if any(s.get(c[1]) is not None for _, s in scored))  # no column of "-"
            errors += [f"{dataset} x {r['encoder']}, {task}: {r['tasks'][task]['error']}" for r in members
                       if "error" in r["tasks"][task]]
            if not scored:
                continue
            protocol = scored[0][1].get("protocol", f"{scored[0][1].get('points', '?')} points")
            table = Table(title=f"{dataset}, {TITLES[task]}: {protocol}")
            table.add_column("encoder", overflow="fold")
            for heading, _ in columns:
                table.add_column(heading, justify="right", no_wrap=True)
            for encoder, scores in scored:
                table.add_row(encoder, *(_cell(_score(scores, key)) for _, key in columns))
            baselines = {encoder: scores["baseline"] for encoder, scores in scored}
            if len({tuple(_cell(_score(b, key)) for _, key in columns) for b in baselines.values()}) == 1:
                baseline = next(iter(baselines.values()))
                table.add_row(baseline["name"], *(_cell(_score(baseline, key)) for _, key in columns), style="dim")
            else:  # chance depends on each encoder's vectors (a random clustering's silhouette): one row each
                for encoder, baseline in baselines.items():
                    table.add_row(f"{baseline['name']}, {encoder}", *(_cell(_score(baseline, key)) for _, key in columns),
                                  style="dim")
            console.print(table)
    for line in errors:
        console.print(f"[yellow]task not scored:[/] {line}", highlight=False)


def _score(scores: dict[str, Any], key: str) -> Any:
    if key.endswith("_spread"):
        return scores.get("over_seeds", {}).get(key.removesuffix("_spread"))
    return scores.get(key)


def _cell(value: Any) -> str:
    if isinstance(value, dict):  # a spread over seeds
        return f"{value['mean']:.4f} ± {value['std']:.4f}"
    return "-" if value is None else f"{value:.4f}"
