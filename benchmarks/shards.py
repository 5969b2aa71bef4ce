"""Fashion-MNIST images as WebDataset shards written by img2dataset against the same images as a folder: ingest
wall time in one process and on a Ray cluster of 2 nodes x 1 CPU (ray.cluster_utils.Cluster on this machine),
and peak RSS of a one-process ingest over 1, 10 and 100 shards of equal total size.

    .venv/bin/python benchmarks/shards.py --images 20000
    .venv/bin/python benchmarks/shards.py --images 2000 --encoder pixels   # a quick look

img2dataset downloads the images (PNG files written from Debian's Fashion-MNIST) from an HTTP server on
127.0.0.1 into 100 shards; the 10- and 1-shard sets hold the same members, copied in order by tarfile; the folder
holds the same JPEG bytes as the shards (extracted), so both decode the same files. Each ingest runs in a process
of its own; its wall time is the ingest call's (imports and the cluster's start are left out and said apart).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUN = """
import json, resource, sys, time
args = json.loads(sys.argv[1])
from embedkit.ingestion import IngestOptions, ingest
options = IngestOptions()
cluster = None
startup = 0.0
if args["ray"]:
    import ray
    from ray.cluster_utils import Cluster
    from embedkit.ingestion.ray import RayIngest
    started = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    startup = time.perf_counter() - started
    options = IngestOptions(ray=RayIngest(actors=1))
started = time.perf_counter()
report = ingest(args["dataset"], args["encoder"], store=args["store"], batch_size=64,
                **({"image_size": args["size"]} if args["size"] else {}),
                options=options, **({} if args["ray"] else {"workers": args["workers"]}))
seconds = time.perf_counter() - started
if cluster is not None:
    ray.shutdown(); cluster.shutdown()
