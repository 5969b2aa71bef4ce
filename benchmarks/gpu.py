"""embedkit on a CUDA GPU: bare forward, ingest and training images/s, and serve latency, in under 8 minutes.

For resnet50.random, vgg16.random, densenet121.random, mobilenet_v2.random and efficientnet-lite0 at 224 px,
in the precision `auto` picks (bf16 where the GPU computes it, else fp16), channels_last (every embedkit image
encoder) and, where it helps, torch.compile (`--compile`, guarded: a failure or no gain leaves the model as is):
- bare forward: preprocessed batches already on the GPU, images/s (also fp16 and fp32 where auto is not those);
- ingest from arrays: `embedkit.ingest` of Fashion-MNIST's test images (generated arrays of the same shape when
  Debian's dataset-fashion-mnist is absent, and said so), index build left out; ingest / bare forward;
- ingest from 12 MP JPEGs: `embedkit.ingest` of a generated folder (decoded on the CPU at a reduced scale, in
  worker processes by the cores), and the same files decoded on the GPU (torchvision.io.decode_jpeg(device=
  "cuda"), batched), resized and normalised there as the encoder's record says, embedded and written to the
  store by this script; each against the bare forward;
- train: `embedkit.training.train` of one encoder for an epoch on a subset, images/s;
- serve: benchmarks/serve_load.py against the arrays' store of the first encoder, p50 by id and by image.

Every stage has its own timer and its own try: an error is recorded in the JSON and the run goes on; stages are
skipped once `--budget` seconds are spent. Writes `--out`/gpu.json (after every stage) and `--out`/gpu.md.

    .venv/bin/python benchmarks/gpu.py [--out benchmarks/results/gpu]

On a machine without a CUDA GPU it says so in one line and exits with status 2 (`--allow-cpu` runs it on the
CPU anyway, with `--quick` sizes, to check the script itself: its figures mean nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

ENCODERS = ("resnet50.random", "vgg16.random", "densenet121.random", "mobilenet_v2.random", "efficientnet-lite0")
NO_GPU = 2
HERE = Path(__file__).resolve().parent


def refuse_without_gpu(allow_cpu: bool) -> str:
    """The device to run on: cuda, or cpu with `allow_cpu`; without either, one line and exit status 2."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if allow_cpu:
        return "cpu"
    print("benchmarks/gpu.py needs a CUDA GPU, and torch sees none on this machine (torch.cuda.is_available() is "
          "False); run it where there is one, or pass --allow-cpu to check the script itself", file=sys.stderr)
    raise SystemExit(NO_GPU)


