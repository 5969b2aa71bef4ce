"""bench's tables say what they show (issue 29): the task tables list the encoders in the retrieval tables'
order, a column nobody has a value in is left out, and a chance row that depends on each encoder's vectors is
shown for each encoder, not taken from whichever came first."""

from __future__ import annotations

from rich.console import Console

from embedkit.cli.bench_tasks import render_tasks


def result(encoder: str, map5: float, silhouette_by_chance: float) -> dict:
    knn = {"accuracy": map5, "accuracy_std": None, "macro_f1": map5, "train_accuracy": 1.0,
           "protocol": "5-fold cross-validation", "baseline": {"name": "majority class", "accuracy": 0.1,
                                                                "macro_f1": 0.02}}
    clustering = {"nmi": map5, "ari": map5, "silhouette": 0.2, "points": 100,
                  "baseline": {"name": "random clustering", "nmi": 0.0, "ari": 0.0,
                               "silhouette": silhouette_by_chance}}
    return {"dataset": "d", "encoder": encoder, "protocol": "leave-one-out", "query_split": None,
            "gallery_split": None, "queries": 100, "gallery": 100, "dim": 8,
            "metrics": {"map@5": map5}, "tasks": {"knn": knn, "clustering": clustering}}


def shown(results: list[dict]) -> str:
    console = Console(record=True, width=200)
    render_tasks(results, console)
    return console.export_text()


def test_task_tables_list_the_encoders_best_map_first_as_the_retrieval_table_does():
    text = shown([result("weak", 0.3, -0.01), result("strong", 0.9, -0.01)])
    assert text.index("strong") < text.index("weak")


def test_a_column_of_dashes_is_left_out_and_one_chance_row_stays_when_chance_is_the_same():
    text = shown([result("a", 0.5, -0.01), result("b", 0.6, -0.01)])
    assert "± std" not in text and text.count("random clustering") == 1


def test_a_chance_that_differs_between_encoders_is_shown_for_each():
    text = shown([result("a", 0.5, -0.01), result("b", 0.6, -0.03)])
    assert "random clustering, a" in text and "random clustering, b" in text