print(json.dumps({"seconds": seconds, "stored": report.stored, "failed": len(report.failures), "startup": startup,
                  "workers": report.workers, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_images(folder: Path, count: int) -> tuple[Path, list[str]]:
    from embedkit.datasets import get_dataset

    view = get_dataset("fashion-mnist").view("train", count)
    rows = ["url,caption,label"]
    for index in range(len(view)):
        sample = view[index]
        name = f"{sample.label_name.replace('/', '-')}/{index:05d}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        sample.image().save(folder / name)
        label = sample.label_name.replace(",", " ")
        rows.append(f"{{base}}/{urllib.parse.quote(name)},{label} {index},{label}")  # "Ankle boot": a space
    return folder.parent / "urls.csv", rows


def run_img2dataset(images: Path, rows: list[str], out: Path, per_shard: int) -> float:
    from tests.support.shards import serve_folder

    server, base = serve_folder(images)
    try:
        (out.parent / "urls.csv").write_text("\n".join(rows).format(base=base) + "\n")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", (
            "import sys\nfrom img2dataset import download\n"
            "download(url_list=sys.argv[1], input_format='csv', url_col='url', caption_col='caption', "
            "save_additional_columns=['label'], output_format='webdataset', output_folder=sys.argv[2], "
            "processes_count=2, thread_count=16, resize_mode='no', number_sample_per_shard=int(sys.argv[3]), "
            "distributor='multiprocessing', timeout=10, retries=1)"), str(out.parent / "urls.csv"), str(out),
            str(per_shard)], check=True, capture_output=True, env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"})
        return time.perf_counter() - started
    finally:
        server.shutdown()


def reshard(source: Path, target: Path, shards: int) -> None:
    """The same members, in the same order, in `shards` tars."""
    members = []
    for shard in sorted(source.glob("*.tar")):
        with tarfile.open(shard) as tar:
            members += [(member, tar.extractfile(member).read()) for member in tar if member.isfile()]
    target.mkdir(parents=True)
    keys = sorted({member.name.split(".")[0] for member, _ in members})
    per = -(-len(keys) // shards)
    shard_of = {key: index // per for index, key in enumerate(keys)}
    tars = [tarfile.open(target / f"{index:05d}.tar", "w") for index in range(shards)]
    import io

    for member, data in members:
        tars[shard_of[member.name.split(".")[0]]].addfile(member, io.BytesIO(data))
    for tar in tars:
        tar.close()


def extract_folder(source: Path, target: Path) -> None:
    for shard in sorted(source.glob("*.tar")):
        with tarfile.open(shard) as tar:
            metadata = {}
            images = {}
            for member in tar:
                key, _, ext = member.name.partition(".")
                if ext == "json":
                    metadata[key] = json.load(tar.extractfile(member))
                elif ext == "jpg":
                    images[key] = tar.extractfile(member).read()
            for key, data in images.items():
                folder = target / metadata[key]["label"].replace("/", "-")
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{key}.jpg").write_bytes(data)


def ingest_once(dataset: str, encoder: str, size: int | None, ray: bool, workers: int | None, work: Path) -> dict:
    store = tempfile.mkdtemp(dir=work, prefix="store-")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", RUN, json.dumps({"dataset": dataset, "encoder": encoder,
                           "store": store, "size": size, "ray": ray, "workers": workers})],
                          capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    subprocess.run(["rm", "-rf", store])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--encoder", default="mobilenet_v2.random")
    parser.add_argument("--image-size", type=int, default=32, help="0: the encoder's own")
    parser.add_argument("--workers", type=int, default=None, help="decoding processes in one process (default auto)")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--work", default=None, help="folder for the data (default: a temporary one)")
    args = parser.parse_args()
    import torch

    work = Path(args.work or tempfile.mkdtemp(prefix="embedkit-shards-"))
    work.mkdir(parents=True, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True,
                text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    print(f"CPU: {cpu}, torch capability {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores; "
          f"{args.images:,} Fashion-MNIST train images; encoder {args.encoder} at {args.image_size} px")
    shards100 = work / "shards-100"
    if not shards100.exists():
        _, rows = make_images(work / "png", args.images)
        seconds = run_img2dataset(work / "png", rows, shards100, -(-args.images // 100))
        print(f"img2dataset wrote {len(list(shards100.glob('*.tar')))} shards in {seconds:.1f} s")
        reshard(shards100, work / "shards-10", 10)
        reshard(shards100, work / "shards-1", 1)
        extract_folder(shards100, work / "folder")
    rows = []

    def measure(label: str, dataset: str, ray: bool = False) -> dict:
        result = ingest_once(dataset, args.encoder, args.image_size, ray, args.workers, work)
        rate = result["stored"] / result["seconds"]
        rows.append((label, result))
        extra = f", cluster start {result['startup']:.1f} s" if ray else f", workers {result['workers']}"
        print(f"{label:42s} {result['seconds']:7.1f} s  {rate:7.0f} img/s  peak RSS {result['rss_mib']:6.0f} MiB"
              f"  stored {result['stored']}, failed {result['failed']}{extra}", flush=True)
        return result

    folder = measure("folder, one process", f"folder:{work / 'folder'}")
    shards = measure("webdataset 100 shards, one process", f"webdataset:{work / 'shards-100'}")
    if not args.skip_ray:
        measure("folder, Ray 2 nodes x 1 CPU", f"folder:{work / 'folder'}", ray=True)
        on_ray = measure("webdataset 100 shards, Ray 2 nodes x 1 CPU", f"webdataset:{work / 'shards-100'}", ray=True)
        print(f"Ray / one process (shards): {on_ray['seconds'] / shards['seconds']:.2f}")
    print(f"shards / folder (one process): {shards['seconds'] / folder['seconds']:.2f}")
    if not args.skip_memory:
        for count in (1, 10):
            measure(f"webdataset {count} shard(s), one process", f"webdataset:{work / f'shards-{count}'}")


if __name__ == "__main__":
    main()