class Run:
    """The results, written after every stage; `stage` times one and records its error instead of raising."""

    def __init__(self, out: Path, budget: float, header: dict[str, Any]):
        self.out, self.budget, self.started = out, budget, time.perf_counter()
        self.results: dict[str, Any] = {**header, "stages": {}}
        out.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        entry: dict[str, Any] = {}
        self.results["stages"][name] = entry
        started = time.perf_counter()
        if started - self.started > self.budget:
            entry["skipped"] = f"out of time (--budget {self.budget:.0f} s)"
            yield entry  # the stage's body sees it and returns at once
            return
        print(f"[{started - self.started:6.1f} s] {name}", file=sys.stderr, flush=True)
        try:
            yield entry
        except Exception as error:  # noqa: BLE001  a failed stage is a figure too: recorded, and the run goes on
            entry["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            traceback.print_exc(file=sys.stderr)
            _free_gpu_memory()
        finally:
            entry["seconds"] = round(time.perf_counter() - started, 2)
            self.save()

    def save(self) -> None:
        self.results["wall_seconds"] = round(time.perf_counter() - self.started, 1)
        (self.out / "gpu.json").write_text(json.dumps(self.results, indent=2, default=str) + "\n")


def _free_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bare_forward(encoder, pixels, seconds: float) -> float:
    """Images/s of `encoder.embed_pixels` over one preprocessed batch already on the device (after a warm-up)."""
    device = str(encoder.device)
    pixels = pixels.to(encoder.device)
    encoder.embed_pixels(pixels)
    _sync(device)
    count, started = 0, time.perf_counter()
    while count == 0 or time.perf_counter() - started < seconds:
        encoder.embed_pixels(pixels)  # its vectors come back to the CPU: synchronised
        count += len(pixels)
    return count / (time.perf_counter() - started)


def preprocessed_batch(encoder, dataset, size: int):
    import torch

    view = dataset.view("test", size)
    return torch.stack([encoder.preprocess(view[i].image()) for i in range(len(view))])


def ingest_rate(dataset, encoder, store: Path, limit: int, batch_size: int, split: str | None = None) -> dict:
    from embedkit.ingestion import ingest

    report = ingest(dataset, encoder, split=split, limit=limit, batch_size=batch_size, store=store)
    return {"images": report.stored, "workers": report.workers, "index_seconds": round(report.index_seconds, 2),
            "images_per_second": report.stored / max(report.seconds - report.index_seconds, 1e-9)}


def tensor_preprocess(images, preprocessing):
    """Decoded uint8 CHW images (one size: one batch; else one by one) -> the encoder's normalised NCHW batch, on
    their device: resize the short side (or both, `squash`), centre crop, scale to [0, 1], normalise."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    mode = InterpolationMode(preprocessing.interpolation)
    size = [preprocessing.resize] if preprocessing.resize_mode == "shortest" else [preprocessing.resize] * 2

    def prepare(batch):
        batch = F.resize(batch, size, interpolation=mode, antialias=True)
        return F.center_crop(batch, [preprocessing.crop, preprocessing.crop])

    if len({tuple(image.shape) for image in images}) == 1:
        pixels = prepare(torch.stack(images))
    else:
        pixels = torch.stack([prepare(image) for image in images])
    if preprocessing.mean is None:
        return pixels
    pixels = pixels.float().div_(255)
    mean = torch.tensor(preprocessing.mean, device=pixels.device).view(1, -1, 1, 1)
    std = torch.tensor(preprocessing.std, device=pixels.device).view(1, -1, 1, 1)
    return (pixels - mean) / std


def decoded_on_device_rate(files: list[Path], encoder, store_path: Path, batch_size: int) -> dict:
    """Read JPEG bytes in threads, decode a batch on the encoder's device (nvJPEG on a GPU), preprocess there,
    embed, and write to an embedded store while the next batch runs: images/s, the store's index left out."""
    from torchvision.io import ImageReadMode, decode_jpeg, read_file

    from embedkit.store import open_store

    record = encoder.record
    batches = [files[i:i + batch_size] for i in range(0, len(files), batch_size)]
    with open_store(store_path) as store, ThreadPoolExecutor(8) as readers, ThreadPoolExecutor(1) as writer:
        store.ensure_vector("photos", encoder.vector_name, record)
        pending: Future | None = None
        reading = [readers.submit(read_file, str(path)) for path in batches[0]]
        started = time.perf_counter()
        for index, batch in enumerate(batches):
            data = [future.result() for future in reading]
            if index + 1 < len(batches):
                reading = [readers.submit(read_file, str(path)) for path in batches[index + 1]]
            images = decode_jpeg(data, mode=ImageReadMode.RGB, device=encoder.device)
            vectors = encoder.embed_pixels(tensor_preprocess(images, record.preprocessing))
            if pending is not None:
                pending.result()
            ids = [f"photos/{path.name}" for path in batch]
            pending = writer.submit(store.upsert, "photos", encoder.vector_name, ids, vectors,
                                    [{"source": str(path)} for path in batch])
        if pending is not None:
            pending.result()
        seconds = time.perf_counter() - started
    return {"images": len(files), "images_per_second": len(files) / seconds}


def try_compile(encoder, pixels, seconds: float, plain: float) -> dict:
    """torch.compile the encoder's module; kept only when its bare forward is at least 5% faster."""
    import torch

    module = encoder.module
    encoder.module = torch.compile(module)
    started = time.perf_counter()
    try:
        compiled = bare_forward(encoder, pixels, seconds)
    except Exception:
        encoder.module = module
        raise
    kept = compiled >= 1.05 * plain
    if not kept:
        encoder.module = module
    return {"images_per_second": compiled, "with_compile_seconds": round(time.perf_counter() - started, 1),
            "kept": kept}


def train_rate(base: str, device: str, limit: int, batch_size: int, out: Path) -> dict:
    from embedkit.machine import cores_available
    from embedkit.training import TrainConfig, train

    config = TrainConfig(base=base, dataset="fashion-mnist", name="gpu-benchmark", limit=limit,
                         validation_limit=min(512, limit), epochs=1, frozen_epochs=0, batch_size=batch_size,
                         device=device, augmentation=0.0)
    result = train(config, out=out, workers=min(8, cores_available()), register=False)
    row = result.history[-1]
    return {"images": limit, "images_per_second": row["images_per_second"], "epoch_seconds": row["seconds"]}


def serve_latency(store: Path, quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "serve.json"
        command = [sys.executable, str(HERE / "serve_load.py"), "--qdrant", str(store), "--clients", "16",
                   "--by-id", "100" if quick else "1000", "--by-image", "20" if quick else "200",
                   "--port", "8791", "--json", str(figures)]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
        served = json.loads(figures.read_text())
    return {key: served[key] for key in ("by_id", "by_image", "requests_per_second", "clients")}


def markdown(results: dict[str, Any]) -> str:
    stages = results["stages"]

    def rate(key: str) -> str:
        entry = stages.get(key, {})
        if "images_per_second" in entry:
            return f"{entry['images_per_second']:,.0f}"
        return "error" if "error" in entry else "—"

    def ratio(key: str, bare: str) -> str:
        value, base = stages.get(key, {}).get("images_per_second"), stages.get(bare, {}).get("images_per_second")
        return f"{value / base:.2f}" if value and base else "—"

    lines = [f"embedkit {results['embedkit']} on {results['device_name']} ({results['precision']}, channels_last); "
             f"arrays: {results['arrays']}; JPEGs: {results['photos']}", "",
             "| encoder | bare forward img/s | compiled | ingest arrays img/s (/ bare) | ingest JPEG, CPU decoding "
             "(/ bare) | JPEG, GPU decoding (/ bare) |", "|---|---:|---:|---:|---:|---:|"]
    for name in results["encoders"]:
        bare = f"{name}: bare forward"
        compiled = stages.get(f"{name}: torch.compile", {})
        shown = (f"{compiled['images_per_second']:,.0f}{' (kept)' if compiled.get('kept') else ''}"
                 if "images_per_second" in compiled else "error" if "error" in compiled else "—")
        lines.append(f"| {name} | {rate(bare)} | {shown} | {rate(f'{name}: ingest arrays')} "
                     f"({ratio(f'{name}: ingest arrays', bare)}) | {rate(f'{name}: ingest JPEG')} "
                     f"({ratio(f'{name}: ingest JPEG', bare)}) | {rate(f'{name}: JPEG decoded on the device')} "
                     f"({ratio(f'{name}: JPEG decoded on the device', bare)}) |")
    train = stages.get("train", {})
    serve = stages.get("serve", {})
    lines += ["", f"train ({train.get('base', '?')}, one epoch of {train.get('images', '?')} images): "
              f"{rate('train')} images/s",
              f"serve (16 clients): p50 by id {serve.get('by_id', {}).get('p50_ms', float('nan')):.1f} ms, "
              f"by image {serve.get('by_image', {}).get('p50_ms', float('nan')):.1f} ms"
              if "by_id" in serve else f"serve: {serve.get('error') or serve.get('skipped') or 'not run'}",
              "", f"{results['wall_seconds']:.0f} s in all; errors, if any, in gpu.json"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "gpu")
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--arrays", type=int, default=10_000, help="Fashion-MNIST test images to ingest")
    parser.add_argument("--photos", type=int, default=512, help="12 MP JPEGs (made once)")
    parser.add_argument("--device-photos", type=int, default=256, help="of which decoded on the GPU")
    parser.add_argument("--photos-folder", type=Path, default=None, help="where the JPEGs are made once")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=3.0, help="each bare forward figure's duration")
    parser.add_argument("--compile", default="resnet50.random,mobilenet_v2.random",
                        help="encoders to try torch.compile on ('' for none)")
    parser.add_argument("--train", default="resnet50.random", help="the encoder trained ('' for none)")
    parser.add_argument("--train-images", type=int, default=8192)
    parser.add_argument("--no-serve", action="store_true")
    parser.add_argument("--budget", type=float, default=420, help="seconds after which the stages left are skipped")
    parser.add_argument("--generated-arrays", action="store_true", help="generated arrays even if Fashion-MNIST is there")
    parser.add_argument("--quick", action="store_true", help="a few images a stage")
    parser.add_argument("--allow-cpu", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = refuse_without_gpu(args.allow_cpu)
    if args.quick:
        args.arrays, args.photos, args.device_photos, args.batch_size, args.seconds = 64, 4, 4, 16, 0.5
        args.train_images = 16

    import torch
    import torchvision

    from embedkit import __version__, get_encoder
    from embedkit.encoders.precision import choose_precision
    from embedkit.machine import cores_available
    from generated import fashion_mnist, photos

    choice = choose_precision("auto", device)
    arrays, arrays_said = fashion_mnist(args.generated_arrays)
    names = [name for name in args.encoders.split(",") if name]
    header = {"embedkit": __version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
              "cuda": torch.version.cuda, "device": device,
              "device_name": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "CPU",
              "precision": choice.precision, "precision_reason": choice.reason, "cores_available": cores_available(),
              "arrays": arrays_said, "encoders": names, "batch_size": args.batch_size, "image_size": 224}
    run = Run(args.out, args.budget, header)
    with run.stage("JPEG folder") as entry:
        folder, run.results["photos"] = photos(args.photos, args.photos_folder)
        files = sorted((Path(folder.partition(":")[2]) / "photos").glob("*.jpg"))[:args.photos]
        entry["files"] = len(files)
    run.results.setdefault("photos", "none")
    stores = Path(tempfile.mkdtemp(prefix="embedkit-gpu-"))
    serve_store = None
    for name in names:
        encoder = None
        with run.stage(f"{name}: build") as entry:
            if not entry.get("skipped"):
                encoder = get_encoder(name, device=device, precision="auto")
                entry["precision"] = encoder.precision
        if encoder is None:
            continue
        pixels, plain = None, None
        with run.stage(f"{name}: bare forward") as entry:
            if not entry.get("skipped"):
                pixels = preprocessed_batch(encoder, arrays, args.batch_size)
                plain = entry["images_per_second"] = bare_forward(encoder, pixels, args.seconds)
        for other in ("fp16", "fp32"):
            if device == "cuda" and other != encoder.precision and pixels is not None:
                with run.stage(f"{name}: bare forward {other}") as entry:
                    if not entry.get("skipped"):
                        variant = get_encoder(name, device=device, precision=other)
                        entry["images_per_second"] = bare_forward(variant, pixels, args.seconds)
                        del variant
        if name in args.compile.split(",") and pixels is not None and plain:
            with run.stage(f"{name}: torch.compile") as entry:
                if not entry.get("skipped"):
                    entry.update(try_compile(encoder, pixels, args.seconds, plain))
        with run.stage(f"{name}: ingest arrays") as entry:
            if not entry.get("skipped"):
                store = stores / f"arrays-{len(list(stores.iterdir()))}"
                entry.update(ingest_rate(arrays, encoder, store, args.arrays, args.batch_size, split="test"))
                serve_store = serve_store or store
        with run.stage(f"{name}: ingest JPEG") as entry:
            if not entry.get("skipped") and files:
                entry.update(ingest_rate(folder, encoder, stores / f"photos-{name}", len(files),
                                         min(args.batch_size, 64)))
        with run.stage(f"{name}: JPEG decoded on the device") as entry:
            if not entry.get("skipped") and files:
                entry.update(decoded_on_device_rate(files[:args.device_photos], encoder, stores / f"device-{name}",
                                                    min(args.batch_size, 32)))
        del encoder, pixels
        _free_gpu_memory()
    if args.train:
        with run.stage("train") as entry:
            entry["base"] = args.train
            if not entry.get("skipped"):
                entry.update(train_rate(args.train, device, args.train_images, min(args.batch_size, 128),
                                        stores / "models"))
    if not args.no_serve:
        with run.stage("serve") as entry:
            if not entry.get("skipped"):
                if serve_store is None:
                    raise RuntimeError("no store was ingested to serve")
                entry.update(serve_latency(serve_store, args.quick))
    run.save()
    (args.out / "gpu.md").write_text(markdown(run.results))
    print(markdown(run.results))


if __name__ == "__main__":
    main()
