"""`embedkit cluster`: clusters of stored vectors, scored, written back as an indexed payload field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
from rich import box
from rich.table import Table

from embedkit.cli.options import (SEED, StoreLocation, deprecated_spelling, first_or_sample, record_options,
                                  sample_option, store_options)
from embedkit.cli.progress import analysis_resume, job_progress
from embedkit.cli.tables import print_json, wide_console
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedkit.analysis.cluster import ClusterReport

CLUSTER_METHODS = ("kmeans", "agglomerative", "hdbscan")
"""`embedkit.analysis.cluster.METHODS`, written out: --help imports no scikit-learn."""
LINKAGES = ("ward", "average")
MAX_POINTS = 100_000_000
SHOWN_CLUSTERS = 20
SHOWN_PARAMS = {"n_clusters": "k {}", "linkage": "{} linkage", "min_cluster_size": "min cluster size {}",
                "pca_first": "on {} principal components"}


@dataclass(frozen=True)
class ClustererChoice:
    """The clustering method a command was asked for, and the options that configure it."""

    method: str = "kmeans"
    k: int = 10
    linkage: str = "ward"
    min_cluster_size: int | None = None


clusterer_options = record_options(ClustererChoice, "clusterer", [
    click.option("--method", type=click.Choice(CLUSTER_METHODS), default="kmeans", show_default=True),
    click.option("-k", "--k", "k", type=click.IntRange(2, 100_000), default=10, show_default=True,
                 help="Clusters to find (kmeans, agglomerative)."),
    click.option("--linkage", type=click.Choice(LINKAGES), default="ward", show_default=True,
                 help="How agglomerative clustering merges clusters."),
    click.option("--min-cluster-size", type=click.IntRange(2, MAX_POINTS), default=None,
                 help="HDBSCAN's smallest cluster (default: 1% of the points, at least 5)."),
])
"""--method, --k, --linkage and --min-cluster-size, handed to the command as `clusterer: ClustererChoice`."""


def _score(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(report: ClusterReport) -> None:
    console = wide_console(stderr=True)
    params = ", ".join(SHOWN_PARAMS[key].format(value) for key, value in report.params.items() if key in SHOWN_PARAMS)
    console.print(f"[bold]{report.collection}[/] / {report.vector_name}"
                  + (f" (split {report.split})" if report.split else "")
                  + f": {report.method} ({params}) of {report.points:,} points: {report.clusters} clusters"
                  + (f", {report.noise:,} noise points" if report.method == "hdbscan" else "")
                  + f" in {report.seconds:.1f} s", highlight=False, soft_wrap=True)
    scores = Table("score", "clusters", "random, same sizes", "better", box=box.SIMPLE_HEAD)
    sampled = f" (sample of {report.silhouette_sample:,})" if report.silhouette_sample else ""
    rows = [("silhouette, cosine" + sampled, "silhouette", "higher"), ("Davies-Bouldin", "davies_bouldin", "lower")]
    if report.scores.nmi is not None:
        rows += [(f"NMI with labels ({report.labelled:,} labelled)", "nmi", "higher"),
                 ("ARI with labels", "ari", "higher")]
    for name, key, better in rows:
        scores.add_row(name, _score(getattr(report.scores, key)), _score(getattr(report.baseline, key)), better)
    console.print(scores)
    clusters = Table("cluster", "points", "most common label", box=box.SIMPLE_HEAD)
    for summary in report.summaries[:SHOWN_CLUSTERS]:
        top = "-" if summary.top_label is None else f"{summary.top_label} ({summary.top_share:.0%})"
        clusters.add_row("noise" if summary.cluster == -1 else str(summary.cluster), f"{summary.size:,}", top)
    if len(report.summaries) > SHOWN_CLUSTERS:
        clusters.caption = f"and {len(report.summaries) - SHOWN_CLUSTERS} smaller clusters (--json lists them all)"
    console.print(clusters)
    if report.field:
        example = next((s.cluster for s in report.summaries if s.cluster != -1), -1)
        console.print(f"wrote payload field '{report.field}' (indexed) of {report.written:,} points; e.g. "
                      f"embedkit browse -c {report.collection} --filter {report.field}={example}",
                      highlight=False, soft_wrap=True)
    else:
        console.print("the payloads are unchanged; --write stores each point's cluster in them", highlight=False)


@click.command("cluster")
@click.option("--collection", "-c", required=True, help="Collection whose stored vectors to cluster.")
@click.option("--encoder", "-e", "vector", default=None,
              help="Which stored vector (an encoder name or alias; default: the collection's default one).")
@clusterer_options
@click.option("--split", default=None, help="Only the points of this split (default: all).")
@click.option("--limit", type=click.IntRange(1, MAX_POINTS), default=None,
              help="Only the first N points (in sample-id order).")
@sample_option()
@click.option("--field", default="cluster", show_default=True, help="Payload field each point's cluster goes to.")
@deprecated_spelling("--no-write", "write", "", "the payloads are written only with --write", flag_value=False,
                     is_flag=True)
@click.option("--write", is_flag=True, default=False,
              help="Store each point's cluster in --field (indexed, so that filters on it are fast). Without it the "
                   "payloads are left as they are.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seeds the clustering and --sample.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def cluster_command(collection: str, vector: str | None, clusterer: ClustererChoice, split: str | None,
                    limit: int | None, sample: int | None, field: str, write: bool, seed: int, store: StoreLocation,
                    as_json: bool) -> None:
    """Cluster stored vectors and score the clusters.

    Scores: silhouette and Davies-Bouldin, and NMI and ARI against the labels, beside a random clustering of
    the same sizes. With --write each point's cluster is stored in --field, which any Qdrant client can then
    filter by (`embedkit browse ... --filter cluster=3`); without it nothing is written. No image is encoded."""
    from embedkit.analysis.cluster import cluster_collection  # imports scikit-learn: only when the command runs

    first_or_sample(limit, sample)
    with job_progress("cluster", "points", resume=analysis_resume(write)) as job, store.open() as opened:
        job.update(0, stage=f"reading the vectors, then {clusterer.method}")
        report = cluster_collection(opened, collection, vector=vector, method=clusterer.method, k=clusterer.k,
                                    linkage=clusterer.linkage, min_cluster_size=clusterer.min_cluster_size,
                                    split=split, limit=limit, sample=sample, write=field if write else False,
                                    seed=seed)
    if as_json:
        print_json(report.to_json())
    else:
        render(report)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(cluster_command)
